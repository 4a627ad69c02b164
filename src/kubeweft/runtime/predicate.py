"""Which events are worth a reconcile: controller-runtime's ``predicate`` package.

Every write a reconciler makes (status, annotations) comes back as an update event of
the object it reconciled. Predicates drop the events that cannot change the outcome —
``GenerationChanged`` passes only spec changes, since the API server bumps
``metadata.generation`` for spec writes and not for status writes — so a controller
does not chase its own tail. ``Changed(key)`` is the same idea for an owned kind: its
update passes only when ``key`` — what the owner's reconcile reads of it — differs, so
the status churn of a Deployment's rollout wakes the owner only when a figure it
reports moved. They are pure functions of the event; they never block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = [
    "And",
    "AnnotationChanged",
    "Changed",
    "Funcs",
    "GenerationChanged",
    "LabelChanged",
    "Not",
    "Or",
    "Predicate",
    "ResourceVersionChanged",
    "passes",
]


class Predicate(Protocol):
    def create(self, obj: Any) -> bool: ...

    def update(self, old: Any, new: Any) -> bool: ...

    def delete(self, obj: Any) -> bool: ...

    def generic(self, obj: Any) -> bool: ...


class _UpdateOnly:
    """Base for predicates about updates: creates, deletes and generic events pass."""

    def create(self, obj: Any) -> bool:
        return True

    def delete(self, obj: Any) -> bool:
        return True

    def generic(self, obj: Any) -> bool:
        return True


class GenerationChanged(_UpdateOnly):
    """Updates pass only when ``metadata.generation`` changed (a spec change)."""

    def update(self, old: Any, new: Any) -> bool:
        return bool(old.metadata.generation != new.metadata.generation)


class ResourceVersionChanged(_UpdateOnly):
    """Drops the re-deliveries of a periodic resync (same resourceVersion)."""

    def update(self, old: Any, new: Any) -> bool:
        return bool(old.metadata.resourceVersion != new.metadata.resourceVersion)


class Changed(_UpdateOnly):
    """Updates pass only when ``key(old) != key(new)``.

    ``key`` returns what the reconciler reads of the object — for an owned Deployment,
    its generation (spec edits to revert), the labels and annotations the owner
    writes, its owner references and the status figures the owner's status copies —
    so writes to anything else (a condition's ``lastUpdateTime``, an annotation of
    Kubernetes' own controllers) cost no reconcile. Creates and deletes always pass.
    """

    def __init__(self, key: Callable[[Any], object]) -> None:
        self.key = key

    def update(self, old: Any, new: Any) -> bool:
        return bool(self.key(old) != self.key(new))


class LabelChanged(_UpdateOnly):
    """Updates pass only when the labels changed."""

    def update(self, old: Any, new: Any) -> bool:
        return (old.metadata.labels or {}) != (new.metadata.labels or {})


class AnnotationChanged(_UpdateOnly):
    """Updates pass only when the annotations changed."""

    def update(self, old: Any, new: Any) -> bool:
        return (old.metadata.annotations or {}) != (new.metadata.annotations or {})


class Funcs:
    """A predicate from plain functions; an event type without a function passes."""

    def __init__(
        self,
        *,
        create: Callable[[Any], bool] | None = None,
        update: Callable[[Any, Any], bool] | None = None,
        delete: Callable[[Any], bool] | None = None,
        generic: Callable[[Any], bool] | None = None,
    ) -> None:
        self._create = create
        self._update = update
        self._delete = delete
        self._generic = generic

    def create(self, obj: Any) -> bool:
        return self._create is None or self._create(obj)

    def update(self, old: Any, new: Any) -> bool:
        return self._update is None or self._update(old, new)

    def delete(self, obj: Any) -> bool:
        return self._delete is None or self._delete(obj)

    def generic(self, obj: Any) -> bool:
        return self._generic is None or self._generic(obj)


class And:
    """Passes when every predicate passes."""

    def __init__(self, *predicates: Predicate) -> None:
        self.predicates = predicates

    def create(self, obj: Any) -> bool:
        return all(p.create(obj) for p in self.predicates)

    def update(self, old: Any, new: Any) -> bool:
        return all(p.update(old, new) for p in self.predicates)

    def delete(self, obj: Any) -> bool:
        return all(p.delete(obj) for p in self.predicates)

    def generic(self, obj: Any) -> bool:
        return all(p.generic(obj) for p in self.predicates)


class Or:
    """Passes when any predicate passes (e.g. generation *or* labels changed)."""

    def __init__(self, *predicates: Predicate) -> None:
        self.predicates = predicates

    def create(self, obj: Any) -> bool:
        return any(p.create(obj) for p in self.predicates)

    def update(self, old: Any, new: Any) -> bool:
        return any(p.update(old, new) for p in self.predicates)

    def delete(self, obj: Any) -> bool:
        return any(p.delete(obj) for p in self.predicates)

    def generic(self, obj: Any) -> bool:
        return any(p.generic(obj) for p in self.predicates)


class Not:
    """Inverts a predicate."""

    def __init__(self, predicate: Predicate) -> None:
        self.predicate = predicate

    def create(self, obj: Any) -> bool:
        return not self.predicate.create(obj)

    def update(self, old: Any, new: Any) -> bool:
        return not self.predicate.update(old, new)

    def delete(self, obj: Any) -> bool:
        return not self.predicate.delete(obj)

    def generic(self, obj: Any) -> bool:
        return not self.predicate.generic(obj)


def passes(predicates: tuple[Predicate, ...], event: str, *objs: Any) -> bool:
    """Whether an event (``create``/``update``/``delete``/``generic``) passes them all."""
    return all(getattr(p, event)(*objs) for p in predicates)
