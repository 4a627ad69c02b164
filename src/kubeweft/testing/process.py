"""``kubeweft run`` as a real subprocess, for end-to-end tests and benchmarks.

Several replicas of the operator (high availability, concurrent start-up) each need a
process of their own: a private environment, free loopback ports, a log to read when a
test fails, a way to learn when the process is ready, and a stop that never leaves a
process behind. Ports are chosen by the process itself (``--api-port 0``,
``--probe-port 0``) and read back from its ready line, so no two replicas can race
for a port the test picked.

* :func:`spawn` starts the process and returns at once (so several can start together);
  :meth:`KubeweftProcess.wait_ready` waits for the ready line and a 200 from ``/readyz``.
* :func:`kubeweft_run` does both and stops the process on exit (SIGTERM, then SIGKILL),
  also when the test fails — then the log's tail is printed, so pytest shows it.
* :func:`metric` reads one Prometheus sample from a ``/metrics`` endpoint.

This is the one way tests start ``kubeweft run``: kubeweft's own, and a project's
through the ``kubeweft_app`` fixture of :mod:`kubeweft.testing.pytest_plugin`. The
child's environment starts from this process's with every ``KUBEWEFT_*``,
``KUBECONFIG`` and ``DATABASE_URL`` removed, so a developer's shell settings never
reach the process under test: only what the test passes in ``env`` does.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "AppSpec",
    "KubeweftProcess",
    "ProcessExited",
    "child_env",
    "kubeweft_run",
    "kubeweft_runs",
    "metric",
    "metric_sum",
    "spawn",
]

READY_LINE = re.compile(
    r"kubeweft ready \((?P<roles>[^)]*)\)(?:.*?API (?P<api>http://\S+)/api)?"
    r".*?probes (?P<probes>http://\S+)/readyz"
)
#: Inherited variables that would configure the process under test behind its back.
SCRUBBED_ENV_PREFIXES = ("KUBEWEFT_",)
SCRUBBED_ENV = ("KUBECONFIG", "DATABASE_URL")
DEFAULT_READY_TIMEOUT = 120.0
DEFAULT_STOP_TIMEOUT = 30.0
LOG_TAIL = 6000


class ProcessExited(AssertionError):
    """The process ended before it became ready; the message holds the log's tail."""


