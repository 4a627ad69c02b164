"""Running the real WebApp controller against the local control plane, and waiting.

A test gets a real ``Manager`` (real cache, real client, real Event recorder) with the
WebApp controller set up by ``setup_webapp_controller``, scoped to the test's
namespace, running in the test's own task group; leaving the ``async with`` shuts it
down gracefully (in-flight reconciles drain). Nothing here is a fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio

from kubeweft.controllerutil.reconcile_log import LoggedReconciler, RecordSink
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers import setup_webapp_controller
from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.client import Client
from kubeweft.runtime.controller import Controller
from kubeweft.runtime.informer import InformerOptions
from kubeweft.runtime.manager import Manager, ManagerOptions

T = TypeVar("T")

DEADLINE = 90.0


@dataclass
class Running:
    client: Client
    manager: Manager
    controller: Controller


@asynccontextmanager
async def running_controller(
    kubeconfig: Path,
    namespace: str,
    *,
    records: RecordSink | None = None,
    reconciler: Callable[[Any], Any] | None = None,
    workers: int = 4,
    requeue_after: float = 30.0,
) -> AsyncIterator[Running]:
    """The manager with the WebApp controller, running until the block exits.

    ``reconciler`` wraps the real reconciler (``lambda real: Wrapper(real)``).
    """
    async with Client.from_kubeconfig(kubeconfig) as client:
        cache = Cache(client, CacheOptions(defaults=InformerOptions(namespace=namespace)))
        manager = Manager(client, cache, ManagerOptions(graceful_shutdown_timeout=10.0))
        controller = setup_webapp_controller(
            manager, records=records, workers=workers, requeue_after=requeue_after
        )
        if reconciler is not None:
            # The wrapper goes inside the framework's reconcile log, as a reconciler does.
            target = controller.reconciler
            if isinstance(target, LoggedReconciler):
                target.inner = reconciler(target.inner)
            else:
                controller.reconciler = reconciler(target)
        async with anyio.create_task_group() as group:
            await group.start(manager.run)
            try:
                yield Running(client, manager, controller)
            finally:
                group.cancel_scope.cancel()


def webapp(name: str, namespace: str, **spec: Any) -> WebApp:
    return WebApp.model_validate(
        {"metadata": {"name": name, "namespace": namespace}, "spec": {"image": "nginx:1", **spec}}
    )
