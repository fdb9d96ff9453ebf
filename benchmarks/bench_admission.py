"""Admission throughput: concurrent /sora submits against one SQLite file.

Prints accepted jobs per second and per-submit latency percentiles, and checks the quota was
never overdrawn. Run: .venv/bin/python -m benchmarks.bench_admission [members] [per_member]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import SystemClock
from bot.errors import Refusal
from bot.jobs.admission import Submitter
from bot.jobs.store import JobStore, NewJob
from bot.models import Actor, JobOptions
from bot.providers.base import ProviderHealth
from bot.providers.profiles import RIVYA_SORA_2_PRO
from bot.quota.allowance import QuotaDefaults, QuotaPolicy
from bot.storage.database import open_database

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
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "bench.sqlite3")
        clock = SystemClock()
        jobs = JobStore(
            db,
            clock,
            provider="rivya",
            model="sora-2-pro",
            deadline_seconds=1800,
            max_active_per_member=per_member,
        )
        policy = QuotaPolicy(
            db,
            QuotaDefaults(
                quota,
                "day",
                ZoneInfo("UTC"),
                max_active_per_guild=members * per_member,
                cooldown_seconds=0,
            ),
        )
        submitter = Submitter(
            jobs=jobs,
            policy=policy,
            profile=RIVYA_SORA_2_PRO,
            media_dir=Path(folder),
            health=lambda: ProviderHealth(True, True, ""),
        )
        latencies: list[float] = []

        async def one(member: int) -> bool:
            started = time.perf_counter()
            try:
                await submitter.submit(
                    NewJob(Actor(1, member), 1, "a benchmark prompt", JobOptions("landscape", 10))
                )
                return True
            except Refusal:
                return False
            finally:
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(one(m) for m in range(members) for _ in range(per_member))
        )
        elapsed = time.perf_counter() - started
        row = await db.fetch_one(
            "SELECT MAX(c) FROM (SELECT COUNT(*) c FROM quota_ledger "
            "WHERE kind = 'hold' GROUP BY user_id)"
        )
        await db.close()
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


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args or [100, 8])))
