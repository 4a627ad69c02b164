"""The WebApp CRD on the test cluster, installed the way ``config/default`` applies it.

``install_crd`` applies a CRD manifest server-side, waits for ``Established`` and then
until a list of the new resource answers 200: right after ``Established`` the API
server still answers 429 "storage is (re)initializing" while the resource's watch
cache fills, and a test that starts then would flake.

Fixture (registered for every test by ``tests/conftest.py``):

* ``webapp_crd`` (session) — the checked-in (generated) WebApp CRD, installed and
  serving; returns its name. Left installed: many tests use it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kubeweft.localcluster.access import ClusterAccess
from tests.support.waiting import wait_until

__all__ = ["WEBAPP_CRD", "WEBAPP_CRD_NAME", "install_crd", "webapp_crd"]

REPO = Path(__file__).resolve().parents[2]
WEBAPP_CRD = REPO / "config" / "crd" / "bases" / "kubeweft.dev_webapps.yaml"
WEBAPP_CRD_NAME = "webapps.kubeweft.dev"


def install_crd(cluster: ClusterAccess, path: Path, name: str) -> None:
    """Apply the CRD in ``path`` (named ``name``); return once its resource lists.

    A conversion webhook already in place is kept: a process of an earlier test pointed
    it at its own loopback URL, and applying the manifest's Service beside that URL
    would be refused (a client config has one or the other)."""
    (document,) = yaml.safe_load_all(path.read_text())
    live = cluster.kubectl("get", "crd", name, "-o", "json", check=False)
    converted = live.returncode == 0 and json.loads(live.stdout)["spec"].get("conversion", {})
    if converted and converted.get("strategy") == "Webhook":
        document["spec"].pop("conversion", None)
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(document)
    )
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
    (crd,) = yaml.safe_load_all(path.read_text())
    group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
    version = crd["spec"]["versions"][0]["name"]
    with cluster.http() as client:
        wait_until(
            lambda: client.get(f"/apis/{group}/{version}/{plural}").status_code,
            accept=lambda status: status == 200,
            what=f"listing {plural} to answer 200",
            interval=0.1,
        )


@pytest.fixture(scope="session")
def webapp_crd(local_cluster: ClusterAccess) -> str:
    """The checked-in WebApp CRD, installed and serving (left installed)."""
    install_crd(local_cluster, WEBAPP_CRD, WEBAPP_CRD_NAME)
    return WEBAPP_CRD_NAME
