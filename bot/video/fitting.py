"""Checking a finished video, and fitting it under an upload limit by re-encoding it.

Both run in `bot.video.encoder_process`, a separate process in a box (bot/video/sandbox.py):
what is decoded comes from the video service, and the CPU-heavy work never runs on the event
loop. `VideoFitter.inspect` says whether a file is a video whose streams decode, within the
limits; `VideoFitter.fit` returns a file already within the upload limit unchanged, and
re-encodes a larger one (H.264 + AAC in an MP4 that starts playing before it is fully loaded).
At most `concurrency` encodes run at once (deliveries before reposts), each fit is bounded in
time, the result is measured and encoded once more, lower, if it came out too large. Every
failure is a `FitError` with a plain reason for the log: `NotAVideo` when the file is not a
video at all, `OverLimit` when it is one over the encoder's limits.

`plan_encode` decides the numbers (bitrates, size) from the source's facts; it is pure, so the
rules can be read and tested without encoding anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import logging
import signal
import sys
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from bot.video.media_types import (
    VIDEO_HEAD_BYTES,
    VideoType,
    describe_size,
    sniff_video_type,
)
from bot.video.sandbox import EncoderLimits, encoder_environment, make_box, remove_box

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
# Checks are short (one picture decoded): a few at a time, beside the encodes, each bounded.
PROBE_CONCURRENCY = 2
PROBE_TIMEOUT_SECONDS = 60.0


class FitError(Exception):
    """The video could not be fitted under the limit; the message says why, for the log."""


class NotAVideo(FitError):
    """The file is not a video whose streams decode (an HTML page, a playlist, a script, an
    archive, random bytes): it is never kept, fitted or posted."""


class OverLimit(FitError):
    """A video over one of the encoder's limits (picture size, duration, a codec not decoded
    here, memory, CPU time): it is not fitted; its link is posted instead."""


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


class Priority(IntEnum):
    """Who is waiting for the encoder: a job's delivery goes before a /sora-show repost."""

    DELIVERY = 0
    REPOST = 1


class EncoderTurns:
    """At most `count` encodes at once; when one ends, the next turn goes to the waiting
    delivery that came first, and to a repost only when no delivery waits."""

    def __init__(self, count: int) -> None:
        self._free = count
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    async def acquire(self, priority: Priority) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrivals), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # given the turn just as the wait was stopped: pass it on
            raise

    def release(self) -> None:
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():  # a wait stopped meanwhile left its turn cancelled
                turn.set_result(None)
                return
        self._free += 1

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, turn in self._waiting if not turn.done())


@dataclass(frozen=True)
class Inspected:
    """A file found to be a video whose streams decode, within the limits."""

    kind: VideoType
    info: VideoInfo


def video_type_of(path: Path) -> VideoType:
    """The container `path` opens like; `NotAVideo` if none the bot accepts."""
    try:
        with path.open("rb") as handle:
            head = handle.read(VIDEO_HEAD_BYTES)
    except OSError as error:
        raise FitError(f"the video file cannot be read: {error.strerror}") from None
    kind = sniff_video_type(head)
    if kind is None:
        raise NotAVideo("the file does not start like a video (MP4/MOV or WebM/Matroska)")
    return kind


