"""Self-tests of UnifiedVideoSimulator: each gateway variant and each injection mode.

Also a runnable guide: every test shows how a bot test drives the simulator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from tests.support.sims.unified import (
    FAILED_SPELLINGS,
    FAILURE_LOCATIONS,
    PROCESSING_SPELLINGS,
    QUEUED_SPELLINGS,
    SUCCEEDED_SPELLINGS,
    UNKNOWN_SPELLING,
    VIDEO_URL_LOCATIONS,
    UnifiedVideoSimulator,
)

KEY = "sk-test"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
async def sim() -> AsyncIterator[UnifiedVideoSimulator]:
    async with UnifiedVideoSimulator(api_key=KEY) as simulator:
        yield simulator


def body(**changes: Any) -> dict[str, Any]:
    return {
        "images": [],
        "model": "sora-2-pro",
        "orientation": "portrait",
        "prompt": "make animate",
        "size": "large",
        "duration": 15,
        "watermark": False,
        "private": True,
    } | changes


async def create(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator, payload: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    async with http.post(
        sim.url("/v1/video/create"), json=body() if payload is None else payload, headers=AUTH
    ) as resp:
        return resp.status, await resp.json()


async def query(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator, task_id: str
) -> dict[str, Any]:
    async with http.get(sim.url("/v1/video/query"), params={"id": task_id}, headers=AUTH) as resp:
        assert resp.status == 200
        return await resp.json()


async def finished(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator, payload: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """Create a task that finishes on its first query; return its id and that query's answer."""
    sim.polls_until_done = 1
    _, task = await create(http, sim, payload)
    return task["id"], await query(http, sim, task["id"])


# --------------------------------------------------------------------------- create


async def test_create_task_style(http: aiohttp.ClientSession, sim: UnifiedVideoSimulator) -> None:
    before = time.time() * 1000
    status, task = await create(http, sim)
    assert status == 200
    assert set(task) == {"id", "status", "status_update_time"}
    prefix, _, ulid = task["id"].partition(":task_")
    assert (prefix, len(ulid), task["status"]) == ("sora-2", 26, "pending")
    assert before - 1000 <= task["status_update_time"] <= time.time() * 1000 + 1000
    stored = sim.tasks[task["id"]]
    assert (stored.duration, stored.orientation, stored.watermark) == (15, "portrait", False)


async def test_create_openai_style(http: aiohttp.ClientSession) -> None:
    async with UnifiedVideoSimulator(api_key=KEY, create_style="openai") as sim:
        _, task = await create(http, sim)
        assert task["id"].startswith("video_")
        assert (task["object"], task["status"], task["progress"]) == ("video", "queued", 0)
        assert (await query(http, sim, task["id"]))["status"] == "in_progress"


async def test_create_validation(http: aiohttp.ClientSession, sim: UnifiedVideoSimulator) -> None:
    without_private = body()
    del without_private["private"]
    bad_bodies = {
        "missing field": without_private,
        "duration as string": body(duration="15"),
        "duration not for pro": body(duration=10),
        "size not for pro": body(size="small"),
        "orientation": body(orientation="square"),
        "watermark as string": body(watermark="false"),
        "images not a list": body(images="https://x.test/a.png"),
        "empty prompt": body(prompt=" "),
        "data URL": body(images=["data:image/png;base64,iVBORw0KGgo="]),
    }
    for name, payload in bad_bodies.items():
        status, answer = await create(http, sim, payload)
        assert status == 400, name
        assert set(answer["error"]) == {"message", "type", "param", "code"}, name
    assert sim.tasks == {}
    sim.accept_data_urls = True
    assert (await create(http, sim, bad_bodies["data URL"]))[0] == 200
    assert (await create(http, sim, body(duration=25)))[0] == 200


async def test_model_gone_upstream(http: aiohttp.ClientSession, sim: UnifiedVideoSimulator) -> None:
    del sim.models["sora-2-pro"]
    status, answer = await create(http, sim)
    assert (status, answer["error"]["code"]) == (503, "model_not_found")


