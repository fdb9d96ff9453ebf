"""The encoder opens only what it is given, as what it was told it is, and stops at its limits.

The attack this guards against: a "video" from the video service that is really an FFmpeg
concat script naming another job's kept video in the same folder. Left to guess the format,
FFmpeg read the script and re-encoded the other video, which the bot then posted as this job's.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from bot.video.fitting import FitError, NotAVideo, OverLimit, VideoFitter
from bot.video.sandbox import EncoderLimits
from tests.support.sims.core import html_page
from tests.support.videos import VideoSpec, decode_all, write_undecodable, write_video

LIMIT = 250_000


@pytest.fixture(scope="module")
def neighbour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another job's kept video, about 800 KB: what the attack wants posted."""
    folder = tmp_path_factory.mktemp("videos")
    return write_video(folder / "job-1.mp4", VideoSpec(seconds=3.0))


def concat_script(target: str, size: int) -> bytes:
    head = f"ffconcat version 1.0\nfile {target}\nfile {target}\n".encode()
    return head + b"#" * (size - len(head))  # padded past the upload limit, to be "fitted"


def ftyp_box() -> bytes:
    return struct.pack(">I4s4sI", 24, b"ftyp", b"isom", 0x200) + b"isommp41"


def run_encoder(folder: Path, *arguments: str) -> tuple[int, dict[str, object]]:
    """The encoder process run by hand in `folder`, as the bot runs it (default limits)."""
    command = [
        sys.executable,
        "-m",
        "bot.video.encoder_process",
        arguments[0],
        *EncoderLimits().arguments(10 * LIMIT),
        *arguments[1:],
    ]
    done = subprocess.run(command, cwd=folder, capture_output=True, timeout=60, check=False)
    return done.returncode, json.loads(done.stdout.decode().strip().splitlines()[-1])


async def test_a_concat_script_next_to_another_video_is_not_a_video(
    neighbour: Path, tmp_path: Path
) -> None:
    result = neighbour.parent / "job-2.mp4"
    result.write_bytes(concat_script(neighbour.name, 3 * LIMIT))
    work = tmp_path / "work"
    with pytest.raises(NotAVideo, match="does not start like a video"):
        await VideoFitter().inspect(result, work)
    with pytest.raises(NotAVideo):
        await VideoFitter().fit(result, LIMIT, work)
    assert not work.exists()  # refused before any folder was made for the encoder


@pytest.mark.parametrize(
    "content",
    [
        # Told it is an MP4, the encoder reads the script as one, not as a script.
        lambda target: concat_script(target, 3 * LIMIT),
        # A real `ftyp` box first, the script after it.
        lambda target: ftyp_box() + concat_script(target, 3 * LIMIT),
        lambda target: ftyp_box() + f"#EXTM3U\n#EXTINF:3,\n{target}\n".encode() * 2000,
    ],
    ids=["script", "ftyp then script", "ftyp then playlist"],
)
def test_the_encoder_itself_never_reads_the_other_video(
    neighbour: Path, tmp_path: Path, content: object
) -> None:
    # The encoder run directly in the folder of kept videos, without the bot's box around it.
    make = content  # type: ignore[assignment]
    result = neighbour.parent / "job-3.mp4"
    result.write_bytes(make(neighbour.name))  # type: ignore[operator]
    output = tmp_path / "fitted.mp4"
    for mode in (["probe"], ["fit"]):
        extra = [str(output), str(LIMIT)] if mode == ["fit"] else []
        status, report = run_encoder(neighbour.parent, *mode, "--format=mp4", str(result), *extra)
        assert status == 1 and report["ok"] is False and report["kind"] == "not_video"
        assert not output.exists()


def test_the_encoder_refuses_a_file_that_is_not_what_it_was_told(
    neighbour: Path, tmp_path: Path
) -> None:
    status, report = run_encoder(tmp_path, "probe", "--format=webm", str(neighbour))
    assert status == 1 and report["kind"] == "not_video"
    assert "does not start like WebM" in str(report["reason"])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (html_page(200).encode() * 200, "does not start like a video"),
        (b"PK\x03\x04" + bytes(5000), "does not start like a video"),
        (os.urandom(5000), "does not start like a video"),
    ],
    ids=["html", "zip", "random"],
)
async def test_other_files_are_not_videos(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "result.mp4"
    path.write_bytes(data)
    with pytest.raises(NotAVideo, match=reason):
        await VideoFitter().inspect(path, tmp_path / "work")


async def test_a_file_that_starts_like_an_mp4_but_does_not_decode_is_not_a_video(
    tmp_path: Path,
) -> None:
    path = write_undecodable(tmp_path / "broken.mp4")
    with pytest.raises(NotAVideo, match="not a readable video"):
        await VideoFitter().inspect(path, tmp_path / "work")
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize("container", ["mp4", "webm", "matroska"])
async def test_real_videos_pass_the_check_and_fit(tmp_path: Path, container: str) -> None:
    source = write_video(tmp_path / f"clip.{container}", VideoSpec(container=container))
    inspected = await VideoFitter().inspect(source, tmp_path / "work")
    assert inspected.kind.name == container
    assert (inspected.info.width, inspected.info.height) == (320, 240)
    assert abs(inspected.info.duration - 2.0) < 0.1 and inspected.info.has_audio
    fitted = await VideoFitter().fit(source, 150_000, tmp_path / "work")
    assert fitted.stat().st_size <= 150_000
    assert decode_all(fitted).video_codec == "h264"


async def test_a_picture_over_the_size_limit_is_not_decoded(tmp_path: Path) -> None:
    source = write_video(tmp_path / "wide.mp4", VideoSpec(width=640, height=240, seconds=0.5))
    fitter = VideoFitter(limits=EncoderLimits(max_side=480))
    with pytest.raises(OverLimit, match="640x240, over the 480-pixel limit"):
        await fitter.inspect(source, tmp_path / "work")
    with pytest.raises(OverLimit, match="640x240"):
        await fitter.fit(source, 10_000, tmp_path / "work")
    assert list((tmp_path / "work").iterdir()) == []


async def test_a_video_over_the_duration_limit_is_not_decoded(tmp_path: Path) -> None:
    source = write_video(tmp_path / "long.mp4", VideoSpec(seconds=3.0))
    fitter = VideoFitter(limits=EncoderLimits(max_seconds=2.5))
    with pytest.raises(OverLimit, match=r"lasts 3 seconds, over the 2\.5-second limit"):
        await fitter.inspect(source, tmp_path / "work")


async def test_a_codec_not_decoded_here_is_over_the_limits(tmp_path: Path) -> None:
    source = write_video(
        tmp_path / "old.mkv",
        VideoSpec(seconds=0.5, container="matroska", video_codec="mpeg2video"),
    )
    with pytest.raises(OverLimit, match=r"codec not decoded here \(mpeg2video\)"):
        await VideoFitter().inspect(source, tmp_path / "work")


async def test_an_encode_past_its_cpu_time_is_stopped(tmp_path: Path) -> None:
    # About 2 s of CPU time to fit: kept at its size, so the encode has work to do.
    source = write_video(tmp_path / "long.mp4", VideoSpec(width=960, height=720, seconds=8.0))
    fitter = VideoFitter(limits=EncoderLimits(cpu_seconds=1))
    with pytest.raises(FitError) as raised:
        await fitter.fit(source, 1_000_000, tmp_path / "work")
    assert isinstance(raised.value, OverLimit) and "CPU time" in str(raised.value)
    assert list((tmp_path / "work").iterdir()) == []
