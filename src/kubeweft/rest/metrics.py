"""HTTP metrics, registered in the same registry as the controller's.

One ``/metrics`` endpoint (on the probe port) then shows reconciles and requests side
by side. Labels are method, route *template* and status code.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from kubeweft.runtime.metrics import REGISTRY

__all__ = ["HTTP_IN_FLIGHT", "HTTP_REQUESTS", "HTTP_REQUEST_DURATION"]

HTTP_REQUESTS = Counter(
    "kubeweft_http_requests_total",
    "HTTP requests served by the REST API, by method, route template and status code.",
    ["method", "route", "code"],
    registry=REGISTRY,
)
HTTP_REQUEST_DURATION = Histogram(
    "kubeweft_http_request_duration_seconds",
    "Latency of HTTP requests served by the REST API.",
    ["method", "route", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
HTTP_IN_FLIGHT = Gauge(
    "kubeweft_http_requests_in_flight",
    "HTTP requests being served right now.",
    registry=REGISTRY,
)
