"""The web gallery at size: page times with 10,000 jobs in a server, and the memory 20
parallel video streams add, on SQLite and PostgreSQL.

`sora-bot web` runs as its own process against the fake Discord (its permission answers
cached, as in production) on a database holding 10,000 delivered jobs of one server, with
their quota ledger (two rows each) and 500 moderator actions. Measured from a client on the
same machine (so server time plus a loopback round trip):

- the gallery walked page by page (24 videos a page, keyset on job ids), and the quota log
  (50 entries a page, keyset on time);
- in the same run, the baseline: the same pages on an empty database, and the database's
  time for a gallery page fetched by OFFSET at the same depths (what keyset paging avoids);
- the web process's resident memory idle, and at its highest while 20 clients each stream a
  50 MiB video at once, reading slowly (Range requests from the middle of the file).

Run: .venv/bin/python -m benchmarks.bench_web
PostgreSQL runs as a throw-away server (the Debian package), as in the tests, unless two empty
databases are given with --database-url (the full one, then the empty one). --jobs, --streams
and --video-mib make a smaller run (the test suite's smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.storage.database import open_database
from tests.e2e.conftest import RIVYA_KEY, free_port
from tests.support.fake_discord import BotRunner, FakeDiscord
from tests.support.sims.rivya import RivyaSimulator
from tests.support.web_client import WebClient, web_env

JOBS = 10_000
ACTIONS_PER_JOB = 0.05  # moderator actions in the log beside the ledger (500 for 10,000 jobs)
EMPTY_REPEATS = 60  # the first page of an empty database, asked this many times
STREAMS = 20
VIDEO_MIB = 50
CHUNK = 500
GALLERY_PAGE = 24


@dataclass(frozen=True)
class Size:
    jobs: int = JOBS
    streams: int = STREAMS
    video_mib: int = VIDEO_MIB

    @property
    def actions(self) -> int:
        return max(1, round(self.jobs * ACTIONS_PER_JOB))

    @property
    def label(self) -> str:
        return f"{self.jobs:,} jobs"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def fill(
    url: str, guild: int, channel: int, users: list[int], video: Path, size: Size
) -> None:
    """`size.jobs` delivered jobs (each with its kept copy's path), their ledger (two rows
    each) and a moderator action for every 20 jobs."""
    db = await open_database(url)
    now = time.time()
    options = json.dumps({"orientation": "landscape", "duration": 10, "quality": "standard"})
    try:
        for start in range(0, size.jobs, CHUNK):
            async with db.transaction() as conn:
                for n in range(start, min(size.jobs, start + CHUNK)):
                    at = now - (size.jobs - n) * 700.0  # 10,000 jobs: about 80 days back
                    user = users[n % len(users)]
                    job = await conn.insert_returning_id(
                        "INSERT INTO jobs (guild_id, channel_id, user_id, provider, model, prompt, "
                        "options_json, state, idempotency_key, next_action_at, deadline_at, "
                        "created_at, updated_at, finished_at, result_message_id, video_path, "
                        "video_bytes) VALUES (?, ?, ?, 'rivya', 'sora-2-pro', ?, ?, 'delivered', "
                        "?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            guild,
                            channel,
                            user,
                            f"video number {n} of a long evening",
                            options,
                            f"bench-{n}",
                            at,
                            at + 1800,
                            at,
                            at,
                            at + 120,
                            10**12 + n,
                            str(video),
                            video.stat().st_size,
                        ),
                    )
                    for kind, units in (("hold", 1), ("charge", 0)):
                        await conn.execute(
                            "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, units, "
                            "period_start, created_at) VALUES (?, ?, ?, ?, ?, '2026-01-01', ?)",
                            (guild, user, job, kind, units, at),
                        )
        async with db.transaction() as conn:
            for n in range(size.actions):
                await conn.execute(
                    "INSERT INTO moderation_actions (guild_id, actor_id, action, target_user_id, "
                    "detail, created_at) VALUES (?, ?, 'set_limit', ?, 'set a limit', ?)",
                    (guild, users[0], users[n % len(users)], now - n * 900.0),
                )
    finally:
        await db.close()


async def offset_baseline(url: str, guild: int, channel: int, jobs: int) -> list[float]:
    """The database's time for gallery pages fetched by OFFSET, at the depths walked."""
    db = await open_database(url)
    times = []
    try:
        for page in range(jobs // GALLERY_PAGE + 1):
            started = time.perf_counter()
            async with db.reading() as conn:
                await conn.fetch_all(
                    "SELECT * FROM jobs WHERE guild_id = ? AND state = 'delivered' "
                    "AND result_deleted_at IS NULL AND channel_id IN (?) "
                    "ORDER BY id DESC LIMIT 25 OFFSET ?",
                    (guild, channel, page * GALLERY_PAGE),
                )
            times.append(time.perf_counter() - started)
    finally:
        await db.close()
    return times


async def walk(web: WebClient, path: str, cursor: str, repeats: int | None = None) -> list[float]:
    """Request `path` and its following pages (the "older" link's `cursor` value) to the
    last; with `repeats`, the first page that many times instead."""
    times: list[float] = []
    query: dict[str, str] = {}
    for _ in range(repeats or 100_000):
        started = time.perf_counter()
        page = await web.get(path, params=query)
        times.append(time.perf_counter() - started)
        assert page.status == 200, page.text[:300]
        marker = f"{cursor}="
        if marker not in page.text:
            if repeats is None:
                break
            continue
        value = page.text.split(marker, 1)[1].split('"', 1)[0].split("&", 1)[0]
        query = {cursor: value.replace("&amp;", "&")}
    return times


def rss_mib(pid: int) -> float:
    """Resident memory of the process and its children (the web runs under the launcher)."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if status.parent.name == str(pid) or fields.get("PPid", "").strip() == str(pid):
            total += int(fields.get("VmRSS", "0 kB").split()[0])
    return total / 1024


async def streams(base: str, cookie: str, path: str, pid: int, size: Size) -> tuple[float, float]:
    """Idle memory, and the highest while 20 slow clients stream the video at once."""
    idle = rss_mib(pid)
    peak = idle
    stop = asyncio.Event()

    async def one(index: int) -> None:
        start = (index * 1_000_003) % (size.video_mib * 1024 * 1024 // 2)
        async with (
            aiohttp.ClientSession(cookies={"sora_session": cookie}) as http,
            http.get(base + path, headers={"Range": f"bytes={start}-"}) as reply,
        ):
            assert reply.status == 206
            read = 0
            while read < 8 * 1024 * 1024 and not stop.is_set():
                chunk = await reply.content.read(64 * 1024)
                if not chunk:
                    break
                read += len(chunk)
                await asyncio.sleep(0.01)  # a viewer, not a download

    async def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_mib(pid))
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(one(i) for i in range(size.streams)))
    stop.set()
    await watcher
    return idle, peak


async def measure(engine: str, url: str, empty_url: str, work: Path, size: Size) -> None:
    work.mkdir(parents=True, exist_ok=True)
    video = work / "big.mp4"
    with video.open("wb") as out:
        out.write(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41")
        out.write(bytes(size.video_mib * 1024 * 1024 - 32))
    async with FakeDiscord() as sim, RivyaSimulator(RIVYA_KEY) as rivya:
        users = [sim.user(key).id for key in ("alice", "bob", "carol", "dana")]
        guild, channel = sim.guild_id, sim.channel("general").id
        started = time.perf_counter()
        await fill(url, guild, channel, users, video, size)
        filled = time.perf_counter() - started
        results: dict[str, dict[str, list[float]]] = {}
        for label, database in ((size.label, url), ("empty", empty_url)):
            port = free_port()
            env = {
                **sim.launcher_env,
                **web_env(sim, port, cache_seconds="60"),
                "DISCORD_TOKEN": sim.token,
                "RIVYA_API_KEY": RIVYA_KEY,
                "RIVYA_BASE_URL": rivya.base_url,
                "DATABASE_URL": database,
                "MEDIA_DIR": str(work / "media"),
                "LOG_LEVEL": "warning",
            }
            async with BotRunner(work / f"logs-{label}") as runner:
                web = await runner.start("bot", env, cwd=work, args=("web",))
                base = f"http://127.0.0.1:{port}"
                await _wait_until_up(base)
                async with WebClient(base, sim) as member:
                    await member.sign_in("admin")  # Manage Server: a moderator
                    await member.get(f"/servers/{guild}")  # warm the permission cache
                    repeats = None if database == url else EMPTY_REPEATS
                    gallery = await walk(member, f"/servers/{guild}", "before", repeats)
                    log = await walk(member, f"/servers/{guild}/log", "after", repeats)
                    results[label] = {"gallery": gallery, "log": log}
                    if database == url:
                        job = await _any_job(url)
                        cookie = member.cookie("sora_session") or ""
                        # The kept copies are outside MEDIA_DIR/videos: put one inside.
                        kept = work / "media" / "videos" / f"job-{job}.mp4"
                        kept.parent.mkdir(parents=True, exist_ok=True)
                        if not kept.exists():
                            os.link(video, kept)
                        await _set_video_path(url, job, kept)
                        assert web.pid is not None
                        path = f"/videos/{job}/file"
                        idle, peak = await streams(base, cookie, path, web.pid, size)
                await runner.stop_all()
        offset = await offset_baseline(url, guild, channel, size.jobs)
    print(f"\n{engine}: {size.jobs:,} jobs in one server ({filled:.0f} s to fill)")
    for label, lists in results.items():
        for name, times in lists.items():
            p50, p95 = 1000 * statistics.median(times), 1000 * percentile(times, 0.95)
            print(
                f"  {name:<8} {label:<12} {len(times):>3} pages  p50 {p50:6.1f} ms"
                f"  p95 {p95:6.1f} ms  slowest {1000 * max(times):6.1f} ms"
            )
    print(
        f"  database alone, every gallery page by OFFSET instead of keyset: "
        f"p50 {1000 * statistics.median(offset):.1f} ms, p95 {1000 * percentile(offset, 0.95):.1f} "
        f"ms, deepest {1000 * offset[-1]:.1f} ms"
    )
    print(
        f"  memory: {idle:.0f} MiB idle, {peak:.0f} MiB at most with {size.streams} streams "
        f"(+{peak - idle:.1f} MiB)"
    )


async def _wait_until_up(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(base + "/") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("the web did not start")


async def _any_job(url: str) -> int:
    db = await open_database(url)
    try:
        return int(await db.fetch_value("SELECT MAX(id) FROM jobs"))
    finally:
        await db.close()


async def _set_video_path(url: str, job: int, path: Path) -> None:
    db = await open_database(url)
    try:
        await db.execute("UPDATE jobs SET video_path = ? WHERE id = ?", (str(path), job))
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=JOBS, help="delivered jobs in the server")
    parser.add_argument("--streams", type=int, default=STREAMS, help="parallel video streams")
    parser.add_argument(
        "--video-mib", type=int, default=VIDEO_MIB, help="the streamed video's size"
    )
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        help="two empty PostgreSQL databases (the full one, then the empty one) instead of a "
        "throw-away server",
    )
    args = parser.parse_args()
    if args.database_url and len(args.database_url) != 2:
        parser.error("--database-url: give two empty databases, or none")
    size = Size(jobs=max(1, args.jobs), streams=max(1, args.streams), video_mib=args.video_mib)
    if size.video_mib < 1:
        parser.error("--video-mib: at least 1")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        asyncio.run(
            measure(
                "SQLite",
                f"sqlite:///{work / 'full.sqlite3'}",
                f"sqlite:///{work / 'empty.sqlite3'}",
                work / "sqlite",
                size,
            )
        )
        if args.database_url:
            full, empty = args.database_url
            asyncio.run(measure("PostgreSQL", full, empty, work / "postgres", size))
            return
        from tests.support.postgres_cluster import Databases, PostgresCluster

        with PostgresCluster() as cluster:
            databases = Databases(cluster)
            asyncio.run(
                measure("PostgreSQL", databases.empty(), databases.empty(), work / "postgres", size)
            )


if __name__ == "__main__":
    main()
