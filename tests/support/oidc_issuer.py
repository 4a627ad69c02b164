"""A small OpenID Connect issuer for tests, standards-conforming where kubeweft looks.

It serves what a relying party uses — discovery (``/.well-known/openid-configuration``),
the JWKS (``/keys``), the authorization endpoint (a sign-in form: type a user name,
or refuse) and the token endpoint (authorization code grant, PKCE ``S256`` checked,
client authentication by ``client_secret_basic`` or ``client_secret_post``) — and signs
ID tokens with RS256 keys made at start, through PyJWT, the library kubeweft verifies
them with. Tests turn its knobs to misbehave (expired tokens, a wrong nonce, a key
rotation) and run it in-process (``httpx.ASGITransport``) or on a loopback port
(:func:`serving`) for ``kubeweft run`` and the browser. Why this and not a real provider
such as Dex: docs/design/dashboard.md.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.waiting import wait_until

__all__ = ["TestIssuer", "serving"]


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str
    user: str


@dataclass
class TestIssuer:
    """One issuer with one client; ``users`` maps a user name to its extra claims."""

    __test__ = False  # not a pytest test class

    url: str
    client_id: str
    client_secret: str | None
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Knobs: the ID token's lifetime (negative: already expired), a nonce to put in
    #: place of the one asked for, the token endpoint's auth methods to advertise.
    lifetime: int = 3600
    nonce_override: str | None = None
    #: Answer every request 503, as an issuer in an outage.
    down: bool = False
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    #: What came to the token endpoint, newest last (for tests of client authentication).
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _keys: list[tuple[str, rsa.RSAPrivateKey]] = field(default_factory=list)
    _codes: dict[str, _Code] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self._keys:
            self.rotate()

    def rotate(self) -> str:
        """Sign with a new key from now on (the old ones stay published); its kid."""
        kid = f"key-{len(self._keys) + 1}"
        self._keys.append((kid, rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        return kid

    def id_token(self, user: str, *, nonce: str | None = None, **claims: Any) -> str:
        """An ID token for ``user`` as the token endpoint would issue it."""
        now = int(time.time())
        payload = {
            "iss": self.url,
            "sub": user,
            "aud": self.client_id,
            "azp": self.client_id,
            "iat": now,
            "exp": now + self.lifetime,
            **self.users.get(user, {}),
            **({"nonce": nonce} if nonce is not None else {}),
            **claims,
        }
        kid, key = self._keys[-1]
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})

    # --- endpoints -----------------------------------------------------------------
    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/keys",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": list(self.auth_methods),
                "scopes_supported": ["openid", "email", "profile", "groups"],
            }
        )

    async def keys(self, request: Request) -> Response:
        published = []
        for kid, key in self._keys:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            published.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return JSONResponse({"keys": published})

    async def authorize(self, request: Request) -> Response:
        asked = dict(request.query_params) if request.method == "GET" else await _form(request)
        if asked.get("client_id") != self.client_id or not asked.get("redirect_uri"):
            return Response("unknown client or no redirect_uri", 400)
        if asked.get("response_type") != "code" or asked.get("code_challenge_method") != "S256":
            return Response("only response_type=code with PKCE S256", 400)
        if request.method == "GET":
            return HTMLResponse(_sign_in_form(asked))
        back = asked["redirect_uri"] + ("&" if "?" in asked["redirect_uri"] else "?")
        if "deny" in asked or asked.get("username") not in self.users:
            answer = {"error": "access_denied", "error_description": "The user said no"}
            return RedirectResponse(back + urlencode({**answer, "state": asked["state"]}), 303)
        code = secrets.token_urlsafe(16)
        self._codes[code] = _Code(
            self.client_id,
            asked["redirect_uri"],
            asked.get("nonce"),
            asked["code_challenge"],
            asked["username"],
        )
        return RedirectResponse(back + urlencode({"code": code, "state": asked["state"]}), 303)

    async def token(self, request: Request) -> Response:
        form = await _form(request)
        self.token_requests.append(
            {**form, "authorization": request.headers.get("authorization", "")}
        )
        client_id, secret = _client_credentials(request, form)
        if client_id != self.client_id or secret != self.client_secret:
            return JSONResponse({"error": "invalid_client"}, 401)
        code = self._codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or code is None:
            return JSONResponse({"error": "invalid_grant"}, 400)
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if code.redirect_uri != form.get("redirect_uri") or challenge != code.challenge:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        nonce = self.nonce_override if self.nonce_override is not None else code.nonce
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": self.lifetime,
                "id_token": self.id_token(code.user, nonce=nonce),
            }
        )

    @property
    def app(self) -> Starlette:
        async def outage(request: Request, call_next: Any) -> Response:
            return Response("down", 503) if self.down else await call_next(request)

        return Starlette(
            middleware=[Middleware(BaseHTTPMiddleware, dispatch=outage)],
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/keys", self.keys),
                Route("/authorize", self.authorize, methods=["GET", "POST"]),
                Route("/token", self.token, methods=["POST"]),
            ],
        )


async def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode()))


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.startswith("Basic "):
        pair = base64.b64decode(header[6:]).decode()
        client_id, _, secret = pair.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    return form.get("client_id"), form.get("client_secret")


def _sign_in_form(asked: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in asked.items()
    )
    return (
        "<!doctype html><title>Test issuer</title><h1>Sign in to the test issuer</h1>"
        f'<form method="post" action="/authorize">{hidden}'
        '<label for="username">User name</label> <input id="username" name="username">'
        ' <button id="approve" type="submit">Sign in</button>'
        ' <button id="deny" name="deny" value="1" type="submit">Refuse</button></form>'
    )


@contextmanager
def serving(issuer: TestIssuer, host: str = "127.0.0.1") -> Iterator[int]:
    """Serve ``issuer`` on a free port of ``host`` in a thread; yields the port. The
    caller sets ``issuer.url`` from it (the URL names the issuer in every token)."""
    server = uvicorn.Server(uvicorn.Config(issuer.app, host=host, port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="test-oidc-issuer", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="the test issuer listening", timeout=30)
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
