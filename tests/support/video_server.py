"""A tiny HTTP server that serves fake videos of a chosen size, and real ones, for download
tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from tests.support.sims.media import fake_mp4, mp4_chunks

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
VIDEO_SEED = "video-server"


def fake_video(size: int) -> bytes:
    """A playable stand-in video of exactly `size` bytes (see tests/support/sims/media.py)."""
    return fake_mp4(size, VIDEO_SEED)


@asynccontextmanager
async def video_server(
    files: dict[str, bytes] | None = None,
    *,
    host: str = "127.0.0.1",
    hits: list[str] | None = None,
) -> AsyncIterator[str]:
    """Serve `GET /video/<size>` (`fake_video(size)`, streamed, with Content-Length), `/gone`
    (404), `/file/<name>`: the bytes `files[name]` (put real videos in `files`, also later),
    `/chunked/<size>` (no Content-Length), `/page` (an HTML page, said to be a video/mp4) and
    `/to?url=...&status=302` (a redirect there). On `host`; each path asked for is appended
    to `hits`."""
    served = files if files is not None else {}
    asked = hits if hits is not None else []

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        asked.append(request.path_qs)
        return await handler(request)

    async def video(request: web.Request) -> web.StreamResponse:
        # Streamed from one reused chunk: a large video costs the server no memory, so a test
        # or benchmark measuring the client's memory in this process measures only the client.
        size = int(request.match_info["size"])
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.content_length = size
        await response.prepare(request)
        for chunk in mp4_chunks(size, VIDEO_SEED):
            await response.write(chunk)
        return response

    async def gone(_request: web.Request) -> web.Response:
        return web.Response(status=404, text="expired")

    async def file(request: web.Request) -> web.Response:
        data = served.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404, text="expired")
        return web.Response(body=data, content_type="video/mp4")

    async def chunked(request: web.Request) -> web.StreamResponse:
        data = fake_video(int(request.match_info["size"]))
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), 65536):
            await response.write(data[start : start + 65536])
        return response

    async def page(_request: web.Request) -> web.Response:
        html = "<!doctype html><html><body><h1>Your video is almost ready</h1></body></html>"
        return web.Response(body=html.encode() * 50, content_type="video/mp4")

    async def redirect(request: web.Request) -> web.Response:
        status = int(request.query.get("status", "302"))
        return web.Response(status=status, headers={"Location": request.query["url"]})

    app = web.Application(middlewares=[record])
    app.router.add_get("/chunked/{size}", chunked)
    app.router.add_get("/page", page)
    app.router.add_get("/to", redirect)
    app.router.add_get("/video/{size}", video)
    app.router.add_get("/gone", gone)
    app.router.add_get("/file/{name}", file)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
