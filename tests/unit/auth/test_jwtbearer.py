"""The JWT validation matrix: what is accepted, and every hostile token refused.

Keys are served by an in-process JWKS endpoint (``httpx.MockTransport``), with a fake
clock driving the refresh rate limit. The end-to-end version over a real HTTP server
is in tests/integration/auth.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from kubeweft.auth.identity import AuthenticationError
from kubeweft.auth.jwks import KeySetCache
from kubeweft.auth.jwtbearer import JwtAuthenticator
from kubeweft.runtime.clock import FakeClock

pytestmark = pytest.mark.anyio

ISSUER = "https://issuer.example"
AUDIENCE = "kubeweft"
SECRET = "s" * 40

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPublicKey) else ECAlgorithm
    data: dict[str, Any] = algorithm.to_jwk(key, as_dict=True)
    return {**data, "kid": kid, "use": "sig"}


class JwksServer:
    """A JWKS endpoint whose key list the test can change; counts fetches."""

    def __init__(self) -> None:
        self.keys = [_jwk(RSA_KEY.public_key(), "rsa-1"), _jwk(EC_KEY.public_key(), "ec-1")]
        self.requests: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/keys"})
        if request.url.path == "/keys":
            return httpx.Response(200, json={"keys": self.keys})
        return httpx.Response(404)


@pytest.fixture
def jwks() -> JwksServer:
    return JwksServer()


@pytest.fixture
def key_set(jwks: JwksServer, clock: FakeClock) -> KeySetCache:
    return KeySetCache(
        issuer=ISSUER,
        clock=clock,
        min_refresh_interval=30,
        transport=httpx.MockTransport(jwks.handler),
    )


@pytest.fixture
def authenticator(key_set: KeySetCache) -> JwtAuthenticator:
    return JwtAuthenticator(
        hs256_secret=SECRET,
        key_set=key_set,
        algorithms=["RS256", "ES256"],
        issuer=ISSUER,
        audience=AUDIENCE,
        groups_claim="groups",
        username_prefix="",  # bare names keep the matrix below readable
    )


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "groups": ["devs"],
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


async def _refused(authenticator: JwtAuthenticator, token: str) -> str:
    assert authenticator.claims(token), "a token for our issuer is ours to decide"
    with pytest.raises(AuthenticationError) as caught:
        await authenticator.verify(token)
    assert "invalid_token" in caught.value.challenge
    return str(caught.value)


# --- accepted -----------------------------------------------------------------------------
async def test_hs256_with_configured_secret(authenticator: JwtAuthenticator) -> None:
    token = jwt.encode(_claims(), SECRET, algorithm="HS256")
    identity = await authenticator.verify(token)
    assert (identity.user, identity.groups, identity.method) == ("alice", ("devs",), "jwt")


async def test_rs256_from_discovered_jwks(
    authenticator: JwtAuthenticator, jwks: JwksServer
) -> None:
    token = jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
    assert (await authenticator.verify(token)).user == "alice"
    assert jwks.requests == ["/.well-known/openid-configuration", "/keys"]


async def test_es256_from_jwks(authenticator: JwtAuthenticator) -> None:
    token = jwt.encode(_claims(sub="bob"), EC_KEY, algorithm="ES256", headers={"kid": "ec-1"})
    assert (await authenticator.verify(token)).user == "bob"


async def test_configurable_user_and_group_claims() -> None:
    authenticator = JwtAuthenticator(
        hs256_secret=SECRET, user_claim="email", groups_claim="roles", issuer=ISSUER
    )
    token = jwt.encode(
        _claims(aud=None, email="a@example.com", email_verified=True, roles="ops"),
        SECRET,
        algorithm="HS256",
    )
    identity = await authenticator.verify(token)
    assert (identity.user, identity.groups) == ("a@example.com", ("ops",))


# --- identity mapping (kube-apiserver's --oidc-username-prefix / --oidc-groups-prefix) ---
async def test_default_username_prefix_is_the_issuer() -> None:
    """Unset, a non-email username is prefixed with ``<issuer>#``, so the identity
    provider's "alice" is not the cluster's user "alice"."""
    authenticator = JwtAuthenticator(hs256_secret=SECRET, issuer=ISSUER, audience=AUDIENCE)
    identity = await authenticator.verify(jwt.encode(_claims(), SECRET, algorithm="HS256"))
    assert (identity.user, identity.groups) == (f"{ISSUER}#alice", ("devs",))


async def test_default_username_prefix_without_an_issuer() -> None:
    authenticator = JwtAuthenticator(hs256_secret=SECRET, audience=AUDIENCE)
    identity = await authenticator.verify(jwt.encode(_claims(), SECRET, algorithm="HS256"))
    assert identity.user == "jwt#alice"


async def test_configured_username_and_groups_prefixes() -> None:
    authenticator = JwtAuthenticator(
        hs256_secret=SECRET,
        issuer=ISSUER,
        audience=AUDIENCE,
        username_prefix="oidc:",
        groups_prefix="oidc:",
    )
    token = jwt.encode(_claims(groups=["devs", "ops"]), SECRET, algorithm="HS256")
    identity = await authenticator.verify(token)
    assert (identity.user, identity.groups) == ("oidc:alice", ("oidc:devs", "oidc:ops"))


async def test_groups_prefix_does_not_launder_reserved_names() -> None:
    """A prefix makes ``system:masters`` harmless (``oidc:system:masters``); without one
    the reserved name is still refused."""
    token = jwt.encode(_claims(groups=["system:masters"]), SECRET, algorithm="HS256")
    prefixed = JwtAuthenticator(
        hs256_secret=SECRET, issuer=ISSUER, audience=AUDIENCE, groups_prefix="oidc:"
    )
    assert (await prefixed.verify(token)).groups == ("oidc:system:masters",)
    bare = JwtAuthenticator(hs256_secret=SECRET, issuer=ISSUER, audience=AUDIENCE)
    assert "reserved" in await _refused(bare, token)


@pytest.mark.parametrize("verified", [None, False, "true", 1])
async def test_email_username_needs_email_verified_true(verified: object) -> None:
    authenticator = JwtAuthenticator(
        hs256_secret=SECRET, issuer=ISSUER, audience=AUDIENCE, user_claim="email"
    )
    token = jwt.encode(
        _claims(email="boss@example.com", email_verified=verified), SECRET, algorithm="HS256"
    )
    assert "email_verified" in await _refused(authenticator, token)


async def test_verified_email_username_is_not_prefixed_by_default() -> None:
    authenticator = JwtAuthenticator(
        hs256_secret=SECRET, issuer=ISSUER, audience=AUDIENCE, user_claim="email"
    )
    token = jwt.encode(
        _claims(email="boss@example.com", email_verified=True), SECRET, algorithm="HS256"
    )
    assert (await authenticator.verify(token)).user == "boss@example.com"


async def test_new_kid_triggers_one_refresh(
    authenticator: JwtAuthenticator, jwks: JwksServer, clock: FakeClock
) -> None:
    token = jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
    await authenticator.verify(token)
    jwks.keys.append(_jwk(OTHER_RSA_KEY.public_key(), "rsa-2"))  # the issuer rotates
    clock.advance(31)
    rotated = jwt.encode(_claims(), OTHER_RSA_KEY, algorithm="RS256", headers={"kid": "rsa-2"})
    assert (await authenticator.verify(rotated)).user == "alice"
    assert jwks.requests.count("/keys") == 2


# --- hostile ------------------------------------------------------------------------------
async def test_alg_none_refused(authenticator: JwtAuthenticator) -> None:
    token = _unsigned({"alg": "none", "typ": "JWT"}, _claims()) + "."
    assert "not accepted" in await _refused(authenticator, token)


@pytest.mark.parametrize("alg", ["None", "NONE", "HS512", "RS512", "EdDSA", "PS256"])
async def test_algorithms_not_configured_refused(authenticator: JwtAuthenticator, alg: str) -> None:
    token = _unsigned({"alg": alg, "kid": "rsa-1"}, _claims()) + ".c2ln"
    assert "not accepted" in await _refused(authenticator, token)


def _hs256_with_public_key_as_secret(kid: str | None) -> str:
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = _unsigned(header, _claims())
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


async def test_hs256_signed_with_rs256_public_key_refused(
    authenticator: JwtAuthenticator,
) -> None:
    # The classic algorithm confusion: the verifier must not use the public key as secret.
    reason = await _refused(authenticator, _hs256_with_public_key_as_secret("rsa-1"))
    assert "InvalidSignatureError" in reason


async def test_hs256_refused_without_a_configured_secret(key_set: KeySetCache) -> None:
    authenticator = JwtAuthenticator(
        key_set=key_set, algorithms=["RS256", "HS256"], issuer=ISSUER, audience=AUDIENCE
    )
    assert authenticator.accepted_algorithms == ["RS256"]  # HS256 needs the secret
    reason = await _refused(authenticator, _hs256_with_public_key_as_secret("rsa-1"))
    assert "not accepted" in reason
    genuine = jwt.encode(_claims(), SECRET, algorithm="HS256")
    assert "not accepted" in await _refused(authenticator, genuine)


async def test_symmetric_key_in_jwks_never_used(
    authenticator: JwtAuthenticator, jwks: JwksServer
) -> None:
    jwks.keys.append({"kty": "oct", "kid": "oct-1", "k": _b64(b"k" * 32)})
    forged = _unsigned({"alg": "RS256", "kid": "oct-1"}, _claims()) + ".c2ln"
    assert "'oct'" in await _refused(authenticator, forged)


async def test_key_type_must_match_algorithm(authenticator: JwtAuthenticator) -> None:
    token = jwt.encode(_claims(), EC_KEY, algorithm="ES256", headers={"kid": "rsa-1"})
    assert "'RSA'" in await _refused(authenticator, token)


async def test_key_alg_must_match_token_alg(
    authenticator: JwtAuthenticator, jwks: JwksServer
) -> None:
    jwks.keys[0]["alg"] = "RS512"
    token = jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
    assert "RS512" in await _refused(authenticator, token)


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"exp": int(time.time()) - 3600}, "ExpiredSignatureError"),
        ({"nbf": int(time.time()) + 3600}, "ImmatureSignatureError"),
        ({"aud": "someone-else"}, "InvalidAudienceError"),
        ({"aud": None}, "MissingRequiredClaimError"),
        ({"iss": "https://evil.example"}, "InvalidIssuerError"),
        ({"exp": None}, "MissingRequiredClaimError"),
    ],
    ids=["expired", "nbf-future", "wrong-audience", "no-audience", "wrong-issuer", "no-exp"],
)
@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256"])
async def test_claims_checked(
    authenticator: JwtAuthenticator, claims: dict[str, Any], error: str, alg: str
) -> None:
    key: Any = {"HS256": SECRET, "RS256": RSA_KEY, "ES256": EC_KEY}[alg]
    kid = {"HS256": None, "RS256": "rsa-1", "ES256": "ec-1"}[alg]
    token = jwt.encode(_claims(**claims), key, algorithm=alg, headers={"kid": kid} if kid else None)
    if claims.get("iss"):
        # A token for another issuer is not ours: the chain hands it on (it ends in 401).
        assert not authenticator.claims(token)
        with pytest.raises(AuthenticationError):
            await authenticator.verify(token)
        return
    assert error in await _refused(authenticator, token)


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256"])
async def test_tampered_payload_refused(authenticator: JwtAuthenticator, alg: str) -> None:
    key: Any = {"HS256": SECRET, "RS256": RSA_KEY, "ES256": EC_KEY}[alg]
    kid = {"HS256": None, "RS256": "rsa-1", "ES256": "ec-1"}[alg]
    token = jwt.encode(_claims(), key, algorithm=alg, headers={"kid": kid} if kid else None)
    header, _, signature = token.split(".")
    forged_claims = _b64(json.dumps(_claims(sub="admin", groups=["admins"])).encode())
    assert "InvalidSignatureError" in await _refused(
        authenticator, f"{header}.{forged_claims}.{signature}"
    )


async def test_unknown_kid_refreshes_once_then_refuses(
    authenticator: JwtAuthenticator, jwks: JwksServer, clock: FakeClock
) -> None:
    valid = jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
    await authenticator.verify(valid)
    assert jwks.requests.count("/keys") == 1
    clock.advance(60)
    unknown = jwt.encode(_claims(), OTHER_RSA_KEY, algorithm="RS256", headers={"kid": "nope"})
    assert "no signing key" in await _refused(authenticator, unknown)
    assert jwks.requests.count("/keys") == 2  # refreshed once
    for _ in range(5):
        await _refused(authenticator, unknown)
    assert jwks.requests.count("/keys") == 2  # rate-limited: no refetch storm
    clock.advance(31)
    await _refused(authenticator, unknown)
    assert jwks.requests.count("/keys") == 3


async def test_reserved_system_names_refused(authenticator: JwtAuthenticator) -> None:
    for claims in ({"groups": ["system:masters"]}, {"sub": "system:admin"}):
        token = jwt.encode(_claims(**claims), SECRET, algorithm="HS256")
        assert "reserved" in await _refused(authenticator, token)


async def test_missing_user_claim_refused(authenticator: JwtAuthenticator) -> None:
    token = jwt.encode(_claims(sub=None), SECRET, algorithm="HS256")
    assert "'sub'" in await _refused(authenticator, token)


async def test_garbage_is_not_a_jwt(authenticator: JwtAuthenticator) -> None:
    for token in ("abc", "a.b.c", "kw_x_y", ""):
        assert not authenticator.claims(token)
        with pytest.raises(AuthenticationError):
            await authenticator.verify(token)


def test_short_secret_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        JwtAuthenticator(hs256_secret="short")


async def test_without_issuer_claims_only_configured_algorithms() -> None:
    authenticator = JwtAuthenticator(hs256_secret=SECRET)
    assert authenticator.claims(jwt.encode(_claims(aud=None), SECRET, algorithm="HS256"))
    rs = jwt.encode(_claims(), RSA_KEY, algorithm="RS256")
    assert not authenticator.claims(rs)  # e.g. a Kubernetes token: TokenReview's turn
    assert not authenticator.claims(_unsigned({"alg": "none"}, _claims()) + ".")


async def test_issuer_down_refuses_and_does_not_hammer_it(clock: FakeClock) -> None:
    calls: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503)

    key_set = KeySetCache(
        jwks_url=f"{ISSUER}/keys",
        clock=clock,
        min_refresh_interval=30,
        transport=httpx.MockTransport(down),
    )
    authenticator = JwtAuthenticator(key_set=key_set, issuer=ISSUER, audience=AUDIENCE)
    token = jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
    for _ in range(5):
        assert "signing keys unavailable" in await _refused(authenticator, token)
    assert calls == ["/keys"]
    clock.advance(31)
    await _refused(authenticator, token)
    assert calls == ["/keys", "/keys"]
