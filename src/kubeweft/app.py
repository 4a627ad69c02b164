"""The process: start-up in the seed's order, runnables, graceful shutdown.

``kubeweft run`` is a kubebuilder ``main.go``: logging → settings → database (connect,
migrate, verify) → Kubernetes (in-cluster, kubeconfig, or the local control plane on a
bare machine; verify the CRDs can be listed, installing them if asked) → manager
(cache, leader election, the application's controllers, the record writer, metric
retention) → HTTP servers → wait for SIGTERM/SIGINT → graceful shutdown.

Everything is one anyio task-group tree. The probe server starts first and stops last
(the kubelet can ask "alive?" during cache sync and during drain). The record writer
runs outside the manager: the manager's shutdown drains reconciles, and only after
that — when no more records can arrive — is the writer flushed and stopped. The API
server is a manager runnable, so it starts after the caches have synced (no request is
served from an empty cache) and, on shutdown, stops accepting and finishes in-flight
requests while the cache, client and database are still open.

What is served and reconciled is an :class:`kubeweft.App` (``kubeweft run module:app``);
the process names no model of its own. Without an argument it runs the shipped example,
:data:`DEFAULT_APP`.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import anyio
import pydantic
import typer
from anyio.abc import TaskStatus
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from sqlalchemy.engine import make_url

from kubeweft import _importing, startup
from kubeweft.api import CustomResource
from kubeweft.api.conversion import Conversion
from kubeweft.application import App
from kubeweft.auth.config import AuthConfigurationError, build_authenticator, build_authorizer
from kubeweft.codegen.crd import crd_for, versions_share_schema
from kubeweft.controllerutil import MANAGED_BY, MANAGED_BY_LABEL
from kubeweft.db.change_watch import ChangeWatch
from kubeweft.db.changes import RecordChanges
from kubeweft.db.engine import Database
from kubeweft.db.migrate import MigrationSet, migrate, pending
from kubeweft.db.spool import HistorySpool
from kubeweft.db.writer import RecordWriter
from kubeweft.logging import configure_logging, get_logger
from kubeweft.repositories.retention import RetentionJob, RetentionPolicy
from kubeweft.rest.app import create_app
from kubeweft.rest.context import AppContext
from kubeweft.rest.probes import Check, metrics_auth, probe_app
from kubeweft.rest.server import HTTPServer, server_limits
from kubeweft.rest.tls import api_certificate
from kubeweft.runtime import errors as kube_errors
from kubeweft.runtime import objects
from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.client import Client
from kubeweft.runtime.config import load_config
from kubeweft.runtime.healthz import CheckFailed
from kubeweft.runtime.informer import InformerOptions
from kubeweft.runtime.manager import Manager, ManagerOptions
from kubeweft.runtime.metrics import REGISTRY
from kubeweft.settings import Settings
from kubeweft.startup import EXIT_CONFIG, StartupError
from kubeweft.ui import install_dashboard
from kubeweft.views.detail_fields import FieldSource
from kubeweft.views.owned import OwnedObjects
from kubeweft.views.reader import CacheReader, WriteTracker
from kubeweft.views.repository_source import RepositorySource
from kubeweft.views.watches import StreamLimits, Watches
from kubeweft.webhook.setup import certificate_mode, webhook_runnables

if TYPE_CHECKING:  # cryptography loads only when a webhook is served
    from kubeweft.webhook.serving import WebhookServer

__all__ = [
    "DEFAULT_APP",
    "Process",
    "ProcessInfo",
    "ensure_crds",
    "load_app",
    "run_command",
    "run_options",
    "run_process",
]

_log = get_logger("kubeweft.app")

#: What ``kubeweft run`` runs without an argument: the shipped example.
DEFAULT_APP = "kubeweft.examples.webapp:app"

CRD_ESTABLISH_TIMEOUT = 60.0
#: Under the state directory: history records the database does not have yet.
HISTORY_SPOOL_DIR = "history-spool"
# Under the readiness probe's timeoutSeconds (2 s in config/manager/manager.yaml).
READY_DATABASE_TIMEOUT = 1.5


@dataclass
class ProcessInfo:
    """What a started process exposes (bound URLs), for the ready line and for tests."""

    api_url: str | None = None
    probe_url: str | None = None
    webhook_url: str | None = None
    roles: list[str] = field(default_factory=list)


# --- Kubernetes ------------------------------------------------------------------------


def _kubernetes_configured(settings: Settings) -> bool:
    """A kubeconfig was given, the process runs in a pod, or ``~/.kube/config`` exists."""
    if settings.kubeconfig:
        return True
    token = settings.service_account_dir / "token"
    if token.exists() and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    return Path("~/.kube/config").expanduser().exists()


@asynccontextmanager
async def kubernetes_settings(settings: Settings) -> AsyncIterator[Settings]:
    """Settings whose Kubernetes source exists: as given, or the local control plane.

    A kubeconfig (flag, ``KUBECONFIG``, ``~/.kube/config``) or in-cluster configuration
    is used as is. On a bare machine, with ``local_cluster`` on, a cluster that
    ``kubeweft cluster up`` left running under the state directory is reused, or the
    local control plane is started there for the life of the process.
    """
    if settings.kubeconfig == Path():  # KUBECONFIG set but empty means unset
        settings = settings.model_copy(update={"kubeconfig": None})
    if _kubernetes_configured(settings):
        yield settings
        return
    if not settings.local_cluster:
        raise StartupError(
            "no Kubernetes configuration",
            "set --kubeconfig / KUBECONFIG, run in a pod, "
            "or enable the local control plane (KUBEWEFT_LOCAL_CLUSTER=true)",
            exit_code=EXIT_CONFIG,
        )
    from kubeweft.localcluster import (
        BinariesUnavailable,
        ClusterStartError,
        LocalCluster,
        running_kubeconfig,
    )

    directory = settings.state_dir / "cluster"
    running = running_kubeconfig(directory)
    if running is not None:
        _log.info("using the running local control plane", kubeconfig=str(running))
        yield settings.model_copy(update={"kubeconfig": running})
        return
    _log.info("starting the local control plane", directory=str(directory))
    async with AsyncExitStack() as stack:
        try:
            cluster = await stack.enter_async_context(LocalCluster(directory))
        except BinariesUnavailable as exc:
            raise StartupError(
                f"no Kubernetes configuration and the local control plane cannot start: {exc}",
                "or point --kubeconfig / KUBECONFIG at a cluster",
            ) from exc
        except ClusterStartError as exc:
            raise StartupError(
                f"the local control plane did not start: {startup.reason(exc)}",
                f"its logs are under {directory}; or point --kubeconfig at a cluster",
            ) from exc
        _log.info("local control plane up", server=cluster.server)
        yield settings.model_copy(update={"kubeconfig": cluster.kubeconfig_path})


async def ensure_crds(
    client: Client,
    models: tuple[type[CustomResource], ...],
    *,
    install: bool,
    manager: str,
    conversions: Sequence[Conversion] = (),
    serves_conversion: bool = True,
) -> None:
    """Verify every model's CRD can be listed; apply the generated CRDs first if asked
    (with every version of a model that has ``conversions``).

    ``serves_conversion`` is False when this process serves no conversion webhook
    (``KUBEWEFT_WEBHOOK_CERTIFICATES=off``). Then an installed CRD whose versions share
    one schema gets ``conversion: strategy: None`` (the API server converts by itself),
    and a CRD left asking for a webhook is named in a warning: every request in another
    version than the stored one fails until something serves it."""
    by_hub = {conversion.hub: conversion for conversion in conversions if conversion.spokes}
    for model in models:
        crd_name = model.model_info.crd_name
        converted = by_hub.get(model)
        if install:
            generated = crd_for(model, converted)
            conversion = generated["spec"].pop("conversion", None)
            crd = objects.from_dict(CustomResourceDefinition, generated)
            await client.apply(crd, field_manager=manager, force=True)
            if converted is not None and not serves_conversion and versions_share_schema(converted):
                conversion = {"strategy": "None", "webhook": None}
            if conversion is not None:
                await _ensure_conversion(client, crd_name, conversion)
            await _wait_established(client, crd_name)
        if converted is not None and not serves_conversion:
            await _warn_if_conversion_unserved(client, crd_name)
        try:
            await client.list(model, limit=1)
        except kube_errors.ServerError as error:
            if converted is None or "conversion webhook" not in error.message:
                raise
            # Objects stored in an older version are converted by this process's own
            # webhook server, which starts later (or, unserved here, warned about above):
            # the CRD is there, which is the question.
            _log.info("crd verified; conversion waits for the webhook server", crd=crd_name)
            continue
        except kube_errors.NotFound:
            raise StartupError(
                f"the CRD {crd_name} is not installed",
                "install it with `kubeweft manifests && kubectl apply -k config/crd`, or let "
                "kubeweft install it: --install-crds (KUBEWEFT_INSTALL_CRDS=true)",
            ) from None
        _log.info("crd verified", crd=crd_name)


async def _ensure_conversion(client: Client, name: str, conversion: dict[str, Any]) -> None:
    """Give the CRD its conversion webhook unless it has one (or, given ``strategy:
    None``, none). Where the webhook is reached is not applied: the local webhook server
    points it at its own URL, a cluster's manifests at the Service, and applying the
    Service beside that URL would leave both in one client config, which the API server
    refuses."""
    live = await client.get(CustomResourceDefinition, name)
    current = live.spec.conversion
    if conversion["strategy"] == "None":
        if current is None or current.strategy == "None":
            return
        _log.info(
            "crd conversion set to None: its versions share one schema and this process "
            "serves no conversion webhook",
            crd=name,
        )
    elif current is not None and current.strategy == "Webhook" and current.webhook is not None:
        return
    await client.patch(CustomResourceDefinition, name, {"spec": {"conversion": conversion}})


async def _warn_if_conversion_unserved(client: Client, name: str) -> None:
    """Warn when the CRD asks the API server to call a conversion webhook this process
    does not serve (another process may: the warning says what to check)."""
    try:
        live = await client.get(CustomResourceDefinition, name)
    except kube_errors.Forbidden:
        return  # a process without --install-crds need not read CRDs; the list answers
    except kube_errors.NotFound:
        return  # not installed: the list below names the CRD and the fix
    current = live.spec.conversion
    if current is None or current.strategy != "Webhook" or current.webhook is None:
        return
    config = current.webhook.clientConfig
    service = config.service if config is not None else None
    if service is not None:
        where = f"the Service {service.namespace}/{service.name}"
    else:
        where = (config.url if config is not None else None) or "nowhere"
    _log.warning(
        "crd conversion webhook not served by this process: reading or writing the CRD "
        "in another version than the stored one fails unless that webhook answers",
        crd=name,
        conversion_webhook=where,
        fix="serve conversion from this process (KUBEWEFT_WEBHOOK_CERTIFICATES=local, "
        "files or secret; local is the default on the local control plane), or deploy "
        "the webhook Service of config/ (kubectl apply -k config/default); "
        "--install-crds sets strategy None by itself only when every version has the "
        "same schema",
    )


async def _wait_established(client: Client, name: str) -> None:
    with anyio.fail_after(CRD_ESTABLISH_TIMEOUT):
        while True:
            crd = await client.get(CustomResourceDefinition, name)
            conditions = (crd.status.conditions if crd.status else None) or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                return
            await anyio.sleep(0.2)  # polling the API server, not synchronising our tasks


# --- the process -----------------------------------------------------------------------


def _retention_policy(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(
        metric_samples=timedelta(days=settings.metric_retention_days),
        reconcile_log=timedelta(days=settings.reconcile_log_retention_days),
        audit=timedelta(days=settings.audit_retention_days),
        history=timedelta(days=settings.history_retention_days),
        annotations=timedelta(days=settings.annotation_retention_days),
        api_keys=timedelta(days=settings.api_key_retention_days),
        batch_size=settings.retention_batch_size,
    )


async def _scoped(
    scope: anyio.CancelScope,
    run: Callable[..., Any],
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    with scope:
        await run(task_status=task_status)


def _probe_checks(
    client: Client,
    database: Database,
    manager: Manager,
    models: tuple[type[CustomResource], ...],
) -> tuple[list[Check], list[Check]]:
    async def kubernetes() -> None:
        # Every model: each is served by the API, so a CRD deleted (or RBAC revoked)
        # for any one of them makes the process unable to do its job.
        for model in models:
            await client.list(model, limit=1)

    async def db() -> None:
        # Answer before the kubelet gives up on the probe, so the reason is seen.
        bound = min(database.statement_timeout or READY_DATABASE_TIMEOUT, READY_DATABASE_TIMEOUT)
        try:
            await database.verify(timeout_s=bound)
        except TimeoutError as exc:  # the probe's own timeout would hide the reason
            raise CheckFailed(str(exc)) from exc

    async def manager_ready() -> None:
        result = await manager.check_ready()
        if not result.ok:
            raise CheckFailed("; ".join(f"{k}: {v}" for k, v in result.failures.items()))

    async def manager_alive() -> None:
        result = await manager.check_health()
        if not result.ok:
            raise CheckFailed("; ".join(f"{k}: {v}" for k, v in result.failures.items()))

    liveness = [Check("manager", manager_alive)]
    readiness = [
        Check("kubernetes", kubernetes, timeout=3.0),
        Check("database", db, timeout=READY_DATABASE_TIMEOUT + 1.0),
        # The manager's own readiness: caches synced, and the Lease not lost.
        Check("manager", manager_ready, timeout=3.0),
    ]
    return liveness, readiness


async def run_process(
    app: App, settings: Settings, *, on_ready: Callable[[ProcessInfo], None] | None = None
) -> None:
    """Run until SIGTERM/SIGINT (or cancellation); return after a graceful shutdown."""
    url = settings.resolved_database_url()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    database = Database(
        url,
        statement_timeout=settings.database_statement_timeout_seconds,
        pool_size=settings.database_pool_size,
    )
    database.connect()
    try:
        await _prepare_database(settings, database, app.migrations)
        async with AsyncExitStack() as stack:
            settings = await stack.enter_async_context(kubernetes_settings(settings))
            client, server = _client(settings)
            stack.push_async_callback(client.aclose)
            await _verify_kubernetes(client, settings, server, app.models, app.conversions)
            await _serve(app, settings, database, client, on_ready)
    finally:
        with anyio.CancelScope(shield=True):
            await database.aclose()
    _log.info("stopped")


async def _prepare_database(
    settings: Settings, database: Database, projects: Sequence[MigrationSet] = ()
) -> None:
    """Migrate (if asked) and verify the database; a failure is a :class:`StartupError`.

    kubeweft's revisions and the application's own (``App.add_migrations``) go
    together: both are applied, or — with ``--no-migrate`` — both must be at their
    newest, or the process refuses to start naming what is pending."""
    where = make_url(database.url).render_as_string(hide_password=True)
    behind = []
    try:
        if settings.migrate_on_start:
            _log.info("migrating the database")
            await migrate(database.url, projects=projects)
        else:
            behind = await pending(database.url, projects)
        await database.verify()
    except Exception as exc:
        raise StartupError(
            f"the database {where} cannot be used: {startup.reason(exc)}",
            "check KUBEWEFT_DATABASE_URL (or DATABASE_URL) and that the server is running "
            "and reachable",
        ) from exc
    if behind:
        raise StartupError(
            f"the database {where} is not migrated: {'; '.join(map(str, behind))}",
            "run `kubeweft db migrate APP` first, or start without --no-migrate",
            exit_code=EXIT_CONFIG,
        )
    _log.info("database verified", dialect=database.dialect)


def _client(settings: Settings) -> tuple[Client, str]:
    """The Kubernetes client and its server's URL; an unreadable or invalid kubeconfig is
    a configuration error."""
    try:
        config = load_config(settings)
        return Client.from_config(config, field_manager=settings.field_manager), config.server
    except Exception as exc:
        source = f"the kubeconfig {settings.kubeconfig}" if settings.kubeconfig else "kubeconfig"
        raise StartupError(
            f"cannot load {source}: {startup.reason(exc)}",
            "pass a valid kubeconfig with --kubeconfig or KUBECONFIG (and --context if it "
            "has several), or unset it to use the local control plane",
            exit_code=EXIT_CONFIG,
        ) from exc


async def _verify_kubernetes(
    client: Client,
    settings: Settings,
    server: str,
    models: tuple[type[CustomResource], ...],
    conversions: Sequence[Conversion] = (),
) -> None:
    """Reach the API server and verify (or install) the CRDs, naming what failed."""
    try:
        await ensure_crds(
            client,
            models,
            install=settings.install_crds,
            manager=settings.field_manager,
            conversions=conversions,
            serves_conversion=certificate_mode(settings) != "off",
        )
    except StartupError:
        raise
    except kube_errors.Unauthorized as exc:
        raise StartupError(
            f"the Kubernetes API server refused the credentials: {startup.reason(exc)}",
            "check the user of the kubeconfig's context (or the pod's service account)",
        ) from exc
    except kube_errors.Forbidden as exc:
        raise StartupError(
            f"not allowed to read or install the CRDs: {startup.reason(exc)}",
            "grant the generated RBAC (`kubeweft manifests`), or have an administrator "
            "install the CRDs and start with --no-install-crds",
        ) from exc
    except (kube_errors.ApiError, OSError, TimeoutError) as exc:
        raise StartupError(
            f"the Kubernetes API server {server} did not answer: {startup.reason(exc)}",
            "check that the cluster is running and the kubeconfig's server and context "
            "(--kubeconfig, --context)",
        ) from exc


class _BindErrorsNamed:
    """An HTTP server runnable whose failure to bind names the port and its option."""

    need_leader_election = False

    def __init__(self, server: HTTPServer, what: str, option: str) -> None:
        self.server = server
        self.what = what
        self.option = option

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        server = self.server
        with startup.listening(self.what, server.host, server.requested_port, self.option):
            await server.run(task_status=task_status)


class Process:
    """The runnables of one kubeweft process, wired together; ``run`` is itself a runnable.

    ``run`` starts the probe server, the record writer and the manager (which starts
    the caches, the API server and ``app``'s controllers) and signals ``started()`` once
    the API serves. ``stop()`` begins the graceful shutdown; ``run`` returns when it is
    done.
    """

    def __init__(self, app: App, settings: Settings, database: Database, client: Client) -> None:
        self.app = app
        self.settings = settings
        self.database = database
        self.client = client
        self.info = ProcessInfo(
            roles=[
                role
                for role, enabled in (
                    ("controller", settings.enable_controller),
                    ("api", settings.enable_api),
                )
                if enabled
            ]
        )
        informer_defaults = InformerOptions(
            namespace=settings.watch_namespace, resync_period=settings.resync_period_seconds
        )
        # Owned kinds are cached by the label create_or_update puts on every child, so
        # other applications' Deployments cost this process neither memory nor events.
        owned_selector = {MANAGED_BY_LABEL: MANAGED_BY}
        self.cache = Cache(
            client, CacheOptions(defaults=informer_defaults, owned_label_selector=owned_selector)
        )
        leader_election = settings.leader_election and settings.enable_controller
        # The Lease is renewed on a connection pool of its own: requests (and the
        # TokenReview each new bearer token costs) must not queue renewals behind them.
        self.election_client = Client.from_settings(settings) if leader_election else None
        self.manager = Manager(
            client,
            self.cache,
            ManagerOptions(
                leader_election=leader_election,
                leader_election_client=self.election_client,
                leader_election_id=settings.leader_election_id,
                leader_election_namespace=settings.leader_election_namespace or "default",
                lease_duration=settings.lease_duration_seconds,
                renew_deadline=settings.renew_deadline_seconds,
                retry_period=settings.retry_period_seconds,
                graceful_shutdown_timeout=settings.drain_timeout_seconds,
                freeze_gc_after_sync=True,
            ),
        )
        # History waits on disk too, so a kill -9 during a database outage loses none.
        spool = HistorySpool(settings.state_dir / HISTORY_SPOOL_DIR)
        # Which resources' rows each write touched, so views may keep what they read
        # (live while the watch sees every process's writes: docs/design/database.md).
        self.changes = RecordChanges()
        self.manager.add(ChangeWatch(database, self.changes))
        self.writer = RecordWriter(
            database, buffer_size=settings.record_buffer_size, spool=spool, changes=self.changes
        )
        for model in app.models:
            self.cache.informer_for(model)  # the API reads these even without the controller
        if settings.enable_controller:
            app.setup_controllers(
                self.manager, records=self.writer, settings=settings, database=database
            )
            self.manager.add(
                RetentionJob(
                    database,
                    _retention_policy(settings),
                    interval=timedelta(seconds=settings.retention_interval_seconds),
                    changes=self.changes,
                )
            )
        self.api: HTTPServer | None = None
        self.context: AppContext | None = None
        if settings.enable_api:
            self.context = self._api_context()
            self.api = HTTPServer(
                install_dashboard(create_app(settings, self.context), settings, self.context),
                name="api",
                host=settings.api_host,
                port=settings.api_port,
                drain_timeout=settings.drain_timeout_seconds,
                limits=server_limits(settings),
                tls=api_certificate(settings),
                on_drain=self.context.watches.close if self.context.watches else None,
            )
            self.manager.add(_BindErrorsNamed(self.api, "REST API", "--api-port"))
        # Admission webhooks: the server runs on every replica (started in ``run``, before
        # the manager); without cert-manager the leader keeps its certificate.
        self.webhooks, rotator = webhook_runnables(
            app.name, app.webhooks, settings, client, app.conversions
        )
        if rotator is not None:
            self.manager.add(rotator)
        liveness, readiness = _probe_checks(client, database, self.manager, app.models)
        self.probes = HTTPServer(
            probe_app(
                liveness=liveness,
                readiness=readiness,
                registry=REGISTRY,
                guard=metrics_auth(settings, client),
            ),
            name="probes",
            host=settings.probe_host,
            port=settings.probe_port,
            drain_timeout=settings.drain_timeout_seconds,
            limits=server_limits(settings),
        )
        self._manager_scope = anyio.CancelScope()

    def _api_context(self) -> AppContext:
        settings = self.settings
        tracker = WriteTracker()
        if settings.dev_user:
            _log.warning(
                "DEVELOPMENT IDENTITY ENABLED: requests without credentials act as this user",
                user=settings.dev_user,
                groups=settings.dev_groups,
            )
        return AppContext(
            settings=settings,
            models=self.app.models,
            client=self.client,
            reader=CacheReader(
                self.cache, self.client, tracker, timeout=settings.read_your_writes_timeout_seconds
            ),
            store=RepositorySource(self.database, changes=self.changes),
            fields=FieldSource(self.database, self.app.detail_fields),
            owned=OwnedObjects(
                self.cache, {model: self.app.owned_kinds(model) for model in self.app.models}
            ),
            authenticator=build_authenticator(settings, self.client, self.database),
            authorizer=build_authorizer(settings, self.client),
            tracker=tracker,
            webhooks={hook.model: hook for hook in self.app.webhooks},
            cache=self.cache,
            watches=Watches(
                {model: self.cache.informer_for(model) for model in self.app.models},
                StreamLimits(
                    replay=settings.stream_replay_buffer,
                    client_buffer=settings.stream_client_buffer,
                    max_per_user=settings.stream_max_per_user,
                    heartbeat=settings.stream_heartbeat_seconds,
                ),
            ),
        )

    def stop(self) -> None:
        """Begin the graceful shutdown (safe to call more than once, or before ``run``)."""
        self._manager_scope.cancel()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        manager_done = anyio.Event()

        async def run_manager(*, task_status: TaskStatus[None]) -> None:
            try:
                await self.manager.run(task_status=task_status)
            finally:
                manager_done.set()
                if self.election_client is not None:
                    with anyio.CancelScope(shield=True):
                        await self.election_client.aclose()

        async with anyio.create_task_group() as tg:
            probe_scope, writer_scope = anyio.CancelScope(), anyio.CancelScope()
            probes = _BindErrorsNamed(self.probes, "probe server", "--probe-port")
            await tg.start(_scoped, probe_scope, probes.run)
            self.info.probe_url = self.probes.url
            await tg.start(_scoped, writer_scope, self.writer.run)
            webhook_scope = anyio.CancelScope()
            webhooks = self.webhooks
            from_secret = self.settings.webhook_certificates == "secret"
            if webhooks is not None and not from_secret:
                # As controller-runtime: webhooks serve before the caches sync.
                await tg.start(_scoped, webhook_scope, webhooks.run)
            if webhooks is not None and from_secret:
                # The certificate is in the Secret the leader (a manager runnable)
                # creates: serve as soon as it exists, without holding the manager back
                # (its caches may need /convert for objects stored in an older version).
                webhooks_serving = anyio.Event()

                async def serve_webhooks(server: WebhookServer) -> None:
                    await tg.start(_scoped, webhook_scope, server.run)
                    webhooks_serving.set()

                tg.start_soon(serve_webhooks, webhooks)
            await tg.start(_scoped, self._manager_scope, run_manager)
            if webhooks is not None and from_secret:
                await webhooks_serving.wait()
            self.info.webhook_url = webhooks.url if webhooks is not None else None
            self.info.api_url = self.api.url if self.api is not None else None
            task_status.started()
            await manager_done.wait()
            # Reconciles have drained and the API has finished its requests: no more
            # records can arrive. Write what is pending, then stop the rest.
            if not await self.writer.flush(self.settings.drain_timeout_seconds):
                _log.error(
                    "records not written before the drain timeout", pending=self.writer.pending
                )
            writer_scope.cancel()
            webhook_scope.cancel()
            probe_scope.cancel()


async def _serve(
    app: App,
    settings: Settings,
    database: Database,
    client: Client,
    on_ready: Callable[[ProcessInfo], None] | None,
) -> None:
    process = Process(app, settings, database, client)
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with anyio.create_task_group() as tg:

            async def stop_on_signal() -> None:
                async for signum in signals:
                    _log.info("shutting down", signal=signal.Signals(signum).name)
                    process.stop()
                    return

            async def run_then_stop_listening(*, task_status: TaskStatus[None]) -> None:
                await process.run(task_status=task_status)
                tg.cancel_scope.cancel()

            tg.start_soon(stop_on_signal)
            await tg.start(run_then_stop_listening)
            _announce(process.info)
            if on_ready is not None:
                on_ready(process.info)


def _announce(info: ProcessInfo) -> None:
    _log.info(
        "ready",
        api=info.api_url,
        probes=info.probe_url,
        webhooks=info.webhook_url,
        roles=info.roles,
    )
    parts = [f"kubeweft ready ({'+'.join(info.roles) or 'probes only'})"]
    if info.api_url:
        parts.append(f"API {info.api_url}/api  docs {info.api_url}/docs")
        parts.append(f"dashboard {info.api_url}/ui")
    if info.webhook_url:
        parts.append(f"webhooks {info.webhook_url}")
    parts.append(f"probes {info.probe_url}/readyz")
    print(" | ".join(parts), flush=True)


# --- the command ---------------------------------------------------------------------------


#: How long a thread may keep the GIL while another waits for it (Python's default: 5 ms).
#: Under load the event loop's thread always has work, so each hand-off to a database
#: worker thread (aiosqlite: one per statement, and back) waited up to this long: most of
#: a SQLite detail read at 32 connections. 0.5 ms doubled its requests/s in-process
#: (docs/design/performance.md); the cost is more GIL switches, which nothing here feels.
GIL_SWITCH_INTERVAL_S = 0.0005


def run_options() -> dict[str, Any]:
    """Set up the interpreter as ``kubeweft run`` does (the GIL switch interval) and
    return ``anyio.run``'s backend options: uvloop where it exists (not on Windows),
    which with httptools is most of the HTTP server's throughput."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    return {"use_uvloop": importlib.util.find_spec("uvloop") is not None}


def run_command(
    app: Annotated[
        str | None,
        typer.Argument(
            metavar="APP",
            help="The application as module:attribute, found in the current directory "
            f"first (default: {DEFAULT_APP}).",
            show_default=False,
        ),
    ] = None,
    kubeconfig: Annotated[Path | None, typer.Option(help="Kubeconfig file.")] = None,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context.")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in the state dir).")
    ] = None,
    api_host: Annotated[str | None, typer.Option(help="Address of the REST API.")] = None,
    api_port: Annotated[int | None, typer.Option(help="REST API port (0: any free port).")] = None,
    probe_host: Annotated[str | None, typer.Option(help="Address of the probe server.")] = None,
    probe_port: Annotated[int | None, typer.Option(help="Probe port (0: any free port).")] = None,
    workers: Annotated[int | None, typer.Option(help="Concurrent reconciles.")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="Where local state lives.")] = None,
    mode: Annotated[str | None, typer.Option(help="development or production.")] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING, ERROR.")] = None,
    log_format: Annotated[str | None, typer.Option(help="json or console.")] = None,
    dev_user: Annotated[
        str | None, typer.Option(help="Development identity for unauthenticated requests.")
    ] = None,
    leader_election: Annotated[
        bool | None, typer.Option("--leader-election/--no-leader-election")
    ] = None,
    install_crds: Annotated[bool | None, typer.Option("--install-crds/--no-install-crds")] = None,
    migrate_on_start: Annotated[bool | None, typer.Option("--migrate/--no-migrate")] = None,
    local_cluster: Annotated[
        bool | None, typer.Option("--local-cluster/--no-local-cluster")
    ] = None,
    drain_timeout: Annotated[
        float | None, typer.Option(help="Seconds to finish requests and reconciles on exit.")
    ] = None,
    no_controller: Annotated[
        bool, typer.Option("--no-controller", help="Serve the API only (no reconciling).")
    ] = False,
    no_api: Annotated[bool, typer.Option("--no-api", help="Reconcile only (no REST API).")] = False,
) -> None:
    """Run an application's controllers and REST API (flags override KUBEWEFT_* variables)."""
    flags: dict[str, Any] = {
        "kubeconfig": kubeconfig,
        "kube_context": context,
        "database_url": database_url,
        "api_host": api_host,
        "api_port": api_port,
        "probe_host": probe_host,
        "probe_port": probe_port,
        "workers": workers,
        "state_dir": state_dir,
        "mode": mode,
        "log_level": log_level,
        "log_format": log_format,
        "dev_user": dev_user,
        "leader_election": leader_election,
        "install_crds": install_crds,
        "migrate_on_start": migrate_on_start,
        "local_cluster": local_cluster,
        "drain_timeout_seconds": drain_timeout,
    }
    overrides = {k: v for k, v in flags.items() if v is not None}
    if no_controller:
        overrides["enable_controller"] = False
    if no_api:
        overrides["enable_api"] = False
    try:
        settings = Settings(**overrides)
    except pydantic.ValidationError as exc:
        _exit_with(_configuration_error(exc))
    configure_logging(settings.log_level, settings.log_format)
    if not (settings.enable_controller or settings.enable_api):
        _exit_with(StartupError("--no-controller and --no-api leave nothing to run", "drop one"))
    try:
        application = load_app(app or DEFAULT_APP)
    except StartupError as error:
        _exit_with(error)
    try:
        anyio.run(run_process, application, settings, backend_options=run_options())
    except KeyboardInterrupt:
        pass
    except (Exception, BaseExceptionGroup) as exc:
        cause = startup.root_cause(exc)
        if isinstance(cause, AuthConfigurationError):
            _exit_with(
                StartupError(
                    f"invalid configuration: {cause}",
                    "correct the setting it names (docs/design/auth.md)",
                    exit_code=EXIT_CONFIG,
                )
            )
        _exit_with(startup.explain(exc))


