"""What `/healthz` answers: healthy while the gateway is connected, the worker's loop is
ticking and the database answers a cheap query in time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

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


# -- the client side: `sora-bot check --health` ----------------------------------------------

ENDPOINT_TIMEOUT = 10.0
# A server listening on every address is reached on this machine's loopback.
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def health_url(host: str, port: int) -> str:
    host = _ANY_ADDRESS.get(host, host)
    return f"http://[{host}]:{port}/healthz" if ":" in host else f"http://{host}:{port}/healthz"


async def query_health(url: str) -> tuple[bool, str]:
    """Ask a running bot's `/healthz`: (healthy, one line saying what it answered)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ENDPOINT_TIMEOUT)) as http,
            http.get(url) as response,
        ):
            text = (await response.text())[:500]
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as error:
        return False, f"health    FAILED: no answer from {url} ({type(error).__name__})"
    if status == 200:
        return True, f"health    ok: {text}"
    return False, f"health    FAILED: HTTP {status} from {url}: {text}"
