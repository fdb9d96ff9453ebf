"""A tiny HTTP server that serves fake videos of a chosen size, and real ones, for download
tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
CHUNK_BYTES = 65536
FILLER = b"\x11" * CHUNK_BYTES


def fake_video(size: int) -> bytes:
    return (MP4_HEAD + b"\x11" * max(0, size - len(MP4_HEAD)))[:size]


@asynccontextmanager
async def video_server(files: dict[str, bytes] | None = None) -> AsyncIterator[str]:
    """Serve `GET /video/<size>` (`fake_video(size)`, streamed, with Content-Length), `/gone`
    (404), and `/file/<name>`: the bytes `files[name]` (put real videos in `files`, also
    later)."""
    served = files if files is not None else {}

    async def video(request: web.Request) -> web.StreamResponse:
        # Streamed from one reused chunk: a large video costs the server no memory, so a test
        # or benchmark measuring the client's memory in this process measures only the client.
        size = int(request.match_info["size"])
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.content_length = size
        await response.prepare(request)
        head = fake_video(min(size, CHUNK_BYTES))
        await response.write(head)
        for start in range(len(head), size, CHUNK_BYTES):
            await response.write(FILLER if size - start >= CHUNK_BYTES else FILLER[: size - start])
        return response

    async def gone(_request: web.Request) -> web.Response:
        return web.Response(status=404, text="expired")

    async def file(request: web.Request) -> web.Response:
        data = served.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404, text="expired")
        return web.Response(body=data, content_type="video/mp4")

    app = web.Application()
    app.router.add_get("/video/{size}", video)
    app.router.add_get("/gone", gone)
    app.router.add_get("/file/{name}", file)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
