"""``POST .../rollback`` through a real kubeweft process: real control plane, real HTTP,
real SubjectAccessReviews, and the history the framework keeps in SQLite and PostgreSQL.

A WebApp goes through four generations (the third written with ``kubectl``, past the
REST layer's admission rules), then is rolled back: without ``If-Match`` (428), with a
stale one (412), by an account that may ``patch`` but not ``update`` (403), to a
generation the history does not hold (422 naming ``generation``), to the generation the
admission rules refuse (422 naming ``spec.image``), and finally to generation 1: the
object's spec is generation 1's again, the new generation's history row is the one row
marked as a rollback (to 1, by the caller), and the audit log holds the request. A
cluster-scoped model rolls back the same way.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubeweft import App, ControllerContext
from kubeweft.examples import webapp
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.repositories import audit as audit_rows
from kubeweft.repositories import unit_of_work
from kubeweft.runtime.reconcile import Request, Result
from tests.integration.rest.stack import DEV_USER, running
from tests.support import accounts
from tests.support.models import Zone
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

AUDIENCE = "kubeweft"
DEADLINE = 120.0
PROBLEM_JSON = "application/problem+json"


def _grants(namespace: str) -> list[dict[str, Any]]:
    """``deployer`` may update WebApps in ``namespace``; ``patcher`` may patch but not
    update them (a rollback needs ``update``)."""
    info = webapp.app.models[0].model_info
    rbac = "rbac.authorization.k8s.io"
    read = ["get", "list", "watch"]
    manifests: list[dict[str, Any]] = []
    for account, verbs in (
        ("deployer", [*read, "create", "update", "patch"]),
        ("patcher", [*read, "patch"]),
    ):
        manifests += [
            accounts.service_account(namespace, account),
            {
                "apiVersion": f"{rbac}/v1",
                "kind": "Role",
                "metadata": {"name": account, "namespace": namespace},
                "rules": [{"apiGroups": [info.group], "resources": [info.plural], "verbs": verbs}],
            },
            {
                "apiVersion": f"{rbac}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": account, "namespace": namespace},
                "roleRef": {"apiGroup": rbac, "kind": "Role", "name": account},
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
            },
        ]
    return manifests


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    return body


def _fields(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem.get("errors") or []]


async def _history_reaches(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], generation: int
) -> list[dict[str, Any]]:
    async def reached() -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = (await http.get(f"{path}/history", headers=headers)).json()
        return rows if rows and rows[0]["generation"] >= generation else None

    rows = await wait_until_async(reached, timeout=DEADLINE, what=f"generation {generation}")
    assert rows is not None
    return rows


async def test_a_rollback_writes_a_recorded_spec_back_guarded_and_recorded(
    local_cluster: ClusterAccess, namespace: str, database_url: str
) -> None:
    local_cluster.apply(_grants(namespace))
    deployer = {
        "Authorization": f"Bearer {accounts.token(local_cluster, namespace, 'deployer', AUDIENCE)}"
    }
    patcher = {
        "Authorization": f"Bearer {accounts.token(local_cluster, namespace, 'patcher', AUDIENCE)}"
    }
    actor = f"system:serviceaccount:{namespace}:deployer"
    path = f"/api/webapps/{namespace}/shop"
    merge = {"Content-Type": "application/merge-patch+json"}
    async with running(
        local_cluster,
        database_url,
        dev_user=None,
        kubernetes_token_auth=True,
        token_audiences=[AUDIENCE],
    ) as stack:
        http = stack.http
        body = {"name": "shop", "namespace": namespace, "spec": {"image": "nginx:1.27"}}
        created = await http.post("/api/webapps", json=body, headers=deployer)
        assert created.status_code == 201, created.text
        await _history_reaches(http, path, deployer, 1)
        scaled = await http.patch(
            path, json={"spec": {"replicas": 3}}, headers={**deployer, **merge}
        )
        assert scaled.status_code == 200, scaled.text
        await _history_reaches(http, path, deployer, 2)
        # Past the REST layer's admission rules: an image they refuse gets recorded too.
        crd = webapp.app.models[0].model_info.crd_name
        latest = json.dumps({"spec": {"image": "nginx:latest"}})
        local_cluster.kubectl("patch", crd, "shop", "-n", namespace, "--type=merge", "-p", latest)
        await _history_reaches(http, path, deployer, 3)
        fixed = await http.patch(
            path, json={"spec": {"image": "nginx:1.28"}}, headers={**deployer, **merge}
        )
        assert fixed.status_code == 200, fixed.text
        history = await _history_reaches(http, path, deployer, 4)
        first = next(row for row in history if row["generation"] == 1)
        rollback = f"{path}/rollback"

        async def guarded(generation: int) -> httpx.Response:
            """A rollback with the current ETag, read again when the reconciler's status
            write moved it in between (a 412), as a client would."""

            async def answered() -> httpx.Response | None:
                etag = (await http.get(path, headers=deployer)).headers["etag"]
                headers = {**deployer, "If-Match": etag}
                response = await http.post(
                    rollback, json={"generation": generation}, headers=headers
                )
                return None if response.status_code == 412 else response

            response = await wait_until_async(
                answered,
                timeout=DEADLINE,
                what="an answer other than 412",
                accept=lambda answer: answer is not None,
            )
            assert response is not None
            return response

        missing = _problem(await http.post(rollback, json={"generation": 1}, headers=deployer), 428)
        assert "If-Match" in missing["detail"]
        assert _fields(missing) == ["header.if-match"]
        stale = await http.post(
            rollback, json={"generation": 1}, headers={**deployer, "If-Match": '"1"'}
        )
        assert _fields(_problem(stale, 412)) == ["header.if-match"]
        assert stale.headers["etag"] != '"1"'  # the current one, to retry with
        refused = await http.post(
            rollback, json={"generation": 1}, headers={**patcher, "If-Match": fixed.headers["etag"]}
        )
        assert "may not update" in _problem(refused, 403)["detail"]
        assert _fields(_problem(await guarded(99), 422)) == ["generation"]
        assert _fields(_problem(await guarded(3), 422)) == ["spec.image"]
        unchanged = (await http.get(path, headers=deployer)).json()
        assert (unchanged["generation"], unchanged["spec"]["image"]) == (4, "nginx:1.28")

        rolled = await guarded(1)
        assert rolled.status_code == 200, rolled.text
        assert rolled.json()["generation"] == 5
        assert (rolled.json()["spec"]["image"], rolled.json()["spec"]["replicas"]) == (
            "nginx:1.27",
            1,
        )
        written = local_cluster.kubectl("get", crd, "shop", "-n", namespace, "-o", "json")
        assert json.loads(written.stdout)["spec"] == first["spec"]

        history = await _history_reaches(http, path, deployer, 5)
        marked = [
            (row["generation"], row["rolledBackTo"], row["actor"])
            for row in history
            if row["rolledBackTo"] is not None
        ]
        assert marked == [(5, 1, actor)]
        assert history[0]["spec"] == first["spec"]
        uid = created.json()["uid"]
        async with unit_of_work(stack.database) as session:
            audited = await audit_rows.audit_for_uid(session, uid)
        rollbacks = [(a.actor, a.outcome, a.status_code) for a in audited if a.verb == "rollback"]
        assert rollbacks == [(actor, "success", 200)]


class _Settled:
    """A reconciler with nothing to do: each generation of a Zone is recorded."""

    def __init__(self, context: ControllerContext) -> None:
        del context

    async def reconcile(self, request: Request) -> Result:
        return Result()


async def test_a_cluster_scoped_model_rolls_back_too(
    local_cluster: ClusterAccess, tmp_path: Path
) -> None:
    zones = App("zones-rollback")
    zones.add_model(Zone)
    zones.add_controller(Zone, _Settled)
    name = f"zone-{secrets.token_hex(3)}"
    path = f"/api/zones/{name}"
    try:
        async with running(
            local_cluster, f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}", app=zones
        ) as stack:
            http = stack.http
            created = await http.post("/api/zones", json={"name": name, "spec": {"capacity": 3}})
            assert created.status_code == 201, created.text
            await _history_reaches(http, path, {}, 1)
            patched = await http.patch(
                path,
                json={"spec": {"capacity": 7}},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert patched.status_code == 200, patched.text
            await _history_reaches(http, path, {}, 2)
            rolled = await http.post(
                f"{path}/rollback",
                json={"generation": 1},
                headers={"If-Match": patched.headers["etag"]},
            )
            assert rolled.status_code == 200, rolled.text
            assert rolled.json()["spec"]["capacity"] == 3
            newest = (await _history_reaches(http, path, {}, 3))[0]
            assert (newest["rolledBackTo"], newest["actor"]) == (1, DEV_USER)
    finally:
        local_cluster.kubectl("delete", Zone.model_info.crd_name, name, check=False)
