"""Start-up errors: the root cause is dug out of task groups and printed as one line."""

from __future__ import annotations

import asyncio
import errno

import anyio
import pytest

from kubeweft import startup
from kubeweft.startup import StartupError


def test_root_cause_of_a_task_group_failure_is_the_error_not_the_group() -> None:
    async def fails() -> None:
        raise OSError(errno.ECONNREFUSED, "refused")

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.sleep_forever)
            tg.start_soon(fails)

    with pytest.raises(BaseExceptionGroup) as raised:
        anyio.run(main)
    cause = startup.root_cause(raised.value)
    assert isinstance(cause, OSError)
    assert cause.errno == errno.ECONNREFUSED


def test_a_startup_error_outranks_its_cancelled_siblings_and_other_leaves() -> None:
    wanted = StartupError("the CRD x is not installed", "install it")
    group = BaseExceptionGroup(
        "outer",
        [asyncio.CancelledError(), ExceptionGroup("inner", [ValueError("later"), wanted])],
    )
    assert startup.root_cause(group) is wanted
    assert startup.explain(group) is wanted


def test_explain_gives_one_line_for_anything() -> None:
    error = startup.explain(ExceptionGroup("x", [RuntimeError("two\nlines")]))
    assert error.line() == (
        "kubeweft could not start: RuntimeError: two lines; "
        "the log above has the details; run with --log-level DEBUG for more"
    )
    assert error.exit_code == startup.EXIT_FAILURE
    long = startup.reason(ValueError("x" * 1000))
    assert len(long) <= len("ValueError: ") + startup.REASON_LENGTH


def test_listening_names_the_port_and_the_option() -> None:
    with (
        pytest.raises(StartupError) as raised,
        startup.listening("probe server", "127.0.0.1", 8081, "--probe-port"),
    ):
        raise OSError(errno.EADDRINUSE, "Address already in use")
    assert raised.value.line() == (
        "the probe server cannot listen on 127.0.0.1:8081: the address is already in use "
        "(another kubeweft or another program holds it); stop what holds it or choose "
        "another port with --probe-port (0 picks a free one)"
    )


def test_listening_leaves_other_errors_alone() -> None:
    with pytest.raises(OSError, match="disk"), startup.listening("api", "h", 1, "--api-port"):
        raise OSError(errno.EIO, "disk")
