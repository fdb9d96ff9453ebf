"""A community event, through the real bot process and the fake Discord: 50 members type /sora
in the same minute (5 of them ask for 3 videos each, 45 for one) on a server with 5 slots at
the video service, whose generation times are lognormal around a typical one (about +-30 %, as
in bench_detection).

Run twice, each on a database with some finished videos behind it (so the learned schedule is
in use): with the server's queue, and with the queue disabled (MAX_QUEUED_JOBS_PER_GUILD=0), when
a refused member tries again a few minutes later, as the refusal says, until accepted. Prints,
side by side: videos delivered, refusals, the longest wait of a one-video member (from asking
until the video reached the service), Jain's fairness index of the members' waits, and how busy
the service was kept while anyone waited. Time is compressed by `scale`; figures are in
real-world seconds. Stops by itself (about two and a half minutes at the defaults).
Run: .venv/bin/python -m benchmarks.bench_queue [scale] [typical_seconds]
Smaller runs: --members, --heavy, --slots and --history-jobs (see --help).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.stack import (
    REAL_DENSE_POLL,
    REAL_MIN_POLL,
    REAL_POLL_GAPS,
    BotStack,
    bot_stack,
    scaled,
)
from bot.jobs.schedule import HISTORY_MIN
from tests.support.sims.rivya import RivyaTask

SPREAD = 0.3  # sigma of log(time): about +-30 %
MEMBERS = 50
HEAVY = 5  # members asking for several videos
HEAVY_VIDEOS = 3
SLOTS = 5  # MAX_ACTIVE_JOBS_PER_GUILD
ARRIVALS_SECONDS = 60.0  # everyone asks within this minute
RETRY_SECONDS = (60.0, 180.0)  # "try again in a few minutes"
SEED = 23


@dataclass
class Video:
    member: str
    prompt: str
    asked_at: float  # the first /sora for it
    refusals: int = 0
    started_at: float | None = None  # when the video service got it


@dataclass
class Figures:
    asked: int
    delivered: int
    refusals: int
    longest_single_wait: float  # real seconds
    fairness: float  # Jain's index of the members' mean waits
    first_round: float  # Jain's index of videos started per member, once one per member had
    overtaken: int  # one-video members passed by another member's second or third video
    busy: float  # share of the slots' time the service was generating while anyone waited
    waits: dict[str, float] = field(default_factory=dict)  # member → mean wait
    several: list[str] = field(default_factory=list)  # the members who asked for several


def jain(values: Sequence[float]) -> float:
    """Jain's fairness index: 1 when all are equal, 1/n when one has everything."""
    total, squares = sum(values), sum(value * value for value in values)
    return 1.0 if squares == 0 else total * total / (len(values) * squares)


