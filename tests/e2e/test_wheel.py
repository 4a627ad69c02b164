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
import zipfile
from pathlib import Path

import pytest

from kubeweft.localcluster import build
from kubeweft.localcluster.pytest_plugin import unavailable
from tests.support import wheels

pytestmark = [pytest.mark.slow, pytest.mark.localcluster]

GO_FILES = {
    "kubeweft/localcluster/go/go.mod",
    "kubeweft/localcluster/go/go.sum",
    "kubeweft/localcluster/go/cmd/kubeweft-k8s/main.go",
    "kubeweft/localcluster/go/kwok/go.mod",
    "kubeweft/localcluster/go/kwok/go.sum",
}


def test_an_installed_wheel_builds_the_control_plane_from_the_shared_cache(
    tmp_path: Path,
) -> None:
    src = build.source_dir()
    assert src is not None, "the checkout's Go modules are missing"
    expected = build.cache_dir(src) / "bin"
    if build.cached_bin_dir() != expected:
        # Building here would take tens of minutes; `make localcluster` does it once.
        unavailable(f"the control plane is not built yet ({expected}); run `make localcluster`")

    wheel = wheels.build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        assert set(archive.namelist()) >= GO_FILES

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    venv = wheels.venv_with(wheel, outside)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "KUBEWEFT_LOCALCLUSTER_SOURCE", "KUBEBUILDER_ASSETS")
    }
    installed, key_dir = wheels.run(
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

    printed = wheels.run(venv / "bin" / "kubeweft", "cluster", "build", cwd=outside, env=env)

    assert Path(printed.strip()) == expected
