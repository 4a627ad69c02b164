"""Metric samples that record changes, not a fixed stream.

A reconciler reports the values it saw on every reconcile (``current_attempt().sample``),
and most reconciles see what the previous one saw: a workload at three ready replicas
stays at three for days. Writing every report would grow the samples table with the
reconcile rate, not with what happened. :class:`ChangeSampler` keeps, per (UID, metric),
the last value written and when, and lets a report through only when the value differs
or the last write is older than ``heartbeat``. So a change is in the series as soon as a
reconcile sees it (owned-object events bring one), and an unchanged value still shows
up once per heartbeat, which keeps a recent sample in every detail-view window and tells
"steady" apart from "stopped reporting".

The memory is this process's: after a restart or a leader change the first report of
each series is written again (one extra row per series, never a missing one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from kubeweft.db.records import MetricSample

__all__ = ["DEFAULT_HEARTBEAT", "ChangeSampler"]

#: An unchanged value is written again this often. Below the detail view's five-minute
#: window (``views.detail.DETAIL_METRICS_WINDOW``), so every window holds a sample.
DEFAULT_HEARTBEAT = timedelta(minutes=4)


class ChangeSampler:
    """Turns reported values into the samples worth writing: changes and heartbeats."""

    def __init__(self, heartbeat: timedelta = DEFAULT_HEARTBEAT) -> None:
        if heartbeat <= timedelta(0):
            raise ValueError("heartbeat must be positive")
        self.heartbeat = heartbeat
        #: uid → metric → (value, when it was written)
        self._written: dict[str, dict[str, tuple[float, datetime]]] = {}

    def samples(self, uid: str, values: Mapping[str, float], now: datetime) -> list[MetricSample]:
        """The samples to write for ``values`` reported at ``now`` (and remember them)."""
        wanted = []
        known = self._written.get(uid, {})
        for name, value in values.items():
            last = known.get(name)
            if last is not None and _same(last[0], value) and now - last[1] < self.heartbeat:
                continue
            wanted.append(MetricSample(uid=uid, name=name, value=value, ts=now))
        return wanted

    def written(self, samples: list[MetricSample]) -> None:
        """Remember samples the sink accepted (a refused one is offered again next time)."""
        for sample in samples:
            self._written.setdefault(sample.uid, {})[sample.name] = (sample.value, sample.ts)

    def forget(self, uid: str) -> None:
        """Drop what is remembered of a deleted object's series."""
        self._written.pop(uid, None)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))
