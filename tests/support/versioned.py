"""A cluster-scoped model with two versions, for conversion tests that need no example.

``v2.Gauge`` (the hub) has ``thresholds``, a list; ``v1.Gauge`` (its spoke) has one
``threshold``. Thresholds beyond the first have no place in v1: they survive a round
trip through v1 in the conversion annotation.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field

from kubeweft.api import CustomResource, ModelInfo, ResourceModel

GROUP = "versioned.kubeweft.test"


class GaugeSpecV2(ResourceModel):
    thresholds: list[int] = Field(default_factory=list, max_length=8)
    unit: str = "percent"


class GaugeV2(CustomResource):
    model_info = ModelInfo(
        group=GROUP, version="v2", kind="Gauge", plural="gauges", namespaced=False
    )

    spec: GaugeSpecV2


class GaugeSpecV1(ResourceModel):
    threshold: int = 0
    unit: str = "percent"


class GaugeV1(CustomResource):
    model_info = ModelInfo(
        group=GROUP, version="v1", kind="Gauge", plural="gauges", namespaced=False
    )

    spec: GaugeSpecV1

    def convert_to(self, restored: GaugeV2 | None) -> GaugeV2:
        thresholds = [self.spec.threshold]
        if restored is not None:
            thresholds += restored.spec.thresholds[1:]
        spec = GaugeSpecV2(thresholds=thresholds, unit=self.spec.unit)
        return GaugeV2(metadata=self.metadata, spec=spec)

    @classmethod
    def convert_from(cls, hub: GaugeV2) -> Self:
        first = hub.spec.thresholds[0] if hub.spec.thresholds else 0
        return cls(metadata=hub.metadata, spec=GaugeSpecV1(threshold=first, unit=hub.spec.unit))
