"""The project's generated manifests are those of its current model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
KUBEWEFT = str(Path(sys.executable).parent / "kubeweft")


def test_config_is_up_to_date_and_the_crd_is_cluster_scoped() -> None:
    checked = subprocess.run(
        [KUBEWEFT, "manifests", "tenant.app:app", "--check"],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT / "src")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    crd_path = PROJECT / "config/crd/bases/tenancy.example.com_tenants.yaml"
    crd = yaml.safe_load(crd_path.read_text())
    assert crd["spec"]["scope"] == "Cluster"
    assert crd["spec"]["names"]["kind"] == "Tenant"
