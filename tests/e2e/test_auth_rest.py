"""SPEC §8 over real HTTP: ``kubeweft run`` with real authentication, RBAC deciding.

The auth engineer's tests ask the authenticator and the authorizer directly. These
run the whole chain the way a client meets it: one ``kubeweft run`` subprocess on the
local control plane (RBAC on), **no development identity**, and every authentication
method configured at once — API keys in its SQLite database, HS256 JWTs, RS256 JWTs
whose JWKS a tiny HTTP server in this test publishes, and Kubernetes tokens (static
user tokens and a service-account token) through TokenReview.

Two fresh namespaces play team-a and team-b:

* ``alice`` (and the ``ci`` service account) may edit WebApps and their annotations in
  team-a only; ``bob`` may get/list them in team-a; ``carol`` has no binding at all;
* an admin creates ``shared`` in team-a and ``outsider`` in team-b with kubectl.

What is shown: no credentials → 401 with ``WWW-Authenticate`` and a problem body;
alice's CRUD, annotations and history in team-a (the history row names her), 403
naming verb and resource for anything in team-b, and an all-namespace list without
team-b's object; bob reads everything and writes nothing; carol is refused
everywhere; the same alice scenario with each other authentication method; hostile
and revoked credentials → 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kubeweft.localcluster.access import ClusterAccess
from tests.integration.auth.conftest import binding, editor_role, user, viewer_role
from tests.integration.auth.test_authentication import SIGNING_KEY, IssuerServer
from tests.support.crds import WEBAPP_CRD, WEBAPP_CRD_NAME, install_crd
from tests.support.process import KubeweftProcess, spawn
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcluster]

T = TypeVar("T")
KUBEWEFT = Path(sys.executable).parent / "kubeweft"
PROBLEM_JSON = "application/problem+json"
HS256_SECRET = "e2e-auth-hs256-secret-" + "k" * 32
AUDIENCE = "kubeweft-e2e"
KID = "test-1"  # the kid IssuerServer publishes SIGNING_KEY under
SERVICE_ACCOUNT = "ci"
HISTORY_DEADLINE = 60.0
Headers = dict[str, str]


# --- the cluster side: two teams and their RBAC -------------------------------------------
@dataclass(frozen=True)
class Teams:
    team_a: str
    team_b: str
    shared: str = "shared"  # created by the admin in team-a
    outsider: str = "outsider"  # created by the admin in team-b

    @property
    def service_account_user(self) -> str:
        return f"system:serviceaccount:{self.team_a}:{SERVICE_ACCOUNT}"


def webapp_manifest(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"image": "nginx:1.27", "replicas": 1},
    }


@pytest.fixture(scope="module")
def teams(local_cluster: ClusterAccess) -> Iterator[Teams]:
    suffix = secrets.token_hex(3)
    found = Teams(team_a=f"t-auth-rest-a-{suffix}", team_b=f"t-auth-rest-b-{suffix}")
    try:
        for namespace in (found.team_a, found.team_b):
            local_cluster.kubectl("create", "namespace", namespace)
        # The CRD as config/default applies it, so the admin can create objects before
        # kubeweft starts (kubeweft's own install is then a no-op).
        install_crd(local_cluster, WEBAPP_CRD, WEBAPP_CRD_NAME)
        account = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": found.team_a}
        local_cluster.apply(
            [
                editor_role(found.team_a),
                viewer_role(found.team_a),
                editor_role(found.team_b),
                binding(found.team_a, "alice-edit", "webapp-editor", user("alice")),
                binding(found.team_a, "bob-view", "webapp-viewer", user("bob")),
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": SERVICE_ACCOUNT, "namespace": found.team_a},
                },
                binding(found.team_a, "ci-edit", "webapp-editor", account),
                webapp_manifest(found.team_a, found.shared),
                webapp_manifest(found.team_b, found.outsider),
            ]
        )
        yield found
    finally:
        for namespace in (found.team_a, found.team_b):
            local_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


# --- the process: kubeweft run with every authentication method, no dev identity ---------
@dataclass(frozen=True)
class Server:
    process: KubeweftProcess
    api: str
    database_url: str
    issuer: str


@pytest.fixture(scope="module")
def server(
    local_cluster: ClusterAccess, teams: Teams, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("auth-rest")
    database_url = f"sqlite+aiosqlite:///{workdir / 'kubeweft.db'}"
    with IssuerServer() as issuer:
        env = {
            "KUBEWEFT_DATABASE_URL": database_url,
            "KUBEWEFT_DEV_USER": "",  # never a development identity, whatever the caller's env
            "KUBEWEFT_KUBERNETES_TOKEN_AUTH": "true",
            "KUBEWEFT_JWT_HS256_SECRET": HS256_SECRET,
            "KUBEWEFT_JWT_JWKS_URL": f"{issuer.url}/jwks",
            "KUBEWEFT_JWT_ISSUER": issuer.url,
            "KUBEWEFT_JWT_AUDIENCE": AUDIENCE,
            "KUBEWEFT_JWT_USERNAME_PREFIX": "-",  # RBAC below binds the bare name "alice"
            "KUBEWEFT_JWT_ALGORITHMS": '["RS256"]',
            "KUBEWEFT_DRAIN_TIMEOUT_SECONDS": "5",
        }
        process = spawn(local_cluster.kubeconfig_path, workdir, env=env, dev_user=None)
        try:
            process.wait_ready()
            assert process.api_url, "kubeweft run did not serve the API"
            yield Server(process, process.api_url, database_url, issuer.url)
        except BaseException:
            print(process.log_tail(), file=sys.stderr)  # pytest shows it with the failure
            raise
        finally:
            process.stop()


# --- credentials -------------------------------------------------------------------------
def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def apikey_cli(database_url: str, *args: str) -> str:
    """``kubeweft apikey ...`` as an operator runs it, on the server's database."""
    result = subprocess.run(
        [str(KUBEWEFT), "apikey", *args],
        env={**os.environ, "KUBEWEFT_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def create_api_key(server: Server, username: str) -> str:
    token = apikey_cli(server.database_url, "create", "--user", username).splitlines()[0]
    assert token.startswith("kw_"), token
    return token


def claims(issuer: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "alice",
        "exp": now + 600,
        "nbf": now - 5,
        **overrides,
    }


def rs256(payload: dict[str, Any], key: rsa.RSAPrivateKey = SIGNING_KEY, kid: str = KID) -> str:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def alice_by_method(
    server: Server, teams: Teams, local_cluster: ClusterAccess
) -> dict[str, tuple[Headers, str]]:
    """For each authentication method other than the static user token: alice's (or
    the ``ci`` service account's) headers and the user name the server should see."""
    service_account_token = local_cluster.kubectl(
        "create", "token", SERVICE_ACCOUNT, "-n", teams.team_a, "--duration=30m"
    ).stdout.strip()
    return {
        "api-key": ({"X-API-Key": create_api_key(server, "alice")}, "alice"),
        "hs256-jwt": (
            bearer(jwt.encode(claims(server.issuer), HS256_SECRET, algorithm="HS256")),
            "alice",
        ),
        "rs256-jwt": (bearer(rs256(claims(server.issuer))), "alice"),
        "service-account-token": (bearer(service_account_token), teams.service_account_user),
    }


# --- HTTP helpers --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=30.0) as client:
        yield client


def expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    request = response.request
    assert response.status_code in statuses, (
        f"{request.method} {request.url.path}: {response.status_code} {response.text}"
    )
    return response


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    expect(response, status)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    return body


@dataclass(frozen=True)
class Call:
    """One REST request and the RBAC verb (and resource) it must be authorized for."""

    method: str
    path: str
    verb: str
    resource: str = "webapps"
    body: dict[str, Any] | None = None

    def send(self, http: httpx.Client, headers: Headers) -> httpx.Response:
        content_type = "merge-patch+json" if self.method == "PATCH" else "json"
        return http.request(
            self.method,
            self.path,
            content=json.dumps(self.body) if self.body is not None else None,
            headers={**headers, "Content-Type": f"application/{content_type}"},
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def reads(namespace: str, name: str) -> list[Call]:
    base = f"/api/webapps/{namespace}/{name}"
    return [
        Call("GET", f"/api/webapps/{namespace}", "list"),
        Call("GET", base, "get"),
        Call("GET", f"{base}/history", "get"),
        Call("GET", f"{base}/metrics", "get"),
        Call("GET", f"{base}/events", "get"),
        Call("GET", f"{base}/annotations", "get"),
    ]


def writes(namespace: str, name: str) -> list[Call]:
    base = f"/api/webapps/{namespace}/{name}"
    new = {"name": f"new-{secrets.token_hex(3)}", "namespace": namespace}
    return [
        Call("POST", "/api/webapps", "create", body={**new, "spec": {"image": "nginx:1.27"}}),
        Call("PATCH", base, "patch", body={"spec": {"replicas": 3}}),
        Call("DELETE", base, "delete"),
        Call("POST", f"{base}/annotations", "create", "webapps/annotations", {"body": "hi"}),
        Call("DELETE", f"{base}/annotations/1", "delete", "webapps/annotations"),
    ]


def assert_forbidden(http: httpx.Client, headers: Headers, calls: list[Call]) -> None:
    """Every call is a 403 problem whose detail names the verb, resource and namespace."""
    wrong: list[str] = []
    for call in calls:
        response = call.send(http, headers)
        if response.status_code != 403:
            wrong.append(f"{call}: {response.status_code} {response.text[:200]}")
            continue
        detail = problem(response, 403)["detail"]
        if f" {call.verb} " not in detail or call.resource not in detail:
            wrong.append(f"{call}: 403 detail {detail!r} does not name {call.verb} {call.resource}")
    assert wrong == [], "\n".join(wrong)


def listed(
    http: httpx.Client, headers: Headers, path: str = "/api/webapps"
) -> set[tuple[str, str]]:
    body = expect(http.get(path, params={"limit": 1000}, headers=headers), 200).json()
    assert body.get("continue") in (None, ""), "more than one page: raise the limit"
    return {(item["namespace"], item["name"]) for item in body["items"]}


def create_webapp(http: httpx.Client, headers: Headers, namespace: str, name: str) -> None:
    body = {"name": name, "namespace": namespace, "spec": {"image": "nginx:1.27", "replicas": 1}}
    created = expect(http.post("/api/webapps", json=body, headers=headers), 201)
    assert created.headers["location"] == f"/api/webapps/{namespace}/{name}"


# --- tests ---------------------------------------------------------------------------------
def test_no_or_invalid_credentials_are_401(
    http: httpx.Client, teams: Teams, server: Server
) -> None:
    calls = reads(teams.team_a, teams.shared) + writes(teams.team_a, teams.shared)
    calls.append(Call("GET", "/api/webapps", "list"))
    for headers, error in (({}, None), (bearer("not-a-valid-token"), "invalid_token")):
        for call in calls:
            response = call.send(http, headers)
            body = problem(response, 401)
            challenge = response.headers.get("www-authenticate", "")
            assert challenge.startswith("Bearer "), f"{call}: {challenge!r}"
            assert error is None or f'error="{error}"' in challenge, f"{call}: {challenge!r}"
            assert "not-a-valid-token" not in response.text, body  # the reason is not leaked
    # The probe port needs no credentials.
    assert httpx.get(f"{server.process.probe_url}/readyz", timeout=10).status_code == 200


def test_alice_edits_team_a_only(
    http: httpx.Client, teams: Teams, local_cluster: ClusterAccess
) -> None:
    alice = bearer(local_cluster.token_for("alice"))
    a, name = teams.team_a, "alice-app"
    path = f"/api/webapps/{a}/{name}"

    create_webapp(http, alice, a, name)
    detail = expect(http.get(path, headers=alice), 200).json()
    assert detail["spec"]["image"] == "nginx:1.27"
    assert (a, name) in listed(http, alice, f"/api/webapps/{a}")

    patch = {"spec": {"image": "nginx:1.28"}}
    patched = expect(
        http.patch(
            path,
            content=json.dumps(patch),
            headers={**alice, "Content-Type": "application/merge-patch+json"},
        ),
        200,
    ).json()
    assert patched["spec"]["image"] == "nginx:1.28"
    generation = patched["generation"]
    assert generation == detail["generation"] + 1

    note = expect(http.post(f"{path}/annotations", json={"body": "deployed"}, headers=alice), 201)
    assert note.json()["author"] == "alice"
    notes = expect(http.get(f"{path}/annotations", headers=alice), 200).json()
    assert [n["body"] for n in notes] == ["deployed"]
    expect(http.delete(note.headers["location"], headers=alice), 204)

    # The reconciler writes the PATCH's history row and names the authenticated caller.
    def patch_row() -> dict[str, Any] | None:
        rows = expect(http.get(f"{path}/history", headers=alice), 200).json()
        return next((r for r in rows if r["generation"] == generation), None)

    row = wait_until(
        patch_row, what=f"the history row of generation {generation}", timeout=HISTORY_DEADLINE
    )
    assert (row["actor"], row["spec"]["image"], row["patch"]) == (
        "alice",
        "nginx:1.28",
        [{"op": "replace", "path": "/image", "value": "nginx:1.28"}],
    )
    expect(http.get(f"{path}/metrics", headers=alice), 200)
    expect(http.get(f"{path}/events", headers=alice), 200)

    # All namespaces: team-a's objects only, never team-b's (which exists: the admin sees it).
    everything = listed(http, alice)
    assert {(a, name), (a, teams.shared)} <= everything
    assert {ns for ns, _ in everything} == {a}, everything
    admin_view = local_cluster.kubectl("get", "webapps", "-n", teams.team_b, "-o", "name").stdout
    assert teams.outsider in admin_view

    # Anything in team-b is refused, naming verb and resource.
    assert_forbidden(
        http, alice, reads(teams.team_b, teams.outsider) + writes(teams.team_b, teams.outsider)
    )

    expect(http.delete(path, headers=alice), 204)
    wait_until(
        lambda: http.get(path, headers=alice).status_code == 404, what="the delete", timeout=30.0
    )


def test_bob_views_team_a_and_writes_nothing(
    http: httpx.Client, teams: Teams, local_cluster: ClusterAccess
) -> None:
    bob = bearer(local_cluster.token_for("bob"))
    for call in reads(teams.team_a, teams.shared):
        expect(call.send(http, bob), 200)
    everything = listed(http, bob)
    assert (teams.team_a, teams.shared) in everything
    assert {ns for ns, _ in everything} == {teams.team_a}, everything

    assert_forbidden(http, bob, writes(teams.team_a, teams.shared))
    assert_forbidden(
        http, bob, reads(teams.team_b, teams.outsider) + writes(teams.team_b, teams.outsider)
    )
    # Nothing bob tried changed the object.
    spec = expect(http.get(f"/api/webapps/{teams.team_a}/{teams.shared}", headers=bob), 200)
    assert spec.json()["spec"]["replicas"] == 1


def test_carol_is_refused_everywhere(
    http: httpx.Client, teams: Teams, local_cluster: ClusterAccess
) -> None:
    carol = bearer(local_cluster.token_for("carol"))
    for namespace, name in ((teams.team_a, teams.shared), (teams.team_b, teams.outsider)):
        assert_forbidden(http, carol, reads(namespace, name) + writes(namespace, name))
    # Across all namespaces a list shows only namespaces the caller may list: for carol,
    # none (an empty page, as designed in docs/design/auth.md, never a foreign object).
    assert listed(http, carol) == set()


def test_existence_is_not_revealed_before_authorization(
    http: httpx.Client, teams: Teams, local_cluster: ClusterAccess
) -> None:
    missing = "does-not-exist"
    wrong: list[str] = []
    for call in reads(teams.team_a, missing) + writes(teams.team_a, missing):
        response = call.send(http, {})
        if response.status_code != 401:
            wrong.append(f"no credentials, {call}: {response.status_code}")
    assert wrong == [], "\n".join(wrong)
    carol = bearer(local_cluster.token_for("carol"))
    assert_forbidden(http, carol, reads(teams.team_a, missing) + writes(teams.team_a, missing))
    alice = bearer(local_cluster.token_for("alice"))
    assert_forbidden(http, alice, reads(teams.team_b, missing) + writes(teams.team_b, missing))


@pytest.mark.parametrize("method", ["api-key", "hs256-jwt", "rs256-jwt", "service-account-token"])
def test_alice_scenario_with_each_method(
    method: str,
    http: httpx.Client,
    teams: Teams,
    alice_by_method: dict[str, tuple[Headers, str]],
) -> None:
    headers, username = alice_by_method[method]
    a, name = teams.team_a, f"by-{method}"
    path = f"/api/webapps/{a}/{name}"

    create_webapp(http, headers, a, name)
    assert expect(http.get(path, headers=headers), 200).json()["name"] == name
    note = expect(http.post(f"{path}/annotations", json={"body": method}, headers=headers), 201)
    assert note.json()["author"] == username  # the actor is whoever authenticated
    everything = listed(http, headers)
    assert (a, name) in everything
    assert {ns for ns, _ in everything} == {a}, everything

    b = teams.team_b
    assert_forbidden(
        http,
        headers,
        [
            Call("GET", f"/api/webapps/{b}", "list"),
            Call("GET", f"/api/webapps/{b}/{teams.outsider}", "get"),
            Call(
                "POST",
                "/api/webapps",
                "create",
                body={"name": name, "namespace": b, "spec": {"image": "nginx:1.27"}},
            ),
            Call("DELETE", f"/api/webapps/{b}/{teams.outsider}", "delete"),
        ],
    )
    expect(http.delete(path, headers=headers), 204)


def test_hostile_and_revoked_credentials_are_401(
    http: httpx.Client, teams: Teams, server: Server
) -> None:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
        return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"

    good = claims(server.issuer)
    public_pem = SIGNING_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    confused = unsigned({"alg": "HS256", "kid": KID}, good)
    confused += "." + b64(hmac.new(public_pem, confused.encode(), hashlib.sha256).digest())
    valid = rs256(good)
    header, _payload, signature = valid.split(".")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    hostile = {
        "alg-none": unsigned({"alg": "none"}, good) + ".",
        "hs256-signed-with-rs256-public-key": confused,
        "expired": rs256({**good, "exp": int(time.time()) - 3600}),
        "wrong-audience": rs256({**good, "aud": "someone-else"}),
        "tampered-payload": f"{header}.{b64(json.dumps({**good, 'sub': 'root'}).encode())}."
        + signature,
        "unknown-kid": rs256(good, other_key, "rotated-away"),
        "hs256-wrong-secret": jwt.encode(good, "x" * 40, algorithm="HS256"),
    }
    detail = f"/api/webapps/{teams.team_a}/{teams.shared}"
    accepted = {
        name: response.status_code
        for name, token in hostile.items()
        if (response := http.get(detail, headers=bearer(token))).status_code != 401
    }
    assert accepted == {}
    expect(http.get(detail, headers=bearer(valid)), 200)  # the same claims, signed properly

    key = create_api_key(server, "alice")
    expect(http.get(detail, headers=bearer(key)), 200)
    apikey_cli(server.database_url, "revoke", key.split("_")[1])
    problem(http.get(detail, headers=bearer(key)), 401)
