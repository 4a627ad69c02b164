// kubeweft dashboard: annotations through /api, and live refresh from /api/watch/... .
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf };

  async function problem(response) {
    try { const body = await response.json(); return body.detail || body.title; }
    catch (e) { return response.statusText; }
  }

  const annotate = document.getElementById("annotate");
  if (annotate) {
    annotate.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = document.getElementById("note-error");
      const response = await fetch(annotate.dataset.post, {
        method: "POST", headers, credentials: "same-origin",
        body: JSON.stringify({ body: annotate.elements.body.value }),
      });
      if (response.ok) { location.reload(); return; }
      error.textContent = await problem(response); error.hidden = false;
    });
  }
  document.querySelectorAll("button[data-delete]").forEach((button) => {
    button.addEventListener("click", async () => {
      if (!confirm("Delete this annotation?")) return;
      const response = await fetch(button.dataset.delete, { method: "DELETE", headers, credentials: "same-origin" });
      if (response.ok) location.reload();
    });
  });

  const removeButton = document.getElementById("delete-object");
  if (removeButton) {
    removeButton.addEventListener("click", async () => {
      if (!confirm(`Delete ${removeButton.dataset.name}? This cannot be undone.`)) return;
      const response = await fetch(removeButton.dataset.deleteObject, { method: "DELETE", headers, credentials: "same-origin" });
      if (response.ok) location.href = removeButton.dataset.list;
      else alert(await problem(response));
    });
  }

  // Roll back from the timeline: a confirmation dialog, then POST .../rollback guarded by
  // the ETag of the version on screen (the timeline re-renders live, so it is read then).
  const rollback = document.getElementById("rollback-dialog");
  if (rollback) {
    const error = document.getElementById("rollback-error");
    let generation = null, opener = null;
    document.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-rollback]");
      if (!button) return;
      generation = Number(button.dataset.rollback); opener = button;
      rollback.querySelector("[data-generation]").textContent = String(generation);
      error.hidden = true; error.textContent = "";
      rollback.showModal();
      document.getElementById("rollback-cancel").focus();
    });
    document.getElementById("rollback-cancel").addEventListener("click", () => rollback.close());
    rollback.addEventListener("close", () => { if (opener && opener.isConnected) opener.focus(); });
    document.getElementById("rollback-confirm").addEventListener("click", async () => {
      const etag = document.getElementById("current-etag").dataset.etag;
      const response = await fetch(rollback.dataset.post, {
        method: "POST", headers: { ...headers, "If-Match": etag }, credentials: "same-origin",
        body: JSON.stringify({ generation }),
      });
      if (response.ok) { location.reload(); return; }
      let body = {};
      try { body = await response.json(); } catch (e) { /* not JSON */ }
      const fields = (body.errors || []).map((e) => `${e.field}: ${e.message}`);
      // A stale ETag: the object changed since the page showed it; confirming again uses
      // the version the API answered with.
      if (response.status === 412 && response.headers.get("ETag")) {
        document.getElementById("current-etag").dataset.etag = response.headers.get("ETag");
        fields.length = 0;
        fields.push("It changed since this page showed it; review it and confirm again.");
      }
      error.textContent = [body.detail || response.statusText, ...fields].join(" ");
      error.hidden = false;
    });
  }

  // Events are the API's (/events of the object), read when the page opens and on each change.
  const events = document.getElementById("events");
  async function loadEvents() {
    if (!events) return;
    const response = await fetch(events.dataset.events, { credentials: "same-origin" });
    const body = events.querySelector("tbody");
    body.replaceChildren();
    const cell = (row, text, className) => {
      const td = row.insertCell(); td.textContent = text ?? ""; if (className) td.className = className;
    };
    const found = response.ok ? await response.json() : [];
    found.sort((a, b) => String(b.lastTimestamp).localeCompare(String(a.lastTimestamp)));
    for (const e of found) {
      const row = body.insertRow();
      cell(row, e.type === "Warning" ? "⚠ Warning" : e.type);
      cell(row, e.reason); cell(row, e.message); cell(row, e.count, "num");
      cell(row, e.lastTimestamp ? new Date(e.lastTimestamp).toLocaleString() : ""); cell(row, e.source);
    }
    if (!found.length) {
      const td = body.insertRow().insertCell();
      td.colSpan = 6; td.className = "muted";
      td.textContent = response.ok ? "No events." : "Events could not be read.";
    }
  }
  loadEvents();

  // Create and edit: the API validates; its field errors are shown next to their controls.
  const form = document.getElementById("model-form");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      form.querySelectorAll("[data-error]").forEach((p) => { p.hidden = true; p.textContent = ""; });
      form.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
      const formError = document.getElementById("form-error");
      formError.hidden = true;
      const show = (field, message) => {
        const slot = form.querySelector(`[data-error="${CSS.escape(field)}"]`);
        if (!slot) return false;
        slot.textContent = message; slot.hidden = false;
        const control = document.getElementById(slot.id.replace(/^e-/, "f-"));
        if (control) control.setAttribute("aria-invalid", "true");
        return true;
      };
      const spec = {};
      let broken = false;
      form.querySelectorAll("[data-field]").forEach((control) => {
        const key = control.dataset.field.replace(/^spec\./, "");
        const text = control.value.trim();
        // An emptied control removes the field in an edit (merge patch), and is left out of a create.
        if (text === "") { if (form.dataset.method === "PATCH") spec[key] = null; return; }
        const kind = control.dataset.kind;
        if (kind === "integer" || kind === "number") spec[key] = Number(text);
        else if (kind === "boolean") spec[key] = text === "true";
        else if (kind === "json") {
          try { spec[key] = JSON.parse(text); }
          catch (e) { broken = show(control.dataset.field, "not valid JSON: " + e.message) || broken; }
        } else spec[key] = text;
      });
      if (broken) return;
      const editing = form.dataset.method === "PATCH";
      const body = editing ? { spec } : { name: form.elements.name.value.trim(), spec };
      if (!editing && form.elements.namespace) body.namespace = form.elements.namespace.value.trim();
      const sendHeaders = { ...headers };
      if (editing) { sendHeaders["Content-Type"] = "application/merge-patch+json"; sendHeaders["If-Match"] = form.dataset.etag; }
      const response = await fetch(form.dataset.action, {
        method: form.dataset.method, headers: sendHeaders, credentials: "same-origin", body: JSON.stringify(body),
      });
      if (response.ok) {
        const saved = await response.json();
        location.href = form.dataset.detail + (saved.namespace ? saved.namespace + "/" : "") + saved.name;
        return;
      }
      let problemBody = {};
      try { problemBody = await response.json(); } catch (e) { /* not JSON */ }
      const unplaced = (problemBody.errors || []).filter((e) => !show(e.field, e.message));
      const first = form.querySelector("[aria-invalid=true]");
      if (first) first.focus();
      if (unplaced.length || !(problemBody.errors || []).length) {
        formError.textContent = [problemBody.detail || response.statusText, ...unplaced.map((e) => `${e.field}: ${e.message}`)].join(" ");
        formError.hidden = false;
      }
    });
  }

  // Live: any change event re-renders the region from the server (same query, same rules).
  const region = document.querySelector("[data-watch]");
  const live = document.getElementById("live");
  if (!region || !window.EventSource) return;
  let pending = null;
  async function refresh() {
    pending = null;
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll("[data-live]").forEach((element) => {
      const replacement = page.getElementById(element.id);
      if (replacement) element.innerHTML = replacement.innerHTML;
    });
    loadEvents();
  }
  const stream = new EventSource(region.dataset.watch);
  stream.onopen = () => { live.textContent = "live"; live.classList.add("on"); };
  stream.onerror = () => { live.textContent = "live updates off"; live.classList.remove("on"); };
  const changed = () => { if (!pending) pending = setTimeout(refresh, 150); };
  ["added", "modified", "deleted", "resync"].forEach((name) => stream.addEventListener(name, changed));
})();
