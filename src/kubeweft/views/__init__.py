"""The join layer: a model's cluster state (from the informer cache) joined with its
database rows — detail view, list with latest metrics, health score.

Views know Kubernetes objects and database rows as plain values; they know nothing of
HTTP. The cluster side is a :class:`ClusterReader` (the cache, with read-your-writes),
the database side a :class:`RecordSource` (batched repository reads).
"""

from kubeweft.views.detail import DetailView, get_detail, score_of
from kubeweft.views.errors import DatabaseUnavailable, InvalidContinueToken, ResourceNotFound
from kubeweft.views.health import HealthInputs, health_score
from kubeweft.views.listing import ListItem, ListPage, list_with_metrics
from kubeweft.views.pagination import Page, paginate
from kubeweft.views.reader import CacheReader, ClusterReader, WriteTracker
from kubeweft.views.records import (
    AnnotationEntry,
    HistoryEntry,
    MetricAggregate,
    MetricPoint,
    RecordSource,
    ResourceRecords,
)

__all__ = [
    "AnnotationEntry",
    "CacheReader",
    "ClusterReader",
    "DatabaseUnavailable",
    "DetailView",
    "HealthInputs",
    "HistoryEntry",
    "InvalidContinueToken",
    "ListItem",
    "ListPage",
    "MetricAggregate",
    "MetricPoint",
    "Page",
    "RecordSource",
    "ResourceNotFound",
    "ResourceRecords",
    "WriteTracker",
    "get_detail",
    "health_score",
    "list_with_metrics",
    "paginate",
    "score_of",
]
