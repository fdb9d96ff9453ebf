"""SIGTERM and SIGINT as a request to stop, honoured in every phase of `sora-bot run`.

In a container the bot is PID 1, for which a signal without a handler is ignored: `docker stop`
would wait out its grace period and kill the bot. So the process exits at once (status 0) on
SIGTERM until its event loop runs; from then on a signal sets an event, and whatever start-up
step is waiting (the database, the video service, Discord) is cancelled and closed cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequested(Exception):
    """A start-up step was cut short by a stop request: not a failure."""


def exit_on_sigterm_until_running() -> None:
    """Before the event loop: nothing is open yet, so SIGTERM simply ends the process with
    exit status 0 (`StopSignal.install` takes over once the loop runs)."""
    signal.signal(signal.SIGTERM, _exit_now)


def _exit_now(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


class StopSignal:
    def __init__(self, moment: Callable[[], str] = lambda: "running") -> None:
        """`moment` says what the bot is doing, for the log line when a signal arrives."""
        self._requested = asyncio.Event()
        self._moment = moment

    def install(self) -> None:
        """From now until the loop closes, SIGTERM and SIGINT request a stop."""
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.add_signal_handler(sig, self._request, sig)

    def _request(self, sig: signal.Signals) -> None:
        if not self._requested.is_set():
            log.info("%s received while %s: stopping", sig.name, self._moment())
        self._requested.set()

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    async def wait(self) -> None:
        await self._requested.wait()

    async def unless_requested(self, step: Awaitable[T]) -> T:
        """`step`'s result; if a stop is requested first, `step` is cancelled (its own cleanup
        runs) and `StopRequested` is raised."""
        work = asyncio.ensure_future(step)
        stopper = asyncio.ensure_future(self._requested.wait())
        cut_short = False
        try:
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not work.done():
                cut_short = True
                work.cancel()
                # Whatever the cancelled step raises while it cleans up, the stop wins.
                await asyncio.gather(work, return_exceptions=True)
        if cut_short:
            raise StopRequested()
        return work.result()
