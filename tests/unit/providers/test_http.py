"""Reading provider answers that arrive in several pieces, or are not JSON at all."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.providers.http import MAX_BODY, parse_retry_after, read_json

BIG = {"status": "processing", "enhanced_prompt": "x" * 200_000, "progress": 40}


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def slow_big(request: web.Request) -> web.StreamResponse:
        body = json.dumps(BIG).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for start in range(0, len(body), 7000):
            await response.write(body[start : start + 7000])
            await asyncio.sleep(0)  # arrive in separate pieces
        return response

    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=b"[" + b"1," * MAX_BODY + b"1]")

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/big", slow_big)
    app.router.add_get("/huge", huge)
    app.router.add_get("/html", html)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def read(url: str) -> object:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await read_json(response)


async def test_a_body_in_many_pieces_is_read_whole(server: str) -> None:
    assert await read(f"{server}/big") == BIG


async def test_oversized_and_html_bodies_are_not_json(server: str) -> None:
    assert await read(f"{server}/huge") is None
    assert await read(f"{server}/html") is None


def test_retry_after_forms() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
