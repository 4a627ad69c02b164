"""Debian's headless Chromium, driven over the W3C WebDriver protocol by chromedriver.

The protocol is a handful of JSON requests (new session, navigate, find, click, type,
screenshot), so the tests speak it with httpx rather than pulling in a browser-driver
library and its dependency tree. Without ``chromium`` and ``chromium-driver``
(hack/system-deps.sh) a test skips — unless ``CI=true``, where it fails.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubeweft.localcluster.ports import free_port
from tests.support.waiting import wait_until

__all__ = ["ENTER", "Browser", "Element", "headless_chromium"]

_ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # W3C's element key
ENTER = "\ue007"  # W3C's key code for Enter


def _binaries() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


class Element:
    def __init__(self, browser: Browser, ref: str) -> None:
        self.browser, self.ref = browser, ref

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.browser.call(method, f"/element/{self.ref}{path}", body)

    @property
    def text(self) -> str:
        return str(self._call("GET", "/text"))

    def click(self) -> None:
        self._call("POST", "/click", {})

    def type(self, text: str) -> None:
        self._call("POST", "/clear", {})
        self._call("POST", "/value", {"text": text})

    def select(self, value: str) -> None:
        """Choose the ``<option>`` with ``value`` in this ``<select>``."""
        self.browser.find(f"#{self.attribute('id')} option[value='{value}']").click()

    def attribute(self, name: str) -> str | None:
        value = self._call("GET", f"/attribute/{name}")
        return None if value is None else str(value)


class Browser:
    """One WebDriver session: a page at a time, as a person uses it."""

    def __init__(self, http: httpx.Client, session: str) -> None:
        self.http, self.session = http, session

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"/session/{self.session}{path}", json=body)
        payload = response.json()
        if response.status_code >= 400:
            raise AssertionError(f"WebDriver {method} {path}: {payload['value']}")
        return payload["value"]

    def get(self, url: str) -> None:
        self.call("POST", "/url", {"url": url})

    def delete_cookies(self) -> None:
        """Forget the current site's cookies (its session), as a new browser would."""
        self.call("DELETE", "/cookie")

    @property
    def url(self) -> str:
        return str(self.call("GET", "/url"))

    def find_all(self, css: str) -> list[Element]:
        found = self.call("POST", "/elements", {"using": "css selector", "value": css})
        return [Element(self, ref[_ELEMENT]) for ref in found]

    def find(self, css: str, timeout: float = 10.0) -> Element:
        """The first element matching ``css``, waiting for it to appear."""
        found = wait_until(lambda: next(iter(self.find_all(css)), None), what=css, timeout=timeout)
        assert found is not None  # wait_until returns only a value its accept (bool) took
        return found

    def texts(self, css: str) -> list[str]:
        """The visible text of each element matching ``css``, read in one step (a live
        page may replace elements between two WebDriver calls)."""
        source = "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)"
        return [str(text) for text in self.script(source, css)]

    def script(self, source: str, *args: Any) -> Any:
        return self.call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def click_live(self, css: str) -> None:
        """Click the element matching ``css`` in one step: inside a region the page swaps
        on live updates, an element found first may be replaced before a second call."""
        wait_until(
            lambda: self.script(
                "const e = document.querySelector(arguments[0]); if (e) e.click(); return !!e",
                css,
            ),
            what=css,
            timeout=10,
        )

    def focus(self, css: str) -> bool:
        """Move the keyboard focus to the element matching ``css`` (False: none)."""
        found = self.script(
            "const e = document.querySelector(arguments[0]); if (e) e.focus(); return !!e", css
        )
        return bool(found)

    def press(self, key: str) -> None:
        """Press and release ``key`` (e.g. ``ENTER``) where the focus is, as a person would."""
        strokes = [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
        self.call(
            "POST", "/actions", {"actions": [{"type": "key", "id": "kb", "actions": strokes}]}
        )

    def accept_dialog(self) -> None:
        """Answer OK to the open ``confirm()`` (waiting for it to open)."""

        def accepted() -> bool:
            response = self.http.post(f"/session/{self.session}/alert/accept", json={})
            return response.status_code == 200

        wait_until(accepted, what="a dialog to accept", timeout=10)

    def screenshot(self, path: Path) -> Path:
        # The whole table, not just the first screenful.
        height = int(self.script("return document.documentElement.scrollHeight"))
        self.call("POST", "/window/rect", {"width": 1440, "height": min(height + 160, 4000)})
        self.script("window.scrollTo(0, 0)")
        path.write_bytes(base64.b64decode(self.call("GET", "/screenshot")))
        return path


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    """A headless Chromium session (chromedriver on a free loopback port)."""
    binaries = _binaries()
    if binaries is None:
        message = "chromium and chromium-driver are not installed (hack/system-deps.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    chromium, driver = binaries
    port = free_port()  # below the ephemeral range (kubeweft.localcluster.ports)
    process = subprocess.Popen(
        [driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    profile = tempfile.TemporaryDirectory(prefix="kubeweft-chromium-")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            wait_until(lambda: _answers(http), what="chromedriver listening", timeout=30)
            options = {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",  # tests run as root in CI containers
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--window-size=1440,900",
                    f"--user-data-dir={profile.name}",
                ],
            }
            capabilities = {"alwaysMatch": {"goog:chromeOptions": options}}
            created = http.post("/session", json={"capabilities": capabilities}).json()
            session = created["value"]["sessionId"]
            try:
                yield Browser(http, session)
            finally:
                http.delete(f"/session/{session}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        profile.cleanup()


def _answers(http: httpx.Client) -> bool:
    try:
        return http.get("/status").status_code == 200
    except httpx.TransportError:
        return False