class VideoFitter:
    """Checks and fits videos in encoder processes, at most `concurrency` encodes at a time.

    Each fit (both tries together) may take `timeout_seconds` once it has its turn; then the
    encoder is killed and its partial output removed. `limits` bound each encoder process.
    """

    def __init__(
        self,
        *,
        concurrency: int = 1,
        timeout_seconds: float = 300.0,
        limits: EncoderLimits | None = None,
    ) -> None:
        self._turns = EncoderTurns(concurrency)
        self._probes = asyncio.Semaphore(PROBE_CONCURRENCY)
        self.timeout_seconds = timeout_seconds
        self.limits = limits or EncoderLimits(cpu_seconds=int(2 * timeout_seconds))

    async def inspect(self, source: Path, work_dir: Path) -> Inspected:
        """Check in an encoder process that `source` is a video whose streams decode, within
        the limits. Raises `NotAVideo`, `OverLimit`, or `FitError` when the check itself could
        not be made (it crashed or took longer than `PROBE_TIMEOUT_SECONDS`)."""
        kind = await asyncio.to_thread(video_type_of, source)
        async with self._probes:
            inside = await asyncio.to_thread(make_box, work_dir, source, f"video.{kind.extension}")
            try:
                async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                    report = await _run_child(
                        ["probe", *self._limit_arguments(0), f"--format={kind.name}", str(inside)],
                        inside.parent,
                    )
            except TimeoutError:
                raise FitError(
                    f"checking the video took longer than {PROBE_TIMEOUT_SECONDS:g} seconds"
                ) from None
            finally:
                await asyncio.to_thread(remove_box, inside)
        return Inspected(kind, VideoInfo(**report["info"]))

    async def fit(
        self,
        source: Path,
        limit_bytes: int,
        work_dir: Path,
        *,
        wait_seconds: float | None = None,
        priority: Priority = Priority.DELIVERY,
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
        kind = await asyncio.to_thread(video_type_of, source)
        output = work_dir / f"{source.stem}.fitted.mp4"
        partial = work_dir / f"{source.stem}.fitted.part.mp4"
        output.unlink(missing_ok=True)  # a result from before is never taken for this one's
        try:
            async with asyncio.timeout(wait_seconds):
                await self._turns.acquire(priority)
        except TimeoutError:
            raise FitError(f"no encoder was free within {wait_seconds:g} seconds") from None
        try:
            inside = await asyncio.to_thread(make_box, work_dir, source, f"video.{kind.extension}")
            try:
                async with asyncio.timeout(self.timeout_seconds):
                    await self._attempts(source.name, inside, kind, partial, size, limit_bytes)
                partial.replace(output)
            except TimeoutError:
                raise FitError(
                    f"compressing took longer than {self.timeout_seconds:g} seconds"
                ) from None
            finally:
                partial.unlink(missing_ok=True)  # what a failed or stopped encode left
                await asyncio.to_thread(remove_box, inside)
        finally:
            self._turns.release()
        return output

    def _limit_arguments(self, output_bytes: int) -> list[str]:
        return self.limits.arguments(output_bytes)

    async def _attempts(
        self, name: str, inside: Path, kind: VideoType, partial: Path, size: int, limit_bytes: int
    ) -> None:
        """Encode `inside` (the video called `name` in the log), measure, and encode once more
        lower if needed, until `partial` fits."""
        target = limit_bytes
        started = asyncio.get_running_loop().time()
        for attempt in (1, 2):
            arguments = [
                "fit",
                *self._limit_arguments(self.limits.output_bytes(limit_bytes)),
                f"--format={kind.name}",
                str(inside),
                str(partial),
                str(target),
            ]
            report = await _run_child(arguments, inside.parent)
            try:
                produced = partial.stat().st_size
            except OSError:
                raise FitError("the encoder finished without writing the video") from None
            if produced <= limit_bytes:
                plan = report.get("plan", {})
                log.info(
                    "Compressed %s from %s to %s (%sx%s, try %d, %.1f s) to fit %s",
                    name,
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
                name,
                attempt,
                describe_size(produced),
                describe_size(limit_bytes),
            )
            target = lower_target(target, produced, limit_bytes)
        raise FitError(
            f"the compressed video is still {describe_size(produced)}, "
            f"over the {describe_size(limit_bytes)} limit, after two tries"
        )


# How the encoder process's report names a failure, and what it is here.
_FAILURES: dict[str, type[FitError]] = {
    "not_video": NotAVideo,
    "over_limit": OverLimit,
    "failed": FitError,
}


async def _run_child(arguments: list[str], box: Path) -> dict[str, Any]:
    """Run the encoder process in `box` (its working and home folder, holding only the
    video) with nothing of the bot's environment but the allow-list; return its report or
    raise `FitError` (or the subclass its report names).

    The child watches its stdin and exits when it closes, so it never outlives the bot; if this
    call is cancelled or times out, the child is killed here.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.video.encoder_process",
        *arguments,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=box,
        env=encoder_environment(box),
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
        failure = _FAILURES.get(str(report.get("kind")), FitError)
        raise failure(str(report.get("reason", "the encoder failed")))
    if status != 0 or report is None:
        if status == -signal.SIGXCPU:
            raise OverLimit("the encoder used up its CPU time")
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
