"""The OpenID Connect relying party against the test issuer (in-process, no port):
discovery and its checks, the authorization request, the code exchange with PKCE."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kubeweft.auth.oidc import (
    OidcClient,
    OidcError,
    code_challenge,
    new_code_verifier,
    url_problem,
)
from tests.support.oidc_issuer import TestIssuer

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"
REDIRECT = "https://kubeweft.example/ui/sign-in/oidc/callback"


@pytest.fixture
def issuer() -> TestIssuer:
    return TestIssuer(ISSUER, "kubeweft", "s3cret", users={"alice": {"groups": ["team-a"]}})


def client(issuer: TestIssuer, **options: object) -> OidcClient:
    values: dict[str, object] = {"client_secret": "s3cret", **options}
    return OidcClient(
        issuer=issuer.url,
        client_id="kubeweft",
        transport=httpx.ASGITransport(app=issuer.app),
        **values,  # type: ignore[arg-type]
    )


async def signed_in_code(issuer: TestIssuer, url: str, user: str = "alice") -> str:
    """What the issuer's sign-in form answers for ``user``: the code in the redirect."""
    asked = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=issuer.app), base_url=ISSUER
    ) as http:
        answer = await http.post("/authorize", data={**asked, "username": user})
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["state"] == [asked["state"]]
    return back["code"][0]


def test_pkce_challenge_is_rfc_7636s_example() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    fresh = new_code_verifier()
    assert len(fresh) == 43
    assert fresh != new_code_verifier()


@pytest.mark.parametrize(
    ("url", "fine"),
    [
        ("https://idp.example", True),
        ("https://idp.example/realms/x", True),
        ("http://127.0.0.1:5556/dex", True),
        ("http://localhost:8080", True),
        ("http://idp.example", False),
        ("idp.example", False),
        ("https://idp.example/?tenant=a", False),
    ],
)
def test_issuer_urls_are_https_or_loopback(url: str, fine: bool) -> None:
    assert (url_problem(url) is None) == fine


async def test_discovery_reads_the_endpoints(issuer: TestIssuer) -> None:
    metadata = await client(issuer).metadata()
    assert metadata.authorization_endpoint == f"{ISSUER}/authorize"
    assert metadata.token_endpoint == f"{ISSUER}/token"
    assert metadata.jwks_uri == f"{ISSUER}/keys"


async def test_discovery_naming_another_issuer_is_refused(issuer: TestIssuer) -> None:
    relying = OidcClient(
        issuer=ISSUER + "/",  # the trailing slash matters, as in kube-apiserver
        client_id="kubeweft",
        transport=httpx.ASGITransport(app=issuer.app),
    )
    with pytest.raises(OidcError, match="must match exactly"):
        await relying.metadata()


async def test_an_unreachable_issuer_is_named() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    relying = OidcClient(issuer=ISSUER, client_id="kubeweft", transport=httpx.MockTransport(refuse))
    with pytest.raises(OidcError, match=r"idp\.example/\.well-known/openid-configuration"):
        await relying.metadata()


async def test_a_plain_http_endpoint_off_loopback_is_refused(issuer: TestIssuer) -> None:
    async def discovery(request: httpx.Request) -> httpx.Response:
        document = (await issuer.discovery(None)).body  # type: ignore[arg-type]
        return httpx.Response(
            200, content=bytes(document).replace(b"https://idp.example/token", b"http://x/token")
        )

    relying = OidcClient(
        issuer=ISSUER, client_id="kubeweft", transport=httpx.MockTransport(discovery)
    )
    with pytest.raises(OidcError, match="token_endpoint"):
        await relying.metadata()


async def test_the_authorization_request_carries_state_nonce_and_pkce(
    issuer: TestIssuer,
) -> None:
    relying = client(issuer, scopes=("email", "groups"))
    url = relying.authorization_url(
        await relying.metadata(), redirect_uri=REDIRECT, state="st", nonce="no", verifier="v" * 43
    )
    asked = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{ISSUER}/authorize?")
    assert asked == {
        "response_type": "code",
        "client_id": "kubeweft",
        "redirect_uri": REDIRECT,
        "scope": "openid email groups",
        "state": "st",
        "nonce": "no",
        "code_challenge": code_challenge("v" * 43),
        "code_challenge_method": "S256",
    }


async def test_the_code_is_exchanged_for_the_id_token(issuer: TestIssuer) -> None:
    relying = client(issuer)
    verifier = new_code_verifier()
    url = relying.authorization_url(
        await relying.metadata(), redirect_uri=REDIRECT, state="s", nonce="n", verifier=verifier
    )
    code = await signed_in_code(issuer, url)
    token = await relying.exchange(code, redirect_uri=REDIRECT, verifier=verifier)
    assert issuer.token_requests[-1]["authorization"].startswith("Basic ")
    assert "client_secret" not in issuer.token_requests[-1]
    assert token.count(".") == 2
    # The code is good once, and only with its own verifier.
    with pytest.raises(OidcError, match="invalid_grant"):
        await relying.exchange(code, redirect_uri=REDIRECT, verifier=verifier)
    other = await signed_in_code(issuer, url)
    with pytest.raises(OidcError, match="invalid_grant"):
        await relying.exchange(other, redirect_uri=REDIRECT, verifier=new_code_verifier())


async def test_client_secret_post_when_that_is_all_the_issuer_takes(issuer: TestIssuer) -> None:
    issuer.auth_methods = ("client_secret_post",)
    relying = client(issuer)
    verifier = new_code_verifier()
    url = relying.authorization_url(
        await relying.metadata(), redirect_uri=REDIRECT, state="s", nonce="n", verifier=verifier
    )
    await relying.exchange(
        await signed_in_code(issuer, url), redirect_uri=REDIRECT, verifier=verifier
    )
    assert issuer.token_requests[-1]["client_secret"] == "s3cret"
    assert issuer.token_requests[-1]["authorization"] == ""


async def test_the_secret_file_is_read_at_each_exchange(issuer: TestIssuer, tmp_path: Path) -> None:
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("stale\n")
    relying = client(issuer, client_secret=None, client_secret_file=secret_file)
    verifier = new_code_verifier()
    url = relying.authorization_url(
        await relying.metadata(), redirect_uri=REDIRECT, state="s", nonce="n", verifier=verifier
    )
    with pytest.raises(OidcError, match="invalid_client"):
        await relying.exchange(
            await signed_in_code(issuer, url), redirect_uri=REDIRECT, verifier=verifier
        )
    secret_file.write_text("s3cret\n")  # a rotated Secret, mounted again
    token = await relying.exchange(
        await signed_in_code(issuer, url), redirect_uri=REDIRECT, verifier=verifier
    )
    assert token.count(".") == 2


async def test_a_secret_with_reserved_characters_is_form_encoded_for_basic_auth() -> None:
    secret = "p+a:ss/w%rd"
    issuer = TestIssuer(ISSUER, "kube:weft", secret, users={"alice": {}})
    relying = OidcClient(
        issuer=ISSUER,
        client_id="kube:weft",
        client_secret=secret,
        transport=httpx.ASGITransport(app=issuer.app),
    )
    verifier = new_code_verifier()
    url = relying.authorization_url(
        await relying.metadata(), redirect_uri=REDIRECT, state="s", nonce="n", verifier=verifier
    )
    code = await signed_in_code(issuer, url)
    assert await relying.exchange(code, redirect_uri=REDIRECT, verifier=verifier)
