"""One place builds every service that is not Discord's: the kept videos, the delivery path and
the worker come from `open_services`, and the media housekeeping runs there too."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.i18n import Text, render
from bot.wiring import Services, open_services
from tests.support.doubles import RecordingChat
from tests.support.sims.rivya import RivyaSimulator

KEY = "rvya_sk_wiring_test"
DAY = 86_400


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    async with RivyaSimulator(KEY) as sim:
        settings = load_settings(
            {
                "DISCORD_TOKEN": "discord-token-value",
                "RIVYA_API_KEY": KEY,
                "RIVYA_BASE_URL": sim.base_url,
                "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"),
                "UPLOAD_LIMIT_MB": "8",
                "VIDEO_RETENTION_DAYS": "30",
            }
        )
        opened = await open_services(settings)
        try:
            yield opened
        finally:
            await opened.close()


async def test_the_worker_and_the_chat_adapter_share_one_delivery_path(
    services: Services, tmp_path: Path
) -> None:
    media = tmp_path / "data" / "media"
    assert services.shelf.folder == media / "videos" and services.shelf.work_dir == media / "tmp"
    assert services.delivery.shelf is services.shelf
    assert services.delivery.downloader is services.downloader
    assert services.delivery.upload_limit(None) == 8 * 1024 * 1024  # UPLOAD_LIMIT_MB
    chat = RecordingChat()
    worker = services.worker_for(chat)
    assert worker.steps.delivery is services.delivery and worker.steps.chat is chat
    assert worker.steps.on_provider_unusable == services.provider_unusable


def aged(path: Path, age_days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"v" * 100)
    then = time.time() - age_days * DAY
    os.utime(path, (then, then))
    return path


async def test_the_sweep_takes_old_videos_with_their_compressed_copies(
    services: Services,
) -> None:
    shelf = services.shelf
    old = aged(shelf.path_for(1), 31)
    old_copy = aged(shelf.fitted_path(old, 1000), 2)  # made by a recent /sora-show
    recent = aged(shelf.path_for(2), 1)
    recent_copy = aged(shelf.fitted_path(recent, 1000), 1)
    await services.sweep_media()
    assert not old.exists() and not old_copy.exists()
    assert recent.exists() and recent_copy.exists()


async def test_leftovers_of_an_earlier_run_are_cleared(services: Services) -> None:
    work = services.shelf.work_dir
    stopped = work / "fit-stopped"
    stopped.mkdir(parents=True)
    partial = work / "video-partial.mp4"
    partial.write_bytes(b"partial")
    await services.clear_media_leftovers()
    assert not stopped.exists() and not partial.exists()


async def test_the_encoder_downloads_and_disk_follow_the_settings(services: Services) -> None:
    limits = services.shelf.fitter.limits
    assert (limits.memory_bytes, limits.cpu_seconds) == (2048 * 1024 * 1024, 600)
    assert (limits.max_side, limits.max_seconds, limits.output_margin) == (4096, 120, 0.5)
    assert services.shelf.space is not None
    assert services.shelf.space.floor_bytes == 1024 * 1024 * 1024
    assert services.delivery.upkeep == services.bound_kept_videos
    assert services.show_cooldown.seconds == 60


async def test_the_disk_crossing_its_floor_is_told_once_and_so_is_its_recovery(
    services: Services,
) -> None:
    space = services.shelf.space
    assert space is not None
    free = {"bytes": 10 * 1024**3}
    space._free_bytes = lambda _path: free["bytes"]
    told: list[str] = []

    async def alert(text: Text) -> None:
        told.append(render(text, "en"))

    await services.attach_alerts(alert)
    await services.bound_kept_videos()
    assert told == []
    free["bytes"] = 300 * 1024 * 1024  # under the 1,024 MiB floor
    await services.bound_kept_videos()
    await services.bound_kept_videos()  # still low: said once
    assert told == [
        "⚠️ The disk holding the bot's media has 300 MiB free, below MEDIA_MIN_FREE_MB=1,024. "
        "New videos are still posted but no longer kept (so /sora-show cannot post them once "
        "the video service's link expires), and the oldest kept videos are being removed. "
        "Free some space on that disk."
    ]
    free["bytes"] = 2 * 1024**3
    await services.bound_kept_videos()
    assert len(told) == 2 and told[1].startswith("✅ The disk holding the bot's media has 2,048")
