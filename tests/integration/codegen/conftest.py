"""Fixtures for codegen's integration tests: the test-only CronTab CRD installed on the
real API server (the WebApp CRD's fixture is ``tests.support.crds.webapp_crd``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from kubeweft.codegen import crd_for
from kubeweft.localcluster import ClusterAccess
from tests.support.crds import install_crd
from tests.support.models import CronTab


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
