"""A scaffolded project passes its own test: ``kubeweft init`` + ``kubeweft create api``.

The commands write a ``shop`` project with a ``Store`` kind into a fresh directory; the
project's generated test (``tests/test_store.py``) then runs as its author would run it,
from the project's root, with this interpreter and kubeweft — against this session's
local control plane (``KUBEWEFT_TEST_KUBECONFIG``): the application starts, installs the
Store CRD, and a Store applied with kubectl gets its ConfigMap and becomes Ready.
``kubeweft manifests shop.app:app`` from the project writes the Store's CRD. And with
kubeweft installed from its wheel (which carries the templates) into a fresh virtualenv,
the generated project's ``make test`` passes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest
import yaml

from kubeweft.localcluster import ClusterAccess
from tests.support import wheels
from tests.support.process import child_env

KUBEWEFT = str(Path(sys.executable).parent / "kubeweft")
TEMPLATES = "kubeweft/scaffold/templates"
REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "src" / TEMPLATES


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    run(KUBEWEFT, "init", "shop", "--domain", "example.com", cwd=tmp_path)
    run(KUBEWEFT, "create", "api", "--group", "shop", "--version", "v1alpha1", "--kind", "Store",
        cwd=tmp_path)  # fmt: skip
    return tmp_path


def project_env(root: Path, **extra: str) -> dict[str, str]:
    return child_env({"PYTHONPATH": str(root / "src"), **extra})


@pytest.mark.slow
@pytest.mark.localcluster
def test_the_generated_project_passes_its_own_test(
    local_cluster: ClusterAccess, shop: Path
) -> None:
    # CI is inherited: there, the generated test fails rather than skips without a cluster.
    env = project_env(shop, KUBEWEFT_TEST_KUBECONFIG=str(local_cluster.kubeconfig_path))
    out = run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", cwd=shop, env=env)
    assert "tests/test_store.py::test_a_store_gets_its_config_map_and_becomes_ready PASSED" in out
    assert "1 passed" in out


@pytest.mark.slow
def test_manifests_from_the_project_write_the_store_crd(shop: Path) -> None:
    shutil.rmtree(shop / "config" / "crd")
    run(KUBEWEFT, "manifests", "shop.app:app", cwd=shop, env=project_env(shop))
    crd = yaml.safe_load((shop / "config/crd/bases/shop.example.com_stores.yaml").read_text())
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "stores.shop.example.com"
    assert crd["spec"]["names"]["kind"] == "Store"
    assert [v["name"] for v in crd["spec"]["versions"]] == ["v1alpha1"]


@pytest.mark.slow
@pytest.mark.localcluster
def test_make_test_passes_in_a_project_on_kubeweft_from_its_wheel(
    local_cluster: ClusterAccess, tmp_path: Path
) -> None:
    """kubeweft's wheel in a fresh virtualenv scaffolds the project; the project's own
    ``make test`` passes with that virtualenv as its ``.venv`` (made here, not by
    ``make``, whose ``pip install`` would need the package index)."""
    wheel = wheels.build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        templates = {
            str(PurePosixPath(name).relative_to(TEMPLATES))
            for name in archive.namelist()
            if name.startswith(f"{TEMPLATES}/")
        }
    assert templates == {
        str(path.relative_to(REPO_TEMPLATES)) for path in REPO_TEMPLATES.rglob("*.tmpl")
    }
    (tmp_path / "env").mkdir()
    venv = wheels.venv_with(wheel, tmp_path / "env")
    root = tmp_path / "shop"
    root.mkdir()
    (root / ".venv").symlink_to(venv)
    bin_dir = venv / "bin"
    env = {
        key: value
        for key, value in child_env().items()
        if key not in ("PYTHONPATH", "KUBEWEFT_LOCALCLUSTER_SOURCE", "KUBEBUILDER_ASSETS")
    }
    requirement = f"kubeweft @ {wheel.as_uri()}"
    run(str(bin_dir / "python"), str(bin_dir / "kubeweft"), "init", "shop", "--domain",
        "example.com", "--kubeweft-requirement", requirement, cwd=root, env=env)  # fmt: skip
    run(str(bin_dir / "python"), str(bin_dir / "kubeweft"), "create", "api", "--group", "shop",
        "--version", "v1alpha1", "--kind", "Store", cwd=root, env=env)  # fmt: skip
    (venv / ".installed").touch()  # newer than pyproject.toml: make installs nothing

    env["KUBEWEFT_TEST_KUBECONFIG"] = str(local_cluster.kubeconfig_path)
    out = run("make", "test", cwd=root, env=env)
    assert "1 passed" in out
