"""The encoder process works in a box: a folder holding only its video, an environment without
the bot's secrets, and limits it cannot raise. Seen from outside, in /proc, while it works."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.video.fitting import VideoFitter
from bot.video.sandbox import (
    INHERITED,
    SOURCE_ROOT,
    EncoderLimits,
    encoder_environment,
    make_box,
    remove_box,
)
from tests.support.processes import watch_encoder
from tests.support.videos import VideoSpec, write_video

SECRETS = {
    "DISCORD_TOKEN": "MTIz.discord-token-never-to-leak",
    "RIVYA_API_KEY": "rvya_sk_never_to_leak",
    "UNIFIED_API_KEY": "sk-unified-never-to-leak",
    "DATABASE_URL": "postgresql://sora:pw-never-to-leak@db:5432/sora",
    "HTTPS_PROXY": "http://user:proxy-pw-never-to-leak@proxy:3128",
}


def test_the_environment_is_built_from_an_allow_list(tmp_path: Path) -> None:
    parent = {**SECRETS, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": "/opt/extra"}
    env = encoder_environment(tmp_path, parent)
    assert not set(SECRETS) & set(env)
    assert not any(secret in value for secret in SECRETS.values() for value in env.values())
    assert env["PATH"] == "/usr/bin:/bin" and env["LANG"] == "C.UTF-8"
    assert env["HOME"] == env["TMPDIR"] == str(tmp_path)
    assert env["PYTHONPATH"].split(os.pathsep) == [str(SOURCE_ROOT), "/opt/extra"]
    assert set(env) <= {*INHERITED, "HOME", "TMPDIR", "PYTHONPATH"} | {
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONNOUSERSITE",
        "MALLOC_ARENA_MAX",
    }


def test_the_box_holds_the_video_alone_and_goes_afterwards(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    source = videos / "job-2.mp4"
    source.write_bytes(b"the video")
    (videos / "job-1.mp4").write_bytes(b"another member's video")
    work = tmp_path / "tmp"

    inside = make_box(work, source, "video.mp4")

    assert inside.parent.parent == work and inside.parent.name.startswith("encoder-")
    assert os.listdir(inside.parent) == ["video.mp4"]
    assert inside.read_bytes() == b"the video"
    assert inside.stat().st_ino == source.stat().st_ino  # linked, not copied
    assert inside.parent.stat().st_mode & 0o777 == 0o700
    remove_box(inside)
    assert list(work.iterdir()) == [] and source.read_bytes() == b"the video"


async def test_the_running_encoder_holds_no_secret_and_is_confined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    # Long enough to be caught at work (a second or more).
    source = write_video(tmp_path / "long.mp4", VideoSpec(width=640, height=480, seconds=6.0))
    (tmp_path / "job-1.mp4").write_bytes(b"a neighbour the encoder must not see")
    work = tmp_path / "work"
    work.mkdir()
    limits = EncoderLimits(memory_bytes=1536 * 1024 * 1024, cpu_seconds=321)
    fit = asyncio.create_task(VideoFitter(limits=limits).fit(source, 300_000, work))

    seen = await watch_encoder(os.getpid())
    fitted = await fit

    assert not set(SECRETS) & set(seen.env)
    assert not any(s in v for s in SECRETS.values() for v in seen.env.values())
    assert seen.cwd.parent == work and seen.cwd.name.startswith("encoder-")
    assert seen.env["HOME"] == str(seen.cwd)
    assert seen.files_in_cwd == ["video.mp4"]
    assert seen.limits["Max address space"] == str(1536 * 1024 * 1024)
    assert seen.limits["Max cpu time"] == "321"
    assert seen.limits["Max file size"] == str(limits.output_bytes(300_000))
    assert seen.limits["Max core file size"] == "0"
    assert fitted.stat().st_size <= 300_000
    assert os.listdir(work) == [fitted.name]  # the box is gone
