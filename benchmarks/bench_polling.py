"""Does the worker keep up? 1,000 jobs in flight, a provider answering each status check in
200 ms, the default Rivya schedule in real time (no compression).

Through the real bot process and the fake Discord: /sora starts the jobs (generation never
finishes during the run), then for a fixed window every status check the simulator receives
is compared with the checks the schedule asks for. A check is due when the previous answer
came back plus the schedule's gap; lateness is how long after that it started. A fixed 5 s
poll for the same jobs in the same window is printed beside. Stops by itself (about a minute).
Run: .venv/bin/python -m benchmarks.bench_polling [jobs] [window_seconds] [latency_seconds]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import defaultdict

from benchmarks.stack import FIXED_POLL, REAL_POLL_GAPS, bot_stack, percentile

MEMBERS = 20
WAVE = 200  # /sora invocations in flight at once while starting the jobs


def scheduled_checks(created: float, latency: float, start: float, end: float) -> int:
    """Checks the schedule asks for in [start, end) for a task created at `created`, if every
    check ran on time (each one `latency` long)."""
    moment, count, index = created, 0, 0
    while True:
        moment += REAL_POLL_GAPS[min(index, len(REAL_POLL_GAPS) - 1)]
        if moment >= end:
            return count
        if moment >= start:
            count += 1
        moment += latency
        index += 1


async def main(jobs: int, window: float, latency: float) -> None:
    per_member = -(-jobs // MEMBERS)
    env = {
        "DEFAULT_QUOTA": str(per_member),
        "MAX_ACTIVE_JOBS_PER_MEMBER": str(per_member),
        "MAX_ACTIVE_JOBS_PER_GUILD": str(jobs),
        "STATUS_EDIT_INTERVAL_SECONDS": "5",
    }
    async with bot_stack(MEMBERS, env) as stack:
        stack.sim.generation_seconds = lambda _task: 3600.0  # still running at the end
        stack.sim.inject("status", "slow", times=None, delay=latency)
        await stack.start_bot()
        started = time.monotonic()
        for first in range(0, jobs, WAVE):
            count = min(WAVE, jobs - first)
            ids = await stack.sora_many(
                [stack.members[(first + i) % MEMBERS] for i in range(count)]
            )
            assert all(ids), "a benchmark /sora was refused"
        await stack.sim.wait_for(lambda: len(stack.sim.tasks) >= jobs, timeout=120)
        all_in = time.monotonic()
        window_start = all_in
        window_end = window_start + window
        await asyncio.sleep(window)  # the measurement itself: let the bot run for the window
        creates = {
            request.headers.get("Idempotency-Key"): request.received_at
            for request in stack.sim.requests_to("create")
        }
        created_at = {task.id: creates[task.idempotency_key] for task in stack.sim.tasks.values()}
        checks: dict[str, list[float]] = defaultdict(list)
        for request in stack.sim.requests_to("status"):
            checks[request.match_info["task_id"]].append(request.received_at)
    done = scheduled = fixed = 0
    lateness: list[float] = []
    for task_id, created in created_at.items():
        times = sorted(checks[task_id])
        scheduled += scheduled_checks(created, latency, window_start, window_end)
        fixed += int(window // FIXED_POLL)
        previous_answer = created
        for index, moment in enumerate(times):
            due = previous_answer + REAL_POLL_GAPS[min(index, len(REAL_POLL_GAPS) - 1)]
            if window_start <= moment < window_end:
                done += 1
                lateness.append(max(0.0, moment - due))
            previous_answer = moment + latency
    print(
        f"{jobs} jobs started through /sora in {all_in - started:.1f} s; provider latency "
        f"{latency * 1000:.0f} ms per status check; window {window:.0f} s"
    )
    print(
        f"status checks: {done} done of {scheduled} scheduled ({done / scheduled:.2f}x), "
        f"{done / window:.0f}/s; late by {percentile(lateness, 0.5):.2f} s p50, "
        f"{percentile(lateness, 0.95):.2f} s p95"
    )
    print(
        f"a fixed 5 s poll of the same jobs would ask for {fixed} checks ({fixed / window:.0f}/s)"
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(
        main(
            int(args[0]) if args else 1000,
            float(args[1]) if len(args) > 1 else 40.0,
            float(args[2]) if len(args) > 2 else 0.2,
        )
    )
