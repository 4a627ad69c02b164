"""``LocalCluster``: a real control plane on free loopback ports, owned by one object.

Start order follows the dependencies: etcd, then kube-apiserver (ready when ``/readyz``
answers 200), then kube-controller-manager, kube-scheduler and kwok together; then the
simulated Nodes are created and the cluster counts as ready once the ``default``
ServiceAccount exists (the controller-manager works) and every Node is Ready (kwok
works). etcd runs as its own process, so the API server can be stopped and started
again on the same port with the same certificates while the data survives, which is
what watch-resilience tests need.

The core is synchronous (subprocesses and polling with deadlines); the async context
manager runs it in a worker thread. ``stop()`` is safe to call at any time, also from
another thread while ``start()`` is still waiting, and always leaves no process behind.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio

from kubeweft.localcluster import kubeconfig, kwok
from kubeweft.localcluster.access import NON_ADMIN_USERS, ClusterAccess
from kubeweft.localcluster.build import Binaries, find_binaries
from kubeweft.localcluster.ports import free_port
from kubeweft.localcluster.process import Component
from kubeweft.localcluster.state import STATE_FILE, running_pids

if TYPE_CHECKING:  # cryptography loads when a cluster starts, not with every `kubeweft`
    from kubeweft.localcluster import pki

ADMIN_USER = "admin"
# A /16 leaves room for thousands of Services (a controller may own one per object).
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/16"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


class ClusterStartError(RuntimeError):
    """The control plane did not become ready; the message holds the failing log's tail."""


class _Aborted(ClusterStartError):
    pass


