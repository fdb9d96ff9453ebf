"""One place builds every service that is not Discord's: the kept videos, the delivery path and
the worker come from `open_services`, and the media housekeeping runs there too."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import load_settings
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
