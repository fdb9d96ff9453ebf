"""Memory while fetching a large finished video: it is streamed to disk, never held whole.

Prints the size fetched, the time, and the peak Python heap growth during the download.
Run: .venv/bin/python -m benchmarks.bench_download [megabytes]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from aiohttp import web

from bot.video.destinations import Destinations
from bot.video.download import VideoDownloader

CHUNK = b"\x11" * 65536
# An MP4's opening box, so the download takes it for a video.
HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


async def serve(size: int) -> tuple[web.AppRunner, str]:
    """A server that streams `size` bytes from one reused chunk (allocates nothing per byte)."""

    async def video(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.content_length = size
        await response.prepare(request)
        await response.write(HEAD)
        for start in range(len(HEAD), size, len(CHUNK)):
            await response.write(CHUNK[: min(len(CHUNK), size - start)])
        return response

    app = web.Application()
    app.router.add_get("/video", video)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/video"


async def main(megabytes: int) -> None:
    size = megabytes * 1024 * 1024
    runner, url = await serve(size)
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with VideoDownloader(Path(folder), 30, Destinations(url)) as downloader:
                tracemalloc.start()
                baseline = tracemalloc.get_traced_memory()[0]
                started = time.perf_counter()
                result = await downloader.fetch(url, max_bytes=size)
                elapsed = time.perf_counter() - started
                peak = tracemalloc.get_traced_memory()[1] - baseline
                tracemalloc.stop()
                assert result.size == size
    finally:
        await runner.cleanup()
    print(f"downloaded {megabytes} MiB in {elapsed:.2f} s ({megabytes / elapsed:.0f} MiB/s)")
    print(f"peak Python heap growth during the download: {peak / 1024 / 1024:.2f} MiB")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
