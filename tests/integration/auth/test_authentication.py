"""Each authentication method end to end, then authorized by the real API server's RBAC.

* API keys in a real database (SQLite and PostgreSQL), read back raw to prove the key
  cannot be recovered from the table;
* HS256 JWTs; RS256 JWTs whose keys a tiny HTTP server on a free loopback port serves
  (JWKS directly, and via OIDC discovery);
* a Kubernetes service-account token from ``kubectl create token`` and the cluster's
  static user tokens, both through TokenReview.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr
from sqlalchemy import text

from kubeweft.auth import (
    AuthenticationError,
    ChainAuthenticator,
    Identity,
    Operation,
    attributes_for,
    build_authenticator,
    build_authorizer,
)
from kubeweft.db.engine import Database
from kubeweft.db.types import utcnow
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.repositories import apikeys
from kubeweft.runtime.client import Client
from kubeweft.settings import Settings

from .conftest import Teams, binding, connection

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

INFO = WebApp.model_info
SECRET = "integration-secret-" + "x" * 32
AUDIENCE = "kubeweft-tests"
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class IssuerServer:
    """An OIDC issuer on a free loopback port: discovery document and JWKS."""

    def __init__(self) -> None:
        jwk = RSAAlgorithm.to_jwk(SIGNING_KEY.public_key(), as_dict=True)
        self.keys: list[dict[str, Any]] = [{**jwk, "kid": "test-1", "use": "sig"}]
        self.fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                elif self.path == "/jwks":
                    issuer.fetches += 1
                    body = {"keys": issuer.keys}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> IssuerServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def issuer() -> Iterator[IssuerServer]:
    with IssuerServer() as server:
        yield server


def _claims(issuer: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": "alice", "exp": now + 300, "nbf": now - 5}
    claims.update(overrides)
    return claims


async def _may_patch(client: Client, identity: Identity, namespace: str) -> bool:
    authorizer = build_authorizer(Settings(), client)
    attributes = attributes_for(INFO, Operation.PATCH, namespace=namespace, name="web")
    return (await authorizer.authorize(identity, attributes)).allowed


async def _refused(chain: ChainAuthenticator, token: str) -> None:
    with pytest.raises(AuthenticationError):
        await chain.authenticate(connection(authorization=f"Bearer {token}"))


# --- API keys ------------------------------------------------------------------------------
async def test_api_key(database: Database, teams: Teams, admin_client: Client) -> None:
    async with database.transaction() as session:
        row, token = await apikeys.create_api_key(session, user="alice", groups=["devs"])
    chain = build_authenticator(Settings(), admin_client, database)

    for headers in ({"authorization": f"Bearer {token}"}, {"x_api_key": token}):
        identity = await chain.authenticate(connection(**headers))
        assert (identity.user, identity.groups, identity.method) == ("alice", ("devs",), "apikey")
    assert await _may_patch(admin_client, identity, teams.team_a)
    assert not await _may_patch(admin_client, identity, teams.team_b)

    async with database.session() as session:
        stored = (await session.execute(text("SELECT * FROM api_keys"))).mappings().one()
    secret = token.split("_", 2)[2]
    flattened = json.dumps({k: str(v) for k, v in stored.items()})
    assert secret not in flattened  # the key cannot be read back from the table
    assert token not in flattened
    assert stored["id"] == row.id
    assert token.startswith(f"kw_{row.id}_")
    assert stored["last_used_at"] is not None

    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    await _refused(chain, wrong)

    async with database.transaction() as session:
        await apikeys.revoke_api_key(session, row.id)
    await _refused(chain, token)


async def test_expired_api_key_refused(database: Database, admin_client: Client) -> None:
    async with database.transaction() as session:
        row, token = await apikeys.create_api_key(
            session, user="alice", expires_at=utcnow() + timedelta(seconds=60)
        )
        row.expires_at = utcnow() - timedelta(seconds=1)
    chain = build_authenticator(Settings(), admin_client, database)
    await _refused(chain, token)


# --- JWT -----------------------------------------------------------------------------------
async def test_hs256_jwt(teams: Teams, admin_client: Client) -> None:
    settings = Settings(
        jwt_hs256_secret=SecretStr(SECRET),
        jwt_issuer="kubeweft-tests",
        jwt_audience=AUDIENCE,
        jwt_username_prefix="-",  # the RoleBindings name the bare user "alice"
    )
    chain = build_authenticator(settings, admin_client, None)
    token = jwt.encode(_claims("kubeweft-tests", groups=["devs"]), SECRET, algorithm="HS256")
    identity = await chain.authenticate(connection(authorization=f"Bearer {token}"))
    assert (identity.user, identity.groups, identity.method) == ("alice", ("devs",), "jwt")
    assert await _may_patch(admin_client, identity, teams.team_a)
    bob = jwt.encode(_claims("kubeweft-tests", sub="bob"), SECRET, algorithm="HS256")
    assert not await _may_patch(
        admin_client,
        await chain.authenticate(connection(authorization=f"Bearer {bob}")),
        teams.team_a,
    )
    await _refused(chain, jwt.encode(_claims("kubeweft-tests", exp=1), SECRET, algorithm="HS256"))


@pytest.mark.parametrize("discovery", [True, False], ids=["oidc-discovery", "jwks-url"])
async def test_rs256_jwt_from_served_jwks(
    issuer: IssuerServer, teams: Teams, admin_client: Client, discovery: bool
) -> None:
    settings = Settings(
        jwt_issuer=issuer.url,
        jwt_jwks_url=None if discovery else f"{issuer.url}/jwks",
        jwt_audience=AUDIENCE,
        jwt_algorithms=["RS256"],
        jwt_username_prefix="-",
    )
    chain = build_authenticator(settings, admin_client, None)
    token = jwt.encode(
        _claims(issuer.url), SIGNING_KEY, algorithm="RS256", headers={"kid": "test-1"}
    )
    identity = await chain.authenticate(connection(authorization=f"Bearer {token}"))
    assert (identity.user, identity.method) == ("alice", "jwt")
    assert await _may_patch(admin_client, identity, teams.team_a)
    assert not await _may_patch(admin_client, identity, teams.team_b)
    assert issuer.fetches == 1


async def test_hostile_jwts_refused_over_real_jwks(
    issuer: IssuerServer, admin_client: Client
) -> None:
    settings = Settings(
        jwt_hs256_secret=SecretStr(SECRET),
        jwt_issuer=issuer.url,
        jwt_audience=AUDIENCE,
        jwt_algorithms=["RS256"],
    )
    chain = build_authenticator(settings, admin_client, None)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
        return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"

    claims = _claims(issuer.url)
    public_pem = SIGNING_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    confused_input = unsigned({"alg": "HS256", "kid": "test-1"}, claims)
    confused = (
        confused_input
        + "."
        + b64(hmac.new(public_pem, confused_input.encode(), hashlib.sha256).digest())
    )
    valid = jwt.encode(claims, SIGNING_KEY, algorithm="RS256", headers={"kid": "test-1"})
    header, _payload, signature = valid.split(".")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    hostile = {
        "alg-none": unsigned({"alg": "none"}, claims) + ".",
        "hs256-with-public-key": confused,
        "expired": jwt.encode(
            {**claims, "exp": 10}, SIGNING_KEY, algorithm="RS256", headers={"kid": "test-1"}
        ),
        "wrong-audience": jwt.encode(
            {**claims, "aud": "x"}, SIGNING_KEY, algorithm="RS256", headers={"kid": "test-1"}
        ),
        "tampered": f"{header}.{b64(json.dumps({**claims, 'sub': 'root'}).encode())}.{signature}",
        "unknown-kid": jwt.encode(
            claims, other_key, algorithm="RS256", headers={"kid": "rotated-away"}
        ),
    }
    accepted = []
    for name, token in hostile.items():
        try:
            await chain.authenticate(connection(authorization=f"Bearer {token}"))
        except AuthenticationError:
            continue
        accepted.append(name)
    assert accepted == []
    identity = await chain.authenticate(connection(authorization=f"Bearer {valid}"))
    assert identity.user == f"{issuer.url}#alice"  # the default prefix: the issuer


# --- Kubernetes tokens -----------------------------------------------------------------------
async def test_service_account_token(
    teams: Teams, admin_client: Client, local_cluster: ClusterAccess
) -> None:
    local_cluster.kubectl("create", "serviceaccount", "ci", "-n", teams.team_a)
    subject = {"kind": "ServiceAccount", "name": "ci", "namespace": teams.team_a}
    local_cluster.apply([binding(teams.team_a, "ci-edit", "webapp-editor", subject)])
    token = local_cluster.kubectl(
        "create", "token", "ci", "-n", teams.team_a, "--duration=10m"
    ).stdout.strip()
    chain = build_authenticator(
        Settings(jwt_hs256_secret=SecretStr(SECRET), jwt_issuer="someone-else"),
        admin_client,
        None,
    )
    identity = await chain.authenticate(connection(authorization=f"Bearer {token}"))
    assert identity.user == f"system:serviceaccount:{teams.team_a}:ci"
    assert f"system:serviceaccounts:{teams.team_a}" in identity.groups
    assert identity.method == "kubernetes"
    assert await _may_patch(admin_client, identity, teams.team_a)
    assert not await _may_patch(admin_client, identity, teams.team_b)
    await _refused(chain, token[:-6] + "AAAAAA")


async def test_static_user_tokens(
    teams: Teams, admin_client: Client, local_cluster: ClusterAccess
) -> None:
    chain = build_authenticator(Settings(), admin_client, None)
    for name in ("alice", "bob", "carol"):
        token = local_cluster.token_for(name)
        identity = await chain.authenticate(connection(authorization=f"Bearer {token}"))
        assert identity.user == name
        assert "system:authenticated" in identity.groups
        assert await _may_patch(admin_client, identity, teams.team_a) is (name == "alice")
    await _refused(chain, "not-a-token")
