"""Fitting a finished video under an upload limit by re-encoding it.

`VideoFitter.fit` is what the bot calls: a file already within the limit comes back unchanged;
a larger one is re-encoded (H.264 + AAC in an MP4 that starts playing before it is fully loaded)
by `bot.video.encoder_process` in a separate process, so the CPU-heavy work never runs on the event
loop. At most `concurrency` encodes run at once, each fit is bounded in time, the result is
measured and encoded once more, lower, if it came out too large. Every failure is a `FitError`
with a plain reason for the log.

`plan_encode` decides the numbers (bitrates, size) from the source's facts; it is pure, so the
rules can be read and tested without encoding anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.video.media_types import describe_size

log = logging.getLogger(__name__)

# Short sides tried from the top when the bitrate is too low for the source's own size.
SHORT_SIDES = (1080, 720, 540, 480, 360, 240)
# Below this many bits per pixel per frame, H.264 smears detail; a smaller picture looks better.
MIN_BITS_PER_PIXEL = 0.1
# Total bitrate from which each audio bitrate is used: music keeps 128 kb/s unless space is tight.
AUDIO_BITRATES = ((1_500_000, 128_000), (600_000, 96_000), (250_000, 64_000), (0, 32_000))
# Less than this for the picture is not worth posting.
MIN_VIDEO_BITRATE = 60_000
# MP4 headers and sample tables: a fixed part plus a little per second (frames and audio packets).
CONTAINER_BYTES = 16 * 1024
CONTAINER_BYTES_PER_SECOND = 2 * 1024
# Room for the audio encoder's and the muxer's small deviations from their targets.
RATE_MARGIN = 0.97
# The picture is encoded with a rate buffer (VBV) of this many seconds at its bitrate as the
# ceiling: no stretch of the video may use more than the bitrate plus one buffer, which caps the
# whole file where single-pass average bitrate alone can overshoot by 10% or more. The plan
# leaves room for that one buffer.
BUFFER_SECONDS = 1.0
# A second try aims this far below what the first try's overshoot suggests.
RETRY_MARGIN = 0.9
DEFAULT_FRAME_RATE = 30.0


class FitError(Exception):
    """The video could not be fitted under the limit; the message says why, for the log."""


@dataclass(frozen=True)
class VideoInfo:
    """Facts about a source video. Width and height are as displayed (rotation applied)."""

    duration: float
    width: int
    height: int
    rotation: int  # degrees counter-clockwise the picture is turned for display
    frame_rate: float | None
    has_audio: bool
    bit_rate: int | None  # whole file
    video_bit_rate: int | None
    audio_bit_rate: int | None


@dataclass(frozen=True)
class EncodePlan:
    width: int
    height: int
    video_bitrate: int  # both the average and the ceiling (with the buffer)
    video_buffer_bits: int
    audio_bitrate: int  # 0: no audio track


def plan_encode(info: VideoInfo, target_bytes: int) -> EncodePlan:
    """The encode that should land under `target_bytes`; raise `FitError` if none can."""
    if info.duration <= 0:
        raise FitError("the video has no duration")
    overhead = CONTAINER_BYTES + CONTAINER_BYTES_PER_SECOND * info.duration
    budget_bits = (target_bytes - overhead) * 8 * RATE_MARGIN
    audio = _audio_bitrate(budget_bits / info.duration, info) if info.has_audio else 0
    video = int((budget_bits - audio * info.duration) / (info.duration + BUFFER_SECONDS))
    if video < MIN_VIDEO_BITRATE:
        raise FitError(
            f"a {info.duration:.1f}-second video cannot fit in {describe_size(target_bytes)}"
        )
    if info.video_bit_rate:
        video = min(video, info.video_bit_rate)  # never spend more than the source had
    width, height = _frame_size(info, video)
    return EncodePlan(
        width=width,
        height=height,
        video_bitrate=video,
        video_buffer_bits=int(video * BUFFER_SECONDS),
        audio_bitrate=audio,
    )


def _audio_bitrate(total: float, info: VideoInfo) -> int:
    chosen = next((rate for floor, rate in AUDIO_BITRATES if total >= floor), AUDIO_BITRATES[-1][1])
    if info.audio_bit_rate:
        chosen = min(chosen, max(info.audio_bit_rate, AUDIO_BITRATES[-1][1]))
    return chosen


def _frame_size(info: VideoInfo, video_bitrate: int) -> tuple[int, int]:
    """The largest size the bitrate can feed, by the short side (portrait and landscape alike)."""
    short, long = sorted((info.width, info.height))
    fps = info.frame_rate or DEFAULT_FRAME_RATE
    sides = [short, *(side for side in SHORT_SIDES if side < short)]
    for side in sides:
        scaled_long = long * side / short
        if video_bitrate / (side * scaled_long * fps) >= MIN_BITS_PER_PIXEL:
            break
    new_short, new_long = _even(side), _even(long * side / short)
    if info.width <= info.height:
        return new_short, new_long
    return new_long, new_short


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def lower_target(target_bytes: int, produced_bytes: int, limit_bytes: int) -> int:
    """The target for a second try, after the first produced `produced_bytes` for `target_bytes`."""
    return int(target_bytes * limit_bytes / produced_bytes * RETRY_MARGIN)


class VideoFitter:
    """Fits videos under byte limits, at most `concurrency` encodes at a time.

    Each fit (both tries together) may take `timeout_seconds` once it has its turn; then the
    encoder is killed and its partial output removed.
    """

    def __init__(self, *, concurrency: int = 1, timeout_seconds: float = 300.0) -> None:
        self._turns = asyncio.Semaphore(concurrency)
        self.timeout_seconds = timeout_seconds

    async def fit(
        self,
        source: Path,
        limit_bytes: int,
        work_dir: Path,
        *,
        wait_seconds: float | None = None,
    ) -> Path:
        """Return `source` if it is within `limit_bytes`, else a re-encoded copy in `work_dir`.

        The copy is `work_dir/<source stem>.fitted.mp4` (replaced if it exists; so one fit per
        source and folder at a time) and is never larger than `limit_bytes`. Raises `FitError`
        when the video cannot be fitted, or when no encoder turn came within `wait_seconds`
        (None: wait for one as long as it takes); nothing is left in `work_dir` then.
        """
        try:
            size = source.stat().st_size
        except OSError as error:
            raise FitError(f"the video file cannot be read: {error.strerror}") from None
        if size <= limit_bytes:
            return source
        output = work_dir / f"{source.stem}.fitted.mp4"
        partial = work_dir / f"{source.stem}.fitted.part.mp4"
        output.unlink(missing_ok=True)  # a result from before is never taken for this one's
        try:
            async with asyncio.timeout(wait_seconds):
                await self._turns.acquire()
        except TimeoutError:
            raise FitError(f"no encoder was free within {wait_seconds:g} seconds") from None
        try:
            try:
                async with asyncio.timeout(self.timeout_seconds):
                    await self._attempts(source, partial, size, limit_bytes)
                partial.replace(output)
            except TimeoutError:
                raise FitError(
                    f"compressing took longer than {self.timeout_seconds:g} seconds"
                ) from None
            finally:
                partial.unlink(missing_ok=True)  # what a failed or stopped encode left
        finally:
            self._turns.release()
        return output

    async def _attempts(self, source: Path, partial: Path, size: int, limit_bytes: int) -> None:
        """Encode, measure, and encode once more lower if needed, until `partial` fits."""
        target = limit_bytes
        started = asyncio.get_running_loop().time()
        for attempt in (1, 2):
            report = await _run_child(source, partial, target)
            try:
                produced = partial.stat().st_size
            except OSError:
                raise FitError("the encoder finished without writing the video") from None
            if produced <= limit_bytes:
                plan = report.get("plan", {})
                log.info(
                    "Compressed %s from %s to %s (%sx%s, try %d, %.1f s) to fit %s",
                    source.name,
                    describe_size(size),
                    describe_size(produced),
                    plan.get("width"),
                    plan.get("height"),
                    attempt,
                    asyncio.get_running_loop().time() - started,
                    describe_size(limit_bytes),
                )
                return
            log.info(
                "Compressing %s: try %d came out at %s, over the %s limit",
                source.name,
                attempt,
                describe_size(produced),
                describe_size(limit_bytes),
            )
            target = lower_target(target, produced, limit_bytes)
        raise FitError(
            f"the compressed video is still {describe_size(produced)}, "
            f"over the {describe_size(limit_bytes)} limit, after two tries"
        )


async def _run_child(source: Path, output: Path, target_bytes: int) -> dict[str, Any]:
    """Run one encode in a child process; return its report or raise `FitError`.

    The child watches its stdin and exits when it closes, so it never outlives the bot; if this
    call is cancelled or times out, the child is killed here.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.video.encoder_process",
        str(source),
        str(output),
        str(target_bytes),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        out, err, status = await asyncio.gather(
            process.stdout.read(), process.stderr.read(), process.wait()
        )
    finally:
        if process.returncode is None:
            process.kill()
            with contextlib.suppress(ProcessLookupError):
                await process.wait()
    report = _parse_report(out)
    if report is not None and not report.get("ok"):
        raise FitError(str(report.get("reason", "the encoder failed")))
    if status != 0 or report is None:
        if status < 0:
            raise FitError(f"the encoder was stopped by signal {-status}")
        last_line = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise FitError(f"the encoder stopped with status {status}: {last_line[0][:300]}")
    return report


def _parse_report(out: bytes) -> dict[str, Any] | None:
    lines = out.decode(errors="replace").strip().splitlines()
    if not lines:
        return None
    try:
        report = json.loads(lines[-1])
    except ValueError:
        return None
    return report if isinstance(report, dict) else None
