"""Admission as members meet it: 200 concurrent /sora from 20 members with a quota of 5,
through the real bot process and the fake Discord.

Prints submits per second (first invocation to the last answer; three rounds, each with
members of its own, then one more under Discord's per-channel limit on new messages), the most
holds any member got (never more than the quota), and the database round trips one accepted
/sora costs. Stops by itself (well under a minute).
Run: .venv/bin/python -m benchmarks.bench_sora [members] [per_member] [quota]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_admission import admit_concurrently
from benchmarks.roundtrips import counting_round_trips
from benchmarks.stack import bot_stack
from bot.clock import SystemClock
from bot.models import Actor
from bot.storage.database import open_database
from tests.support.admission import ask, make_submitter
from tests.support.jobs import make_store

ROUNDS = 3


async def round_trips_per_accepted_sora() -> int:
    """The bot's own admission code (`Submitter.submit` and the hand-over to the worker),
    counted in this process on a database of its own."""
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "count.sqlite3")
        try:
            jobs = make_store(db, SystemClock(), max_active_per_guild=10)
            submitter = make_submitter(jobs, Path(folder), limit=5, cooldown_seconds=30)
            with counting_round_trips() as trips:
                job = await submitter.submit(ask("p", by=Actor(1, 7), channel_id=1))
                await jobs.hand_to_worker(job, 1, "queued", None)
            return trips.count
        finally:
            await db.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(members: int, per_member: int, quota: int) -> None:
    env = {
        "DEFAULT_QUOTA": str(quota),
        "MAX_ACTIVE_JOBS_PER_MEMBER": str(per_member),
        "MAX_ACTIVE_JOBS_PER_GUILD": str((ROUNDS + 1) * members * per_member),
    }
    rates: list[float] = []
    accepted = 0
    bot_cpu = harness_cpu = 0.0
    async with bot_stack((ROUNDS + 1) * members + 1, env) as stack:
        stack.sim.generation_seconds = lambda _task: 3600.0
        await stack.start_bot()
        await stack.sora(stack.members[-1])  # warm up: the first command loads lazily

        for round_number in range(ROUNDS):  # each round with members of its own
            group = stack.members[round_number * members : (round_number + 1) * members]
            assert stack.bot is not None and stack.bot.pid is not None
            started, bot_before, harness_before = (
                time.perf_counter(),
                cpu_seconds(stack.bot.pid),
                time.process_time(),
            )
            outcomes = await stack.sora_many(
                [group[i % members] for i in range(members * per_member)]
            )
            rates.append(len(outcomes) / (time.perf_counter() - started))
            bot_cpu += cpu_seconds(stack.bot.pid) - bot_before
            harness_cpu += time.process_time() - harness_before
            accepted += sum(1 for outcome in outcomes if outcome is not None)
        # Once more with Discord's per-channel limit on new bot messages (about 5 per 5 s):
        # answers go through each interaction, so it should not slow them down.
        stack.discord.settings.channel_posts_per_window = 5
        group = stack.members[ROUNDS * members : (ROUNDS + 1) * members]
        started = time.perf_counter()
        limited = await stack.sora_many([group[i % members] for i in range(members * per_member)])
        limited_rate = len(limited) / (time.perf_counter() - started)
        stack.discord.settings.channel_posts_per_window = None
        most = stack.query(
            "SELECT MAX(c) FROM (SELECT COUNT(*) AS c FROM quota_ledger WHERE kind = 'hold' "
            "GROUP BY user_id)"
        )[0][0]
    print(
        f"{members * per_member} concurrent /sora from {members} members (quota {quota}) "
        f"through the bot, {ROUNDS} rounds: {statistics.median(rates):.0f} submits/s median, "
        f"{max(rates):.0f} best ({', '.join(f'{rate:.0f}' for rate in rates)}); "
        f"{accepted} accepted of {ROUNDS * members * per_member}"
    )
    accepted_limited = sum(1 for job in limited if job is not None)
    print(
        f"with Discord's limit of 5 new messages per 5 s in the channel: {limited_rate:.0f} "
        f"submits/s ({accepted_limited} accepted; posting their status messages in the channel "
        f"at that limit would take about {accepted_limited} s)"
    )
    alone = statistics.median(
        [(await admit_concurrently(members, per_member, quota)).rate for _ in range(ROUNDS)]
    )
    print(
        f"baseline, the same {members * per_member} submits on the database alone (no Discord, "
        f"no bot process): {alone:.0f} submits/s median; through the bot "
        f"{statistics.median(rates) / alone:.0%} of it"
    )
    total = ROUNDS * members * per_member
    print(
        f"CPU per /sora: bot process {bot_cpu / total * 1000:.2f} ms, fake Discord and "
        f"simulator {harness_cpu / total * 1000:.2f} ms (on {os.cpu_count()} shared cores)"
    )
    assert isinstance(most, int)
    verdict = "never more than the quota" if most <= quota else "OVERDRAWN"
    print(f"most holds for one member: {most}: {verdict}")
    print(f"database round trips per accepted /sora: {await round_trips_per_accepted_sora()}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(
        main(
            args[0] if args else 20,
            args[1] if len(args) > 1 else 10,
            args[2] if len(args) > 2 else 5,
        )
    )
