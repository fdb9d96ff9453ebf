"""Fitting a large finished video under Discord's upload limits, as the bot does.

Makes a 15-second 1080p clip (~30 MB, panning texture and a tone) once, then, as the bot does
with a finished video over the upload limit, checks it (`VideoFitter.inspect`) and fits it into
10 MiB and 8 MiB (`VideoFitter.fit`), each in the sandboxed encoder process, and prints for
each: the time, the output size, a quality figure against the source (luma PSNR on frames
sampled twice a second, compared at 640x360), the peak memory of this process (the bot's) and
of the encoder process, and the longest stall of a 10 ms ticker on this event loop during the
encode. Each figure has a baseline from the same run beside it; the time's is the same encode
without the box (no check, no box, no limits: `encoder_process.fit` called in a helper process
at the encoder's lower priority). The clip is made and the PSNR computed in another helper
process, so neither counts against this process's memory.
Run: .venv/bin/python -m benchmarks.bench_fit
Smaller runs: --seconds, --size, --limits and --idle-seconds (see --help).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bot.video.fitting import VideoFitter
from bot.video.media_types import ISO_MEDIA, describe_size
from bot.video.sandbox import NICENESS

MIB = 1024 * 1024
LIMITS = (10 * MIB, 8 * MIB)
TICK = 0.01
IDLE_SECONDS = 3.0  # the ticker's baseline: how late it wakes with nothing running
COMPARE_SIZE = (640, 360)
SAMPLES_PER_SECOND = 2


async def longest_stall(stop: asyncio.Event) -> float:
    """How late, at worst, a 10 ms sleep on this loop woke up until `stop` is set."""
    loop = asyncio.get_running_loop()
    worst, last = 0.0, loop.time()
    while not stop.is_set():
        await asyncio.sleep(TICK)
        now = loop.time()
        worst = max(worst, now - last - TICK)
        last = now
    return worst


async def idle_stall(seconds: float) -> float:
    stop = asyncio.Event()
    ticker = asyncio.create_task(longest_stall(stop))
    await asyncio.sleep(seconds)
    stop.set()
    return await ticker


def peak_rss(who: int) -> int:
    return resource.getrusage(who).ru_maxrss * 1024  # KiB on Linux


# The helper process does everything that decodes or encodes, so PyAV is imported there only,
# as in the bot, whose own process never loads it.


@dataclass(frozen=True)
class Clip:
    """The source clip: 15 s of 1080p by default, like a large finished video."""

    seconds: float = 15.0
    width: int = 1920
    height: int = 1080


def make_clip(path: Path, clip: Clip) -> None:
    from tests.support.videos import VideoSpec, write_video

    # Blotches 10 px across, panning faster and turning: about as hard to compress as a busy
    # generated scene. The quick preset at a high bitrate gives a ~30 MB file like the provider's.
    spec = VideoSpec(
        width=clip.width,
        height=clip.height,
        seconds=clip.seconds,
        fps=30,
        video_bitrate=16_000_000,
        grain=10,
        preset="ultrafast",
    )
    write_video(path, spec)


def _sampled_luma(path: Path) -> list[bytes]:
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        every = max(1, round(float(video.average_rate or 30) / SAMPLES_PER_SECOND))
        width, height = COMPARE_SIZE
        planes = []
        for index, frame in enumerate(container.decode(video)):
            if index % every == 0:
                gray = frame.reformat(width=width, height=height, format="gray")
                plane = gray.planes[0]
                data = bytes(plane)
                planes.append(
                    b"".join(
                        data[row * plane.line_size : row * plane.line_size + width]
                        for row in range(height)
                    )
                )
        return planes


def compare(source: Path, fitted: Path) -> tuple[float, str]:
    """Mean luma PSNR in dB of `fitted` against `source` on the sampled frames, and its size."""
    import av

    originals, copies = _sampled_luma(source), _sampled_luma(fitted)
    scores = []
    for original, copy in zip(originals, copies, strict=True):
        error = sum((a - b) * (a - b) for a, b in zip(original, copy, strict=True)) / len(original)
        scores.append(100.0 if error == 0 else 10 * math.log10(255 * 255 / error))
    with av.open(str(fitted)) as container:
        video = container.streams.video[0]
        return sum(scores) / len(scores), f"{video.width}x{video.height}"


def unboxed_fit_seconds(source: Path, output: Path, limit: int) -> float:
    """The encode alone, as before the box: one try, in this (helper) process."""
    from bot.video.encoder_process import fit

    started = time.perf_counter()
    fit(source, ISO_MEDIA, output, limit, max_side=4096, max_seconds=120)
    return time.perf_counter() - started


def decode_seconds(path: Path) -> float:
    """Time to decode every frame of `path`, the floor under any re-encode."""
    import av

    started = time.perf_counter()
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        for _ in container.decode(video):
            pass
    return time.perf_counter() - started


def mib(size: int) -> str:
    return f"{size / MIB:g} MiB"


async def main(
    clip: Clip = Clip(), limits: tuple[int, ...] = LIMITS, idle_seconds: float = IDLE_SECONDS
) -> None:
    loop = asyncio.get_running_loop()
    spawn = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory() as folder,
        ProcessPoolExecutor(1, mp_context=spawn) as helper,
        # The encode without the box, at the priority the encoder process gives itself.
        ProcessPoolExecutor(
            1, mp_context=spawn, initializer=os.nice, initargs=(NICENESS,)
        ) as unboxed_helper,
    ):
        source = Path(folder) / "clip.mp4"
        print(f"making a {clip.seconds:g} s {clip.height}p clip ...", flush=True)
        await loop.run_in_executor(helper, make_clip, source, clip)
        decoding = await loop.run_in_executor(helper, decode_seconds, source)
        idle = await idle_stall(idle_seconds)
        rss_before = peak_rss(resource.RUSAGE_SELF)
        print(
            f"source: {describe_size(source.stat().st_size)}, {clip.width}x{clip.height}, "
            f"{clip.seconds:g} s; "
            f"decoding it alone takes {decoding:.1f} s; "
            f"ticker stall with nothing running {idle * 1000:.1f} ms; "
            f"this process's peak memory before fitting {rss_before / MIB:.0f} MiB"
        )
        fitter = VideoFitter(concurrency=1, timeout_seconds=300)
        results = []
        for limit in limits:
            work = Path(folder) / f"fit-{limit}"
            work.mkdir()
            stop = asyncio.Event()
            ticker = asyncio.create_task(longest_stall(stop))
            unboxed = await loop.run_in_executor(
                unboxed_helper, unboxed_fit_seconds, source, work / "unboxed.mp4", limit
            )
            stop.set()
            unboxed_stall = await ticker
            stop = asyncio.Event()
            ticker = asyncio.create_task(longest_stall(stop))
            started = time.perf_counter()
            await fitter.inspect(source, work)
            checked = time.perf_counter() - started
            fitted = await fitter.fit(source, limit, work)
            elapsed = time.perf_counter() - started
            stop.set()
            stall = await ticker
            rss = peak_rss(resource.RUSAGE_SELF)
            results.append((limit, fitted, checked, elapsed, unboxed, stall, unboxed_stall, rss))
        encoder_peak = peak_rss(resource.RUSAGE_CHILDREN)  # the helper is still running
        for limit, fitted, checked, elapsed, unboxed, stall, unboxed_stall, rss in results:
            psnr, size_text = await loop.run_in_executor(helper, compare, source, fitted)
            print(
                f"fit into {mib(limit)}: {elapsed:.1f} s in the box (the check "
                f"{checked:.1f} s of it; the same encode without the box {unboxed:.1f} s; "
                f"decoding alone {decoding:.1f} s); "
                f"{describe_size(fitted.stat().st_size)} at {size_text} "
                f"(source {describe_size(source.stat().st_size)}); "
                f"luma PSNR {psnr:.1f} dB; "
                f"peak memory: this process {rss / MIB:.0f} MiB "
                f"(before fitting {rss_before / MIB:.0f} MiB), "
                f"encoder process {encoder_peak / MIB:.0f} MiB; "
                f"longest stall {stall * 1000:.1f} ms (during the encode without the box "
                f"{unboxed_stall * 1000:.1f} ms, idle {idle * 1000:.1f} ms)"
            )


def size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=Clip.seconds, help="the clip's length")
    parser.add_argument("--size", type=size, default=(Clip.width, Clip.height), help="WxH")
    parser.add_argument(
        "--limits",
        type=lambda text: tuple(round(float(part) * MIB) for part in text.split(",")),
        default=LIMITS,
        help="upload limits to fit into, in MiB, comma-separated (default 10,8)",
    )
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS)
    args = parser.parse_args()
    asyncio.run(main(Clip(args.seconds, *args.size), args.limits, args.idle_seconds))