async def test_key_errors(http: aiohttp.ClientSession, sim: UnifiedVideoSimulator) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        async with http.post(sim.url("/v1/video/create"), json=body(), headers=headers) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] in ("missing_api_key", "invalid_api_key")


async def test_image_urls_are_recorded(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    images = ["https://cdn.example/a.png", "https://cdn.example/b.jpg"]
    _, task = await create(http, sim, body(images=images))
    assert sim.image_urls == images
    assert sim.tasks[task["id"]].images == images


# --------------------------------------------------------------------------- query variants


async def test_query_lifecycle_and_colon_id(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    _, task = await create(http, sim)
    encoded = URL(sim.url("/v1/video/query")).with_query(id=task["id"])
    url = URL(str(encoded).replace(":task_", "%3Atask_"), encoded=True)
    statuses = []
    for _ in range(3):
        async with http.get(url, headers=AUTH) as resp:
            statuses.append((await resp.json())["status"])
    assert statuses == ["processing", "processing", "completed"]
    assert "%3A" in sim.requests_to("query")[0].raw_query
    assert sim.requests_to("query")[0].query["id"] == task["id"]
    answer = await query(http, sim, task["id"])
    for name in ("id", "status", "progress", "video_url", "thumbnail_url", "status_update_time",
                 "created_at", "width", "height", "enhanced_prompt", "detail"):  # fmt: skip
        assert name in answer
    assert (answer["width"], answer["height"]) == (1080, 1920)


async def test_query_errors(http: aiohttp.ClientSession, sim: UnifiedVideoSimulator) -> None:
    async with http.get(sim.url("/v1/video/query"), headers=AUTH) as resp:
        assert resp.status == 400
    async with http.get(
        sim.url("/v1/video/query"), params={"id": "sora-2:task_x"}, headers=AUTH
    ) as resp:
        assert (resp.status, (await resp.json())["error"]["code"]) == (404, "task_not_found")


SPELLING_CASES = (
    [("queued", s) for s in QUEUED_SPELLINGS]
    + [("processing", s) for s in PROCESSING_SPELLINGS]
    + [("succeeded", s) for s in SUCCEEDED_SPELLINGS]
    + [("failed", s) for s in FAILED_SPELLINGS]
    + [("processing", UNKNOWN_SPELLING)]
)


@pytest.mark.parametrize(("phase", "spelling"), SPELLING_CASES)
async def test_status_spellings(http: aiohttp.ClientSession, phase: str, spelling: str) -> None:
    async with UnifiedVideoSimulator(
        api_key=KEY, spellings={phase: spelling}, polls_until_processing=2, polls_until_done=3
    ) as sim:
        if phase == "failed":
            sim.fail_next()
        _, task = await create(http, sim)
        answers = [await query(http, sim, task["id"]) for _ in range(3)]
        poll_index = {"queued": 0, "processing": 1, "succeeded": 2, "failed": 2}[phase]
        assert answers[poll_index]["status"] == spelling
        assert answers[poll_index]["detail"]["status"] == spelling
        if phase == "queued":
            assert task["status"] == spelling


@pytest.mark.parametrize(
    ("style", "queued", "processing", "done"),
    [
        ("string", "0", "50", "100"),
        ("int", 0, 50, 100),
        ("pending_info", 0.0, 0.5, 1.0),
        ("none", None, None, None),
    ],
)
async def test_progress_styles(
    http: aiohttp.ClientSession, style: str, queued: object, processing: object, done: object
) -> None:
    async with UnifiedVideoSimulator(
        api_key=KEY, progress_style=style, polls_until_processing=2, polls_until_done=3
    ) as sim:
        _, task = await create(http, sim)
        seen = []
        for _ in range(3):
            answer = await query(http, sim, task["id"])
            pending = answer["detail"].get("pending_info", {})
            seen.append(answer.get("progress", pending.get("progress_pct")))
        assert seen == [queued, processing, done]
        assert [type(v) for v in seen] == [type(queued), type(processing), type(done)]


@pytest.mark.parametrize("location", VIDEO_URL_LOCATIONS)
async def test_video_url_locations(http: aiohttp.ClientSession, location: str) -> None:
    async with UnifiedVideoSimulator(api_key=KEY, video_url_location=location) as sim:
        task_id, answer = await finished(http, sim)
        node: Any = answer
        for name in location.split("."):
            node = node[name]
        assert node == sim.media_url(task_id)
        if location != "video_url":
            assert answer["video_url"] is None
            assert "url" not in answer["detail"] or location == "detail.url"
        async with http.get(node) as resp:
            assert (resp.status, await resp.read()) == (200, sim.media_bytes(task_id))


@pytest.mark.parametrize("location", ["thumbnail_url", "detail.thumbnail_url", None])
async def test_thumbnail_locations(http: aiohttp.ClientSession, location: str | None) -> None:
    async with UnifiedVideoSimulator(api_key=KEY, thumbnail_location=location) as sim:
        task_id, answer = await finished(http, sim)
        thumb = answer["thumbnail_url"] or answer["detail"].get("thumbnail_url")
        if location is None:
            assert thumb is None
            return
        assert thumb == sim.thumbnail_url(task_id)
        async with http.get(thumb) as resp:
            assert (resp.status, resp.content_type) == (200, "image/jpeg")
            assert (await resp.read()).startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize("location", FAILURE_LOCATIONS)
async def test_failure_reason_locations(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator, location: str
) -> None:
    sim.fail_next("sentinel_block: prompt refused", location=location, code="sentinel_block")
    _, answer = await finished(http, sim)
    assert (answer["status"], answer["video_url"]) == ("failed", None)
    pending = answer["detail"].get("pending_info", {})
    places = {
        "fail_reason": answer.get("fail_reason"),
        "error": answer.get("error"),
        "failure_reason": pending.get("failure_reason"),
        "moderation_result": pending.get("moderation_result"),
    }
    expected_place = "error" if location == "error_object" else location.split(".")[-1]
    assert [name for name, value in places.items() if value] == [expected_place]
    value = places[expected_place]
    if location in ("error_object", "detail.pending_info.moderation_result"):
        assert value["code"] == "sentinel_block"
        assert "prompt refused" in str(value)
    else:
        assert value == "sentinel_block: prompt refused"


async def test_moderation_blocked_is_the_default_moderation_code(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    sim.fail_next("blocked", location="detail.pending_info.moderation_result")
    _, answer = await finished(http, sim)
    moderation = answer["detail"]["pending_info"]["moderation_result"]
    assert moderation["code"] == "moderation_blocked"


async def test_succeeded_without_url_at_first(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    sim.succeeded_without_url_polls = 2
    task_id, first = await finished(http, sim)
    second = await query(http, sim, task_id)
    third = await query(http, sim, task_id)
    assert [a["status"] for a in (first, second, third)] == ["completed"] * 3
    assert [a["video_url"] for a in (first, second)] == [None, None]
    assert third["video_url"] == sim.media_url(task_id)


async def test_expired_media(http: aiohttp.ClientSession, sim: UnifiedVideoSimulator) -> None:
    task_id, answer = await finished(http, sim)
    sim.expire_media(task_id)
    async with http.get(answer["video_url"]) as resp:
        assert resp.status == 404


# --------------------------------------------------------------------------- faults


async def test_rate_limited_with_and_without_retry_after(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    _, task = await create(http, sim)
    sim.inject("query", "rate_limited", retry_after=30)
    sim.inject("query", "rate_limited")
    seen = []
    for _ in range(3):
        async with http.get(
            sim.url("/v1/video/query"), params={"id": task["id"]}, headers=AUTH
        ) as resp:
            seen.append((resp.status, resp.headers.get("Retry-After")))
    assert seen == [(429, "30"), (429, None), (200, None)]
    assert sim.polls(task["id"]) == 1


@pytest.mark.parametrize(
    ("mode", "options", "status", "read"),
    [
        ("upstream_error", {"code": "sentinel_block"}, 500, lambda b: b["error"]["code"]),
        ("upstream_error", {}, 500, lambda b: b["error"]["type"]),
        ("message_error", {"message": "quota exhausted"}, 400, lambda b: b["message"]),
        ("error_string", {"message": "bad"}, 400, lambda b: b["error"]),
        ("insufficient_credits", {}, 403, lambda b: b["error"]["code"]),
        ("server_error", {"status": 502}, 502, lambda b: b["error"]["type"]),
    ],
)
async def test_error_envelopes(
    http: aiohttp.ClientSession,
    sim: UnifiedVideoSimulator,
    mode: str,
    options: dict[str, Any],
    status: int,
    read: Any,
) -> None:
    expected = {
        "upstream_error": "sentinel_block" if options else "upstream_error",
        "message_error": "quota exhausted",
        "error_string": "bad",
        "insufficient_credits": "insufficient_user_quota",
        "server_error": "server_error",
    }[mode]
    sim.inject("create", mode, **options)
    answer_status, answer = await create(http, sim)
    assert (answer_status, read(answer)) == (status, expected)
    assert sim.tasks == {}


@pytest.mark.parametrize(("status", "marker"), [(None, '<div id="root">'), (502, "502 Bad")])
async def test_html_error_page(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator, status: int | None, marker: str
) -> None:
    sim.inject("query", "html", status=status)
    async with http.get(sim.url("/v1/video/query"), params={"id": "x"}, headers=AUTH) as resp:
        assert (resp.status, resp.content_type) == (status or 200, "text/html")
        assert marker in await resp.text()


async def test_wrong_path_gets_html(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    async with http.get(sim.url("/v1/videos/query"), params={"id": "x"}, headers=AUTH) as resp:
        assert (resp.status, resp.content_type) == (200, "text/html")
    assert sim.requests_to("unknown")[0].path == "/v1/videos/query"


async def test_create_timeout_creates_nothing_and_shutdown_is_quick(
    http: aiohttp.ClientSession,
) -> None:
    sim = await UnifiedVideoSimulator(api_key=KEY).start()
    sim.inject("create", "timeout")
    with pytest.raises(TimeoutError):
        await http.post(
            sim.url("/v1/video/create"),
            json=body(),
            headers=AUTH,
            timeout=aiohttp.ClientTimeout(total=0.2),
        )
    assert (len(sim.requests_to("create")), sim.tasks) == (1, {})
    started = time.monotonic()
    await sim.close()
    assert time.monotonic() - started < 0.5


async def test_create_timeout_after_task_was_made(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    sim.inject("create", "timeout", after=True)
    with pytest.raises(TimeoutError):
        await http.post(
            sim.url("/v1/video/create"),
            json=body(),
            headers=AUTH,
            timeout=aiohttp.ClientTimeout(total=0.2),
        )
    assert len(sim.tasks) == 1  # billed upstream although the client saw only a timeout


async def test_create_connection_drops_after_request_received(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    sim.inject("create", "drop", after=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):  # POST: aiohttp does not retry it
        await create(http, sim)
    assert len(sim.tasks) == 1
    assert sim.requests_to("create")[0].dropped


async def test_slow_query_then_normal(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    _, task = await create(http, sim)
    sim.inject("query", "slow", delay=0.2)
    started = time.monotonic()
    assert (await query(http, sim, task["id"]))["status"] == "processing"
    assert time.monotonic() - started >= 0.2


async def test_malformed_json_on_query(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    sim.inject("query", "malformed_json")
    async with http.get(sim.url("/v1/video/query"), params={"id": "x"}, headers=AUTH) as resp:
        assert resp.status == 200
        with pytest.raises(ValueError):
            await resp.json()


async def test_wait_for_query_count(
    http: aiohttp.ClientSession, sim: UnifiedVideoSimulator
) -> None:
    _, task = await create(http, sim)

    async def poller() -> None:
        for _ in range(3):
            await query(http, sim, task["id"])

    background = asyncio.create_task(poller())
    queries = await sim.wait_for_requests("query", 3, timeout=2)
    assert len(queries) == 3
    await background
    assert [q.status for q in sim.requests_to("query")] == [200, 200, 200]
    assert sim.polls(task["id"]) == 3
