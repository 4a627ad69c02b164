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
  }
  const stream = new EventSource(region.dataset.watch);
  stream.onopen = () => { live.textContent = "live"; live.classList.add("on"); };
  stream.onerror = () => { live.textContent = "live updates off"; live.classList.remove("on"); };
  const changed = () => { if (!pending) pending = setTimeout(refresh, 150); };
  ["added", "modified", "deleted", "resync"].forEach((name) => stream.addEventListener(name, changed));
})();
