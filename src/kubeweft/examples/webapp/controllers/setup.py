"""Wiring the WebApp reconciler to its events: For(WebApp), Owns(Deployment), Owns(Service).

Three sources feed one work queue. WebApp events enqueue the WebApp itself — only
when its *generation* changed, because the reconciler's own status writes would
otherwise wake it once more for nothing. Deployment and Service events enqueue their
controller owner, so a hand edit of an owned object, a pod becoming ready (the
Deployment's status moves) or a deleted Service each bring the WebApp back to the
reconciler. Time is the fourth source: every reconcile asks to be requeued after
``requeue_after``. The owned Deployments pass their predicates
(``webapp_events.owned_predicates``): the same wiring ``kubeweft.App`` gives the
shipped app, so tests that use these functions run the controller as it ships.
"""

from __future__ import annotations

from typing import Any

from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft.controllerutil.reconcile_log import LoggedReconciler, RecordSink
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers import webapp_events
from kubeweft.examples.webapp.controllers.webapp import (
    EventSink,
    ObjectWriter,
    WebAppReconciler,
    WebAppReconcilerOptions,
)
from kubeweft.runtime import handler, predicate, source
from kubeweft.runtime.builder import ControllerBuilder
from kubeweft.runtime.controller import Controller, ControllerOptions
from kubeweft.runtime.manager import Manager

__all__ = ["CONTROLLER_NAME", "new_webapp_controller", "setup_webapp_controller"]

CONTROLLER_NAME = "webapp"


def new_webapp_controller(
    cache: Any,
    client: ObjectWriter,
    *,
    events: EventSink | None = None,
    records: RecordSink | None = None,
    workers: int = 4,
    requeue_after: float = 30.0,
    controller_options: ControllerOptions | None = None,
    reconciler: Any | None = None,
) -> Controller:
    """A runnable ``Controller`` for WebApps reading ``cache`` and writing ``client``,
    for use without a ``Manager`` (run the cache and the controller yourself).

    ``reconciler`` replaces the WebAppReconciler (tests wrap it to inject failures);
    ``records`` is the database sink (None: records are dropped).
    """
    options = controller_options or ControllerOptions(max_concurrent_reconciles=workers)
    target = reconciler or WebAppReconciler(
        cache,
        client,
        events=events,
        options=WebAppReconcilerOptions(requeue_after=requeue_after),
    )
    if records is not None:  # the reconcile log and samples, as kubeweft.App writes them
        target = LoggedReconciler(target, WebApp, cache, records)
    controller = Controller(CONTROLLER_NAME, target, options)
    controller.watch(
        source.Kind(cache, WebApp, handler.EnqueueRequestForObject(), predicate.GenerationChanged())
    )
    predicates = webapp_events.owned_predicates()
    for owned in (Deployment, Service):
        controller.watch(
            source.Kind(
                cache, owned, handler.EnqueueRequestForOwner(WebApp), *predicates.get(owned, [])
            )
        )
    return controller


def setup_webapp_controller(
    manager: Manager,
    *,
    records: RecordSink | None = None,
    events: EventSink | None = None,
    workers: int = 4,
    requeue_after: float = 30.0,
    controller_options: ControllerOptions | None = None,
    reconciler: Any | None = None,
) -> Controller:
    """Add the WebApp controller to ``manager`` through ``ControllerBuilder``; it reads
    the manager's cache, writes with the manager's client and, unless ``events`` is
    given, records Events with the manager's recorder. The owned Deployments and
    Services are watched because ``WebApp.model_info.owns`` declares them. Returns the
    controller (already added).

    ``records`` is the database sink (``db.RecordWriter``), run by the caller; None when
    the database is disabled (records are dropped).
    """
    if events is None:
        events = manager.event_recorder("kubeweft-webapp-controller")
    # Manager.cache is typed by what the manager needs of it (run, has_synced); it is
    # a runtime.cache.Cache, which has the reads the reconciler needs.
    cache: Any = manager.cache
    target = reconciler or WebAppReconciler(
        cache,
        manager.client,
        events=events,
        options=WebAppReconcilerOptions(requeue_after=requeue_after),
    )
    if records is not None:  # the reconcile log and samples, as kubeweft.App writes them
        target = LoggedReconciler(target, WebApp, cache, records)
    builder = (
        ControllerBuilder(manager)
        .named(CONTROLLER_NAME)
        .for_(WebApp, predicate.GenerationChanged())
        .with_options(controller_options or ControllerOptions(max_concurrent_reconciles=workers))
    )
    for owned, predicates in webapp_events.owned_predicates().items():
        builder.owns(owned, *predicates)
    return builder.complete(target)
