"""The state file of a cluster directory: what runs there, so another command can find it.

``kubeweft cluster up`` returns while the components keep running; ``down`` and
``status`` are separate processes. They meet through ``<dir>/cluster.json`` (server,
ports, pids, command lines). A recorded pid counts only while ``/proc/<pid>/cmdline``
still shows the command we started, so a recycled pid is never signalled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kubeweft.localcluster.process import terminate_group

STATE_FILE = "cluster.json"
DEFAULT_DIR = Path(".kubeweft/cluster")


def read_state(directory: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((directory / STATE_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state


def _is_ours(pid: int, argv: Sequence[str]) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(argv) and cmdline[0].decode(errors="replace") == argv[0]


def running_pids(directory: Path) -> dict[str, int]:
    """Components recorded in ``directory``'s state file that are still running."""
    state = read_state(directory)
    if state is None:
        return {}
    argv: dict[str, list[str]] = state.get("argv", {})
    return {
        name: pid
        for name, pid in state.get("pids", {}).items()
        if _is_ours(pid, argv.get(name, []))
    }


def stop_recorded(directory: Path, timeout: float = 10.0) -> dict[str, int]:
    """Stop the components recorded in ``directory`` (etcd last); return what was stopped."""
    live = running_pids(directory)
    for name, pid in live.items():
        if name != "etcd":
            terminate_group(pid, timeout)
    if "etcd" in live:
        terminate_group(live["etcd"], timeout)
    state = read_state(directory)
    if state is not None:
        state["pids"] = {}
        (directory / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    return live


def running_kubeconfig(directory: Path = DEFAULT_DIR) -> Path | None:
    """The admin kubeconfig of a cluster ``kubeweft cluster up`` left running in
    ``directory``, or None; lets ``kubeweft run`` reuse it instead of starting another."""
    state = read_state(directory)
    if state is None or "kube-apiserver" not in running_pids(directory):
        return None
    return Path(state["kubeconfig"])
