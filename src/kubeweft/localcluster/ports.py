"""Ports for servers that bind them later: outside the range of outgoing connections.

A component is given its port on the command line, so the port is chosen first and bound
by the component later — the scheduler and the controller manager only once the API
server is ready, seconds on. A port the kernel picks for ``bind(0)`` comes from the
ephemeral range (Linux: 32768-60999), the same range it draws the local port of every
outgoing connection from: any connection opened meanwhile, by this process or another,
may take it, and the component fails with "address already in use". So the ports here
are drawn below that range, where the kernel never hands out a port by itself, checked
free with a bind, and not handed out twice by one process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["LOWEST", "ephemeral_range", "free_port"]

#: Where Linux says which local ports outgoing connections use.
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: Linux's default; macOS and the BSDs use 49152-65535, which lies above it.
DEFAULT_EPHEMERAL = (32768, 60999)
#: The lowest port handed out: above the registered ports most services listen on.
LOWEST = 20000
_ATTEMPTS = 100
_handed_out: set[int] = set()


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (first, last)."""
    try:
        first, last = (int(part) for part in EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL
    return first, last


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the ephemeral
    range and not returned before by this process (a kernel-chosen one when the
    ephemeral range leaves no room below it)."""
    first, _ = ephemeral_range()
    candidates = range(LOWEST, first)
    if len(candidates) > 2 * _ATTEMPTS:
        for _ in range(_ATTEMPTS):
            port = random.choice(candidates)
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
    _handed_out.add(chosen)
    return chosen
