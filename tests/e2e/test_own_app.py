"""A project of one's own: a ``greeter`` package run with ``kubeweft run greeter.app:app``.

The test writes the project that ``docs/guide/your-first-model.md`` walks through — a
namespaced ``Greeter`` model, a reconciler built on ``kubeweft.controllerutil`` that owns
a ConfigMap and sets a Ready condition, and ``app = kubeweft.App(...)`` — into a fresh
directory, and runs the real command there, as a user would from their project's root,
against the local control plane: the process installs the Greeter CRD, becomes ready
(its readiness lists Greeters), serves ``/api/greeters`` and reconciles what it creates.
``kubeweft manifests greeter.app:app`` generates the same project's CRD and RBAC, and an
APP that names no application is one ``kubeweft run: …`` line and exit code 2.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kubeweft.localcluster import ClusterAccess
from tests.support.process import child_env, kubeweft_run
from tests.support.waiting import wait_until

KUBEWEFT = str(Path(sys.executable).parent / "kubeweft")
DEADLINE = 90.0

PROJECT = {
    "greeter/__init__.py": "",
    "greeter/greeter_types.py": '''
        """Greeter: a message, published in a ConfigMap of the same name."""

        from pydantic import Field

        from kubeweft.api import Condition, CustomResource, ModelInfo, ResourceModel, list_map


        class GreeterSpec(ResourceModel):
            message: str = Field(min_length=1, max_length=256, description="The greeting.")


        class GreeterStatus(ResourceModel):
            conditions: list[Condition] = Field(
                default_factory=list, json_schema_extra=list_map("type")
            )


        class Greeter(CustomResource):
            model_info = ModelInfo(
                group="tutorial.kubeweft.dev",
                version="v1alpha1",
                kind="Greeter",
                plural="greeters",
                owns=(("v1", "configmaps"),),  # RBAC for ConfigMaps, and their watch
            )

            spec: GreeterSpec
            status: GreeterStatus = Field(default_factory=GreeterStatus)
        ''',
    "greeter/controller.py": '''
        """Reconcile a Greeter: its ConfigMap holds the message; Ready says it does."""

        from datetime import UTC, datetime

        from lightkube.models.meta_v1 import ObjectMeta
        from lightkube.resources.core_v1 import ConfigMap

        import kubeweft
        from kubeweft import controllerutil
        from kubeweft.api import Condition, ConditionStatus
        from kubeweft.runtime import errors
        from kubeweft.runtime.reconcile import Request, Result

        from greeter.greeter_types import Greeter


        class GreeterReconciler:
            def __init__(self, context: kubeweft.ControllerContext) -> None:
                self.client = controllerutil.DelegatingClient(context.cache, context.client)
                self.events = context.events

            async def reconcile(self, request: Request) -> Result:
                try:
                    greeter = await self.client.get(Greeter, request.name, request.namespace)
                except errors.NotFound:
                    return Result()  # deleted: the garbage collector removes the ConfigMap
                original = greeter.model_copy(deep=True)

                config = ConfigMap(
                    metadata=ObjectMeta(
                        name=greeter.metadata.name, namespace=greeter.metadata.namespace
                    )
                )

                def mutate(cm: ConfigMap) -> None:
                    cm.data = {**(cm.data or {}), "message": greeter.spec.message}

                ready = Condition(
                    type="Ready",
                    status=ConditionStatus.TRUE,
                    reason="Published",
                    observed_generation=greeter.metadata.generation,
                    last_transition_time=datetime.now(UTC),
                )
                try:
                    await controllerutil.create_or_update(
                        self.client, config, mutate, owner=greeter
                    )
                except controllerutil.NotOwnedError as err:
                    self.events.event(greeter, "Warning", "NotOwned", str(err))
                    ready = ready.model_copy(
                        update={
                            "status": ConditionStatus.FALSE,
                            "reason": "NotOwned",
                            "message": str(err),
                        }
                    )
                controllerutil.set_status_condition(greeter.status.conditions, ready)
                await controllerutil.patch_status(self.client, greeter, original)
                return Result(requeue_after=60)
        ''',
    "greeter/app.py": '''
        """The greeter application: ``kubeweft run greeter.app:app``."""

        import kubeweft

        from greeter.controller import GreeterReconciler
        from greeter.greeter_types import Greeter

        app = kubeweft.App("greeter")
        app.add_model(Greeter)
        app.add_controller(Greeter, GreeterReconciler)
        ''',
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The greeter project's root directory (``greeter/`` inside it)."""
    root = tmp_path / "project"
    for path, source in PROJECT.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(textwrap.dedent(source).lstrip())
    return root


