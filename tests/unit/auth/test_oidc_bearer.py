"""The issuer's ID tokens as bearer tokens: the chain's OIDC authenticator, built from
``KUBEWEFT_OIDC_*`` as kube-apiserver reads its ``--oidc-*`` flags, keys from the test
issuer's JWKS (in-process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.requests import HTTPConnection

from kubeweft.auth.chain import ChainAuthenticator
from kubeweft.auth.config import AuthConfigurationError, build_authenticator
from kubeweft.auth.identity import AuthenticationError
from kubeweft.auth.jwks import KeySetCache
from kubeweft.auth.jwtbearer import JwtAuthenticator
from kubeweft.runtime.clock import FakeClock
from kubeweft.settings import Settings
from tests.support.oidc_issuer import TestIssuer

from .conftest import FakeReviewClient

pytestmark = pytest.mark.anyio

ISSUER = "https://idp.example"


def _connection(token: str) -> HTTPConnection:
    headers = [(b"authorization", f"Bearer {token}".encode())]
    return HTTPConnection({"type": "http", "path": "/api", "headers": headers, "client": None})


@pytest.fixture
def issuer() -> TestIssuer:
    users = {"alice": {"groups": ["team-a"], "email": "a@x.example", "email_verified": True}}
    return TestIssuer(ISSUER, "kubeweft", None, users=users)


def _settings(**values: Any) -> Settings:
    return Settings.model_validate(
        {"oidc_issuer_url": ISSUER, "oidc_client_id": "kubeweft", **values}
    )


def _chain(
    issuer: TestIssuer, settings: Settings, clock: FakeClock | None = None
) -> ChainAuthenticator:
    """What build_authenticator makes, with the key set fetched in-process."""
    chain = build_authenticator(settings, FakeReviewClient(), None)
    assert chain.oidc is not None
    transport = httpx.ASGITransport(app=issuer.app)
    chain.oidc._key_set = KeySetCache(issuer=ISSUER, transport=transport, clock=clock)
    return chain


async def test_an_id_token_maps_like_kube_apiservers_oidc_flags(issuer: TestIssuer) -> None:
    settings = _settings(
        oidc_username_prefix="oidc:",
        oidc_groups_claim="groups",
        oidc_groups_prefix="oidc:",
        # An HS256 JWT method beside it claims by algorithm; the issuer's tokens go to OIDC.
        jwt_hs256_secret=SecretStr("z" * 32),
    )
    identity = await _chain(issuer, settings).authenticate(_connection(issuer.id_token("alice")))
    assert (identity.user, identity.groups, identity.method) == (
        "oidc:alice",
        ("oidc:team-a",),
        "oidc",
    )


async def test_defaults_are_kube_apiservers(issuer: TestIssuer) -> None:
    # sub with the "<issuer>#" prefix, and no groups without --oidc-groups-claim.
    identity = await _chain(issuer, _settings()).authenticate(_connection(issuer.id_token("alice")))
    assert (identity.user, identity.groups) == (f"{ISSUER}#alice", ())
    by_email = _chain(issuer, _settings(oidc_username_claim="email"))
    identity = await by_email.authenticate(_connection(issuer.id_token("alice")))
    assert identity.user == "a@x.example"


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": 1_000_000},  # expired long ago
        {"aud": "another-client"},
        {"hd": "other.example"},  # a required claim with another value
    ],
)
async def test_refused_id_tokens(issuer: TestIssuer, claims: dict[str, Any]) -> None:
    chain = _chain(issuer, _settings(oidc_required_claims={"hd": "x.example"}))
    assert await chain.authenticate(_connection(issuer.id_token("alice", hd="x.example")))
    with pytest.raises(AuthenticationError):
        await chain.authenticate(
            _connection(issuer.id_token("alice", **{"hd": "x.example", **claims}))
        )


async def test_a_rotated_signing_key_is_fetched(issuer: TestIssuer) -> None:
    clock = FakeClock()
    chain = _chain(issuer, _settings(), clock)
    await chain.authenticate(_connection(issuer.id_token("alice")))
    assert issuer.rotate() == "key-2"
    # An unknown kid refetches the key set, at most once per 30 s (auth/jwks.py).
    clock.advance(31)
    identity = await chain.authenticate(_connection(issuer.id_token("alice")))
    assert identity.user == f"{ISSUER}#alice"
    assert isinstance(chain.oidc, JwtAuthenticator)
    assert chain.oidc._key_set is not None
    assert chain.oidc._key_set.fetches == 2


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"oidc_issuer_url": "http://idp.example"}, "KUBEWEFT_OIDC_ISSUER_URL"),
        ({"oidc_client_id": None}, "KUBEWEFT_OIDC_CLIENT_ID"),
        ({"oidc_client_secret_file": Path("/nonexistent/secret")}, "SECRET_FILE"),
        (
            {
                "oidc_client_secret": SecretStr("a"),
                "oidc_client_secret_file": Path("/etc/hostname"),
            },
            "KUBEWEFT_OIDC_CLIENT_SECRET_FILE are both set",
        ),
        ({"jwt_issuer": ISSUER}, "KUBEWEFT_JWT_ISSUER"),
        ({"oidc_signing_algs": ["HS256"]}, "KUBEWEFT_OIDC_SIGNING_ALGS"),
        ({"oidc_redirect_url": "http://kubeweft.example/cb"}, "KUBEWEFT_OIDC_REDIRECT_URL"),
    ],
)
def test_configuration_mistakes_name_the_setting(values: dict[str, Any], named: str) -> None:
    with pytest.raises(AuthConfigurationError, match=named) as caught:
        build_authenticator(_settings(**values), FakeReviewClient(), None)
    assert "\n" not in str(caught.value)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEWEFT_OIDC_ISSUER_URL", ISSUER)
    monkeypatch.setenv("KUBEWEFT_OIDC_CLIENT_ID", "kubeweft")
    monkeypatch.setenv("KUBEWEFT_OIDC_SCOPES", '["openid", "groups"]')
    monkeypatch.setenv("KUBEWEFT_OIDC_REQUIRED_CLAIMS", '{"hd": "x.example"}')
    settings = Settings()
    assert (settings.oidc_issuer_url, settings.oidc_client_id) == (ISSUER, "kubeweft")
    assert settings.oidc_scopes == ["openid", "groups"]
    assert settings.oidc_required_claims == {"hd": "x.example"}
