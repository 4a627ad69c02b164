"""``App``: the one public way to say what a kubeweft process serves and reconciles.

A project built on kubeweft declares its models and their reconcilers in a few lines
of its own code, and ``kubeweft run shop.app:app`` runs them with the same start-up,
probes, auth, REST API, database, leader election and graceful shutdown as the shipped
example — which is itself an ``App`` built with nothing but this module::

    app = kubeweft.App("shop")
    app.add_model(Store)                          # CRD installation, REST routes, probes
    app.add_controller(Store, StoreReconciler)    # For(Store), Owns(ModelInfo.owns)

An ``App`` is a declaration, not a running thing: the process (``kubeweft.app``) reads
``app.models`` and calls each controller's setup once its manager exists, as a
kubebuilder ``main.go`` calls ``SetupWithManager``. The reconciler is built by a factory
that receives a :class:`ControllerContext` — the manager's cache and client, an Event
recorder named after the controller, the database record sink and the settings — so a
reconciler needs no global and no knowledge of how the process was wired.
Each reconciler is wrapped so that every reconcile lands in the reconcile log
(``controllerutil.reconcile_log``) without a line of logging code in the reconciler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from kubeweft.api import CustomResource
from kubeweft.api.admission import CustomDefaulter, CustomValidator, FailurePolicy, Webhook
from kubeweft.api.conversion import Conversion
from kubeweft.controllerutil.reconcile_log import (
    Attempt,
    LoggedReconciler,
    LoggedReconcilerOptions,
    current_attempt,
)
from kubeweft.db.engine import Database
from kubeweft.db.migrate import MigrationSet
from kubeweft.db.writer import RecordWriter
from kubeweft.rest.routes.watch import WATCH_SEGMENT
from kubeweft.runtime import predicate
from kubeweft.runtime.builder import ControllerBuilder, owned_kind
from kubeweft.runtime.controller import Controller, ControllerOptions
from kubeweft.runtime.manager import Manager
from kubeweft.runtime.reconcile import Reconciler
from kubeweft.runtime.recorder import EventRecorder
from kubeweft.settings import Settings
from kubeweft.ui.pages import RESERVED_SEGMENTS
from kubeweft.views.detail_fields import DetailFields, FieldLoader

__all__ = ["App", "ControllerContext", "ReconcilerFactory"]


@dataclass(frozen=True)
class ControllerContext:
    """What a reconciler may be built from: the process's pieces, named once."""

    #: The controller's name (the model's kind in lower case unless given).
    name: str
    manager: Manager
    #: The manager's cache (reads; ``controllerutil.DelegatingClient(cache, client)``).
    cache: Any
    #: The manager's client (writes to the API server).
    client: Any
    #: Records Events as ``<app name>-<controller name>-controller``.
    events: EventRecorder
    #: The database side of the process (reconcile log, history, metric samples).
    records: RecordWriter
    settings: Settings
    #: The process's database, for the project's own tables (a finalizer deleting an
    #: object's rows); kubeweft's records go through ``records``.
    database: Database | None = None

    def attempt(self) -> Attempt:
        """The report of the reconcile under way, which the framework writes for it:
        ``attempt().action("created ConfigMap")`` goes into its reconcile-log row,
        ``attempt().sample("active_jobs", 2)`` into the object's metrics (when the value
        changed, or at the heartbeat), ``attempt().requeue(reason)`` logs it as waiting."""
        return current_attempt()


#: Builds a reconciler for a controller; a reconciler class whose ``__init__`` takes
#: the context is one.
ReconcilerFactory = Callable[[ControllerContext], Reconciler]


#: Plurals a model may not take: ``/api/<plural>`` and ``/ui/<plural>`` would shadow
#: (or be shadowed by) the live-update streams and the dashboard's own pages.
_RESERVED_PLURALS = frozenset({WATCH_SEGMENT, *RESERVED_SEGMENTS})


@dataclass(frozen=True)
class _ControllerSpec:
    model: type[CustomResource]
    factory: ReconcilerFactory
    name: str
    predicates: tuple[predicate.Predicate, ...]
    owns: tuple[type[Any], ...]
    owned_predicates: Mapping[type[Any], tuple[predicate.Predicate, ...]]