@pytest.mark.localcluster
def test_kubeweft_runs_a_project_of_its_own(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path, project: Path
) -> None:
    with (
        kubeweft_run(
            local_cluster.kubeconfig_path,
            tmp_path / "run",
            "greeter.app:app",
            "--no-leader-election",
            env={"KUBEWEFT_WATCH_NAMESPACE": namespace},
            cwd=project,
        ) as process,  # ready: the ready line, and /readyz 200 (it lists Greeters)
        httpx.Client(base_url=process.api_url or "", timeout=60) as http,
    ):
        created = http.post(
            "/api/greeters",
            json={"name": "hello", "namespace": namespace, "spec": {"message": "Hello!"}},
        )
        assert created.status_code == 201, created.text
        uid = created.json()["uid"]

        def config_map() -> dict[str, Any] | None:
            got = local_cluster.kubectl(
                "get", "configmap", "hello", "-n", namespace, "-o", "yaml", check=False
            )
            return yaml.safe_load(got.stdout) if got.returncode == 0 else None

        published = wait_until(config_map, what="the Greeter's ConfigMap", timeout=DEADLINE)
        assert published["data"] == {"message": "Hello!"}
        (owner,) = published["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("Greeter", "hello", uid)
        assert owner["controller"] is True

        def ready() -> dict[str, Any] | None:
            detail = http.get(f"/api/greeters/{namespace}/hello")
            assert detail.status_code == 200, detail.text
            conditions = detail.json()["status"]["conditions"]
            return detail.json() if [c["status"] for c in conditions] == ["True"] else None

        detail = wait_until(ready, what="the Greeter Ready=True", timeout=DEADLINE)
        assert detail["spec"] == {"message": "Hello!"}
        assert detail["status"]["conditions"][0]["reason"] == "Published"

        paths = http.get("/openapi.json").json()["paths"]
        assert {"/api/greeters", "/api/greeters/{namespace}/{name}"} <= set(paths)
        assert not any(path.startswith("/api/webapps") for path in paths)
        assert process.stop() == 0


def test_manifests_for_a_project_of_its_own(project: Path) -> None:
    run = subprocess.run(
        [KUBEWEFT, "manifests", "greeter.app:app", "--output", "config"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    crds = [yaml.safe_load(p.read_text()) for p in (project / "config" / "crd").rglob("*.yaml")]
    kinds = {(crd["kind"], crd["metadata"]["name"]) for crd in crds if "metadata" in crd}
    names = {name for kind, name in kinds if kind == "CustomResourceDefinition"}
    assert names == {"greeters.tutorial.kubeweft.dev"}
    role = (project / "config" / "rbac" / "role.yaml").read_text()
    assert "greeters" in role
    assert "configmaps" in role
    assert "webapps" not in role


@pytest.mark.parametrize(
    ("app", "says"),
    [
        ("greeter.missing:app", 'module "greeter.missing" not found'),
        ("greeter.app:nope", 'module "greeter.app" has no attribute "nope"'),
        ("greeter.greeter_types:Greeter", "is the class Greeter, not a kubeweft.App"),
    ],
)
def test_a_bad_app_is_one_line_and_exit_2(project: Path, app: str, says: str) -> None:
    run = subprocess.run(
        [KUBEWEFT, "run", app, "--no-local-cluster"],
        cwd=project,
        env=child_env({"KUBEWEFT_STATE_DIR": str(project / ".kubeweft")}),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("kubeweft run: ")]
    assert says in line
    assert "Traceback" not in run.stderr
