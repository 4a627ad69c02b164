"""Predicates: which updates reach the queue."""

from __future__ import annotations

from typing import Any

from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.runtime.predicate import (
    And,
    AnnotationChanged,
    Changed,
    Funcs,
    GenerationChanged,
    LabelChanged,
    Not,
    Or,
    ResourceVersionChanged,
)


def obj(
    generation: int = 1,
    rv: str = "1",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Any:
    return ConfigMap(
        metadata=ObjectMeta(
            name="x",
            namespace="ns",
            generation=generation,
            resourceVersion=rv,
            labels=labels,
            annotations=annotations,
        )
    )


def test_generation_changed_drops_status_only_updates() -> None:
    p = GenerationChanged()
    assert not p.update(obj(1, "1"), obj(1, "2"))
    assert p.update(obj(1, "1"), obj(2, "2"))
    assert p.create(obj())
    assert p.delete(obj())
    assert p.generic(obj())


def test_resource_version_changed_drops_resyncs() -> None:
    p = ResourceVersionChanged()
    assert not p.update(obj(rv="5"), obj(rv="5"))
    assert p.update(obj(rv="5"), obj(rv="6"))


def test_changed_passes_only_updates_that_move_the_key() -> None:
    def ours(o: Any) -> object:
        return {k: v for k, v in (o.metadata.annotations or {}).items() if k.startswith("ours/")}

    p = Changed(ours)
    assert not p.update(obj(annotations={"theirs/rev": "1"}), obj(annotations={"theirs/rev": "2"}))
    assert p.update(obj(annotations={"ours/a": "1"}), obj(annotations={"ours/a": "2"}))
    assert p.create(obj())
    assert p.delete(obj())
    assert p.generic(obj())


def test_label_and_annotation_changed() -> None:
    assert LabelChanged().update(obj(labels={"a": "1"}), obj(labels={"a": "2"}))
    assert not LabelChanged().update(obj(labels=None), obj(labels={}))
    assert AnnotationChanged().update(obj(), obj(annotations={"k": "v"}))
    assert not AnnotationChanged().update(obj(annotations={"k": "v"}), obj(annotations={"k": "v"}))


def test_funcs_default_to_pass_and_use_given_functions() -> None:
    p = Funcs(delete=lambda o: False, update=lambda old, new: new.metadata.generation > 3)
    assert p.create(obj())
    assert p.generic(obj())
    assert not p.delete(obj())
    assert not p.update(obj(), obj(generation=2))
    assert p.update(obj(), obj(generation=4))


def test_combinators() -> None:
    spec_or_labels = Or(GenerationChanged(), LabelChanged())
    assert spec_or_labels.update(obj(1), obj(1, labels={"a": "b"}))
    assert not spec_or_labels.update(obj(1), obj(1, rv="9"))
    both = And(GenerationChanged(), LabelChanged())
    assert not both.update(obj(1), obj(2))
    assert both.update(obj(1), obj(2, labels={"a": "b"}))
    assert Not(GenerationChanged()).update(obj(1), obj(1))
    assert not Not(Funcs()).create(obj())
