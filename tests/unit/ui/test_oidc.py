"""The dashboard's OpenID Connect sign-in, start to session cookie, against the test
issuer in-process: the routes on a bare app, a cookie jar for the browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from kubeweft.auth.jwks import KeySetCache
from kubeweft.auth.jwtbearer import JwtAuthenticator
from kubeweft.auth.oidc import OidcClient, code_challenge
from kubeweft.ui.oidc import FLOW_COOKIE_PREFIX, OidcSignIn, oidc_router
from kubeweft.ui.session import SESSION_COOKIE, Sessions
from tests.support.oidc_issuer import TestIssuer

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"
BASE = "http://kubeweft.test"


def show_sign_in(request: Request, status: int, target: str, error: str | None) -> Response:
    return PlainTextResponse(f"{target} | {error}", status)


@pytest.fixture
def issuer() -> TestIssuer:
    return TestIssuer(ISSUER, "kubeweft", "s3cret", users={"alice": {"groups": ["team-a"]}})


@pytest.fixture
def sessions() -> Sessions:
    return Sessions.new("k" * 40, max_age_seconds=3600, secure=False)


@pytest.fixture
def relying(issuer: TestIssuer) -> OidcClient:
    transport = httpx.ASGITransport(app=issuer.app)
    return OidcClient(
        issuer=ISSUER, client_id="kubeweft", client_secret="s3cret", transport=transport
    )


@pytest.fixture
async def browser(
    issuer: TestIssuer, sessions: Sessions, relying: OidcClient
) -> AsyncIterator[httpx.AsyncClient]:
    verifier = JwtAuthenticator(
        key_set=KeySetCache(issuer=ISSUER, transport=httpx.ASGITransport(app=issuer.app)),
        algorithms=["RS256"],
        issuer=ISSUER,
        audience="kubeweft",
        username_prefix="",
        method="oidc",
    )
    ui = APIRouter(prefix="/ui")
    local = lambda target: target if target.startswith("/ui") else "/ui"  # noqa: E731
    ui.include_router(
        oidc_router(OidcSignIn(relying, verifier), sessions, show_sign_in, local=local)
    )
    app = FastAPI()
    app.include_router(ui)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        yield http


async def start(browser: httpx.AsyncClient) -> dict[str, str]:
    """Click "Sign in with …": the authorization request's parameters."""
    started = await browser.get("/ui/sign-in/oidc", params={"next": "/ui/webapps"})
    assert started.status_code == 303, started.text
    assert started.headers["location"].startswith(f"{ISSUER}/authorize?")
    return {k: v[0] for k, v in parse_qs(urlsplit(started.headers["location"]).query).items()}


