"""Test a kubeweft application against the real components it runs on.

:mod:`kubeweft.testing.pytest_plugin` is the pytest plugin a project's tests use: the
local control plane, PostgreSQL and the project's own ``kubeweft run`` process, once
per session. The helpers behind it are public too: :class:`PostgresServer` (a
disposable PostgreSQL server), :func:`kubeweft_run` (a ``kubeweft run`` subprocess that
is ready when it returns and always stopped), and :func:`wait_until` (poll another
component until a condition holds or a deadline fails the test with the last value).
"""

from kubeweft.testing.postgres import PostgresServer
from kubeweft.testing.process import AppSpec, KubeweftProcess, child_env, kubeweft_run, spawn
from kubeweft.testing.waiting import wait_until, wait_until_async

__all__ = [
    "AppSpec",
    "KubeweftProcess",
    "PostgresServer",
    "child_env",
    "kubeweft_run",
    "spawn",
    "wait_until",
    "wait_until_async",
]
