"""Wire a controller in one statement, as controller-runtime's ``builder`` does.

``For`` names the model the controller reconciles (its own events enqueue its own
key); ``Owns`` names the kinds it creates (their events enqueue the owner named by the
controller ownerReference); ``Watches`` adds any other source. ``complete`` builds the
controller, registers the informers with the manager's cache (so the manager's cache
sync covers them) and adds the controller to the manager.

    ControllerBuilder(manager).for_(WebApp).owns(Deployment).owns(Service).complete(r)

``For`` has no default predicate, as in controller-runtime: pass ``GenerationChanged()``
(or ``Or(GenerationChanged(), LabelChanged())``) to ignore status-only updates.
"""

from __future__ import annotations

from typing import Any

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
        for owned, predicates in self._owns:
            cache.informer_for(owned)
            controller.watch(Kind(cache, owned, EnqueueRequestForOwner(for_kind), *predicates))
        for source in self._sources:
            controller.watch(source)
        return controller

    def complete(self, reconciler: Reconciler) -> Controller:
        """Build the controller and add it to the manager."""
        controller = self.build(reconciler)
        self._manager.add(controller)
        return controller
