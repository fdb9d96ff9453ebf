"""Memory while fetching a large finished video: it is streamed to disk, never held whole.

Prints the size fetched, the time, and the peak Python heap growth during the download. Its
baseline, in the same run: the same download of a 1 MiB video (what any download costs, so
the difference is what the size adds).
Run: .venv/bin/python -m benchmarks.bench_download [megabytes]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bot.video.destinations import Destinations
from bot.video.download import VideoDownloader
from tests.support.video_server import video_server

MIB = 1024 * 1024
BASELINE_MIB = 1


async def measure(downloader: VideoDownloader, videos: str, megabytes: int) -> tuple[float, int]:
    """(seconds, peak Python heap growth in bytes) of fetching a `megabytes` MiB video."""
    size = megabytes * MIB
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    result = await downloader.fetch(f"{videos}/video/{size}", max_bytes=size)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    assert result.size == size
    result.path.unlink()
    return elapsed, peak


async def main(megabytes: int) -> None:
    # The server streams from one reused chunk, so it adds nothing per byte to this process.
    with tempfile.TemporaryDirectory() as folder:
        async with (
            video_server() as videos,
            VideoDownloader(Path(folder), 30, Destinations(videos)) as downloader,
        ):
            elapsed, peak = await measure(downloader, videos, megabytes)
            _, small_peak = await measure(downloader, videos, BASELINE_MIB)
    print(f"downloaded {megabytes} MiB in {elapsed:.2f} s ({megabytes / elapsed:.0f} MiB/s)")
    print(f"peak Python heap growth during the download: {peak / MIB:.2f} MiB")
    print(
        f"baseline, the same download of a {BASELINE_MIB} MiB video: peak heap growth "
        f"{small_peak / MIB:.2f} MiB"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
