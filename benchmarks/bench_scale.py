"""How far each setup carries: submits/s and status checks/s for one process on SQLite and for
1, 2 and 4 processes sharing one PostgreSQL database, with the quota never overdrawn.

Each process accepts /sora for the same members at once (the admission path: rules, blocklist,
the locked check-and-hold), then moves status checks for a while (claim due jobs with a lease,
record the poll, release). Only the database work is measured: no Discord, no provider.

Run: .venv/bin/python -m benchmarks.bench_scale [--database-url postgresql://…] [--seconds S]
Without --database-url a throw-away PostgreSQL server is started (the Debian package). Smaller
runs: --members, --attempts and --processes (see --help).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from dataclasses import dataclass, replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from bot.clock import SystemClock
from bot.errors import Refusal
from bot.jobs.store import Lease
from bot.models import Actor, JobState
from bot.storage.database import open_database
from tests.support.admission import ask, make_submitter
from tests.support.jobs import make_store

QUOTA = 5
MEMBERS = 40
ATTEMPTS_PER_MEMBER = 8  # per process: more than the quota, so refusals are measured too
PROCESSES = (1, 2, 4)  # on PostgreSQL
CLAIM_BATCH = 32
POLLING = (JobState.SUBMITTED, JobState.RUNNING)


@dataclass(frozen=True)
class Load:
    """What each process does: `attempts` /sora for each of `members`, then `seconds` of
    status checks."""

    members: int
    attempts: int
    seconds: float


@dataclass
class Counts:
    submits: int = 0
    accepted: int = 0
    submit_seconds: float = 0.0
    checks: int = 0
    check_seconds: float = 0.0


async def run_process(url: str, index: int, load: Load, barrier: Barrier) -> Counts:
    db = await open_database(url)
    clock = SystemClock()
    jobs = make_store(db, clock, deadline_seconds=3600, max_active_per_member=1000)
    with tempfile.TemporaryDirectory() as media:
        submitter = make_submitter(jobs, Path(media), limit=QUOTA)
        wanted = ask("a benchmark prompt", channel_id=1)
        counts = Counts()

        async def submit(member: int) -> bool:
            try:
                await submitter.submit(replace(wanted, by=Actor(1, member)))
            except Refusal:
                return False
            return True

        await asyncio.to_thread(barrier.wait)
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(submit(m) for m in range(load.members) for _ in range(load.attempts))
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
        deadline = time.perf_counter() + load.seconds
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


def _child(url: str, index: int, load: Load, barrier: Barrier, results: Queue[Counts]) -> None:
    results.put(asyncio.run(run_process(url, index, load, barrier)))


async def most_held(url: str) -> tuple[int, int]:
    """(most units used by one member, total held) after a run."""
    db = await open_database(url)
    try:
        rows = await db.fetch_all("SELECT user_id, SUM(units) FROM quota_ledger GROUP BY user_id")
        return max(int(row[1]) for row in rows), sum(int(row[1]) for row in rows)
    finally:
        await db.close()


def measure(label: str, url: str, processes: int, load: Load) -> None:
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(processes)
    results: Queue[Counts] = spawn.Queue()
    children = [
        spawn.Process(target=_child, args=(url, i, load, barrier, results))
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


def process_counts(text: str) -> tuple[int, ...]:
    return tuple(int(count) for count in text.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        help="an empty PostgreSQL database to use; give one for each run of --processes",
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="status checks per run")
    parser.add_argument("--members", type=int, default=MEMBERS, help="members sending /sora")
    parser.add_argument(
        "--attempts", type=int, default=ATTEMPTS_PER_MEMBER, help="/sora per member per process"
    )
    parser.add_argument(
        "--processes",
        type=process_counts,
        default=PROCESSES,
        help="processes of each PostgreSQL run, comma-separated (default 1,2,4)",
    )
    args = parser.parse_args()
    load = Load(args.members, args.attempts, args.seconds)
    print(
        f"{load.members} members, quota {QUOTA}, {load.attempts} /sora per member per process;"
        f" then status checks for {load.seconds:g} s"
    )
    with tempfile.TemporaryDirectory() as folder:
        measure("SQLite, 1 process", f"sqlite:///{folder}/bench.sqlite3", 1, load)
    if args.database_url:
        runs = list(zip(args.processes, args.database_url, strict=False))
        if len(runs) < len(args.processes):
            print(f"(one empty database per run: only {len(runs)} PostgreSQL run(s) measured)")
        for processes, url in runs:
            measure(f"PostgreSQL, {processes} proc.", url, processes, load)
        return
    from tests.support.postgres_cluster import Databases, PostgresCluster

    with PostgresCluster() as cluster:
        databases = Databases(cluster)
        for processes in args.processes:
            url = databases.empty()
            measure(f"PostgreSQL, {processes} proc.", url, processes, load)


if __name__ == "__main__":
    main()
