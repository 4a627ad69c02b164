"""The project's generated manifests are those of its current model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
KUBEWEFT = str(Path(sys.executable).parent / "kubeweft")


def test_config_is_up_to_date_and_grants_the_owned_kinds() -> None:
    checked = subprocess.run(
        [KUBEWEFT, "manifests", "backup.app:app", "--check"],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT / "src")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    crd = yaml.safe_load(
        (PROJECT / "config/crd/bases/backup.example.com_scheduledbackups.yaml").read_text()
    )
    assert (crd["spec"]["scope"], crd["spec"]["names"]["kind"]) == ("Namespaced", "ScheduledBackup")
    role = yaml.safe_load((PROJECT / "config/rbac/role.yaml").read_text())
    granted = {
        (g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    assert {("batch", "cronjobs"), ("", "configmaps")} <= granted
