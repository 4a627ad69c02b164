"""Sign in with the configured OpenID Connect issuer: the authorization code flow with
PKCE, ``state`` and ``nonce``, ending in the same session cookie as a pasted token.

``/ui/sign-in/oidc`` starts a sign-in: it keeps the flow's secrets (PKCE verifier,
nonce, where to go next) sealed in a cookie named after the ``state`` and sends the
browser to the issuer. ``/ui/sign-in/oidc/callback`` is where the issuer sends it back:
the ``state`` must name such a cookie, the code is exchanged at the token endpoint with
the verifier, and the ID token must pass the API's own OIDC authenticator (signature
from the issuer's keys, ``iss``, ``aud`` = client id, ``exp``, the claim mapping) and
carry the flow's ``nonce``. The session cookie then seals that ID token: every later
request is authenticated from it exactly as a script's bearer token would be, and the
session ends when the token expires.

Why the flow cookie is ``SameSite=Lax`` and the callback answers with a page rather than
a redirect: the issuer's redirect back is a top-level navigation *from another site*.
A browser sends ``SameSite=Strict`` cookies on no request of such a navigation, so a
Strict flow cookie would never come back and no sign-in could finish; ``Lax`` cookies
are sent on cross-site top-level ``GET`` navigations, which is exactly this one. The
flow cookie is good for one sign-in only (deleted by the callback), for ten minutes,
and only under ``/ui/sign-in/oidc``. The session cookie stays ``Strict``: it is set by
the callback's answer (a cookie is stored from a cross-site navigation's response all
the same), but a redirect from there would still be part of the cross-site navigation
and go out without it, landing on the sign-in form again. So the callback answers with
a small page that moves on by itself (``<meta http-equiv="refresh">``): that navigation
starts on our own page, is same-site, and carries the new session cookie.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kubeweft.auth.identity import AuthenticationError
from kubeweft.auth.oidc import OidcClient, OidcError, new_code_verifier
from kubeweft.ui.session import Sessions

if TYPE_CHECKING:  # PyJWT and cryptography load with the first sign-in, not at start
    import jinja2

    from kubeweft.auth.jwtbearer import JwtAuthenticator

__all__ = ["CALLBACK_PATH", "FLOW_COOKIE_PREFIX", "OidcSignIn", "ShowSignIn", "oidc_router"]

log = structlog.get_logger(__name__)

START_PATH = "/ui/sign-in/oidc"
CALLBACK_PATH = f"{START_PATH}/callback"
FLOW_COOKIE_PREFIX = "kubeweft_oidc_"
FLOW_MAX_AGE_SECONDS = 600
#: Browsers keep cookies up to about 4 KiB, name and attributes included.
MAX_SESSION_COOKIE_BYTES = 3900
_STATE = re.compile(r"[A-Za-z0-9_-]{43}")
_DESCRIPTION_SHOWN = 200

#: ``(request, status, next, error) -> the sign-in page`` (``ui.pages``).
ShowSignIn = Callable[[Request, int, str, str | None], Response]


@functools.cache
def _pages() -> jinja2.Environment:
    """Made with the first sign-in, as the dashboard's own templates (``ui.pages``)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@dataclass(frozen=True)
class OidcSignIn:
    """What the sign-in needs: the relying party, the API's verifier of the issuer's
    ID tokens, and the callback URL registered at the issuer (None: from the request)."""

    client: OidcClient
    verifier: JwtAuthenticator
    redirect_url: str | None = None


