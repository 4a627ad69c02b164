"""Fixtures for codegen's integration tests: the generated CRDs installed on the real
API server (``kubectl apply``, then wait for ``Established``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubeweft.codegen import crd_for
from kubeweft.localcluster import ClusterAccess
from tests.support.models import CronTab

REPO = Path(__file__).resolve().parents[3]
WEBAPP_CRD = REPO / "config" / "crd" / "bases" / "kubeweft.dev_webapps.yaml"


def install_crd(cluster: ClusterAccess, path: Path, name: str) -> None:
    """Apply, wait for ``Established``, then until a list succeeds: right after
    ``Established`` the API server still answers 429 "storage is (re)initializing"
    while the new resource's watch cache fills."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
    (crd,) = yaml.safe_load_all(path.read_text())
    group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
    version = crd["spec"]["versions"][0]["name"]
    deadline = time.monotonic() + 60.0
    with cluster.http() as client:
        while (status := client.get(f"/apis/{group}/{version}/{plural}").status_code) != 200:
            assert time.monotonic() < deadline, f"listing {plural} still answers {status}"
            time.sleep(0.1)


@pytest.fixture(scope="session")
def webapp_crd(local_cluster: ClusterAccess) -> str:
    """The checked-in (generated) WebApp CRD, installed. Left installed: other tests use it."""
    install_crd(local_cluster, WEBAPP_CRD, "webapps.kubeweft.dev")
    return "webapps.kubeweft.dev"


@pytest.fixture(scope="session")
def crontab_crd(
    local_cluster: ClusterAccess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The test-only CronTab model's CRD, generated now, installed, removed afterwards."""
    path = tmp_path_factory.mktemp("crd") / "crontab.yaml"
    path.write_text(yaml.safe_dump(crd_for(CronTab)))
    name = CronTab.model_info.crd_name
    install_crd(local_cluster, path, name)
    yield name
    local_cluster.kubectl("delete", "crd", name, "--wait=false", check=False)