class App:
    """The models a kubeweft process serves and the controllers that reconcile them."""

    def __init__(self, name: str) -> None:
        if not name:
            raise ValueError("an App needs a name (it names its Event recorders)")
        self.name = name
        self._models: list[type[CustomResource]] = []
        self._controllers: list[_ControllerSpec] = []
        self._webhooks: list[Webhook] = []
        self._conversions: list[Conversion] = []
        self._migrations: list[MigrationSet] = []
        self._detail_fields: list[DetailFields] = []

    def __repr__(self) -> str:
        kinds = ", ".join(model.model_info.kind for model in self._models)
        return f"App({self.name!r}, models=[{kinds}])"

    @property
    def models(self) -> tuple[type[CustomResource], ...]:
        """The registered models, in registration order."""
        return tuple(self._models)

    @property
    def controller_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self._controllers)

    def owned_kinds(self, model: type[CustomResource]) -> tuple[type[Any], ...]:
        """The kinds ``model``'s objects own: its ``ModelInfo.owns`` and the ``owns=``
        of its controllers (the dashboard and ``GET …/owned`` show their objects)."""
        kinds = [owned_kind(api_version, plural) for api_version, plural in model.model_info.owns]
        for spec in self._controllers:
            if spec.model is model:
                kinds.extend(kind for kind in spec.owns if kind not in kinds)
        return tuple(kinds)

    def add_model(
        self, model: type[CustomResource], *, spokes: Sequence[type[CustomResource]] = ()
    ) -> type[CustomResource]:
        """Serve ``model``: its CRD is verified (or installed) at start-up, it gets the
        REST routes and the OpenAPI, its informer is started and the readiness probe
        lists it. A model is added once; a CRD holds one model.

        ``spokes``: further served versions of the same kind, each with
        ``convert_to``/``convert_from`` (``kubeweft.api.conversion``). ``model`` is then
        the hub: the stored version, the one the controller and the REST layer use, and
        the API server converts the others through the webhook server's ``/convert``."""
        if not (isinstance(model, type) and issubclass(model, CustomResource)):
            raise TypeError(f"add_model() takes a CustomResource subclass, not {model!r}")
        plural = model.model_info.plural
        if plural in _RESERVED_PLURALS:
            raise ValueError(
                f"{model.__qualname__}'s plural {plural!r} is a reserved path segment "
                f"(/api/{WATCH_SEGMENT}/… streams, /ui's own pages); reserved: "
                f"{', '.join(sorted(_RESERVED_PLURALS))}. Give the model another plural"
            )
        crd = model.model_info.crd_name
        for known in self._models:
            if known.model_info.crd_name == crd:
                raise ValueError(
                    f"App {self.name!r} already has the model {known.__module__}."
                    f"{known.__qualname__} for the CRD {crd}; add each model once"
                )
        conversion = Conversion(model, tuple(spokes)) if spokes else None
        self._models.append(model)
        if conversion is not None:
            self._conversions.append(conversion)
        return model

    @property
    def conversions(self) -> tuple[Conversion, ...]:
        """The models with several versions: each hub and its spokes (``add_model``)."""
        return tuple(self._conversions)

    @property
    def migrations(self) -> tuple[MigrationSet, ...]:
        """The project's own migration sets, run after kubeweft's (``add_migrations``)."""
        return tuple(self._migrations)

    def add_migrations(self, package: str, *, version_table: str | None = None) -> None:
        """Run the Alembic revisions in ``package`` (``"shop.migrations"``: a package
        whose directory holds revision files) with kubeweft's: ``kubeweft db migrate``
        and start-up apply both. They are tracked in ``version_table`` (by default
        ``alembic_version_<app name>``), so their heads never meet kubeweft's."""
        table = version_table or "alembic_version_" + re.sub(r"[^a-z0-9]+", "_", self.name.lower())
        for known in self._migrations:
            if table == known.version_table or package == known.package:
                raise ValueError(
                    f"App {self.name!r} already runs the migrations {known.package!r} "
                    f"tracked in {known.version_table!r}; give each set its own "
                    "version_table="
                )
        migrations = MigrationSet(package, table)
        migrations.directory()  # fail at declaration when the package is not there
        self._migrations.append(migrations)

    @property
    def detail_fields(self) -> tuple[DetailFields, ...]:
        """The project's own fields on its models' bodies (``add_detail_fields``)."""
        return tuple(self._detail_fields)

    def add_detail_fields(
        self, model: type[CustomResource], fields: type[BaseModel], loader: FieldLoader
    ) -> None:
        """Show ``fields`` (a pydantic model; every field with a default) in ``model``'s
        detail view and list, and in their OpenAPI schemas, camelCase like every member.
        ``await loader(session, uids)`` reads them — one query for all the UIDs of a
        response, a whole list page at once — and returns ``{uid: fields}``; an object
        it leaves out gets the defaults. Its SQL lives in the project's own package."""
        if model not in self._models:
            raise ValueError(
                f"{model.__qualname__} is not a model of App {self.name!r}: "
                f"call add_model({model.__qualname__}) first"
            )
        declaration = DetailFields(model, fields, loader)
        for known in self._detail_fields:
            same = set(known.names) & set(declaration.names)
            if known.model is model and same:
                raise ValueError(
                    f"{model.__qualname__} already has the fields {sorted(same)} from "
                    f"{known.fields.__qualname__}"
                )
        self._detail_fields.append(declaration)

    @property
    def webhooks(self) -> tuple[Webhook, ...]:
        """The admission webhooks, in registration order (``add_webhook``)."""
        return tuple(self._webhooks)

    def add_webhook(
        self,
        model: type[CustomResource],
        *,
        defaulter: CustomDefaulter | None = None,
        validator: CustomValidator | None = None,
        failure_policy: FailurePolicy = "Fail",
        timeout_seconds: int = 10,
    ) -> Webhook:
        """Default and validate ``model`` on admission (kubebuilder's ``create webhook``).

        ``defaulter.default(request, obj)`` fills in what was left out; the validator's
        ``validate_create/update/delete`` return warnings or raise ``Denied``. They run in
        the webhook server the API server calls (``kubectl``, other controllers) and in
        the REST layer before it writes, with the same messages and field paths.
        """
        if model not in self._models:
            raise ValueError(
                f"{model.__qualname__} is not a model of App {self.name!r}: "
                f"call add_model({model.__qualname__}) first"
            )
        if any(known.model is model for known in self._webhooks):
            raise ValueError(f"App {self.name!r} already has a webhook for {model.__qualname__}")
        webhook = Webhook(
            model,
            defaulter=defaulter,
            validator=validator,
            failure_policy=failure_policy,
            timeout_seconds=timeout_seconds,
        )
        self._webhooks.append(webhook)
        return webhook

    def add_controller(
        self,
        model: type[CustomResource],
        reconciler: ReconcilerFactory,
        *,
        name: str | None = None,
        predicates: Sequence[predicate.Predicate] = (predicate.GenerationChanged(),),
        owns: Sequence[type[Any]] = (),
        owned_predicates: Mapping[type[Any], Sequence[predicate.Predicate]] | None = None,
    ) -> None:
        """Reconcile ``model`` with the reconciler ``reconciler(context)`` builds.

        The controller watches ``model`` (by default only when its generation changes,
        so the reconciler's own status writes do not wake it), the kinds of its
        ``ModelInfo.owns`` and ``owns`` (their events enqueue the owner), and runs with
        the process's workers and reconcile timeout, on the leader only.
        ``owned_predicates`` filters an owned kind's events, e.g.
        ``{Deployment: [predicate.Changed(what_the_status_reads)]}``.
        """
        if model not in self._models:
            raise ValueError(
                f"{model.__qualname__} is not a model of App {self.name!r}: "
                f"call add_model({model.__qualname__}) first"
            )
        controller_name = name or model.model_info.kind.lower()
        if controller_name in self.controller_names:
            raise ValueError(
                f"App {self.name!r} already has a controller named {controller_name!r}; "
                "pass name= to tell them apart"
            )
        self._controllers.append(
            _ControllerSpec(
                model,
                reconciler,
                controller_name,
                tuple(predicates),
                tuple(owns),
                {kind: tuple(preds) for kind, preds in (owned_predicates or {}).items()},
            )
        )

    def setup_controllers(
        self,
        manager: Manager,
        *,
        records: RecordWriter,
        settings: Settings,
        database: Database | None = None,
    ) -> list[Controller]:
        """Build every controller and add it to ``manager`` (the process calls this)."""
        options = ControllerOptions(
            max_concurrent_reconciles=settings.workers,
            reconcile_timeout=settings.reconcile_timeout_seconds,
        )
        logging = LoggedReconcilerOptions(
            sample_heartbeat=timedelta(seconds=settings.metric_sample_interval_seconds)
        )
        controllers = []
        for spec in self._controllers:
            context = ControllerContext(
                name=spec.name,
                manager=manager,
                cache=manager.cache,
                client=manager.client,
                events=manager.event_recorder(f"{self.name}-{spec.name}-controller"),
                records=records,
                settings=settings,
                database=database,
            )
            builder = (
                ControllerBuilder(manager)
                .named(spec.name)
                .for_(spec.model, *spec.predicates)
                .with_options(options)
            )
            for kind in dict.fromkeys([*spec.owns, *spec.owned_predicates]):
                builder.owns(kind, *spec.owned_predicates.get(kind, ()))
            # The framework, not the reconciler, writes the reconcile log.
            reconciler = LoggedReconciler(
                spec.factory(context), spec.model, context.cache, records, logging
            )
            controllers.append(builder.complete(reconciler))
        return controllers