def oidc_router(
    oidc: OidcSignIn, sessions: Sessions, show_sign_in: ShowSignIn, *, local: Callable[[str], str]
) -> APIRouter:
    """The start and callback routes; ``local`` keeps ``next`` on the dashboard."""
    router = APIRouter(include_in_schema=False)
    issuer = oidc.client.display_name

    def flow_cookie(state: str) -> str:
        return FLOW_COOKIE_PREFIX + state

    # Included under the dashboard's /ui prefix.
    @router.get(START_PATH.removeprefix("/ui"))
    async def start(request: Request, next: str = "/ui") -> Response:
        target = local(next)
        try:
            metadata = await oidc.client.metadata()
        except OidcError as error:
            log.warning("oidc issuer unavailable", issuer=oidc.client.issuer, error=str(error))
            text = f"The identity provider {issuer} could not be reached: {error}"
            return show_sign_in(request, 502, target, text)
        state, nonce, verifier = (
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(32),
            new_code_verifier(),
        )
        redirect_uri = oidc.redirect_url or str(request.base_url).rstrip("/") + CALLBACK_PATH
        flow = {"nonce": nonce, "verifier": verifier, "next": target, "redirect_uri": redirect_uri}
        response = RedirectResponse(
            oidc.client.authorization_url(
                metadata, redirect_uri=redirect_uri, state=state, nonce=nonce, verifier=verifier
            ),
            303,
        )
        response.set_cookie(
            flow_cookie(state),
            sessions.seal(json.dumps(flow)),
            max_age=FLOW_MAX_AGE_SECONDS,
            path=START_PATH,
            httponly=True,
            samesite="lax",  # see the module: the way back is a cross-site navigation
            secure=sessions.secure,
        )
        return response

    @router.get(CALLBACK_PATH.removeprefix("/ui"))
    async def callback(request: Request) -> Response:
        params = request.query_params
        state = params.get("state", "")
        flow = (
            _open_flow(sessions, request.cookies.get(flow_cookie(state)))
            if _STATE.fullmatch(state)
            else None
        )
        target = local(flow["next"]) if flow else "/ui"

        def refused(status: int, text: str) -> Response:
            page = show_sign_in(request, status, target, text)
            if flow is not None:
                page.delete_cookie(
                    flow_cookie(state),
                    path=START_PATH,
                    httponly=True,
                    samesite="lax",
                    secure=sessions.secure,
                )
            return page

        if (error := params.get("error")) is not None:
            described = params.get("error_description", "")[:_DESCRIPTION_SHOWN]
            reason = error[:_DESCRIPTION_SHOWN] + (f" ({described})" if described else "")
            return refused(401, f"{issuer} did not sign you in: {reason}.")
        if flow is None:
            return refused(
                400,
                "This answer from the identity provider does not belong to a sign-in started"
                " in this browser in the last ten minutes; please sign in again.",
            )
        code = params.get("code")
        if not code:
            return refused(400, f"{issuer} sent no authorization code; please sign in again.")
        try:
            id_token = await oidc.client.exchange(
                code, redirect_uri=flow["redirect_uri"], verifier=flow["verifier"]
            )
        except OidcError as error:
            log.warning("oidc code exchange failed", issuer=oidc.client.issuer, error=str(error))
            return refused(502, f"The identity provider {issuer} could not be asked: {error}")
        import jwt

        try:
            claims: dict[str, Any] = jwt.decode(id_token, options={"verify_signature": False})
            identity = await oidc.verifier.verify(id_token)
        except (jwt.PyJWTError, AuthenticationError) as error:
            # The reason goes to the log only (as for any refused credential); the page
            # names the common, harmless case.
            log.info("oidc id token refused", issuer=oidc.client.issuer, reason=str(error))
            expired = isinstance(error, AuthenticationError) and _expired(id_token)
            why = "it has expired (are the clocks right?)" if expired else "see the server log"
            return refused(
                401, f"The ID token from {issuer} was not accepted: {why}. Please sign in again."
            )
        if claims.get("nonce") != flow["nonce"]:
            return refused(401, f"The ID token from {issuer} does not answer this sign-in (nonce).")
        if claims.get("azp", oidc.client.client_id) != oidc.client.client_id:
            return refused(401, f"The ID token from {issuer} was issued to another client (azp).")
        if len(sessions.seal(id_token)) > MAX_SESSION_COOKIE_BYTES:
            return refused(
                502,
                f"The ID token from {issuer} is too large to keep in a cookie; ask the"
                " identity provider for fewer claims (scopes, groups).",
            )
        log.info("signed in with oidc", user=identity.user, issuer=oidc.client.issuer)
        page = HTMLResponse(
            _pages().get_template("signed_in.html").render(user=identity.user, next=target),
            headers={"Cache-Control": "no-store"},
        )
        lifetime = int(claims["exp"] - time.time())  # exp is required and was verified
        sessions.set_cookie(page, id_token, max_age=max(lifetime, 1))
        page.delete_cookie(
            flow_cookie(state),
            path=START_PATH,
            httponly=True,
            samesite="lax",
            secure=sessions.secure,
        )
        return page

    return router


def _expired(id_token: str) -> bool:
    import jwt

    claims = jwt.decode(id_token, options={"verify_signature": False})
    exp = claims.get("exp")
    return isinstance(exp, int | float) and exp < time.time()


def _open_flow(sessions: Sessions, cookie: str | None) -> dict[str, str] | None:
    if cookie is None:
        return None
    opened = sessions.open(cookie, ttl=FLOW_MAX_AGE_SECONDS)
    if opened is None:
        return None
    flow = json.loads(opened)
    return flow if isinstance(flow, dict) else None