@dataclass
class KubeweftProcess:
    """One ``kubeweft run`` subprocess; URLs are known once :meth:`wait_ready` returned."""

    name: str
    popen: subprocess.Popen[str]
    log_path: Path
    api_url: str | None = None
    probe_url: str = ""
    roles: str = ""  # as the ready line names them: "api+controller", "controller", ...
    stdout_lines: list[str] = field(default_factory=list)
    _ready_line: threading.Event = field(default_factory=threading.Event)
    _pump: threading.Thread | None = None

    # --- what tests read -------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def api_port(self) -> int | None:
        return int(self.api_url.rsplit(":", 1)[1]) if self.api_url else None

    @property
    def probe_port(self) -> int:
        return int(self.probe_url.rsplit(":", 1)[1])

    def log(self) -> str:
        """Everything the process wrote to stderr (its structured log) so far."""
        return self.log_path.read_text(errors="replace")

    def log_entries(self) -> list[dict[str, Any]]:
        """The structured log's JSON entries so far (lines that are not JSON are left out)."""
        entries = []
        for line in self.log().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
        return entries

    def log_tail(self, chars: int = LOG_TAIL) -> str:
        return f"--- {self.name} (pid {self.pid}) log tail ---\n{self.log()[-chars:]}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    # --- lifecycle ---------------------------------------------------------------------
    def _read_stdout(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:  # drained to the end so the pipe never fills
            self.stdout_lines.append(line)
            match = READY_LINE.search(line)
            if match and not self._ready_line.is_set():
                self.api_url, self.probe_url = match["api"], match["probes"]
                self.roles = match["roles"]
                self._ready_line.set()

    def wait_ready(self, timeout: float = DEFAULT_READY_TIMEOUT) -> None:
        """Block until the ready line was printed and ``/readyz`` answers 200."""
        deadline = time.monotonic() + timeout
        while not self._ready_line.wait(0.1):
            if not self.alive():
                raise ProcessExited(
                    f"{self.name} exited with {self.popen.returncode} before ready\n"
                    + self.log_tail()
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready after {timeout} s\n{self.log_tail()}")
        last = ""
        with httpx.Client(base_url=self.probe_url, timeout=5.0) as http:
            while time.monotonic() < deadline:
                try:
                    response = http.get("/readyz")
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {response.text}"
                except httpx.TransportError as error:
                    last = repr(error)
                if not self.alive():
                    break
                time.sleep(0.05)  # polling another process
        raise TimeoutError(f"{self.name} /readyz never 200 (last: {last})\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL (``kill -9``): no shutdown, no lease release."""
        if self.alive():
            self.popen.kill()
        self.popen.wait(timeout=DEFAULT_STOP_TIMEOUT)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int:
        """SIGTERM and wait ``timeout`` s for a graceful exit, then SIGKILL; the exit code."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=DEFAULT_STOP_TIMEOUT)
        if self._pump is not None:
            self._pump.join(timeout=5.0)
        return self.popen.returncode


@dataclass(frozen=True)
class AppSpec:
    """What ``kubeweft_app`` runs: ``kubeweft run <target> <args>`` in ``root``, with
    ``pythonpath`` put first on ``PYTHONPATH`` (where the project's package is)."""

    target: str
    root: Path
    pythonpath: tuple[Path, ...] = ()
    args: tuple[str, ...] = ()


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without kubeweft's settings, with ``env`` laid over."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED_ENV and not key.startswith(SCRUBBED_ENV_PREFIXES)
    }
    return {**inherited, **(env or {})}


def spawn(
    kubeconfig: Path | None,
    workdir: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    name: str = "kubeweft",
    dev_user: str | None = "e2e-user",
    cwd: Path | None = None,
    kubeweft: Path | None = None,
) -> KubeweftProcess:
    """Start ``kubeweft run`` against ``kubeconfig`` and return without waiting.

    Each process gets ``workdir/<name>/`` for its state and log, free loopback ports, no
    local control plane and, unless ``env`` says otherwise, SQLite in its state dir.
    ``env`` is laid over :func:`child_env` (e.g. ``KUBEWEFT_DATABASE_URL``,
    ``KUBEWEFT_LEADER_ELECTION``); ``args`` are extra flags (or the APP argument).
    ``kubeconfig=None`` passes none, so the process finds the API server as in a Pod
    (in-cluster config from ``env``). ``cwd`` is the directory it runs in (a project's
    own package there is importable as APP). ``kubeweft`` is the console script to run
    (another virtualenv's); by default the one beside this interpreter.
    """
    home = workdir / name
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "kubeweft.log"
    full_env = child_env(
        {
            "KUBEWEFT_DATABASE_URL": f"sqlite+aiosqlite:///{home / 'kubeweft.db'}",
            "KUBEWEFT_KUBERNETES_TOKEN_AUTH": "false",
            "KUBEWEFT_LOG_FORMAT": "json",
            **(env or {}),
        }
    )
    command = [
        str(kubeweft or Path(sys.executable).parent / "kubeweft"),
        "run",
        *(["--kubeconfig", str(kubeconfig)] if kubeconfig is not None else []),
        "--no-local-cluster",
        "--state-dir",
        str(home / "state"),
        "--api-host",
        "127.0.0.1",
        "--api-port",
        "0",
        "--probe-host",
        "127.0.0.1",
        "--probe-port",
        "0",
        *(["--dev-user", dev_user] if dev_user else []),
        *args,
    ]
    with log_path.open("w") as stderr:
        popen = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=full_env, cwd=cwd
        )
    process = KubeweftProcess(name=name, popen=popen, log_path=log_path)
    process._pump = threading.Thread(
        target=process._read_stdout, name=f"{name}-stdout", daemon=True
    )
    process._pump.start()
    return process


@contextmanager
def _stopped_on_exit(process: KubeweftProcess, stop_timeout: float) -> Iterator[KubeweftProcess]:
    try:
        yield process
    except BaseException:
        print(process.log_tail(), file=sys.stderr)  # pytest shows it with the failure
        raise
    finally:
        process.stop(stop_timeout)


@contextmanager
def kubeweft_run(
    kubeconfig: Path | None,
    workdir: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    name: str = "kubeweft",
    dev_user: str | None = "e2e-user",
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    cwd: Path | None = None,
    kubeweft: Path | None = None,
) -> Iterator[KubeweftProcess]:
    """A ready ``kubeweft run``; stopped (SIGTERM, then SIGKILL) on exit, also on failure."""
    process = spawn(
        kubeconfig,
        workdir,
        *args,
        env=env,
        name=name,
        dev_user=dev_user,
        cwd=cwd,
        kubeweft=kubeweft,
    )
    with _stopped_on_exit(process, stop_timeout):
        process.wait_ready(ready_timeout)
        yield process


@contextmanager
def kubeweft_runs(
    kubeconfig: Path,
    workdir: Path,
    envs: Mapping[str, Mapping[str, str]],
    *args: str,
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
) -> Iterator[dict[str, KubeweftProcess]]:
    """Several replicas started at the same moment (one env per name), all ready; each
    is stopped on exit, also on failure."""
    with ExitStack() as stack:
        started: dict[str, KubeweftProcess] = {}
        for name, env in envs.items():
            process = spawn(kubeconfig, workdir, *args, env=env, name=name)
            started[name] = stack.enter_context(_stopped_on_exit(process, stop_timeout))
        for process in started.values():
            process.wait_ready(ready_timeout)
        yield started


def _samples(text: str, name: str, labels: Mapping[str, str]) -> Iterator[float]:
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", re.MULTILINE)
    for match in pattern.finditer(text):
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match[1] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            yield float(match[2])


def metric_sum(probe_url: str, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
    text = httpx.get(f"{probe_url}/metrics", timeout=10.0).text
    return sum(_samples(text, name, labels or {}))


def metric(probe_url: str, name: str, labels: Mapping[str, str] | None = None) -> float | None:
    """The one sample of ``name`` with ``labels``, or None when the metric has none."""
    text = httpx.get(f"{probe_url}/metrics", timeout=10.0).text
    values = list(_samples(text, name, labels or {}))
    return values[0] if values else None