async def at_the_issuer(issuer: TestIssuer, asked: dict[str, str], **form: str) -> str:
    """The person's answer on the issuer's page: where the issuer sends the browser."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer.app)) as http:
        answer = await http.post(f"{ISSUER}/authorize", data={**asked, **form})
    assert answer.status_code == 303
    location: str = answer.headers["location"]
    assert location.startswith(f"{BASE}/ui/sign-in/oidc/callback?")
    return location


async def test_sign_in_ends_in_the_strict_session_cookie(
    browser: httpx.AsyncClient, issuer: TestIssuer, sessions: Sessions
) -> None:
    started = await browser.get("/ui/sign-in/oidc", params={"next": "/ui/webapps"})
    flow_cookie = started.headers["set-cookie"].lower()
    assert flow_cookie.startswith(FLOW_COOKIE_PREFIX)
    # Lax: it must come back on the issuer's cross-site redirect (ui/oidc.py).
    assert "samesite=lax" in flow_cookie
    assert "httponly" in flow_cookie
    assert "path=/ui/sign-in/oidc" in flow_cookie
    asked = {k: v[0] for k, v in parse_qs(urlsplit(started.headers["location"]).query).items()}
    assert asked["redirect_uri"] == f"{BASE}/ui/sign-in/oidc/callback"
    assert asked["code_challenge_method"] == "S256"
    assert asked["code_challenge"] != code_challenge(asked["state"])
    assert len({asked["state"], asked["nonce"]}) == 2
    callback = await browser.get(await at_the_issuer(issuer, asked, username="alice"))
    assert callback.status_code == 200, callback.text
    # A page that moves on by itself, so the next request is same-site and carries
    # the Strict session cookie.
    assert '<meta http-equiv="refresh" content="0;url=/ui/webapps">' in callback.text
    assert "Signed in as <strong>alice</strong>" in callback.text
    cookies = callback.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(SESSION_COOKIE)).lower()
    assert "samesite=strict" in session
    assert "httponly" in session
    assert any(c.startswith(FLOW_COOKIE_PREFIX) and "max-age=0" in c.lower() for c in cookies)
    id_token = sessions.open(browser.cookies[SESSION_COOKIE])
    assert id_token is not None
    claims = jwt.decode(id_token, options={"verify_signature": False})
    assert (claims["sub"], claims["nonce"]) == ("alice", asked["nonce"])
    # The answer is good once: the flow cookie is gone.
    replayed = await browser.get(await at_the_issuer(issuer, asked, username="alice"))
    assert replayed.status_code == 400


async def test_an_answer_for_another_browser_is_refused(
    browser: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    asked = await start(browser)
    callback = await at_the_issuer(issuer, asked, username="alice")
    browser.cookies.clear()  # the victim's browser, lured to the attacker's callback URL
    refused = await browser.get(callback)
    assert refused.status_code == 400
    assert "does not belong to a sign-in started in this browser" in refused.text
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    forged = await browser.get("/ui/sign-in/oidc/callback", params={"state": "x", "code": "y"})
    assert forged.status_code == 400


async def test_the_issuers_refusal_is_shown(browser: httpx.AsyncClient, issuer: TestIssuer) -> None:
    asked = await start(browser)
    refused = await browser.get(await at_the_issuer(issuer, asked, deny="1"))
    assert refused.status_code == 401
    assert "idp.example did not sign you in: access_denied (The user said no)" in refused.text
    assert refused.text.startswith("/ui/webapps | ")  # back to the form, next kept


@pytest.mark.parametrize(
    ("knob", "value", "said"),
    [
        ("nonce_override", "another-sign-in", "does not answer this sign-in (nonce)"),
        ("lifetime", -120, "it has expired"),
    ],
)
async def test_an_unusable_id_token_is_refused(
    browser: httpx.AsyncClient, issuer: TestIssuer, knob: str, value: object, said: str
) -> None:
    setattr(issuer, knob, value)
    asked = await start(browser)
    refused = await browser.get(await at_the_issuer(issuer, asked, username="alice"))
    assert refused.status_code == 401
    assert said in refused.text
    assert SESSION_COOKIE not in browser.cookies


async def test_an_unreachable_issuer_is_named(
    browser: httpx.AsyncClient, issuer: TestIssuer, relying: OidcClient
) -> None:
    asked = await start(browser)  # discovery answered, and is cached

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    relying._transport = httpx.MockTransport(refuse)
    failed = await browser.get(await at_the_issuer(issuer, asked, username="alice"))
    assert failed.status_code == 502
    assert "could not be asked: https://idp.example/token: ConnectError" in failed.text
    relying._metadata = None  # and before discovery
    failed = await browser.get("/ui/sign-in/oidc")
    assert failed.status_code == 502
    assert "idp.example could not be reached" in failed.text


async def test_an_id_token_too_large_for_a_cookie_is_refused_with_a_reason(
    browser: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    issuer.users["alice"]["groups"] = [f"group-{n:04}" for n in range(400)]
    asked = await start(browser)
    refused = await browser.get(await at_the_issuer(issuer, asked, username="alice"))
    assert refused.status_code == 502
    assert "too large to keep in a cookie" in refused.text
    assert SESSION_COOKIE not in browser.cookies
