"""Wire a controller in one statement, as controller-runtime's ``builder`` does.

``For`` names the model the controller reconciles (its own events enqueue its own
key); ``Owns`` names the kinds it creates (their events enqueue the owner named by the
controller ownerReference); ``Watches`` adds any other source. The kinds a model
declares in ``ModelInfo.owns`` are owned by default — the declaration that grants the
RBAC also sets up the watch, so an owned kind is named once; ``owns()`` then only adds
predicates or kinds the model does not declare. ``complete`` builds the
controller, registers the informers with the manager's cache (so the manager's cache
sync covers them) and adds the controller to the manager.

    ControllerBuilder(manager).for_(Store).complete(r)  # + Owns(Deployment), Owns(Service)

``For`` has no default predicate, as in controller-runtime: pass ``GenerationChanged()``
(or ``Or(GenerationChanged(), LabelChanged())``) to ignore status-only updates.
"""

from __future__ import annotations

import importlib
from typing import Any

from lightkube.core import resource as lk_resource

from kubeweft.api import CustomResource
from kubeweft.runtime.controller import Controller, ControllerOptions
from kubeweft.runtime.handler import EnqueueRequestForObject, EnqueueRequestForOwner
from kubeweft.runtime.manager import Manager
from kubeweft.runtime.objects import kind_info
from kubeweft.runtime.predicate import Predicate
from kubeweft.runtime.reconcile import Reconciler
from kubeweft.runtime.source import Kind, Source

__all__ = ["ControllerBuilder"]


class ControllerBuilder:
    def __init__(self, manager: Manager) -> None:
        self._manager = manager
        self._name: str | None = None
        self._for: tuple[type[Any], tuple[Predicate, ...]] | None = None
        self._owns: list[tuple[type[Any], tuple[Predicate, ...]]] = []
        self._sources: list[Source] = []
        self._options = ControllerOptions()

    def named(self, name: str) -> ControllerBuilder:
        self._name = name
        return self

    def for_(self, kind: type[Any], *predicates: Predicate) -> ControllerBuilder:
        if self._for is not None:
            raise ValueError("for_() may be called only once")
        self._for = (kind, predicates)
        return self

    def owns(self, kind: type[Any], *predicates: Predicate) -> ControllerBuilder:
        self._owns.append((kind, predicates))
        return self

    def watches(self, source: Source) -> ControllerBuilder:
        self._sources.append(source)
        return self

    def with_options(self, options: ControllerOptions) -> ControllerBuilder:
        self._options = options
        return self

    def build(self, reconciler: Reconciler) -> Controller:
        """The wired controller, not yet added to the manager."""
        if self._for is None:
            raise ValueError("for_() is required: which kind does the controller reconcile?")
        for_kind, for_predicates = self._for
        info: Any = for_kind  # kind_info is functools.cache'd: mypy wants Hashable
        name = self._name or kind_info(info).kind.lower()
        cache: Any = self._manager.cache
        controller = Controller(name, reconciler, self._options)
        cache.informer_for(for_kind)
        controller.watch(Kind(cache, for_kind, EnqueueRequestForObject(), *for_predicates))
        for owned, predicates in [*self._owns, *self._declared_owns(for_kind)]:
            cache.informer_for(owned, owned=True)
            handler = EnqueueRequestForOwner(for_kind)
            controller.watch(Kind(cache, owned, handler, *predicates, owned=True))
        for source in self._sources:
            controller.watch(source)
        return controller

    def _declared_owns(self, for_kind: type[Any]) -> list[tuple[type[Any], tuple[Predicate, ...]]]:
        """The kinds of ``for_kind``'s ``ModelInfo.owns`` not already passed to ``owns()``."""
        if not (isinstance(for_kind, type) and issubclass(for_kind, CustomResource)):
            return []
        explicit = {_gvr(kind) for kind, _ in self._owns}
        return [
            (owned_kind(api_version, plural), ())
            for api_version, plural in for_kind.model_info.owns
            if (api_version, plural) not in explicit
        ]

    def complete(self, reconciler: Reconciler) -> Controller:
        """Build the controller and add it to the manager."""
        controller = self.build(reconciler)
        self._manager.add(controller)
        return controller


def _gvr(kind: type[Any]) -> tuple[str, str]:
    info: Any = kind
    resolved = kind_info(info)
    return resolved.api_version, resolved.plural


def owned_kind(api_version: str, plural: str) -> type[Any]:
    """The kind class of an ``ModelInfo.owns`` entry: a lightkube resource for Kubernetes'
    own kinds, else a kubeweft model of that group, version and plural."""
    group, _, version = api_version.rpartition("/")
    package = group.removesuffix(".k8s.io").replace(".", "_") or "core"
    try:
        module = importlib.import_module(f"lightkube.resources.{package}_{version}")
    except ImportError:
        module = None
    for candidate in vars(module).values() if module else ():
        if (
            isinstance(candidate, type)
            and issubclass(candidate, lk_resource.Resource)
            and lk_resource.api_info(candidate).plural == plural
            and lk_resource.api_info(candidate).action is None
        ):
            return candidate
    for model in _models(CustomResource):
        info = getattr(model, "model_info", None)
        if info is not None and (info.api_version, info.plural) == (api_version, plural):
            return model
    raise ValueError(
        f"owns ({api_version!r}, {plural!r}): no such kind is known; "
        "pass its class to ControllerBuilder.owns()"
    )


def _models(base: type[CustomResource]) -> list[type[CustomResource]]:
    found: list[type[CustomResource]] = []
    for sub in base.__subclasses__():
        found += [sub, *_models(sub)]
    return found
