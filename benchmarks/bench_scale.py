"""How far each setup carries: submits/s and status checks/s for one process on SQLite and for
1, 2 and 4 processes sharing one PostgreSQL database, with the quota never overdrawn.

Each process accepts /sora for the same members at once (the admission path: rules, blocklist,
the locked check-and-hold), then moves status checks for a while (claim due jobs with a lease,
record the poll, release). Only the database work is measured: no Discord, no provider.

Run: .venv/bin/python -m benchmarks.bench_scale [--database-url postgresql://…] [--seconds S]
Without --database-url a throw-away PostgreSQL server is started (the Debian package).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import SystemClock
from bot.errors import Refusal
from bot.jobs.admission import Submitter
from bot.jobs.store import JobStore, Lease, NewJob
from bot.models import Actor, JobOptions, JobState
from bot.providers.base import ProviderHealth
from bot.providers.profiles import RIVYA_SORA_2_PRO
from bot.quota.allowance import QuotaDefaults, QuotaPolicy
from bot.storage.database import open_database

QUOTA = 5
MEMBERS = 40
ATTEMPTS_PER_MEMBER = 8  # per process: more than the quota, so refusals are measured too
CLAIM_BATCH = 32
POLLING = (JobState.SUBMITTED, JobState.RUNNING)


@dataclass
class Counts:
    submits: int = 0
    accepted: int = 0
    submit_seconds: float = 0.0
    checks: int = 0
    check_seconds: float = 0.0


def store(db, clock) -> JobStore:  # type: ignore[no-untyped-def]
    return JobStore(
        db,
        clock,
        provider="rivya",
        model="sora-2-pro",
        deadline_seconds=3600,
        max_active_per_member=1000,
    )


async def run_process(url: str, index: int, seconds: float, barrier) -> Counts:  # type: ignore[no-untyped-def]
    db = await open_database(url)
    clock = SystemClock()
    jobs = store(db, clock)
    policy = QuotaPolicy(db, QuotaDefaults(QUOTA, "day", ZoneInfo("UTC"), cooldown_seconds=0))
    with tempfile.TemporaryDirectory() as media:
        submitter = Submitter(
            jobs=jobs,
            policy=policy,
            profile=RIVYA_SORA_2_PRO,
            media_dir=Path(media),
            health=lambda: ProviderHealth(True, True, ""),
        )
        counts = Counts()

        async def submit(member: int) -> bool:
            try:
                await submitter.submit(
                    NewJob(Actor(1, member), 1, "a benchmark prompt", JobOptions("landscape", 10))
                )
            except Refusal:
                return False
            return True

        await asyncio.to_thread(barrier.wait)
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(submit(m) for m in range(MEMBERS) for _ in range(ATTEMPTS_PER_MEMBER))
        )
        counts.submit_seconds = time.perf_counter() - started
        counts.submits, counts.accepted = len(outcomes), sum(outcomes)

        # Every accepted job is taken by the provider once (outside the measurement).
        await asyncio.to_thread(barrier.wait)
        if index == 0:
            for job in await jobs.due(clock.now() + 60, 100_000):
                await jobs.record_submitted(job, f"task-{job.id}", clock.now())
        await asyncio.to_thread(barrier.wait)

        lease = Lease.for_this_process(60.0) if db.shared else None
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            now = clock.now()
            if lease is not None:
                due = await jobs.claim_due(now, CLAIM_BATCH, POLLING, (), lease)
            else:
                due = await jobs.due(now, CLAIM_BATCH, POLLING)
            for job in due:
                await jobs.record_poll(job, job.state, None, clock.now())
                if lease is not None:
                    await jobs.release_lease(job.id, lease)
            counts.checks += len(due)
        counts.check_seconds = time.perf_counter() - started
    await db.close()
    return counts


def _child(url: str, index: int, seconds: float, barrier, results) -> None:  # type: ignore[no-untyped-def]
    results.put(asyncio.run(run_process(url, index, seconds, barrier)))


async def most_held(url: str) -> tuple[int, int]:
    """(most units used by one member, total held) after a run."""
    db = await open_database(url)
    try:
        rows = await db.fetch_all("SELECT user_id, SUM(units) FROM quota_ledger GROUP BY user_id")
        return max(int(row[1]) for row in rows), sum(int(row[1]) for row in rows)
    finally:
        await db.close()


def measure(label: str, url: str, processes: int, seconds: float) -> None:
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(processes)
    results = spawn.Queue()
    children = [
        spawn.Process(target=_child, args=(url, i, seconds, barrier, results))
        for i in range(processes)
    ]
    for child in children:
        child.start()
    counts = [results.get(timeout=600) for _ in children]
    for child in children:
        child.join(60)
    submits = sum(c.submits for c in counts)
    accepted = sum(c.accepted for c in counts)
    checks = sum(c.checks for c in counts)
    submit_rate = submits / max(c.submit_seconds for c in counts)
    check_rate = checks / max(c.check_seconds for c in counts)
    most, _ = asyncio.run(most_held(url))
    verdict = "no overdraw" if most <= QUOTA else "OVERDRAWN"
    print(
        f"{label:<20} {submit_rate:>8.0f} submits/s  {check_rate:>8.0f} checks/s  "
        f"accepted {accepted}/{submits}, most used by one member {most} (quota {QUOTA}): "
        f"{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty PostgreSQL database to use")
    parser.add_argument("--seconds", type=float, default=3.0, help="status checks per run")
    args = parser.parse_args()
    print(
        f"{MEMBERS} members, quota {QUOTA}, {ATTEMPTS_PER_MEMBER} /sora per member per process;"
        f" then status checks for {args.seconds:g} s"
    )
    with tempfile.TemporaryDirectory() as folder:
        measure("SQLite, 1 process", f"sqlite:///{folder}/bench.sqlite3", 1, args.seconds)
    if args.database_url:
        for processes in (1, 2, 4):
            print("(with --database-url only the first PostgreSQL run starts from empty)")
            measure(f"PostgreSQL, {processes} proc.", args.database_url, processes, args.seconds)
            break
        return
    from tests.support.postgres_cluster import Databases, PostgresCluster

    with PostgresCluster() as cluster:
        databases = Databases(cluster)
        for processes in (1, 2, 4):
            url = databases.empty()
            measure(f"PostgreSQL, {processes} proc.", url, processes, args.seconds)


if __name__ == "__main__":
    main()
