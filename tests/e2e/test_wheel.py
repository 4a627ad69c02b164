"""kubeweft installed from a wheel, outside any checkout, still finds its control plane.

The wheel carries the Go modules as package data, and their cache key is taken relative
to them, so the installed ``kubeweft cluster build`` answers from the cache the checkout
filled instead of compiling Kubernetes again. The test builds the wheel from a copy of
the sources (the work tree is never written to) and installs it with ``--no-deps`` into
a fresh virtualenv whose dependencies come from this one's site-packages, so only
kubeweft itself is the wheel's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from kubeweft.localcluster import build
from kubeweft.localcluster.pytest_plugin import unavailable

pytestmark = [pytest.mark.slow, pytest.mark.localcluster]

REPO = Path(__file__).resolve().parents[2]
GO_FILES = {
    "kubeweft/localcluster/go/go.mod",
    "kubeweft/localcluster/go/go.sum",
    "kubeweft/localcluster/go/cmd/kubeweft-k8s/main.go",
    "kubeweft/localcluster/go/kwok/go.mod",
    "kubeweft/localcluster/go/kwok/go.sum",
}


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout


def _wheel(tmp_path: Path) -> Path:
    """``pip wheel`` of a copy of the project (setuptools writes build/ and egg-info)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, project / name)
    shutil.copytree(
        REPO / "src",
        project / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    out = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ".", cwd=project)
    (wheel,) = out.glob("kubeweft-*.whl")
    return wheel


def _venv_with(wheel: Path, root: Path) -> Path:
    """A fresh virtualenv holding the wheel; its dependencies are this venv's packages.

    A ``.pth`` line only appends a directory to ``sys.path`` (the ``.pth`` files inside it
    are not processed), so this venv's editable kubeweft stays invisible there.
    """
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=root)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--no-deps", "-q", wheel, cwd=root)
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=root)
    (Path(site.strip()) / "kubeweft-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def test_an_installed_wheel_builds_the_control_plane_from_the_shared_cache(
    tmp_path: Path,
) -> None:
    src = build.source_dir()
    assert src is not None, "the checkout's Go modules are missing"
    expected = build.cache_dir(src) / "bin"
    if build.cached_bin_dir() != expected:
        # Building here would take tens of minutes; `make localcluster` does it once.
        unavailable(f"the control plane is not built yet ({expected}); run `make localcluster`")

    wheel = _wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        assert set(archive.namelist()) >= GO_FILES

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    venv = _venv_with(wheel, outside)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "KUBEWEFT_LOCALCLUSTER_SOURCE", "KUBEBUILDER_ASSETS")
    }
    installed, key_dir = _run(
        venv / "bin" / "python",
        "-c",
        "from kubeweft.localcluster import build; s = build.source_dir(); "
        "print(s); print(build.cache_dir(s))",
        cwd=outside,
        env=env,
    ).split()
    assert Path(installed).is_relative_to(venv), installed
    # Checked before `cluster build`, which would otherwise start compiling Kubernetes.
    assert Path(key_dir) / "bin" == expected

    printed = _run(venv / "bin" / "kubeweft", "cluster", "build", cwd=outside, env=env)

    assert Path(printed.strip()) == expected
