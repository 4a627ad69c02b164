"""What the end-to-end benchmarks run on: a cluster, a PostgreSQL database, the CRD.

The local control plane and a private PostgreSQL server are started unless the caller
names an existing cluster (``--kubeconfig``) or database (``--database-url``). Everything
started is registered on the caller's ``ExitStack`` and stops with it.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.postgres import PostgresServer, find_bin_dir

from kubeweft.localcluster import ExternalCluster, LocalCluster, find_binaries
from kubeweft.localcluster.access import ClusterAccess

CRD = Path(__file__).parents[1] / "config" / "crd" / "bases" / "kubeweft.dev_webapps.yaml"


@dataclass(frozen=True)
class Environment:
    cluster: ClusterAccess
    database_url: str

    @property
    def kubeconfig(self) -> Path:
        return self.cluster.kubeconfig_path


def environment(
    stack: ExitStack,
    *,
    kubeconfig: Path | None,
    database_url: str | None,
    database_name: str,
    namespace: str,
    nodes: int = 1,
) -> Environment:
    """Start (or reuse) a cluster and a database, install the CRD, create ``namespace``."""
    cluster: ClusterAccess
    if kubeconfig is None:
        cluster = stack.enter_context(LocalCluster(binaries=find_binaries(), nodes=nodes))
    else:
        cluster = ExternalCluster(kubeconfig)
    if database_url is None:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            sys.exit("no PostgreSQL binaries: install Debian's postgresql or pass --database-url")
        server = stack.enter_context(PostgresServer(bin_dir))
        database_url = server.create_database(database_name)
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    cluster.kubectl("wait", "--for=condition=Established", "crd/webapps.kubeweft.dev")
    cluster.kubectl("create", "namespace", namespace)
    return Environment(cluster, database_url)
