"""Named health and readiness checks, as controller-runtime's ``healthz`` package.

Kubernetes restarts a pod whose liveness probe fails and stops routing to one whose
readiness probe fails, so the two answer different questions: *healthz* — is the
process alive and not wedged? *readyz* — can it do its job now (caches synced, leader
or a healthy standby)? Each check has a name so a failing probe says which part is
wrong. A check is a function (sync or async) that returns normally when healthy and
raises with a reason when not. The HTTP endpoints live in the REST layer.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import anyio

__all__ = ["CheckFailed", "CheckResult", "Checker", "Checks"]

Checker = Callable[[], Awaitable[None] | None]


class CheckFailed(Exception):
    """Raised by a check to report why it failed."""


@dataclass(frozen=True)
class CheckResult:
    """``ok`` when every check passed; ``failures`` maps a failed check to its reason."""

    ok: bool
    failures: dict[str, str] = field(default_factory=dict)
    passed: tuple[str, ...] = ()


class Checks:
    """An ordered set of named checks, run together."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._checks: dict[str, Checker] = {}

    def add(self, name: str, check: Checker) -> None:
        if not name or "/" in name:
            raise ValueError(f"invalid check name {name!r}")
        if name in self._checks:
            raise ValueError(f"check {name!r} already added")
        self._checks[name] = check

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._checks)

    async def run(self, *, exclude: Iterable[str] = ()) -> CheckResult:
        """Run every check (but ``exclude``); a check that takes over ``timeout`` fails."""
        skipped = set(exclude)
        failures: dict[str, str] = {}
        passed: list[str] = []
        for name, check in self._checks.items():
            if name in skipped:
                continue
            reason = await self._run_one(check)
            if reason is None:
                passed.append(name)
            else:
                failures[name] = reason
        return CheckResult(not failures, failures, tuple(passed))

    async def _run_one(self, check: Checker) -> str | None:
        try:
            with anyio.fail_after(self.timeout):
                outcome = check()
                if inspect.isawaitable(outcome):
                    await outcome
        except TimeoutError:
            return f"timed out after {self.timeout} s"
        except Exception as err:
            return str(err) or type(err).__name__
        return None
