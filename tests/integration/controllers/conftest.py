"""The WebApp CRD, installed once per session from the generated manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeweft.localcluster.access import ClusterAccess

CRD_FILE = Path(__file__).parents[3] / "config" / "crd" / "bases" / "kubeweft.dev_webapps.yaml"


@pytest.fixture(scope="session")
def webapp_crd(local_cluster: ClusterAccess) -> str:
    """Apply the checked-in WebApp CRD and wait until it is Established."""
    local_cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD_FILE))
    local_cluster.kubectl(
        "wait", "--for=condition=Established", "crd/webapps.kubeweft.dev", "--timeout=60s"
    )
    return "webapps.kubeweft.dev"
