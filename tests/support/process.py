"""``kubeweft run`` as a real subprocess: :mod:`kubeweft.testing.process`, the helpers
a project's tests use too (one way to start the process, ready when it returns, always
stopped, its log's tail shown on failure)."""

from kubeweft.testing.process import (
    KubeweftProcess,
    ProcessExited,
    child_env,
    kubeweft_run,
    kubeweft_runs,
    metric,
    metric_sum,
    spawn,
)

__all__ = [
    "KubeweftProcess",
    "ProcessExited",
    "child_env",
    "kubeweft_run",
    "kubeweft_runs",
    "metric",
    "metric_sum",
    "spawn",
]
