"""build_authenticator / build_authorizer: settings decide which methods exist."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from kubeweft.auth.config import AuthConfigurationError, build_authenticator, build_authorizer
from kubeweft.auth.development import DevelopmentModeError
from kubeweft.settings import Settings

from .conftest import FakeReviewClient


def _settings(**values: object) -> Settings:
    return Settings.model_validate(values)


def test_defaults_are_kubernetes_tokens_only() -> None:
    chain = build_authenticator(_settings(), FakeReviewClient(), None)
    assert chain.kubernetes is not None
    assert (chain.jwt, chain.api_keys, chain.development) == (None, None, None)


def test_secret_and_issuer_enable_jwt() -> None:
    settings = _settings(
        jwt_hs256_secret=SecretStr("z" * 32),
        jwt_issuer="https://idp.example",
        jwt_algorithms=["ES256"],
        kubernetes_token_auth=False,
    )
    chain = build_authenticator(settings, FakeReviewClient(), None)
    assert chain.jwt is not None
    assert chain.jwt.accepted_algorithms == ["HS256", "ES256"]
    assert chain.kubernetes is None


def test_dev_user_refused_in_production() -> None:
    with pytest.raises(DevelopmentModeError):
        build_authenticator(_settings(dev_user="me", mode="production"), FakeReviewClient(), None)


def test_jwt_without_audience_refused_in_production() -> None:
    settings = _settings(mode="production", jwt_hs256_secret=SecretStr("z" * 32))
    with pytest.raises(AuthConfigurationError) as caught:
        build_authenticator(settings, FakeReviewClient(), None)
    message = str(caught.value)
    assert "KUBEWEFT_JWT_AUDIENCE" in message
    assert "\n" not in message
    settings = _settings(
        mode="production", jwt_hs256_secret=SecretStr("z" * 32), jwt_audience="kubeweft"
    )
    assert build_authenticator(settings, FakeReviewClient(), None).jwt is not None


def test_jwt_audience_optional_in_development() -> None:
    settings = _settings(jwt_hs256_secret=SecretStr("z" * 32))
    assert build_authenticator(settings, FakeReviewClient(), None).jwt is not None


@pytest.mark.parametrize(
    ("configured", "expected"),
    [(None, "https://idp.example#"), ("-", ""), ("idp:", "idp:")],
)
def test_jwt_prefix_settings(configured: str | None, expected: str) -> None:
    settings = _settings(
        jwt_hs256_secret=SecretStr("z" * 32),
        jwt_issuer="https://idp.example",
        jwt_username_prefix=configured,
        jwt_groups_prefix="idp:",
    )
    jwt = build_authenticator(settings, FakeReviewClient(), None).jwt
    assert jwt is not None
    assert (jwt.username_prefix, jwt.groups_prefix) == (expected, "idp:")


def test_authorizer_ttls_from_settings() -> None:
    settings = _settings(authz_cache_ttl_seconds=5, authz_deny_cache_ttl_seconds=9)
    authorizer = build_authorizer(settings, FakeReviewClient())
    assert (authorizer.allow_ttl, authorizer.deny_ttl) == (5, 5)
