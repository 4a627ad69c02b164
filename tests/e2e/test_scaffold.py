"""A project started from kubeweft's wheel, from ``kubeweft init`` to a running process.

As a user would: kubeweft's wheel (which carries the scaffold's templates and the local
control plane's Go sources) is installed into a fresh virtualenv; its ``kubeweft init``
and ``kubeweft create api`` write a ``shop`` project with a ``Store`` kind, which passes
its own lint and is installed into the same virtualenv. The project's own ``make test``
passes — its ``kubeweft cluster build`` answers from the shared cache the checkout
filled (the wheel's Go sources have the checkout's cache key), and its test runs
``kubeweft run shop.app:app`` through kubeweft's pytest plugin — and the installed
project then serves its kind: a Store created through REST and one applied with kubectl
both become Ready, and their detail, history and annotations read back over REST.

Everything shares this session's control plane (``KUBEWEFT_TEST_KUBECONFIG``) and
PostgreSQL server (``KUBEWEFT_TEST_DATABASE_URL``, one database per process). The
virtualenv takes kubeweft's dependencies from this one's site-packages
(:mod:`tests.support.wheels`), so nothing but kubeweft and the project is installed.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import pytest

from kubeweft.localcluster import ClusterAccess, build
from kubeweft.localcluster.pytest_plugin import unavailable
from kubeweft.testing import PostgresServer, kubeweft_run, wait_until
from tests.support import wheels
from tests.support.process import child_env

pytestmark = [pytest.mark.slow, pytest.mark.localcluster]

TEMPLATES = "kubeweft/scaffold/templates"
REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "src" / TEMPLATES
GO_FILES = {
    "kubeweft/localcluster/go/go.mod",
    "kubeweft/localcluster/go/go.sum",
    "kubeweft/localcluster/go/cmd/kubeweft-k8s/main.go",
    "kubeweft/localcluster/go/kwok/go.mod",
    "kubeweft/localcluster/go/kwok/go.sum",
}
STORE = ["--group", "shop", "--version", "v1alpha1", "--kind", "Store"]
SAMPLE = "config/samples/shop.example.com_v1alpha1_store.yaml"
DEADLINE = 90.0


def run(*command: str | Path, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout


def wheel_contents(wheel: Path) -> tuple[set[str], set[str]]:
    """The wheel's scaffold templates (relative to their folder) and all its names."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    templates = {
        str(PurePosixPath(name).relative_to(TEMPLATES))
        for name in names
        if name.startswith(f"{TEMPLATES}/")
    }
    return templates, names


def get_json(http: httpx.Client, url: str) -> Any:
    got = http.get(url)
    assert got.status_code == 200, got.text
    return got.json()


def ready(http: httpx.Client, url: str) -> dict[str, Any] | None:
    detail: dict[str, Any] = get_json(http, url)
    conditions = [(c["type"], c["status"]) for c in detail["status"]["conditions"]]
    return detail if conditions == [("Ready", "True")] else None


def test_a_project_scaffolded_from_the_wheel_tests_itself_and_serves_its_kind(
    local_cluster: ClusterAccess, postgres_server: PostgresServer, namespace: str, tmp_path: Path
) -> None:
    src = build.source_dir()
    assert src is not None, "the checkout's Go modules are missing"
    cached = build.cache_dir(src) / "bin"
    if build.cached_bin_dir() != cached:
        # Building here would take tens of minutes; `make localcluster` does it once.
        unavailable(f"the control plane is not built yet ({cached}); run `make localcluster`")

    wheel = wheels.build_wheel(tmp_path)
    templates, names = wheel_contents(wheel)
    assert templates == {str(p.relative_to(REPO_TEMPLATES)) for p in REPO_TEMPLATES.rglob("*.tmpl")}
    assert names >= GO_FILES
    (tmp_path / "env").mkdir()
    venv = wheels.venv_with(wheel, tmp_path / "env")
    bin_dir = venv / "bin"
    env = {
        key: value
        for key, value in child_env().items()
        if key not in ("PYTHONPATH", "KUBEWEFT_LOCALCLUSTER_SOURCE", "KUBEBUILDER_ASSETS")
    }
    # Checked before `make test`, whose `kubeweft cluster build` would otherwise compile.
    key_dir = run(bin_dir / "python", "-c", "from kubeweft.localcluster import build; "
                  "print(build.cache_dir(build.source_dir()))", cwd=tmp_path, env=env)  # fmt: skip
    assert Path(key_dir.strip()) / "bin" == cached

    root = tmp_path / "shop"
    root.mkdir()
    requirement = f"kubeweft @ {wheel.as_uri()}"
    run(bin_dir / "kubeweft", "init", "shop", "--domain", "example.com",
        "--kubeweft-requirement", requirement, cwd=root, env=env)  # fmt: skip
    run(bin_dir / "kubeweft", "create", "api", *STORE, cwd=root, env=env)
    ruff = Path(sys.executable).parent / "ruff"  # with the project's own ruff settings
    run(ruff, "check", "src", "tests", cwd=root, env=env)
    run(ruff, "format", "--check", "src", "tests", cwd=root, env=env)

    # The project into the same virtualenv; its dependencies are there already.
    run(bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", "-e", ".", cwd=root,
        env=env)  # fmt: skip
    (root / ".venv").symlink_to(venv)
    (venv / ".installed").touch()  # newer than pyproject.toml: make installs nothing
    tests_env = {
        **env,
        "KUBEWEFT_TEST_KUBECONFIG": str(local_cluster.kubeconfig_path),
        "KUBEWEFT_TEST_DATABASE_URL": postgres_server.create_database("shop_tests"),
    }
    out = run("make", "test", cwd=root, env=tests_env)
    assert f"\n{cached}\n" in out  # what the wheel's `kubeweft cluster build` printed
    assert "2 passed" in out  # the Store test and the drift check of config/

    with (
        kubeweft_run(
            local_cluster.kubeconfig_path,
            tmp_path / "run",
            "shop.app:app",
            "--no-leader-election",
            env={"KUBEWEFT_DATABASE_URL": postgres_server.create_database("shop")},
            cwd=tmp_path / "env",  # away from the project: the installed package imports
            kubeweft=bin_dir / "kubeweft",
        ) as process,
        httpx.Client(base_url=process.api_url or "", timeout=60) as http,
    ):
        body = {"name": "by-rest", "namespace": namespace, "spec": {"message": "Hi"}}
        created = http.post("/api/stores", json=body)
        assert created.status_code == 201, created.text
        local_cluster.kubectl("apply", "-n", namespace, "-f", str(root / SAMPLE))

        for name, message in (("by-rest", "Hi"), ("store-sample", "Hello")):
            url = f"/api/stores/{namespace}/{name}"
            noted = http.post(f"{url}/annotations", json={"body": f"{name} checked"})
            assert noted.status_code == 201, noted.text
            detail = wait_until(partial(ready, http, url), what=f"{name} Ready", timeout=DEADLINE)
            assert detail is not None
            assert detail["spec"] == {"message": message}
            assert [a["body"] for a in detail["annotations"]] == [f"{name} checked"]
            history = partial(get_json, http, f"{url}/history")
            (row,) = wait_until(history, what=f"{name}'s history row", timeout=DEADLINE)
            assert (row["generation"], row["spec"]) == (1, {"message": message})
            annotations = get_json(http, f"{url}/annotations")
            assert [a["body"] for a in annotations] == [f"{name} checked"]
        assert process.stop() == 0
