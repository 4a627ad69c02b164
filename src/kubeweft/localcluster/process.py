"""One control-plane component as an operating-system process.

Each component runs in its own session (process group), with stdout and stderr going to
``<data dir>/logs/<name>.log``. Stopping sends SIGTERM to the whole group, waits, then
SIGKILLs it, so nothing a component spawned can outlive the cluster. Because the group
is new, a Ctrl-C in the terminal reaches only the Python process, which then stops the
components in order instead of having them die in a race.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Component:
    """A named command, its log file, and the running process once started."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(self.argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self) -> int | None:
        """The exit code if the process was started and has ended, else None."""
        return self.process.poll() if self.process is not None else None

    def terminate(self) -> None:
        """Send SIGTERM to the process group without waiting (see ``stop``)."""
        if self.running() and self.process is not None:
            _signal_group(self.process.pid, signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        process = self.process
        terminate_group(process.pid, timeout, reap=process.poll)
        process.wait()

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _nothing() -> None:
    return None


def terminate_group(
    pgid: int, timeout: float = 10.0, *, reap: Callable[[], object] = _nothing
) -> None:
    """SIGTERM the process group ``pgid``; SIGKILL it if anything remains after ``timeout``.

    ``reap`` collects the group leader when it is our child, so a zombie leader does
    not count as alive.
    """
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        if not group_alive(pgid):
            return
        time.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        reap()
        if not group_alive(pgid):
            return
        time.sleep(0.05)
