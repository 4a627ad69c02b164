"""Ports for components that bind later are drawn below the kernel's ephemeral range,
where no outgoing connection takes them in the meantime."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kubeweft.localcluster import ports


def test_ports_lie_below_the_ephemeral_range_free_and_distinct() -> None:
    first, _ = ports.ephemeral_range()
    handed_out = [ports.free_port() for _ in range(50)]
    assert all(ports.LOWEST <= port < first for port in handed_out), handed_out
    assert len(set(handed_out)) == len(handed_out)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", handed_out[-1]))  # free: nothing took it


def test_the_range_is_read_from_the_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured = tmp_path / "ip_local_port_range"
    configured.write_text("40000\t60999\n")
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE_FILE", configured)
    assert ports.ephemeral_range() == (40000, 60999)
    assert all(ports.LOWEST <= ports.free_port() < 40000 for _ in range(20))
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE_FILE", tmp_path / "missing")
    assert ports.ephemeral_range() == ports.DEFAULT_EPHEMERAL


def test_no_room_below_the_range_falls_back_to_a_port_of_the_kernels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = tmp_path / "ip_local_port_range"
    everything.write_text("1024 65535\n")
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE_FILE", everything)
    port = ports.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
