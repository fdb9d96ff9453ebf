"""How soon members hear their video is ready, and for how many status requests.

Through the real bot process and the fake Discord: jobs whose generation takes a lognormal
time around a typical one (about +-30 %), with no history (fresh databases, fewer finished jobs
than the schedule needs to learn) and after 30 jobs of history. Each figure is printed beside a
plain check every 5 s computed for the same jobs. Time is compressed by `scale`; figures are
in real-world seconds. Stops by itself (about a minute and a half at the default scale).
Run: .venv/bin/python -m benchmarks.bench_detection [scale] [typical_seconds]
Smaller runs: --fresh-waves, --history-jobs and --measured-jobs (see --help).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
from dataclasses import dataclass

from benchmarks.stack import (
    FIXED_POLL,
    REAL_DENSE_POLL,
    REAL_MIN_POLL,
    REAL_POLL_GAPS,
    BotStack,
    bot_stack,
    fixed_poll,
    percentile,
    scaled,
)
from bot.jobs.schedule import HISTORY_MIN
from tests.support.sims.rivya import RivyaTask

SPREAD = 0.3  # sigma of log(time): about +-30 %
HISTORY_JOBS = 30
MEASURED_JOBS = 30
FRESH_WAVES = 3  # each on a fresh database, with fewer jobs than the schedule learns from
MEMBERS = 10
SEED = 14


@dataclass
class Figures:
    jobs: int
    requests: float  # status requests per job
    delay_p50: float
    delay_p95: float
    fixed_requests: float
    fixed_p50: float
    fixed_p95: float


async def run_jobs(stack: BotStack, count: int, scale: float) -> list[RivyaTask]:
    """Start `count` jobs at once through /sora and wait until the bot has seen each finish."""
    before = len(stack.sim.tasks)
    members = stack.members
    ids = await stack.sora_many([members[i % len(members)] for i in range(count)])
    assert all(ids), "a benchmark /sora was refused"
    await stack.sim.wait_for(lambda: len(stack.sim.tasks) >= before + count, timeout=60)
    tasks = list(stack.sim.tasks.values())[before:]
    # Bounded: the slowest job is a few typical times, plus the schedule's tail gap.
    await stack.sim.wait_for(
        lambda: all(task.finish_seen_at is not None for task in tasks), timeout=600 * scale + 60
    )
    return tasks


def figures(tasks: list[RivyaTask], scale: float) -> Figures:
    requests, delays, fixed_requests, fixed_delays = [], [], [], []
    for task in tasks:
        assert task.ready_at is not None and task.finish_seen_at is not None
        generation = (task.ready_at - task.created_at) / scale
        requests.append(task.polls)
        delays.append((task.finish_seen_at - task.ready_at) / scale)
        checks, delay = fixed_poll(generation, FIXED_POLL)
        fixed_requests.append(checks)
        fixed_delays.append(delay)
    return Figures(
        len(tasks),
        statistics.mean(requests),
        percentile(delays, 0.5),
        percentile(delays, 0.95),
        statistics.mean(fixed_requests),
        percentile(fixed_delays, 0.5),
        percentile(fixed_delays, 0.95),
    )


def show(label: str, result: Figures) -> None:
    print(
        f"{label} ({result.jobs} jobs): {result.requests:.1f} status requests per job "
        f"({result.requests / result.fixed_requests:.2f}x a 5 s poll's "
        f"{result.fixed_requests:.1f}); ready seen after {result.delay_p50:.1f} s p50, "
        f"{result.delay_p95:.1f} s p95 (5 s poll: {result.fixed_p50:.1f} s, "
        f"{result.fixed_p95:.1f} s)"
    )


async def main(
    scale: float,
    typical: float,
    fresh_waves: int = FRESH_WAVES,
    history_jobs: int = HISTORY_JOBS,
    measured_jobs: int = MEASURED_JOBS,
) -> None:
    rng = random.Random(SEED)
    env = {
        "RIVYA_POLL_SECONDS": scaled(REAL_POLL_GAPS, scale),
        "MIN_POLL_SECONDS": f"{REAL_MIN_POLL * scale:g}",
        "DENSE_POLL_SECONDS": f"{REAL_DENSE_POLL * scale:g}",
        "STATUS_EDIT_INTERVAL_SECONDS": f"{5 * scale:g}",
        "DEFAULT_QUOTA": "1000",
        "MAX_ACTIVE_JOBS_PER_MEMBER": "100",
        "MAX_ACTIVE_JOBS_PER_GUILD": "1000",
    }
    async with bot_stack(MEMBERS, env) as stack:
        stack.sim.generation_seconds = lambda _task: (
            scale * typical * math.exp(rng.gauss(0, SPREAD))
        )
        fresh: list[RivyaTask] = []
        for wave in range(fresh_waves):
            await stack.start_bot(f"fresh-{wave}.sqlite3")
            fresh += await run_jobs(stack, HISTORY_MIN - 1, scale)
        await stack.start_bot("learned.sqlite3")
        await run_jobs(stack, history_jobs, scale)
        learned = await run_jobs(stack, measured_jobs, scale)
        kept = stack.query("SELECT COUNT(*) FROM completion_times")[0][0]
    print(
        f"generation times: lognormal around {typical:.0f} s (+-{SPREAD:.0%}), time compressed "
        f"x{1 / scale:g}; figures in real seconds"
    )
    show("no history (configured schedule)", figures(fresh, scale))
    show(f"after {history_jobs} jobs of history ({kept} kept)", figures(learned, scale))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("scale", type=float, nargs="?", default=0.05, help="time compression")
    parser.add_argument("typical_seconds", type=float, nargs="?", default=180.0)
    parser.add_argument(
        "--fresh-waves",
        type=int,
        default=FRESH_WAVES,
        help=f"fresh databases, {HISTORY_MIN - 1} jobs each (too few to learn from)",
    )
    parser.add_argument("--history-jobs", type=int, default=HISTORY_JOBS)
    parser.add_argument("--measured-jobs", type=int, default=MEASURED_JOBS)
    args = parser.parse_args()
    asyncio.run(
        main(
            args.scale,
            args.typical_seconds,
            args.fresh_waves,
            args.history_jobs,
            args.measured_jobs,
        )
    )
