"""Prometheus metrics under controller-runtime's and client-go's names.

Operators already have dashboards and alerts for these names; keeping them lets a
kubeweft controller drop into that tooling unchanged. All collectors live in one
registry, ``REGISTRY``, which the probe server exposes at ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# --- reconcile (controller-runtime pkg/internal/controller/metrics) -----------------
RECONCILE_TOTAL = Counter(
    "controller_runtime_reconcile_total",
    "Total number of reconciliations per controller.",
    ["controller", "result"],
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "controller_runtime_reconcile_errors_total",
    "Total number of reconciliation errors per controller.",
    ["controller"],
    registry=REGISTRY,
)
TERMINAL_RECONCILE_ERRORS = Counter(
    "controller_runtime_terminal_reconcile_errors_total",
    "Total number of terminal reconciliation errors per controller.",
    ["controller"],
    registry=REGISTRY,
)
RECONCILE_PANICS = Counter(
    "controller_runtime_reconcile_panics_total",
    "Total number of reconciliations that raised an unexpected exception.",
    ["controller"],
    registry=REGISTRY,
)
RECONCILE_TIMEOUTS = Counter(
    "controller_runtime_reconcile_timeouts_total",
    "Total number of reconciliation timeouts per controller.",
    ["controller"],
    registry=REGISTRY,
)
RECONCILE_TIME = Histogram(
    "controller_runtime_reconcile_time_seconds",
    "Length of time per reconciliation per controller.",
    ["controller"],
    buckets=(
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.15,
        0.2,
        0.25,
        0.3,
        0.35,
        0.4,
        0.45,
        0.5,
        0.6,
        0.7,
        0.8,
        0.9,
        1.0,
        1.25,
        1.5,
        1.75,
        2.0,
        2.5,
        3.0,
        3.5,
        4.0,
        4.5,
        5,
        6,
        7,
        8,
        9,
        10,
        15,
        20,
        25,
        30,
        40,
        50,
        60,
    ),
    registry=REGISTRY,
)
MAX_CONCURRENT_RECONCILES = Gauge(
    "controller_runtime_max_concurrent_reconciles",
    "Maximum number of concurrent reconciles per controller.",
    ["controller"],
    registry=REGISTRY,
)
ACTIVE_WORKERS = Gauge(
    "controller_runtime_active_workers",
    "Number of currently used workers per controller.",
    ["controller"],
    registry=REGISTRY,
)

# --- workqueue (client-go util/workqueue, as controller-runtime registers them) -----
WORKQUEUE_DEPTH = Gauge(
    "workqueue_depth", "Current depth of workqueue.", ["name"], registry=REGISTRY
)
WORKQUEUE_ADDS = Counter(
    "workqueue_adds_total",
    "Total number of adds handled by workqueue.",
    ["name"],
    registry=REGISTRY,
)
WORKQUEUE_RETRIES = Counter(
    "workqueue_retries_total",
    "Total number of retries handled by workqueue.",
    ["name"],
    registry=REGISTRY,
)
_QUEUE_BUCKETS = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000)
WORKQUEUE_QUEUE_DURATION = Histogram(
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested.",
    ["name"],
    buckets=_QUEUE_BUCKETS,
    registry=REGISTRY,
)
WORKQUEUE_WORK_DURATION = Histogram(
    "workqueue_work_duration_seconds",
    "How long in seconds processing an item from workqueue takes.",
    ["name"],
    buckets=_QUEUE_BUCKETS,
    registry=REGISTRY,
)
WORKQUEUE_UNFINISHED_WORK = Gauge(
    "workqueue_unfinished_work_seconds",
    "How many seconds of work has been done that is in progress and hasn't been "
    "observed by work_duration.",
    ["name"],
    registry=REGISTRY,
)
WORKQUEUE_LONGEST_RUNNING = Gauge(
    "workqueue_longest_running_processor_seconds",
    "How many seconds has the longest running processor for workqueue been running.",
    ["name"],
    registry=REGISTRY,
)

# --- leader election -------------------------------------------------------------
LEADER_ELECTION_MASTER_STATUS = Gauge(
    "leader_election_master_status",
    "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
    "backup, 1 indicates master. 'name' is the string used to identify the lease.",
    ["name"],
    registry=REGISTRY,
)

# --- informers (kubeweft's own; client-go has no stable names for these) -----------
INFORMER_EVENTS = Counter(
    "kubeweft_informer_events_total",
    "Watch events received per kind and type.",
    ["kind", "type"],
    registry=REGISTRY,
)
INFORMER_RELISTS = Counter(
    "kubeweft_informer_relists_total",
    "Full relists per kind and reason (initial, gone, idle, error).",
    ["kind", "reason"],
    registry=REGISTRY,
)
INFORMER_DECODE_ERRORS = Counter(
    "kubeweft_informer_decode_errors_total",
    "Objects skipped because the kind's model could not decode them (once per version).",
    ["kind"],
    registry=REGISTRY,
)

# --- event recorder ------------------------------------------------------------------
EVENTS_DROPPED = Counter(
    "kubeweft_events_dropped_total",
    "Kubernetes Events not recorded: buffer full or the object could not be referenced.",
    registry=REGISTRY,
)

# --- database record writer --------------------------------------------------------
RECORDS_PENDING = Gauge(
    "kubeweft_records_pending",
    "Reconciler records waiting to be written to the database.",
    registry=REGISTRY,
)
RECORDS_DROPPED = Counter(
    "kubeweft_records_dropped_total",
    "Reconciler records dropped because the buffer was full.",
    registry=REGISTRY,
)
RECORDS_WRITTEN = Counter(
    "kubeweft_records_written_total",
    "Reconciler records written to the database.",
    registry=REGISTRY,
)
