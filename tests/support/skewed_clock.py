"""`python -m tests.support.skewed_clock [args]`: the bot (`python -m bot`) with its own clock
(bot/clock.py's `SystemClock`) set `SKEWED_CLOCK_SECONDS` ahead (or behind, negative): a
machine whose clock is off, next to others that are right. Run it through the fake Discord's
launcher like the bot: `runner.start("tests.support.skewed_clock", env)`."""

from __future__ import annotations

import os
import runpy
import time

from bot import clock

OFFSET_ENV = "SKEWED_CLOCK_SECONDS"


def main() -> None:
    offset = float(os.environ[OFFSET_ENV])
    clock.SystemClock.now = lambda self: time.time() + offset  # type: ignore[method-assign]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
