"""The web gallery in a real browser: Debian's chromium, driven by Playwright, against
`sora-bot web` (its own process) on a database holding a few real, playable videos.

scripts/test.sh installs chromium when it is missing; nothing downloads a browser build. The
tests fail (never skip) without it, so a fresh clone's CI runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from bot.clock import SystemClock
from bot.jobs.queue import SlotCaps
from bot.jobs.store import JobStore
from bot.models import Actor
from bot.moderation.service import ModerationService
from bot.quota.allowance import QuotaDefaults, QuotaPolicy
from bot.storage import jobs as job_rows
from bot.storage.database import open_database
from tests.e2e.conftest import RIVYA_KEY, free_port
from tests.support.fake_discord import BotRunner, FakeDiscord, default_world
from tests.support.sims.rivya import RivyaSimulator
from tests.support.videos import VideoSpec, write_video
from tests.support.web_client import web_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, and nothing that would reach Google: no QUIC, sync, updates or background requests.
# As root, chromium needs --no-sandbox. Playwright gives each launch a fresh profile folder.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PRIVATE = "mods-only"
DAY = 86_400.0


@dataclass
class WebSite:
    base: str
    discord: FakeDiscord
    database: Path
    jobs: dict[str, int]  # a few job ids by name
    screenshots: Path


def _job_values(guild: int, channel: int, user: int, prompt: str, at: float) -> dict[str, object]:
    return {
        "guild_id": guild,
        "channel_id": channel,
        "user_id": user,
        "provider": "rivya",
        "model": "sora-2-pro",
        "prompt": prompt,
        "options_json": json.dumps(
            {"orientation": "landscape", "duration": 10, "quality": "standard", "toggles": {}}
        ),
        "state": "delivered",
        "idempotency_key": f"seed-{user}-{at}",
        "next_action_at": at,
        "deadline_at": at + 1800,
        "created_at": at,
        "updated_at": at,
        "finished_at": at + 120,
        "public_locale": "zh-TW",
    }


async def _seed(site_dir: Path, sim: FakeDiscord, clip: Path) -> tuple[Path, dict[str, int]]:
    """A database with delivered videos (each with its kept copy), a failure and a few
    moderator actions, spread over the last days so the charts have something to draw."""
    database = site_dir / "data" / "bot.sqlite3"
    videos = site_dir / "data" / "media" / "videos"
    videos.mkdir(parents=True)
    db = await open_database(database)
    now = time.time()
    guild = sim.guild_id
    made = [
        ("alice", "general", "一隻在雪地裡奔跑的狐狸，電影感慢動作", 0.2),
        ("alice", "general", "a paper boat sailing down a rainy street", 1.5),
        ("bob", "videos", "a lighthouse in a storm, waves crashing", 3.2),
        ("alice", "videos", "neon koi fish swimming through a night market", 6.1),
        ("mod", PRIVATE, "the moderators' secret plan", 8.4),
    ]
    jobs: dict[str, int] = {}
    try:
        for index, (user, channel, prompt, days_ago) in enumerate(made):
            values = _job_values(
                guild, sim.channel(channel).id, sim.user(user).id, prompt, now - days_ago * DAY
            )
            values["result_message_id"] = 9_000 + index
            async with db.writing() as conn:
                row = await job_rows.insert(conn, values)
            kept = videos / f"job-{row['id']}.mp4"
            shutil.copyfile(clip, kept)
            await db.execute(
                "UPDATE jobs SET video_path = ?, video_bytes = ? WHERE id = ?",
                (str(kept), kept.stat().st_size, row["id"]),
            )
            jobs.setdefault(user, int(row["id"]))
        failed = _job_values(guild, sim.channel("general").id, sim.user("bob").id, "x", now - DAY)
        failed |= {"state": "failed", "error_code": "generation_failed", "finished_at": None}
        async with db.writing() as conn:
            await job_rows.insert(conn, failed)
        clock = SystemClock()
        store = JobStore(
            db,
            clock,
            provider="rivya",
            model="sora-2-pro",
            deadline_seconds=1800,
            caps=SlotCaps(per_member=2),
        )
        policy = QuotaPolicy(db, QuotaDefaults(5, "day", ZoneInfo("UTC")))
        moderation = ModerationService(db=db, clock=clock, jobs=store, policy=policy)
        admin = Actor(guild, sim.user("admin").id, manage_guild=True)
        await moderation.block(admin, sim.user("carol").id, "spam")
        await moderation.blocklist_add(admin, "血腥")
        await moderation.grant(admin, sim.user("bob").id, 2, "contest winner")
    finally:
        await db.close()
    return database, jobs


@pytest_asyncio.fixture
async def site(tmp_path: Path) -> AsyncIterator[WebSite]:
    world = default_world(guild_name="Sora 創作社")
    world.add_private_channel(PRIVATE, roles=("Moderator",))
    for key in ("alice", "bob", "mod", "admin"):
        world.users[key].locale = "zh-TW"
    clip = write_video(
        tmp_path / "clip.mp4", VideoSpec(seconds=1.0, width=320, height=180, grain=48)
    )
    async with (
        FakeDiscord(world) as discord,
        RivyaSimulator(RIVYA_KEY) as provider,
        BotRunner(tmp_path / "logs") as runner,
    ):
        database, jobs = await _seed(tmp_path / "site", discord, clip)
        port = free_port()
        env = {
            **discord.launcher_env,
            **web_env(discord, port, cache_seconds="5"),
            "DISCORD_TOKEN": discord.token,
            "RIVYA_API_KEY": RIVYA_KEY,
            "RIVYA_BASE_URL": provider.base_url,
            "DATABASE_PATH": str(database),
            "MOD_ROLE_IDS": str(discord.role("Moderator").id),
            "QUOTA_TIMEZONE": "Asia/Taipei",
        }
        web = await runner.start("bot", env, cwd=tmp_path / "site", args=("web",))
        await web.wait_for_log("web gallery on", timeout=20)
        shots = Path(os.environ.get("WEB_SCREENSHOTS") or tmp_path / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        yield WebSite(f"http://127.0.0.1:{port}", discord, database, jobs, shots)
        log = web.log_text()
        await runner.stop_all()
        assert "Traceback" not in log, log[-3000:]
        for secret in (discord.token, discord.oauth.client_secret, *discord.oauth.issued):
            assert secret not in log


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "The browser tests need Debian's chromium (/usr/bin/chromium): run scripts/test.sh, "
            "which installs it, or apt-get install chromium."
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()
