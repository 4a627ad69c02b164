"""What the end-to-end benchmarks run on: a cluster, a PostgreSQL database, the CRD.

The local control plane and a private PostgreSQL server are started unless the caller
names an existing cluster (``--kubeconfig``) or database (``--database-url``). Everything
started is registered on the caller's ``ExitStack`` and stops with it.

The webhook benchmarks use :func:`webhook_environment` instead: no database server (the
process keeps SQLite in a temporary directory) and ``kubeweft run`` serving its webhooks
to the API server at its loopback address.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.postgres import PostgresServer, find_bin_dir
from tests.support.process import KubeweftProcess, spawn

from kubeweft.localcluster import ExternalCluster, LocalCluster, find_binaries
from kubeweft.localcluster.access import ClusterAccess

if TYPE_CHECKING:
    from kubeweft.settings import Settings

CRD = Path(__file__).parents[1] / "config" / "crd" / "bases" / "kubeweft.dev_webapps.yaml"
#: What ``api_requests`` counts: the API server's write verbs.
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY"})
#: Written on a timer (leader election, node heartbeats), not per object.
TIMED_RESOURCES = frozenset({"leases"})

#: (verb, resource[/subresource], code) -> requests
Requests = Counter[tuple[str, str, str]]

#: The shipped application's webhook configurations, which ``local`` certificates apply.
WEBHOOK_CONFIGURATIONS = (
    "mutatingwebhookconfiguration/kubeweft-mutating-webhook-configuration",
    "validatingwebhookconfiguration/kubeweft-validating-webhook-configuration",
)


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


@dataclass(frozen=True)
class WebhookEnvironment:
    cluster: ClusterAccess
    #: A client of the API server itself (the cluster's credentials).
    http: httpx.Client
    workdir: Path

    def spawn(self, stack: ExitStack) -> KubeweftProcess:
        """Spawn the shipped application (``--no-controller``, SQLite under ``workdir``)
        with ``local`` webhook certificates, so the API server calls it at its loopback
        address; stopped with ``stack``. Returns at once, so the caller can time the
        start-up."""
        env = {
            "KUBEWEFT_WEBHOOK_CERTIFICATES": "local",
            "KUBEWEFT_WEBHOOK_PORT": "0",
            "KUBEWEFT_STATE_DIR": str(self.workdir / "state"),
        }
        process = spawn(self.cluster.kubeconfig_path, self.workdir, "--no-controller", env=env)
        stack.callback(process.stop)
        return process


def webhook_environment(
    stack: ExitStack, *, kubeconfig: Path | None, namespace: str
) -> WebhookEnvironment:
    """Start (or reuse) a cluster with no nodes (an external one's API server must reach
    this machine's loopback address), install the CRD and create ``namespace``. The
    namespace and the webhook configurations are deleted with ``stack``."""
    work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    cluster: ClusterAccess
    if kubeconfig is None:
        cluster = stack.enter_context(LocalCluster(binaries=find_binaries(), nodes=0))
    else:
        cluster = ExternalCluster(kubeconfig)
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    cluster.kubectl("wait", "--for=condition=Established", "crd/webapps.kubeweft.dev")
    cluster.kubectl("create", "namespace", namespace)
    stack.callback(cluster.kubectl, "delete", "namespace", namespace, "--wait=false")
    stack.callback(cluster.kubectl, "delete", "--ignore-not-found", *WEBHOOK_CONFIGURATIONS)
    return WebhookEnvironment(cluster, stack.enter_context(cluster.http()), work)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def api_settings(kubeconfig: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings of an API-only process in the benchmark's interpreter: the development
    identity ``bench``, no controller, ephemeral ports, warnings only; ``overrides``
    change or add settings."""
    from kubeweft.settings import Settings

    return Settings(
        kubeconfig=kubeconfig,
        database_url=database_url,
        dev_user="bench",
        api_port=0,
        probe_port=0,
        enable_controller=False,
        local_cluster=False,
        kubernetes_token_auth=False,
        log_level="WARNING",
        **overrides,
    )


def api_requests(cluster: ClusterAccess) -> Requests:
    """The API server's write requests so far (``apiserver_request_total``)."""
    text = cluster.kubectl("get", "--raw", "/metrics").stdout
    out: Requests = Counter()
    for family in text_string_to_metric_families(text):
        if family.name != "apiserver_request":
            continue
        for sample in family.samples:
            labels = sample.labels
            if not sample.name.endswith("_total") or labels.get("verb") not in WRITE_VERBS:
                continue
            if labels.get("resource") in TIMED_RESOURCES:
                continue
            resource = labels.get("resource", "")
            if labels.get("subresource"):
                resource += "/" + labels["subresource"]
            out[(labels["verb"], resource, labels.get("code", ""))] += int(sample.value)
    return out