def load_app(spec: str) -> App:
    """``module:attribute`` → the :class:`App` it names; a :class:`StartupError` (exit 2)
    when it cannot be found, is not an ``App`` or declares no model. An error raised by
    the module itself propagates with its traceback: it is a bug in that code."""
    try:
        found = _importing.import_from_string(spec)
    except _importing.ImportFromStringError as error:
        raise StartupError(
            f"cannot load the application {spec}: {error}",
            'pass APP as "module:attribute", run from the directory that holds the module',
            exit_code=EXIT_CONFIG,
        ) from error
    if not isinstance(found, App):
        kind = type(found).__name__
        what = f"the class {found.__name__}" if isinstance(found, type) else f"a {kind}"
        raise StartupError(
            f"{spec} is {what}, not a kubeweft.App",
            'point APP at the object made by kubeweft.App("name")',
            exit_code=EXIT_CONFIG,
        )
    if not found.models:
        raise StartupError(
            f"the application {spec} has no model", "call app.add_model(...)", exit_code=EXIT_CONFIG
        )
    return found


def _configuration_error(error: pydantic.ValidationError) -> StartupError:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "settings"
    option = f"--{field.replace('_', '-')} / KUBEWEFT_{field.upper()}" if first["loc"] else ""
    return StartupError(
        f"invalid configuration: {field}: {first['msg']}",
        f"correct {option}" if option else "correct the KUBEWEFT_* settings",
        exit_code=EXIT_CONFIG,
    )


def _exit_with(error: StartupError) -> NoReturn:
    """Print the one line a person needs (no traceback) and exit with its code."""
    typer.echo(f"kubeweft run: {error.line()}", err=True)
    sys.exit(error.exit_code)
