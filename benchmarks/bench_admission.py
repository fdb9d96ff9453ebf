"""Admission throughput: concurrent /sora submits against one SQLite file.

Prints accepted jobs per second and per-submit latency percentiles, and checks the quota was
never overdrawn. Its baseline, in the same run: the same submits one at a time.
Run: .venv/bin/python -m benchmarks.bench_admission [members] [per_member]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.clock import SystemClock
from bot.errors import Refusal
from bot.models import Actor
from bot.storage.database import open_database
from tests.support.admission import ask, make_submitter
from tests.support.jobs import make_store

QUOTA = 5


@dataclass(frozen=True)
class AdmissionRun:
    elapsed: float  # seconds from the first submit to the last answer
    accepted: int
    latencies: list[float]  # seconds, sorted
    most_holds: int  # the most holds any member got

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed


async def admit_concurrently(members: int, per_member: int, quota: int = QUOTA) -> AdmissionRun:
    """`per_member` submits from each of `members` at once, on a database of their own."""
    return await admit(members, per_member, quota, at_once=True)


async def admit(members: int, per_member: int, quota: int, *, at_once: bool) -> AdmissionRun:
    """`per_member` submits from each of `members`, all at once or one after another, on a
    database of their own."""
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "bench.sqlite3")
        jobs = make_store(
            db,
            SystemClock(),
            max_active_per_member=per_member,
            max_active_per_guild=members * per_member,
        )
        submitter = make_submitter(jobs, Path(folder), limit=quota)
        latencies: list[float] = []

        async def one(member: int) -> bool:
            started = time.perf_counter()
            try:
                await submitter.submit(ask("a benchmark prompt", by=Actor(1, member), channel_id=1))
                return True
            except Refusal:
                return False
            finally:
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        submits = [m for m in range(members) for _ in range(per_member)]
        if at_once:
            outcomes = await asyncio.gather(*(one(m) for m in submits))
        else:
            outcomes = [await one(m) for m in submits]
        elapsed = time.perf_counter() - started
        row = await db.fetch_one(
            "SELECT MAX(c) FROM (SELECT COUNT(*) c FROM quota_ledger "
            "WHERE kind = 'hold' GROUP BY user_id)"
        )
        await db.close()
    assert row is not None
    return AdmissionRun(elapsed, sum(outcomes), sorted(latencies), int(row[0]))


async def main(members: int, per_member: int) -> None:
    run = await admit_concurrently(members, per_member)
    latencies = run.latencies
    print(f"submits: {len(latencies)} from {members} members, accepted {run.accepted}")
    print(f"elapsed: {run.elapsed:.2f} s, {run.rate:.0f} submits/s")
    print(
        f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms"
    )
    print(
        f"most holds for one member: {run.most_holds} (quota {QUOTA}): "
        f"{'no overdraw' if run.most_holds <= QUOTA else 'OVERDRAWN'}"
    )
    serial = await admit(members, per_member, QUOTA, at_once=False)
    serial_p50 = statistics.median(serial.latencies) * 1000
    print(
        f"baseline, the same {len(serial.latencies)} submits one at a time: "
        f"{serial.rate:.0f} submits/s, latency p50 {serial_p50:.1f} ms"
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args or [100, 8])))
