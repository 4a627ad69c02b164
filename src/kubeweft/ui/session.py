"""The dashboard's sign-in: an API credential kept in an encrypted, HttpOnly cookie.

A person signs in with what a script would present — a bearer token or an API key —
and the process checks it with the API's own authenticator. The cookie holds that
credential encrypted and authenticated (Fernet, keyed by ``ui_session_key`` or a key
made at start-up, so sessions then end with the process), and :class:`SessionMiddleware`
turns it back into an ``Authorization`` header. Every page and every ``/api`` call the
browser makes therefore goes through the same authentication and authorization
dependencies as a script's: the dashboard has no second way in.

A cookie is sent by the browser on its own, so a write carried by the cookie must also
show the session's CSRF token (``X-CSRF-Token``, or the ``csrf`` form field the
dashboard's own forms check); the cookie is ``SameSite=Strict`` besides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["SESSION_COOKIE", "SessionMiddleware", "Sessions"]

SESSION_COOKIE = "kubeweft_session"
#: The sign-in form's nonce (login CSRF), valid while the form is open.
SIGN_IN_COOKIE = "kubeweft_sign_in"
SIGN_IN_MAX_AGE_SECONDS = 900
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The dashboard's own form posts check the ``csrf`` field themselves.
_FORM_PREFIX = "/ui/"


@dataclass(frozen=True)
class Sessions:
    """Seals credentials into cookie values and opens them again."""

    key: bytes
    max_age_seconds: int
    secure: bool

    @classmethod
    def new(cls, key: str | None, *, max_age_seconds: int, secure: bool) -> Sessions:
        material = key.encode() if key else os.urandom(32)
        # Any configured string becomes a Fernet key (32 bytes, url-safe base64).
        derived = base64.urlsafe_b64encode(hashlib.sha256(material).digest())
        return cls(derived, max_age_seconds, secure)

    def seal(self, credential: str) -> str:
        from cryptography.fernet import Fernet  # loaded by the first sign-in, not at start

        return Fernet(self.key).encrypt(credential.encode()).decode()

    def open(self, cookie: str, *, ttl: int | None = None) -> str | None:
        """The credential in ``cookie``; None when it is forged, foreign or older than
        ``ttl`` seconds (default: the session's maximum age)."""
        from cryptography.fernet import Fernet, InvalidToken

        try:
            ttl = ttl if ttl is not None else self.max_age_seconds
            return Fernet(self.key).decrypt(cookie.encode(), ttl=ttl).decode()
        except (InvalidToken, ValueError):
            return None

    def csrf_token(self, cookie: str) -> str:
        """The token a write must show along with ``cookie`` (bound to that cookie)."""
        return hmac.new(self.key, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, cookie: str, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(self.csrf_token(cookie), presented)

    def set_cookie(
        self, response: Response, credential: str, *, max_age: int | None = None
    ) -> None:
        """Keep ``credential`` for the session's maximum age, or less (``max_age``)."""
        response.set_cookie(
            SESSION_COOKIE,
            self.seal(credential),
            max_age=min(max_age, self.max_age_seconds) if max_age else self.max_age_seconds,
            path="/",
            httponly=True,
            samesite="strict",
            secure=self.secure,
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=self.secure
        )

    def set_sign_in_nonce(self, response: Response, nonce: str) -> None:
        response.set_cookie(
            SIGN_IN_COOKIE,
            nonce,
            max_age=SIGN_IN_MAX_AGE_SECONDS,
            path="/ui/sign-in",
            httponly=True,
            samesite="strict",
            secure=self.secure,
        )

    def clear_sign_in_nonce(self, response: Response) -> None:
        response.delete_cookie(
            SIGN_IN_COOKIE, path="/ui/sign-in", httponly=True, samesite="strict", secure=self.secure
        )

    def sign_in_nonce_ok(self, cookies: Mapping[str, str], presented: str | None) -> bool:
        expected = cookies.get(SIGN_IN_COOKIE)
        return bool(expected and presented) and hmac.compare_digest(expected or "", presented or "")


def session_cookie(headers: Headers) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None else None


class SessionMiddleware:
    """Presents a valid session cookie's credential as ``Authorization: Bearer``.

    A request that brings its own ``Authorization`` or ``X-API-Key`` is left alone; an
    unsafe request carried by the cookie needs the session's CSRF token (403 otherwise).
    """

    def __init__(self, app: ASGIApp, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookie = session_cookie(headers)
        if cookie is None or "authorization" in headers or "x-api-key" in headers:
            await self.app(scope, receive, send)
            return
        credential = self.sessions.open(cookie)
        if credential is None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        unsafe = scope["method"] not in _SAFE_METHODS
        guarded = unsafe and not path.startswith(_FORM_PREFIX)
        if guarded and not self.sessions.csrf_ok(cookie, headers.get(CSRF_HEADER)):
            await _csrf_refused(scope, receive, send)
            return
        authorization = (b"authorization", b"Bearer " + credential.encode())
        scope = {**scope, "headers": [*scope["headers"], authorization]}
        scope.setdefault("state", {})
        scope["state"] = {**scope["state"], "session_cookie": cookie}
        await self.app(scope, receive, send)


async def _csrf_refused(scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(
        {
            "type": "https://kubeweft.dev/problems/csrf",
            "title": "Forbidden",
            "status": 403,
            "detail": "A write with the session cookie must carry the X-CSRF-Token header.",
        },
        status_code=403,
        media_type="application/problem+json",
    )
    await response(scope, receive, send)
