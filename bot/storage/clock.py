"""The database server's time, for processes that share a database.

Several bot processes write times into the same rows (when a job is next due, when it was
accepted, when its lease runs out). Each machine's clock may be off by some seconds or more;
the database's is the one they all see. `DatabaseClock` is this machine's clock set to it: the
gap is measured at start-up and every few minutes after, from the midpoint of a round trip.
Leases are judged in SQL by the database's clock itself (bot/storage/jobs.py)."""

from __future__ import annotations

import asyncio
import logging
import time

from bot.clock import Clock, SystemClock
from bot.storage.connection import database_now
from bot.storage.engine import Database

log = logging.getLogger(__name__)

RESYNC_SECONDS = 600.0
# A gap larger than this is worth a line in the log: the machine's clock needs looking at.
NOTABLE_GAP_SECONDS = 1.0


class DatabaseClock:
    def __init__(self, db: Database, local: Clock | None = None) -> None:
        self.db = db
        self.local = local or SystemClock()
        self.offset = 0.0  # the database's time minus this machine's
        self._synced_at: float | None = None  # time.monotonic() of the last measurement
        self._syncing: asyncio.Task[None] | None = None

    def now(self) -> float:
        synced_at = self._synced_at
        if synced_at is not None and time.monotonic() - synced_at > RESYNC_SECONDS:
            self._sync_soon()
        return self.local.now() + self.offset

    async def sync(self) -> None:
        """Measure the gap between this machine's clock and the database's."""
        async with self.db.reading() as conn:
            started = self.local.now()
            server = float(await conn.fetch_value(f"SELECT {database_now(self.db.engine)}"))
            ended = self.local.now()
        offset = server - (started + ended) / 2
        if abs(offset) > NOTABLE_GAP_SECONDS and abs(offset - self.offset) > NOTABLE_GAP_SECONDS:
            log.warning(
                "this machine's clock is %.1f s %s the database's; the bot keeps the database's "
                "time for its jobs (set the machine's clock right: NTP)",
                abs(offset),
                "behind" if offset > 0 else "ahead of",
            )
        self.offset = offset
        self._synced_at = time.monotonic()

    def _sync_soon(self) -> None:
        if self._syncing is not None and not self._syncing.done():
            return
        self._synced_at = time.monotonic()  # one try per period, even if it fails
        self._syncing = asyncio.get_running_loop().create_task(self._resync())

    async def _resync(self) -> None:
        try:
            await self.sync()
        except Exception as error:  # the database may be out of reach: the last gap stands
            log.info("could not compare the clock with the database's (%s)", error)
