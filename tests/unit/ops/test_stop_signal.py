"""SIGTERM before the event loop ends the process with status 0; once it runs, a signal cuts
the waiting start-up step short, letting it clean up."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.ops.stop_signal import StopRequested, StopSignal

PROJECT = Path(__file__).resolve().parents[3]


def test_sigterm_before_the_event_loop_exits_with_status_zero() -> None:
    script = (
        "import os, signal, time\n"
        "from bot.ops.stop_signal import exit_on_sigterm_until_running\n"
        "exit_on_sigterm_until_running()\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "time.sleep(30)\n"
        "raise SystemExit(9)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(PROJECT), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert (result.returncode, result.stderr) == (0, "")


async def test_a_step_finishes_unless_a_stop_is_requested() -> None:
    stop = StopSignal()

    async def step() -> str:
        await asyncio.sleep(0)
        return "done"

    assert await stop.unless_requested(step()) == "done"
    assert not stop.requested


async def test_a_signal_cancels_the_waiting_step_and_lets_it_clean_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = StopSignal(lambda: "waiting for the database")
    stop.install()
    cleaned_up = asyncio.Event()

    async def hung_step() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned_up.set()

    loop = asyncio.get_running_loop()
    loop.call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
    try:
        with caplog.at_level(logging.INFO, logger="bot.ops.stop_signal"):
            async with asyncio.timeout(5):
                with pytest.raises(StopRequested):
                    await stop.unless_requested(hung_step())
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    assert cleaned_up.is_set() and stop.requested
    assert [r.getMessage() for r in caplog.records] == [
        "SIGTERM received while waiting for the database: stopping"
    ]
    # Later steps do not start at all.
    with pytest.raises(StopRequested):
        await stop.unless_requested(asyncio.sleep(3600))


async def test_an_error_raised_while_cancelling_does_not_hide_the_stop() -> None:
    stop = StopSignal()

    async def step_failing_its_cleanup() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            raise OSError("connection reset while closing")

    asyncio.get_running_loop().call_later(0.01, stop._request, signal.SIGINT)
    with pytest.raises(StopRequested):
        await stop.unless_requested(step_failing_its_cleanup())
