"""Fitting real videos: encoded here, fitted by the real encoder process, decoded to check."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest

from bot.video.fitting import EncoderTurns, FitError, NotAVideo, Priority, VideoFitter
from bot.video.sandbox import EncoderLimits
from tests.support.videos import VideoSpec, decode_all, write_undecodable, write_video

SECONDS = 3.0
LIMIT = 250_000  # the sources are about 800 KB


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sources")
    return {
        "landscape": write_video(folder / "landscape.mp4", VideoSpec(seconds=SECONDS)),
        "portrait": write_video(
            folder / "portrait.mp4", VideoSpec(width=240, height=320, seconds=SECONDS)
        ),
        "turned": write_video(folder / "turned.mp4", VideoSpec(seconds=SECONDS, rotation=90)),
        "silent": write_video(folder / "silent.mp4", VideoSpec(seconds=SECONDS, audio=False)),
    }


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


Spawn = Callable[..., Any]


def intercept_children(
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[list[str]], list[str]] | None = None,
    on_start: asyncio.Event | None = None,
) -> list[asyncio.subprocess.Process]:
    """Record each encoder process started (optionally changing its arguments first)."""
    started: list[asyncio.subprocess.Process] = []
    real: Spawn = asyncio.create_subprocess_exec

    async def spawn(*args: str, **kwargs: Any) -> asyncio.subprocess.Process:
        process = await real(*(change(list(args)) if change else args), **kwargs)
        started.append(process)
        if on_start is not None:
            on_start.set()
        return process

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spawn)
    return started


def is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize(
    ("name", "shape"),
    [("landscape", (320, 240)), ("portrait", (240, 320)), ("turned", (240, 320))],
)
async def test_a_large_video_is_fitted_and_still_plays_whole(
    sources: dict[str, Path], work_dir: Path, name: str, shape: tuple[int, int]
) -> None:
    source = sources[name]
    assert source.stat().st_size > 2 * LIMIT

    fitted = await VideoFitter().fit(source, LIMIT, work_dir)

    assert fitted.parent == work_dir
    assert fitted.stat().st_size <= LIMIT
    result = decode_all(fitted)
    assert (result.width, result.height) == shape
    assert result.rotation == 0  # turned upright, not left to a player to honour metadata
    assert result.video_codec == "h264" and result.audio_codec == "aac"
    assert abs(result.seconds - SECONDS) <= 0.2
    assert abs(result.audio_seconds - SECONDS) <= 0.2
    head = fitted.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")  # playable while it loads
    assert list(work_dir.iterdir()) == [fitted]


async def test_a_video_without_sound_stays_without(
    sources: dict[str, Path], work_dir: Path
) -> None:
    fitted = await VideoFitter().fit(sources["silent"], LIMIT, work_dir)
    result = decode_all(fitted)
    assert result.audio_codec is None
    assert abs(result.seconds - SECONDS) <= 0.2
    assert fitted.stat().st_size <= LIMIT


async def test_a_video_within_the_limit_is_returned_untouched(
    sources: dict[str, Path], work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = intercept_children(monkeypatch)
    source = sources["landscape"]
    before = source.read_bytes()

    fitted = await VideoFitter().fit(source, len(before), work_dir)

    assert fitted == source
    assert source.read_bytes() == before
    assert started == []
    assert list(work_dir.iterdir()) == []


async def test_an_undecodable_file_is_a_fit_error(tmp_path: Path, work_dir: Path) -> None:
    source = write_undecodable(tmp_path / "broken.mp4")
    (work_dir / "broken.fitted.mp4").write_bytes(b"an earlier result")  # never taken for new
    with pytest.raises(NotAVideo, match="not a readable video"):
        await VideoFitter().fit(source, 1000, work_dir)
    assert list(work_dir.iterdir()) == []


async def test_no_free_encoder_within_the_wait_is_a_fit_error(
    sources: dict[str, Path], work_dir: Path
) -> None:
    fitter = VideoFitter(concurrency=1)
    await fitter._turns.acquire(Priority.DELIVERY)  # another video is being compressed
    with pytest.raises(FitError, match=r"no encoder was free within 0\.05 seconds"):
        await fitter.fit(sources["landscape"], LIMIT, work_dir, wait_seconds=0.05)
    fitter._turns.release()
    assert list(work_dir.iterdir()) == []
    # The turn is free again: the same fit now goes through.
    fitted = await fitter.fit(sources["landscape"], LIMIT, work_dir, wait_seconds=0.05)
    assert fitted.stat().st_size <= LIMIT


async def test_a_missing_file_is_a_fit_error(tmp_path: Path, work_dir: Path) -> None:
    with pytest.raises(FitError, match="cannot be read"):
        await VideoFitter().fit(tmp_path / "gone.mp4", 1000, work_dir)


async def test_a_limit_too_small_for_the_duration_is_a_fit_error(
    sources: dict[str, Path], work_dir: Path
) -> None:
    with pytest.raises(FitError, match="cannot fit"):
        await VideoFitter().fit(sources["landscape"], 20_000, work_dir)
    assert list(work_dir.iterdir()) == []


async def test_an_overshoot_is_encoded_again_lower(
    sources: dict[str, Path], work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def first_aims_too_high(args: list[str]) -> list[str]:
        if not started:  # the encoder "misses" on the first try: aims at twice the target
            args[-1] = str(int(args[-1]) * 2)
        return args

    started = intercept_children(monkeypatch, first_aims_too_high)
    room = EncoderLimits(output_margin=2.0)  # the miss may be written whole, to be measured

    fitted = await VideoFitter(limits=room).fit(sources["landscape"], LIMIT, work_dir)

    assert len(started) == 2
    assert fitted.stat().st_size <= LIMIT
    assert decode_all(fitted).video_frames > 0


async def test_still_too_large_after_the_retry_is_a_fit_error_and_leaves_nothing(
    sources: dict[str, Path], work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always_too_high(args: list[str]) -> list[str]:
        args[-1] = str(LIMIT * 3)  # an encoder that ignores what it is asked for
        return args

    started = intercept_children(monkeypatch, always_too_high)
    room = EncoderLimits(output_margin=3.0)

    with pytest.raises(FitError, match=r"still .* over the .* limit, after two tries"):
        await VideoFitter(limits=room).fit(sources["landscape"], LIMIT, work_dir)
    assert len(started) == 2
    assert list(work_dir.iterdir()) == []


async def test_an_encode_far_over_the_limit_is_stopped_by_the_file_size_limit(
    sources: dict[str, Path], work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always_too_high(args: list[str]) -> list[str]:
        args[-1] = str(LIMIT * 3)
        return args

    started = intercept_children(monkeypatch, always_too_high)

    with pytest.raises(FitError, match=r"File too large"):
        await VideoFitter(limits=EncoderLimits(output_margin=0.5)).fit(
            sources["landscape"], LIMIT, work_dir
        )
    assert len(started) == 1  # the first try was stopped at 1.5 × the limit: no second
    assert list(work_dir.iterdir()) == []


async def test_a_timeout_kills_the_encoder_and_removes_its_output(
    sources: dict[str, Path], work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hang(args: list[str]) -> list[str]:
        # A stand-in encoder that wrote part of its output and then hangs.
        Path(args[-2]).write_bytes(b"partial")
        return [sys.executable, "-c", "import time; time.sleep(600)"]

    started = intercept_children(monkeypatch, hang)

    with pytest.raises(FitError, match=r"longer than 0\.5 seconds"):
        await VideoFitter(timeout_seconds=0.5).fit(sources["landscape"], LIMIT, work_dir)

    assert len(started) == 1
    assert started[0].returncode == -signal.SIGKILL
    assert is_gone(started[0].pid)
    assert list(work_dir.iterdir()) == []


async def test_a_stopped_fit_kills_its_encoder(
    sources: dict[str, Path], work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned = asyncio.Event()

    def hang(args: list[str]) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(600)"]

    started = intercept_children(monkeypatch, hang, on_start=spawned)
    fit = asyncio.create_task(VideoFitter().fit(sources["landscape"], LIMIT, work_dir))
    await asyncio.wait_for(spawned.wait(), 30)
    fit.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fit
    assert started[0].returncode is not None
    assert is_gone(started[0].pid)


async def test_only_the_configured_number_of_encodes_run_at_once(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = intercept_children(monkeypatch)
    most_running = 0
    real_wait = asyncio.subprocess.Process.wait

    async def counting_wait(process: asyncio.subprocess.Process) -> int:
        nonlocal most_running
        running = sum(1 for p in started if p.returncode is None)
        most_running = max(most_running, running)
        return await real_wait(process)

    monkeypatch.setattr(asyncio.subprocess.Process, "wait", counting_wait)
    fitter = VideoFitter(concurrency=1)
    folders = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    for folder in folders:
        folder.mkdir()
    names = ["landscape", "portrait", "silent"]

    results = await asyncio.gather(
        *(
            fitter.fit(sources[name], LIMIT, folder)
            for name, folder in zip(names, folders, strict=True)
        )
    )

    assert len(started) == 3
    assert most_running == 1
    assert all(path.stat().st_size <= LIMIT for path in results)


def test_the_encoder_exits_when_the_bot_is_gone(tmp_path: Path) -> None:
    # A source that never delivers a byte keeps the encoder waiting; closing its stdin (what
    # the bot's death does) must still end it.
    source = tmp_path / "never.mp4"
    os.mkfifo(source)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.video.encoder_process",
            "fit",
            *VideoFitter().limits.arguments(1000),
            "--format=mp4",
            str(source),
            str(tmp_path / "o.mp4"),
            "1",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert child.stdin is not None
        child.stdin.close()
        assert child.wait(timeout=30) == 3
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def first_luma(path: Path) -> tuple[int, int, bytes]:
    """Width, height and tightly packed luma of the first frame, as stored (no rotation)."""
    with av.open(str(path)) as container:
        frame = next(container.decode(container.streams.video[0]))
        plane = frame.reformat(format="gray").planes[0]
        data = bytes(plane)
        rows = (
            data[r * plane.line_size : r * plane.line_size + frame.width]
            for r in range(frame.height)
        )
        return frame.width, frame.height, b"".join(rows)


async def test_a_turned_video_is_turned_the_way_its_metadata_says(
    sources: dict[str, Path], work_dir: Path
) -> None:
    width, height, stored = first_luma(sources["turned"])  # 320x240, shown turned 90° left
    fitted = await VideoFitter().fit(sources["turned"], LIMIT, work_dir)
    new_width, new_height, upright = first_luma(fitted)
    assert (new_width, new_height) == (height, width)

    def difference(turn_left: bool) -> float:
        total = 0
        for row in range(new_height):
            for col in range(new_width):
                if turn_left:  # the stored picture turned 90° counter-clockwise
                    expected = stored[col * width + (width - 1 - row)]
                else:
                    expected = stored[(height - 1 - col) * width + row]
                total += abs(upright[row * new_width + col] - expected)
        return total / len(upright)

    assert difference(turn_left=True) < 10 < difference(turn_left=False)


async def test_waiting_deliveries_get_the_encoder_before_waiting_reposts() -> None:
    turns = EncoderTurns(1)
    await turns.acquire(Priority.DELIVERY)  # a delivery is being compressed
    order: list[str] = []

    async def wait(name: str, priority: Priority) -> None:
        await turns.acquire(priority)
        order.append(name)
        await asyncio.sleep(0)
        turns.release()

    waits = [
        asyncio.create_task(wait("show 1", Priority.REPOST)),
        asyncio.create_task(wait("show 2", Priority.REPOST)),
        asyncio.create_task(wait("delivery", Priority.DELIVERY)),
    ]
    await asyncio.sleep(0)
    assert turns.waiting == 3
    turns.release()
    await asyncio.gather(*waits)
    assert order == ["delivery", "show 1", "show 2"]
    await turns.acquire(Priority.REPOST)  # all turns came back: one is free at once


async def test_a_wait_given_up_does_not_take_a_turn_with_it() -> None:
    turns = EncoderTurns(1)
    await turns.acquire(Priority.DELIVERY)
    given_up = asyncio.create_task(turns.acquire(Priority.DELIVERY))
    waiting = asyncio.create_task(turns.acquire(Priority.REPOST))
    await asyncio.sleep(0)
    given_up.cancel()
    turns.release()
    await asyncio.wait_for(waiting, 1)  # the turn went past the stopped wait
    # Handed the turn at the very moment it was stopped: the turn is passed on, not lost.
    after = asyncio.create_task(turns.acquire(Priority.DELIVERY))
    await asyncio.sleep(0)
    turns.release()
    after.cancel()
    with pytest.raises(asyncio.CancelledError):
        await after
    await asyncio.wait_for(turns.acquire(Priority.DELIVERY), 1)
