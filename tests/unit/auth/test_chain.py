"""ChainAuthenticator: a credential goes to the method its shape names, and no further."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from lightkube.models.authentication_v1 import UserInfo
from starlette.requests import HTTPConnection

from kubeweft.auth.apikeys import ApiKeyAuthenticator
from kubeweft.auth.chain import ChainAuthenticator
from kubeweft.auth.development import DevelopmentAuthenticator, DevelopmentModeError
from kubeweft.auth.identity import AuthenticationError
from kubeweft.auth.jwtbearer import JwtAuthenticator
from kubeweft.auth.tokenreview import KubernetesTokenAuthenticator
from kubeweft.db.tables import ACTOR_LENGTH

from .conftest import FakeReviewClient

pytestmark = pytest.mark.anyio

SECRET = "x" * 32
ISSUER = "https://idp.example"


def _connection(**headers: str) -> HTTPConnection:
    scope: dict[str, Any] = {
        "type": "http",
        "path": "/api/webapps",
        "headers": [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
    }
    return HTTPConnection(scope)


def _jwt(**claims: Any) -> str:
    body = {"iss": ISSUER, "sub": "alice", "exp": int(time.time()) + 60, **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


@pytest.fixture
def client() -> FakeReviewClient:
    return FakeReviewClient(users={"k8s-token": UserInfo(username="bob", groups=["qa"])})


@pytest.fixture
def chain(client: FakeReviewClient) -> ChainAuthenticator:
    return ChainAuthenticator(
        jwt=JwtAuthenticator(hs256_secret=SECRET, issuer=ISSUER),
        kubernetes=KubernetesTokenAuthenticator(client),
    )


async def test_jwt_for_our_issuer(chain: ChainAuthenticator, client: FakeReviewClient) -> None:
    identity = await chain.authenticate(_connection(authorization=f"Bearer {_jwt()}"))
    assert (identity.user, identity.method) == (f"{ISSUER}#alice", "jwt")
    assert client.requests == []


async def test_bad_jwt_for_our_issuer_is_final(
    chain: ChainAuthenticator, client: FakeReviewClient
) -> None:
    forged = jwt.encode({"iss": ISSUER, "sub": "alice"}, "y" * 32, algorithm="HS256")
    with pytest.raises(AuthenticationError) as caught:
        await chain.authenticate(_connection(authorization=f"Bearer {forged}"))
    assert "invalid_token" in caught.value.challenge
    assert client.requests == []  # not handed on to TokenReview


async def test_other_bearer_tokens_go_to_tokenreview(
    chain: ChainAuthenticator, client: FakeReviewClient
) -> None:
    identity = await chain.authenticate(_connection(authorization="Bearer k8s-token"))
    assert (identity.user, identity.method) == ("bob", "kubernetes")
    with pytest.raises(AuthenticationError):
        await chain.authenticate(_connection(authorization="Bearer wrong"))
    assert len(client.requests) == 2


async def test_no_credentials_is_a_bare_challenge(chain: ChainAuthenticator) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await chain.authenticate(_connection())
    assert caught.value.challenge == 'Bearer realm="kubeweft"'


@pytest.mark.parametrize("value", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer   ", "Token abc"])
async def test_other_schemes_refused(chain: ChainAuthenticator, value: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await chain.authenticate(_connection(authorization=value))
    assert "invalid_request" in caught.value.challenge


async def test_api_keys_refused_when_not_enabled(
    chain: ChainAuthenticator, client: FakeReviewClient
) -> None:
    for headers in ({"authorization": "Bearer kw_abc_def"}, {"x_api_key": "kw_abc_def"}):
        with pytest.raises(AuthenticationError, match="not enabled"):
            await chain.authenticate(_connection(**headers))
    assert client.requests == []  # an API key is never sent to the API server


async def test_development_identity_only_without_credentials(client: FakeReviewClient) -> None:
    chain = ChainAuthenticator(
        kubernetes=KubernetesTokenAuthenticator(client),
        development=DevelopmentAuthenticator("dev", ["system:masters"], mode="development"),
    )
    identity = await chain.authenticate(_connection())
    assert (identity.user, identity.groups, identity.method) == (
        "dev",
        ("system:masters",),
        "development",
    )
    with pytest.raises(AuthenticationError):
        await chain.authenticate(_connection(authorization="Bearer wrong"))


def test_development_identity_refused_in_production() -> None:
    with pytest.raises(DevelopmentModeError):
        DevelopmentAuthenticator("dev", [], mode="production")


async def test_a_username_too_long_to_record_is_refused() -> None:
    """Whatever the method, an identity that the audit log could not name is a 401."""
    longest, too_long = "u" * ACTOR_LENGTH, "u" * (ACTOR_LENGTH + 1)
    client = FakeReviewClient(
        users={"fits": UserInfo(username=longest), "too-long": UserInfo(username=too_long)}
    )
    chain = ChainAuthenticator(kubernetes=KubernetesTokenAuthenticator(client))
    assert (await chain.authenticate(_connection(authorization="Bearer fits"))).user == longest
    with pytest.raises(AuthenticationError) as caught:
        await chain.authenticate(_connection(authorization="Bearer too-long"))
    assert "invalid_token" in caught.value.challenge


class _UnreachableDatabase:
    """An API-key store that must not be asked."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was asked ({name})")


async def test_malformed_api_keys_refused_without_a_database_lookup() -> None:
    chain = ChainAuthenticator(api_keys=ApiKeyAuthenticator(_UnreachableDatabase()))  # type: ignore[arg-type]
    well_formed = "kw_" + "0123456789ab" + "_" + "S" * 43
    for token in (
        "kw_abc_def",
        "kw_0123456789ab_" + "S" * 42,
        "kw_0123456789AB_" + "S" * 43,
        "kw_0123456789ab_" + "S" * 100_000,
        well_formed + "=",
    ):
        for headers in ({"authorization": f"Bearer {token}"}, {"x_api_key": token}):
            with pytest.raises(AuthenticationError, match="malformed"):
                await chain.authenticate(_connection(**headers))
    with pytest.raises(Exception, match="database was asked"):
        await chain.authenticate(_connection(x_api_key=well_formed))