class LocalCluster(ClusterAccess):
    """etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok.

    Use as ``with LocalCluster() as cluster:`` or ``async with LocalCluster() as
    cluster:``. ``directory`` defaults to a temporary directory removed at stop; a given
    directory is reused (its previous contents are replaced) and kept.
    """

    def __init__(
        self,
        directory: Path | None = None,
        *,
        nodes: int = 1,
        binaries: Binaries | None = None,
        users: Sequence[str] = NON_ADMIN_USERS,
        start_timeout: float = 120.0,
        apiserver_args: Sequence[str] = (),
    ) -> None:
        self._given_dir = directory
        self.node_count = nodes
        self._binaries = binaries
        self.user_names = tuple(users)
        self.start_timeout = start_timeout
        self.apiserver_args = tuple(apiserver_args)
        self.components: dict[str, Component] = {}
        self.data_dir: Path = directory if directory is not None else Path()
        self._owns_dir = directory is None
        self._tokens: dict[str, str] = {}
        self._abort = threading.Event()
        self._lifecycle = threading.Lock()
        self._started = False
        self.ports: dict[str, int] = {}
        # Seconds from start() to each start-up milestone (for bench/cluster_start.py).
        self.timings: dict[str, float] = {}

    # --- access ------------------------------------------------------------------------
    @property
    def binaries(self) -> Binaries:
        if self._binaries is None:
            self._binaries = find_binaries()
        return self._binaries

    @property
    def kubectl_path(self) -> Path:  # type: ignore[override]
        return self.binaries.kubectl

    def admin_token(self) -> str:
        return self._tokens[ADMIN_USER]

    def token_for(self, user: str) -> str:
        if user not in self.user_names:
            raise KeyError(f"unknown user {user!r}; this cluster has {self.user_names}")
        return self._tokens[user]

    def kubeconfig_for(self, user: str) -> Path:
        if user not in self.user_names:
            raise KeyError(f"unknown user {user!r}; this cluster has {self.user_names}")
        return self.data_dir / "users" / f"{user}.kubeconfig"

    @property
    def pids(self) -> dict[str, int]:
        """The process ids (= process-group ids) of the running components."""
        return {
            name: component.pid
            for name, component in self.components.items()
            if component.pid is not None and component.running()
        }

    @property
    def node_names(self) -> list[str]:
        return kwok.node_names(self.node_count)

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        with self._lifecycle:
            if self._started:
                raise RuntimeError("this LocalCluster is already started")
            self._abort.clear()
            try:
                self._start()
            except BaseException:
                self._stop_components()
                self._remove_owned_dir()
                raise
            self._started = True

    def stop(self) -> None:
        """Stop every component (SIGTERM, then SIGKILL) and remove a temporary data dir."""
        self._abort.set()
        with self._lifecycle:
            self._stop_components()
            self._remove_owned_dir()
            self._started = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        try:
            await anyio.to_thread.run_sync(self.start, abandon_on_cancel=True)
        except BaseException:
            # Cancelled while the worker thread may still be starting: abort it and wait
            # for it (stop() takes the lifecycle lock the thread holds), shielded.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.stop)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop)

    def stop_apiserver(self) -> None:
        self.components["kube-apiserver"].stop()

    def start_apiserver(self) -> None:
        apiserver = self.components["kube-apiserver"]
        if apiserver.running():
            return
        self._abort.clear()
        apiserver.start()
        self._wait_apiserver_ready(time.monotonic() + self.start_timeout)

    def restart_apiserver(self) -> None:
        """Stop and start kube-apiserver: same port, certificates and etcd data."""
        self.stop_apiserver()
        self.start_apiserver()

    # --- start-up ----------------------------------------------------------------------
    def _start(self) -> None:
        begun = time.monotonic()
        deadline = begun + self.start_timeout

        def milestone(name: str) -> None:
            self.timings[name] = time.monotonic() - begun

        binaries = self.binaries
        self._prepare_dir()
        self.ports = {
            "etcd": free_port(),
            "etcd-peer": free_port(),
            "kube-apiserver": free_port(),
            "kube-controller-manager": free_port(),
            "kube-scheduler": free_port(),
        }
        self.server = f"https://127.0.0.1:{self.ports['kube-apiserver']}"
        from kubeweft.localcluster import pki

        paths = pki.generate(self.data_dir / "pki")
        milestone("certificates")
        self.ca_path = paths.ca_cert
        self._write_credentials(paths)
        self._write_state()

        self._launch("etcd", self._etcd_argv(binaries.etcd))
        self._wait(deadline, "etcd", self._etcd_healthy)
        milestone("etcd healthy")
        self._launch("kube-apiserver", self._apiserver_argv(binaries.kube_apiserver, paths))
        self._wait_apiserver_ready(deadline)
        milestone("kube-apiserver ready")
        if binaries.kube_controller_manager is not None:
            argv = self._controller_manager_argv(binaries.kube_controller_manager, paths)
            self._launch("kube-controller-manager", argv)
        if binaries.kube_scheduler is not None:
            self._launch("kube-scheduler", self._scheduler_argv(binaries.kube_scheduler))
        if binaries.kwok is not None:
            self._launch("kwok", self._kwok_argv(binaries.kwok))
            self._create_nodes()
        self._write_state()
        if binaries.kube_controller_manager is not None:
            self._wait(deadline, "kube-controller-manager", self._default_service_account)
            milestone("default ServiceAccount")
        if binaries.kwok is not None:
            self._wait(deadline, "kwok", self._nodes_ready)
            milestone("Nodes Ready")

    def _prepare_dir(self) -> None:
        if self._owns_dir:
            self.data_dir = Path(tempfile.mkdtemp(prefix="kubeweft-cluster-"))
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        live = running_pids(self.data_dir)
        if live:
            raise ClusterStartError(
                f"a cluster is already running in {self.data_dir} (pids {live}); "
                f"stop it first with `kubeweft cluster down --dir {self.data_dir}`"
            )
        for name in ("etcd", "pki", "logs", "users", "config", STATE_FILE, "kubeconfig"):
            target = self.data_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()

    def _write_credentials(self, paths: pki.PKIPaths) -> None:
        def new_token() -> str:
            return secrets.token_urlsafe(32)

        self._tokens = {name: new_token() for name in (ADMIN_USER, *self.user_names)}
        components = {
            "kube-controller-manager": "system:kube-controller-manager",
            "kube-scheduler": "system:kube-scheduler",
            "kwok": "system:kwok",
        }
        component_tokens = {name: new_token() for name in components}
        users = [kubeconfig.StaticUser(ADMIN_USER, self._tokens[ADMIN_USER], ("system:masters",))]
        users += [kubeconfig.StaticUser(name, self._tokens[name]) for name in self.user_names]
        users += [
            kubeconfig.StaticUser(
                user, component_tokens[name], ("system:masters",) if name == "kwok" else ()
            )
            for name, user in components.items()
        ]
        config_dir = self.data_dir / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        tokens_path = config_dir / "tokens.csv"
        tokens_path.write_text(kubeconfig.token_file(users))
        tokens_path.chmod(0o600)
        (config_dir / "kwok.yaml").write_text(kwok.config_yaml())

        ca_pem = paths.ca_cert.read_bytes()
        self.kubeconfig_path = kubeconfig.write(
            self.data_dir / "kubeconfig", self.server, ca_pem, ADMIN_USER, self.admin_token()
        )
        for name in self.user_names:
            kubeconfig.write(
                self.kubeconfig_for(name), self.server, ca_pem, name, self._tokens[name]
            )
        for name, user in components.items():
            kubeconfig.write(
                config_dir / f"{name}.kubeconfig", self.server, ca_pem, user, component_tokens[name]
            )

    def _launch(self, name: str, argv: list[str]) -> None:
        self._check_abort()
        component = Component(name, argv, self.data_dir / "logs" / f"{name}.log")
        self.components[name] = component
        component.start()

    # --- command lines -----------------------------------------------------------------
    def _etcd_argv(self, binary: Path) -> list[str]:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        return [
            str(binary),
            "--name=kubeweft",
            f"--data-dir={self.data_dir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=kubeweft={peer}",
            "--initial-cluster-state=new",
            # A throwaway cluster: durability across power loss is not worth the fsyncs.
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ]

    def _apiserver_argv(self, binary: Path, paths: pki.PKIPaths) -> list[str]:
        config = self.data_dir / "config"
        return [
            str(binary),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # The lease reconciler refuses loopback addresses; nothing in-cluster needs
            # the `kubernetes` Service endpoints here.
            "--endpoint-reconciler-type=none",
            f"--secure-port={self.ports['kube-apiserver']}",
            f"--tls-cert-file={paths.serving_cert}",
            f"--tls-private-key-file={paths.serving_key}",
            f"--client-ca-file={paths.ca_cert}",
            f"--token-auth-file={config / 'tokens.csv'}",
            "--authorization-mode=Node,RBAC",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={paths.service_account_public_key}",
            f"--service-account-signing-key-file={paths.service_account_key}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--allow-privileged=true",
            "--profiling=false",
            f"--cert-dir={self.data_dir / 'pki'}",
            *self.apiserver_args,
        ]

    def _component_argv(self, binary: Path, component: str) -> list[str]:
        """The flags kube-controller-manager and kube-scheduler share: one kubeconfig for
        everything, a loopback serving port, no leader election, no profiling."""
        config = self.data_dir / "config" / f"{component}.kubeconfig"
        return [
            str(binary),
            f"--kubeconfig={config}",
            f"--authentication-kubeconfig={config}",
            f"--authorization-kubeconfig={config}",
            # Only the API server authenticates callers here; no front-proxy CA to look up.
            "--authentication-skip-lookup=true",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.ports[component]}",
            "--leader-elect=false",
            "--profiling=false",
        ]

    def _controller_manager_argv(self, binary: Path, paths: pki.PKIPaths) -> list[str]:
        return [
            *self._component_argv(binary, "kube-controller-manager"),
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={paths.service_account_key}",
            f"--root-ca-file={paths.ca_cert}",
            f"--cluster-signing-cert-file={paths.ca_cert}",
            f"--cluster-signing-key-file={paths.ca_key}",
            "--controllers=*",
            # client-go's default 20 qps would make the controller-manager, not the
            # controller under test, the bottleneck of every convergence benchmark.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
        ]

    def _scheduler_argv(self, binary: Path) -> list[str]:
        return self._component_argv(binary, "kube-scheduler")

    def _kwok_argv(self, binary: Path) -> list[str]:
        config = self.data_dir / "config"
        return [
            str(binary),
            f"--kubeconfig={config / 'kwok.kubeconfig'}",
            f"--config={config / 'kwok.yaml'}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={kwok.MANAGED_ANNOTATION}={kwok.MANAGED_VALUE}",
            f"--cidr={kwok.POD_CIDR}",
            # One address for every simulated Node (kwok has no per-node addresses).
            "--node-ip=10.250.0.1",
            "--node-lease-duration-seconds=40",
        ]

    # --- readiness -----------------------------------------------------------------------
    def _check_abort(self) -> None:
        if self._abort.is_set():
            raise _Aborted("start-up aborted")

    def _wait(self, deadline: float, blame: str, ready: Callable[[], bool]) -> None:
        """Poll ``ready`` until true; fail early with the log of a component that died."""
        from httpx import HTTPError  # here: `kubeweft run` imports this module, not httpx

        while True:
            self._check_abort()
            for component in self.components.values():
                code = component.exited()
                if code is not None:
                    raise ClusterStartError(
                        f"{component.name} exited with code {code} during start-up; "
                        f"last lines of {component.log_path}:\n{component.tail()}"
                    )
            try:
                if ready():
                    return
            except (HTTPError, OSError):
                pass
            if time.monotonic() > deadline:
                blamed = self.components.get(blame)
                tail = blamed.tail() if blamed is not None else ""
                raise ClusterStartError(
                    f"{blame} not ready after {self.start_timeout:.0f}s; last lines of "
                    f"{self.data_dir / 'logs' / (blame + '.log')}:\n{tail}"
                )
            if self._abort.wait(0.1):
                raise _Aborted("start-up aborted")

    def _wait_apiserver_ready(self, deadline: float) -> None:
        self._wait(deadline, "kube-apiserver", self._apiserver_ready)

    def _etcd_healthy(self) -> bool:
        import httpx

        url = f"http://127.0.0.1:{self.ports['etcd']}/health"
        response = httpx.get(url, timeout=2.0)
        return response.status_code == 200 and json.loads(response.text).get("health") == "true"

    def _apiserver_ready(self) -> bool:
        with self.http(timeout=5.0) as client:
            return client.get("/readyz").status_code == 200

    def _default_service_account(self) -> bool:
        with self.http(timeout=5.0) as client:
            path = "/api/v1/namespaces/default/serviceaccounts/default"
            return client.get(path).status_code == 200

    def _create_nodes(self) -> None:
        with self.http() as client:
            for name in self.node_names:
                response = client.post("/api/v1/nodes", json=kwok.node_manifest(name))
                if response.status_code not in (201, 409):
                    raise ClusterStartError(f"creating Node {name}: {response.text}")

    def _nodes_ready(self) -> bool:
        with self.http(timeout=5.0) as client:
            response = client.get(
                "/api/v1/nodes",
                params={"labelSelector": "type=kwok"},
            )
            if response.status_code != 200:
                return False
            ready = {
                item["metadata"]["name"]
                for item in response.json()["items"]
                if any(
                    condition["type"] == "Ready" and condition["status"] == "True"
                    for condition in item.get("status", {}).get("conditions", [])
                )
            }
            return ready >= set(self.node_names)

    # --- shutdown and state ------------------------------------------------------------
    def _stop_components(self) -> None:
        # Clients first, all at once; etcd last so the API server can shut down cleanly.
        clients = [c for name, c in reversed(self.components.items()) if name != "etcd"]
        for component in clients:
            component.terminate()
        for component in clients:
            component.stop()
        if "etcd" in self.components:
            self.components["etcd"].stop()
        if self.components and not self._owns_dir:
            self._write_state()

    def _remove_owned_dir(self) -> None:
        if self._owns_dir and self.data_dir != Path():
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _write_state(self) -> None:
        state: dict[str, Any] = {
            "server": getattr(self, "server", None),
            "kubeconfig": str(self.data_dir / "kubeconfig"),
            "ca": str(self.data_dir / "pki" / "ca.crt"),
            "ports": self.ports,
            "nodes": self.node_names,
            "pids": self.pids,
            "argv": {name: c.argv for name, c in self.components.items()},
        }
        (self.data_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