def union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(span for span in spans if span[1] > span[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlap(span: tuple[float, float], spans: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(span[1], end) - max(span[0], start)) for start, end in spans)


def figures(videos: list[Video], tasks: list[RivyaTask], slots: int, scale: float) -> Figures:
    by_prompt = {task.prompt: task for task in tasks}
    for video in videos:
        task = by_prompt.get(video.prompt)
        video.started_at = task.created_at if task is not None else None
    started = [video for video in videos if video.started_at is not None]
    per_member: dict[str, list[float]] = {}
    for video in started:
        assert video.started_at is not None
        per_member.setdefault(video.member, []).append(video.started_at - video.asked_at)
    waits = {member: sum(w) / len(w) / scale for member, w in per_member.items()}
    asked_for: dict[str, int] = {}
    for video in videos:
        asked_for[video.member] = asked_for.get(video.member, 0) + 1
    singles = [waits[m] for m, w in per_member.items() if len(w) == 1 and m in waits]
    waiting = union([(v.asked_at, v.started_at) for v in started if v.started_at is not None])
    generating = [(task.created_at, task.ready_at or task.created_at) for task in tasks]
    span = sum(end - start for start, end in waiting)
    busy = sum(overlap(gen, waiting) for gen in generating) / (slots * span) if span else 1.0
    return Figures(
        first_round=first_round(videos),
        overtaken=overtaken(videos),
        asked=len(videos),
        delivered=0,
        refusals=sum(video.refusals for video in videos),
        longest_single_wait=max(singles, default=0.0),
        fairness=jain(list(waits.values())),
        busy=busy,
        waits=waits,
        several=[member for member, count in asked_for.items() if count > 1],
    )


def first_round(videos: list[Video]) -> float:
    """How evenly the first round was shared: Jain's index of the videos each member had
    started once as many had started as there are members (1: one each)."""
    members = sorted({video.member for video in videos})
    started = sorted((v for v in videos if v.started_at is not None), key=_start)
    counts = {member: 0 for member in members}
    for video in started[: len(members)]:
        counts[video.member] += 1
    return jain(list(counts.values()))


def overtaken(videos: list[Video]) -> int:
    """One-video members whose video started after another member's second or third video
    that was asked for no earlier than theirs."""
    asked: dict[str, int] = {}
    for video in videos:
        asked[video.member] = asked.get(video.member, 0) + 1
    extras = [v for v in videos if not v.prompt.endswith(" video 1") and v.started_at is not None]
    count = 0
    for video in videos:
        if asked[video.member] != 1 or video.started_at is None:
            continue
        if any(
            other.asked_at >= video.asked_at and _start(other) < video.started_at
            for other in extras
        ):
            count += 1
    return count


def _start(video: Video) -> float:
    assert video.started_at is not None
    return video.started_at


async def warm_up(stack: BotStack, label: str, helpers: list[str]) -> None:
    """Start the bot on a database of its own with a finished video of each of `helpers`
    (members who take no part in the event) behind it."""
    count = len(helpers)
    stack.env |= {"MAX_ACTIVE_JOBS_PER_GUILD": str(max(count, 1))}
    await stack.start_bot(f"{label}.sqlite3")
    if count:
        ids = await stack.sora_many(helpers, prompts=[f"{label} warm-up {h}" for h in helpers])
        assert all(ids), "a warm-up /sora was refused"
        await wait_delivered(stack, f"{label} warm-up %", count, within=120)


async def wait_delivered(stack: BotStack, pattern: str, count: int, within: float) -> int:
    """How many of the jobs whose prompt is like `pattern` were delivered: `count`, or fewer
    once `within` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        (done,) = stack.query(
            "SELECT COUNT(*) FROM jobs WHERE state = 'delivered' AND prompt LIKE ?", (pattern,)
        )[0]
        assert isinstance(done, int)
        if done >= count or time.monotonic() > deadline:
            return done
        await asyncio.sleep(0.2)


async def ask_until_accepted(
    stack: BotStack, video: Video, rng: random.Random, scale: float, deadline: float
) -> None:
    """The member's /sora for `video`; refused, they try again a few minutes later."""
    while time.monotonic() < deadline:
        if await stack.sora(video.member, prompt=video.prompt) is not None:
            return
        video.refusals += 1
        await asyncio.sleep(rng.uniform(*RETRY_SECONDS) * scale)


async def event(
    stack: BotStack,
    label: str,
    members: int,
    heavy: int,
    scale: float,
    typical: float,
    rng: random.Random,
) -> tuple[list[Video], int]:
    """Everyone asks within the minute; the videos asked for, and how many were delivered."""
    names = stack.members[:members]
    start = time.time()
    plan: list[tuple[float, Video]] = []
    for number, member in enumerate(names):
        at = rng.uniform(0, ARRIVALS_SECONDS * scale)
        for index in range(HEAVY_VIDEOS if number < heavy else 1):
            video = Video(member, f"{label} {member} video {index + 1}", start + at)
            plan.append((at, video))
    # The whole event drains in about (videos / slots) typical times; with room for retries.
    rounds = len(plan) / SLOTS + 10
    deadline = time.monotonic() + rounds * typical * 3 * scale + 120

    async def member_asks(at: float, video: Video) -> None:
        await asyncio.sleep(at)
        video.asked_at = time.time()
        await ask_until_accepted(stack, video, rng, scale, deadline)

    await asyncio.gather(*(member_asks(at, video) for at, video in plan))
    delivered = await wait_delivered(
        stack, f"{label} %video%", len(plan), within=max(1.0, deadline - time.monotonic())
    )
    return [video for _, video in plan], delivered


async def run(
    stack: BotStack,
    *,
    queue: bool,
    scale: float,
    typical: float,
    members: int,
    heavy: int,
    slots: int,
    history_jobs: int,
) -> Figures:
    label = "queue" if queue else "no-queue"
    videos_asked = members + heavy * (HEAVY_VIDEOS - 1)
    await warm_up(stack, label, stack.members[members : members + history_jobs])
    stack.env |= {
        "MAX_ACTIVE_JOBS_PER_GUILD": str(slots),
        "MAX_ACTIVE_JOBS_PER_MEMBER": "2",
        "MAX_QUEUED_JOBS_PER_MEMBER": str(HEAVY_VIDEOS),
        # With the queue: room for the whole event, so no refusal is within its limits.
        "MAX_QUEUED_JOBS_PER_GUILD": str(videos_asked) if queue else "0",
    }
    await stack.start_bot(f"{label}.sqlite3")  # the same database, the event's settings
    rng = random.Random(SEED)  # the same arrivals in both runs
    before = len(stack.sim.tasks)
    videos, delivered = await event(stack, label, members, heavy, scale, typical, rng)
    tasks = [t for t in list(stack.sim.tasks.values())[before:] if isinstance(t, RivyaTask)]
    result = figures(videos, tasks, slots, scale)
    result.delivered = delivered
    return result


def show(queued: Figures, plain: Figures) -> None:
    print(f"videos delivered: {queued.delivered} of {queued.asked} (no queue: {plain.delivered})")
    print(f"refusals: {queued.refusals} (no queue: {plain.refusals})")
    print(
        f"longest wait of a one-video member: {queued.longest_single_wait:,.0f} s "
        f"(no queue: {plain.longest_single_wait:,.0f} s)"
    )
    print(
        f"Jain's fairness index of the members' waits: {queued.fairness:.2f} "
        f"(no queue: {plain.fairness:.2f})"
    )
    print(
        f"Jain's fairness index of the first round (videos started per member once as many "
        f"had started as there are members): {queued.first_round:.2f} "
        f"(no queue: {plain.first_round:.2f})"
    )
    singles = sum(1 for m in queued.waits if m not in queued.several)
    print(
        f"one-video members passed by another member's second or third video asked no "
        f"earlier: {queued.overtaken} of {singles} (no queue: {plain.overtaken})"
    )
    print(f"video service busy while anyone waited: {queued.busy:.1%} (no queue: {plain.busy:.1%})")
    for label, result in (("queue", queued), ("no queue", plain)):
        several = [result.waits[m] for m in result.several if m in result.waits]
        single = [w for m, w in result.waits.items() if m not in result.several]
        if several and single:
            print(
                f"{label}: mean wait per video of a {HEAVY_VIDEOS}-video member "
                f"{sum(several) / len(several):,.0f} s, of a one-video member "
                f"{sum(single) / len(single):,.0f} s"
            )


async def main(
    scale: float,
    typical: float,
    members: int = MEMBERS,
    heavy: int = HEAVY,
    slots: int = SLOTS,
    history_jobs: int = HISTORY_MIN,
) -> None:
    env = {
        "RIVYA_POLL_SECONDS": scaled(REAL_POLL_GAPS, scale),
        "MIN_POLL_SECONDS": f"{REAL_MIN_POLL * scale:g}",
        "DENSE_POLL_SECONDS": f"{REAL_DENSE_POLL * scale:g}",
        "STATUS_EDIT_INTERVAL_SECONDS": f"{5 * scale:g}",
        "DEFAULT_QUOTA": "100",
    }
    generation = random.Random(SEED)
    async with bot_stack(members + history_jobs, env) as stack:
        stack.sim.generation_seconds = lambda _task: (
            scale * typical * math.exp(generation.gauss(0, SPREAD))
        )
        sizes = {"members": members, "heavy": heavy, "slots": slots}
        queued = await run(
            stack, queue=True, scale=scale, typical=typical, history_jobs=history_jobs, **sizes
        )
        plain = await run(
            stack, queue=False, scale=scale, typical=typical, history_jobs=history_jobs, **sizes
        )
    print(
        f"{members} members in one minute ({heavy} ask for {HEAVY_VIDEOS} videos, the others for "
        f"one), {slots} slots at the service, generation lognormal around {typical:.0f} s "
        f"(+-{SPREAD:.0%}), time compressed x{1 / scale:g}; figures in real seconds"
    )
    show(queued, plain)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("scale", type=float, nargs="?", default=0.025, help="time compression")
    parser.add_argument("typical_seconds", type=float, nargs="?", default=180.0)
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--heavy", type=int, default=HEAVY, help="members asking for 3 videos")
    parser.add_argument("--slots", type=int, default=SLOTS, help="MAX_ACTIVE_JOBS_PER_GUILD")
    parser.add_argument(
        "--history-jobs",
        type=int,
        default=HISTORY_MIN,
        help="finished videos behind each run's database (the learned schedule)",
    )
    args = parser.parse_args()
    asyncio.run(
        main(
            args.scale,
            args.typical_seconds,
            args.members,
            args.heavy,
            args.slots,
            args.history_jobs,
        )
    )
