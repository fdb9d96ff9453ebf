"""Timestamp-based snowflake ids, as discord.py decodes them (``created_at`` = id >> 22)."""

from __future__ import annotations

import time

DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake_time_ms(snowflake: int) -> int:
    """Unix time in milliseconds encoded in a snowflake."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS


class SnowflakeFactory:
    """Hands out unique, increasing snowflakes.

    With ``fixed_ms`` every id encodes that instant (plus a counter), so a world built from the
    same recipe always gets the same ids; otherwise ids encode the current time.
    """

    def __init__(self, *, worker: int = 1, fixed_ms: int | None = None) -> None:
        self._worker = worker & 0x3FF
        self._fixed_ms = fixed_ms
        self._last_ms = 0
        self._counter = 0

    def next(self, *, at_ms: int | None = None) -> int:
        ms = at_ms if at_ms is not None else self._fixed_ms
        if ms is None:
            ms = int(time.time() * 1000)
        # Never go backwards: ids must stay unique and ordered even if two land in one ms.
        ms = max(ms, self._last_ms)
        if ms == self._last_ms:
            self._counter += 1
            if self._counter > 0xFFF:
                ms += 1
                self._counter = 0
        else:
            self._counter = 0
        self._last_ms = ms
        return ((ms - DISCORD_EPOCH_MS) << 22) | (self._worker << 12) | self._counter
