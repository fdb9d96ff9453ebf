"""The bot's liveness, as `/healthz` answers it and LIVENESS_FILE records it
(bot/ops/liveness_file.py): alive while the gateway is connected, the worker's loop is ticking
and the database answers a cheap query in time. `sora-bot web`, which has neither gateway nor
worker, is alive while it serves and the database answers (`WebLiveness`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.storage.database import Database

DATABASE_TIMEOUT = 2.0

# Each part's fact, read at request time (the gateway's comes from the Discord glue).
Probe = Callable[[], bool]


@dataclass(frozen=True)
class LivenessReport:
    gateway: bool
    worker: bool
    database: bool

    @property
    def alive(self) -> bool:
        return self.gateway and self.worker and self.database

    @property
    def http_status(self) -> int:
        return 200 if self.alive else 503

    def body(self) -> dict[str, Any]:
        parts = {"gateway": self.gateway, "worker": self.worker, "database": self.database}
        return {
            "status": "ok" if self.alive else "unhealthy",
            "failing": [name for name, ok in parts.items() if not ok],
            **{name: "ok" if ok else "failing" for name, ok in parts.items()},
        }


class Liveness:
    def __init__(self, *, gateway_connected: Probe, worker_alive: Probe, db: Database) -> None:
        self._gateway_connected = gateway_connected
        self._worker_alive = worker_alive
        self._db = db

    async def report(self) -> LivenessReport:
        return LivenessReport(
            gateway=_safely(self._gateway_connected),
            worker=_safely(self._worker_alive),
            database=await database_reachable(self._db),
        )


@dataclass(frozen=True)
class WebLivenessReport:
    web: bool
    database: bool

    @property
    def alive(self) -> bool:
        return self.web and self.database

    def body(self) -> dict[str, Any]:
        parts = {"web": self.web, "database": self.database}
        return {
            "status": "ok" if self.alive else "unhealthy",
            "failing": [name for name, ok in parts.items() if not ok],
            **{name: "ok" if ok else "failing" for name, ok in parts.items()},
        }


class WebLiveness:
    """`sora-bot web`'s liveness: its server is listening and the database answers."""

    def __init__(self, *, serving: Probe, db: Database) -> None:
        self._serving = serving
        self._db = db

    async def report(self) -> WebLivenessReport:
        return WebLivenessReport(
            web=_safely(self._serving), database=await database_reachable(self._db)
        )


async def database_reachable(db: Database) -> bool:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            return await db.ping()
    except Exception:  # locked past the timeout, closed, broken file: all mean "not reachable"
        return False


def _safely(probe: Probe) -> bool:
    try:
        return bool(probe())
    except Exception:  # a probe that cannot tell says "not healthy" rather than crash /healthz
        return False
