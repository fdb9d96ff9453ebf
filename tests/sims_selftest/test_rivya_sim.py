"""Self-tests of RivyaSimulator: each documented behaviour and each injection mode.

Also a runnable guide: every test shows how a bot test drives the simulator.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.sims import RivyaSimulator, jpeg_bytes, png_bytes, webp_bytes
from tests.support.sims.rivya import iso as rivya_iso

KEY = "rvya_sk_test"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
async def sim() -> AsyncIterator[RivyaSimulator]:
    async with RivyaSimulator(api_key=KEY) as simulator:
        yield simulator


def body(prompt: str = "a cat surfing", **params: Any) -> dict[str, Any]:
    return {"model": "sora-2-pro", "prompt": prompt, "params": {"size": "standard", **params}}


async def create(
    http: aiohttp.ClientSession,
    sim: RivyaSimulator,
    payload: dict[str, Any] | None = None,
    key: str | None = None,
) -> tuple[int, dict[str, Any]]:
    headers = AUTH | ({"Idempotency-Key": key} if key else {})
    async with http.post(
        sim.url("/api/v1/generations"), json=payload or body(), headers=headers
    ) as resp:
        return resp.status, await resp.json()


async def poll(http: aiohttp.ClientSession, sim: RivyaSimulator, task_id: str) -> dict[str, Any]:
    async with http.get(sim.url(f"/api/v1/generations/{task_id}"), headers=AUTH) as resp:
        assert resp.status == 200
        return await resp.json()


async def upload(
    http: aiohttp.ClientSession,
    sim: RivyaSimulator,
    data: bytes,
    *,
    kind: str | None = "image",
    filename: str = "ref.png",
    model: str | None = "sora-2-pro",
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename=filename, content_type="image/png")
    if kind is not None:
        form.add_field("kind", kind)
    if model is not None:
        form.add_field("model", model)
    form.add_field("client_request_id", "job-1")
    async with http.post(sim.url("/api/v1/files"), data=form, headers=AUTH) as resp:
        return resp.status, await resp.json()


def error_code(payload: dict[str, Any]) -> str:
    assert payload["error"]["requestId"].startswith("req_")
    return payload["error"]["code"]


# --------------------------------------------------------------------------- catalogue


async def test_models_is_public_and_describes_sora_2_pro(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    async with http.get(sim.url("/api/v1/models")) as resp:
        assert resp.status == 200
        catalogue = await resp.json()
    assert catalogue["object"] == "list"
    entry = next(m for m in catalogue["data"] if m["id"] == "sora-2-pro")
    assert catalogue["data"][0]["id"] != "sora-2-pro"  # clients must look models up by id
    for name in (
        "display_name", "category", "base_credits", "billing_type", "max_prompt_length",
        "reference_media", "params", "api_status", "api_input_status", "requires_files_api",
        "url_input_supported", "file_kinds",
    ):  # fmt: skip
        assert name in entry
    assert (entry["api_status"], entry["base_credits"], entry["max_prompt_length"]) == (
        "available",
        75,
        10000,
    )
    params = {p["key"]: (p["options"], p["default"]) for p in entry["params"]}
    assert params == {
        "size": (["standard", "high"], None),
        "n_frames": (["10", "15"], "10"),
        "aspect_ratio": (["landscape", "portrait"], "landscape"),
        "remove_watermark": (["false", "true"], "false"),
        "upload_method": (["s3", "oss"], "s3"),
    }
    assert entry["reference_media"]["max_files"] == 1
    assert entry["file_kinds"] == ["image"]
    assert sim.requests_to("models")[0].authorization is None


async def test_catalogue_edits_drive_listing_and_validation(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.set_model_status("sora-2-pro", "coming_soon")
    async with http.get(sim.url("/api/v1/models")) as resp:
        listed = {m["id"]: m["api_status"] for m in (await resp.json())["data"]}
    assert listed["sora-2-pro"] == "coming_soon"
    status, answer = await create(http, sim)
    assert (status, error_code(answer)) == (400, "validation_failed")
    assert "coming_soon" in answer["error"]["message"]

    other = {**sim.model("sora-2-pro"), "id": "veo-x", "api_status": "available", "params": []}
    other["params"] = [{"key": "n_frames", "type": "select", "default": "5", "options": ["5"]}]
    sim.catalogue.append(other)
    ok = {"model": "veo-x", "prompt": "p", "params": {"n_frames": "5"}}
    assert (await create(http, sim, ok))[0] == 200
    status, answer = await create(http, sim, {**ok, "params": {"n_frames": "10"}})
    assert (status, error_code(answer)) == (400, "validation_failed")


# --------------------------------------------------------------------------- credits, keys


async def test_credits_and_key_errors(http: aiohttp.ClientSession, sim: RivyaSimulator) -> None:
    async with http.get(sim.url("/api/v1/credits"), headers=AUTH) as resp:
        assert (resp.status, await resp.json()) == (200, {"current_credits": 1000})
    cases = [({}, "api_key_missing"), ({"Authorization": "Bearer nope"}, "api_key_invalid")]
    for headers, code in cases:
        async with http.get(sim.url("/api/v1/credits"), headers=headers) as resp:
            assert (resp.status, error_code(await resp.json())) == (401, code)
    sim.key_status = "revoked"
    async with http.get(sim.url("/api/v1/credits"), headers=AUTH) as resp:
        assert (resp.status, error_code(await resp.json())) == (401, "api_key_revoked")


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize(
    ("data", "mime"),
    [(png_bytes(), "image/png"), (jpeg_bytes(), "image/jpeg"), (webp_bytes(), "image/webp")],
)
async def test_upload_accepts_real_images_and_serves_them(
    http: aiohttp.ClientSession, sim: RivyaSimulator, data: bytes, mime: str
) -> None:
    status, answer = await upload(http, sim, data, filename="named-wrongly.png")
    assert status == 200
    assert (answer["mime_type"], answer["size"]) == (mime, len(data))
    assert answer["url"].startswith(sim.base_url + "/uploads/")
    assert sim.uploads[0].data == data
    assert sim.upload_for_url(answer["url"]).client_request_id == "job-1"
    form = sim.requests_to("upload")[0].form
    assert (form["kind"].text, form["model"].text, form["file"].data) == (
        "image",
        "sora-2-pro",
        data,
    )
    async with http.get(answer["url"]) as resp:
        assert (resp.status, resp.content_type, await resp.read()) == (200, mime, data)
    async with http.get(sim.url(f"/api/v1/files/{answer['id']}"), headers=AUTH) as resp:
        assert (await resp.json())["url"] == answer["url"]


@pytest.mark.parametrize(
    ("data", "kind", "model"),
    [
        (b"GIF89a not allowed", "image", "sora-2-pro"),
        (b"plain text named .png", "image", "sora-2-pro"),
        (png_bytes() + b"\0" * (10 * 1024 * 1024), "image", "sora-2-pro"),
        (png_bytes(), "video", "sora-2-pro"),
        (png_bytes(), None, "sora-2-pro"),
        (png_bytes(), "document", None),
        (png_bytes(), "image", "no-such-model"),
    ],
    ids=["gif", "text", "over-10MB", "kind-not-for-model", "no-kind", "bad-kind", "bad-model"],
)
async def test_upload_rejections(
    http: aiohttp.ClientSession,
    sim: RivyaSimulator,
    data: bytes,
    kind: str | None,
    model: str | None,
) -> None:
    status, answer = await upload(http, sim, data, kind=kind, model=model)
    assert (status, error_code(answer)) == (400, "validation_failed")
    assert sim.uploads == []


# --------------------------------------------------------------------------- create and poll


async def test_create_answers_documented_shape_and_bills(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    status, task = await create(http, sim)
    assert status == 200
    assert set(task) == {
        "id", "status", "model", "reserved_credits", "final_credits", "created_at",
        "updated_at", "result", "error",
    }  # fmt: skip
    assert task["id"].startswith("task_")
    assert (task["status"], task["reserved_credits"], task["final_credits"]) == ("queued", 75, 0)
    assert (task["result"], task["error"]) == (None, None)
    assert task["created_at"].endswith("Z")
    assert sim.credits == 925
    assert [t.id for t in sim.created_tasks] == [task["id"]]
    assert sim.requests_to("create")[0].json == body()


async def test_status_advances_by_polls_then_video_downloads(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.polls_until_processing, sim.polls_until_done = 2, 4
    _, task = await create(http, sim)
    seen = [(await poll(http, sim, task["id"]))["status"] for _ in range(4)]
    assert seen == ["queued", "processing", "processing", "succeeded"]
    assert sim.polls(task["id"]) == 4
    final = await poll(http, sim, task["id"])
    assert (final["final_credits"], final["error"]) == (75, None)
    assert final["result"]["urls"] == [final["result"]["primary_url"]]
    async with http.get(final["result"]["primary_url"]) as resp:
        assert (resp.status, resp.content_type) == (200, "video/mp4")
        video = await resp.read()
    assert len(video) == 300_000
    assert video[4:8] == b"ftyp"
    assert video == sim.media_bytes(task["id"])


async def test_progress_is_optional(http: aiohttp.ClientSession, sim: RivyaSimulator) -> None:
    _, task = await create(http, sim)
    assert "progress" not in await poll(http, sim, task["id"])
    sim.report_progress = True
    progress = (await poll(http, sim, task["id"]))["progress"]
    assert isinstance(progress, int)
    assert 0 < progress < 100


async def test_create_with_reference_image(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    _, uploaded = await upload(http, sim, png_bytes())
    item = {"url": uploaded["url"], "kind": "image", "name": "ref.png", "mimeType": "image/png"}
    status, task = await create(http, sim, body(referenceMediaItems=[item]))
    assert status == 200
    assert sim.tasks[task["id"]].params["referenceMediaItems"] == [item]


async def test_create_validation(http: aiohttp.ClientSession, sim: RivyaSimulator) -> None:
    _, uploaded = await upload(http, sim, png_bytes())
    item = {"url": uploaded["url"], "kind": "image", "mimeType": "image/png"}
    bad_bodies = {
        "top-level files": {**body(), "files": [uploaded["url"]]},
        "unknown model": {**body(), "model": "sora-3"},
        "empty prompt": body(prompt="  "),
        "prompt too long": body(prompt="x" * 10_001),
        "non-string value": body(n_frames=10),
        "option not offered": body(size="ultra"),
        "unknown param": body(duration="10"),
        "two references": body(referenceMediaItems=[item, item]),
        "url not issued": body(referenceMediaItems=[{**item, "url": "https://x.test/a.png"}]),
        "wrong mimeType": body(referenceMediaItems=[{**item, "mimeType": "image/jpeg"}]),
    }
    for name, payload in bad_bodies.items():
        status, answer = await create(http, sim, payload)
        assert (status, error_code(answer)) == (400, "validation_failed"), name
    assert (sim.credits, sim.tasks) == (1000, {})
    assert (await create(http, sim, body(prompt="x" * 10_000, n_frames="15")))[0] == 200


async def test_insufficient_credits(http: aiohttp.ClientSession) -> None:
    async with RivyaSimulator(api_key=KEY, credits=100) as sim:
        assert (await create(http, sim))[0] == 200
        status, answer = await create(http, sim)
        assert (status, error_code(answer)) == (402, "insufficient_credits")
        assert (sim.credits, len(sim.tasks)) == (25, 1)


async def test_failed_task_refunds_credits(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.fail_next("content policy")
    _, task = await create(http, sim)
    assert sim.credits == 925
    for _ in range(3):
        final = await poll(http, sim, task["id"])
    assert final["status"] == "failed"
    assert final["error"] == {"code": "generation_failed", "message": "content policy"}
    assert (final["result"], final["final_credits"], sim.credits) == (None, 0, 1000)
    _, second = await create(http, sim)
    assert sim.tasks[second["id"]].outcome == "succeeded"  # fail_next covers one task only


async def test_unknown_task_is_not_found(http: aiohttp.ClientSession, sim: RivyaSimulator) -> None:
    async with http.get(sim.url("/api/v1/generations/task_nope"), headers=AUTH) as resp:
        assert (resp.status, error_code(await resp.json())) == (404, "not_found")


async def test_success_status_knob(http: aiohttp.ClientSession) -> None:
    async with RivyaSimulator(api_key=KEY, success_status=201) as sim:
        assert (await create(http, sim))[0] == 201


# --------------------------------------------------------------------------- idempotency


async def test_same_key_same_body_returns_same_task_once_billed(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    first = await create(http, sim, key="job-42")
    again = await create(http, sim, key="job-42")
    assert first == again
    assert (len(sim.tasks), sim.credits) == (1, 925)
    assert sim.tasks[first[1]["id"]].idempotency_key == "job-42"


async def test_same_key_different_body_conflicts(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    await create(http, sim, key="job-42")
    status, answer = await create(http, sim, body(prompt="another"), key="job-42")
    assert (status, error_code(answer)) == (409, "idempotency_conflict")
    assert len(sim.tasks) == 1


async def test_same_key_while_in_flight_conflicts(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.inject("create", "slow", delay=0.5)
    first = asyncio.create_task(create(http, sim, key="job-42"))
    await sim.wait_for_requests("create", 1, timeout=2)
    status, answer = await create(http, sim, key="job-42")
    assert (status, error_code(answer)) == (409, "idempotency_conflict")
    assert (await first)[0] == 200
    assert len(sim.tasks) == 1


async def test_retry_after_lost_answer_finds_the_task(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.inject("create", "drop", after=True)  # task created and billed, answer lost
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await create(http, sim, key="job-42")
    assert len(sim.tasks) == 1
    status, task = await create(http, sim, key="job-42")
    assert (status, task["id"]) == (200, sim.created_tasks[0].id)
    assert sim.credits == 925


# --------------------------------------------------------------------------- fault injection


@pytest.mark.parametrize(
    ("mode", "options", "status", "code"),
    [
        ("validation_failed", {}, 400, "validation_failed"),
        ("insufficient_credits", {}, 402, "insufficient_credits"),
        ("rate_limited", {}, 429, "rate_limited"),
        ("server_error", {}, 500, "internal_error"),
        ("server_error", {"status": 502}, 502, "internal_error"),
        ("server_error", {"status": 503}, 503, "internal_error"),
        ("public_api_disabled", {}, 503, "public_api_disabled"),
        ("not_found", {}, 404, "not_found"),
        ("error", {"status": 403, "code": "api_scope_denied"}, 403, "api_scope_denied"),
    ],
)
async def test_error_modes_answer_in_rivya_envelope(
    http: aiohttp.ClientSession,
    sim: RivyaSimulator,
    mode: str,
    options: dict[str, Any],
    status: int,
    code: str,
) -> None:
    fault = sim.inject("create", mode, **options)
    answer = await create(http, sim)
    assert (answer[0], error_code(answer[1])) == (status, code)
    assert (sim.tasks, sim.credits, fault.hits) == ({}, 1000, 1)  # nothing happened server-side
    assert (await create(http, sim))[0] == 200  # times=1: the next request is normal


async def test_upload_rejected_mode(http: aiohttp.ClientSession, sim: RivyaSimulator) -> None:
    sim.inject("upload", "upload_rejected")
    status, answer = await upload(http, sim, png_bytes())
    assert (status, error_code(answer)) == (400, "validation_failed")
    assert "Unsupported file type" in answer["error"]["message"]
    assert sim.uploads == []


@pytest.mark.parametrize(
    "endpoint", ["models", "credits", "upload", "file", "uploaded", "create", "status", "media"]
)
async def test_every_endpoint_takes_faults(
    http: aiohttp.ClientSession, sim: RivyaSimulator, endpoint: str
) -> None:
    _, uploaded = await upload(http, sim, png_bytes())
    _, task = await create(http, sim)
    sim.tasks[task["id"]].polls_until_done = 0
    requests = {
        "models": ("GET", sim.url("/api/v1/models"), {}),
        "credits": ("GET", sim.url("/api/v1/credits"), {}),
        "upload": ("POST", sim.url("/api/v1/files"), {"data": b"x"}),
        "file": ("GET", sim.url(f"/api/v1/files/{uploaded['id']}"), {}),
        "uploaded": ("GET", uploaded["url"], {}),
        "create": ("POST", sim.url("/api/v1/generations"), {"json": body()}),
        "status": ("GET", sim.url(f"/api/v1/generations/{task['id']}"), {}),
        "media": ("GET", sim.media_url(task["id"]), {}),
    }
    method, url, extra = requests[endpoint]
    sim.inject(endpoint, "rate_limited", retry_after=7)
    async with http.request(method, url, headers=AUTH, **extra) as resp:
        assert (resp.status, resp.headers["Retry-After"]) == (429, "7")
    assert sim.requests_to(endpoint)[-1].fault is sim.faults[0]


async def test_rate_limited_with_and_without_retry_after(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.inject("credits", "rate_limited", times=2, retry_after=1)
    sim.inject("credits", "rate_limited")
    statuses = []
    for _ in range(4):
        async with http.get(sim.url("/api/v1/credits"), headers=AUTH) as resp:
            statuses.append((resp.status, resp.headers.get("Retry-After")))
    assert statuses == [(429, "1"), (429, "1"), (429, None), (200, None)]


async def test_after_fault_keeps_the_side_effect(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.inject("create", "server_error", status=502, after=True)
    status, _ = await create(http, sim)
    assert status == 502
    assert (len(sim.tasks), sim.credits) == (1, 925)


async def test_faulted_poll_does_not_advance_unless_after(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    _, task = await create(http, sim)
    sim.inject("status", "server_error")
    sim.inject("status", "server_error", after=True)
    for _ in range(2):
        async with http.get(sim.url(f"/api/v1/generations/{task['id']}"), headers=AUTH) as resp:
            assert resp.status == 500
    assert sim.polls(task["id"]) == 1


async def test_match_and_unlimited_faults(http: aiohttp.ClientSession, sim: RivyaSimulator) -> None:
    _, doomed = await create(http, sim)
    _, fine = await create(http, sim)
    sim.inject(
        "status", "not_found", times=None, match=lambda r: r.match_info["task_id"] == doomed["id"]
    )
    for _ in range(3):
        async with http.get(sim.url(f"/api/v1/generations/{doomed['id']}"), headers=AUTH) as resp:
            assert resp.status == 404
    assert (await poll(http, sim, fine["id"]))["status"] == "processing"
    assert sim.faults[0].hits == 3


async def test_slow_answers_normally_after_delay(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.inject("credits", "slow", delay=0.3)
    started = time.monotonic()
    async with http.get(sim.url("/api/v1/credits"), headers=AUTH) as resp:
        assert (resp.status, await resp.json()) == (200, {"current_credits": 1000})
    assert time.monotonic() - started >= 0.3


async def test_timeout_hangs_and_shutdown_stays_quick(http: aiohttp.ClientSession) -> None:
    sim = await RivyaSimulator(api_key=KEY).start()
    sim.inject("credits", "timeout", times=None)

    async def get_credits() -> int:
        async with http.get(sim.url("/api/v1/credits"), headers=AUTH) as resp:
            return resp.status

    hung = [asyncio.create_task(get_credits()) for _ in range(3)]
    with pytest.raises(TimeoutError):
        await http.get(
            sim.url("/api/v1/credits"), headers=AUTH, timeout=aiohttp.ClientTimeout(total=0.2)
        )
    await sim.wait_for_requests("credits", 4, timeout=2)
    started = time.monotonic()
    await sim.close()
    assert time.monotonic() - started < 0.5
    for request in hung:
        with pytest.raises(aiohttp.ClientError):
            await request
    assert all(r.status is None and r.dropped for r in sim.requests_to("credits"))


async def test_malformed_json(http: aiohttp.ClientSession, sim: RivyaSimulator) -> None:
    sim.inject("status", "malformed_json")
    _, task = await create(http, sim)
    async with http.get(sim.url(f"/api/v1/generations/{task['id']}"), headers=AUTH) as resp:
        assert (resp.status, resp.content_type) == (200, "application/json")
        with pytest.raises(json.JSONDecodeError):
            await resp.json()


@pytest.mark.parametrize(("status", "marker"), [(None, '<div id="root">'), (502, "502 Bad")])
async def test_html_body(
    http: aiohttp.ClientSession, sim: RivyaSimulator, status: int | None, marker: str
) -> None:
    sim.inject("credits", "html", status=status)
    async with http.get(sim.url("/api/v1/credits"), headers=AUTH) as resp:
        assert (resp.status, resp.content_type) == (status or 200, "text/html")
        assert marker in await resp.text()


async def test_wrong_content_type_keeps_body(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.inject("credits", "wrong_content_type")
    async with http.get(sim.url("/api/v1/credits"), headers=AUTH) as resp:
        assert resp.content_type == "text/html"
        with pytest.raises(aiohttp.ContentTypeError):
            await resp.json()
        assert json.loads(await resp.text()) == {"current_credits": 1000}


async def test_drop_closes_the_connection(http: aiohttp.ClientSession, sim: RivyaSimulator) -> None:
    # aiohttp silently retries an idempotent request (GET) once after a disconnect, so a
    # client only sees the drop when two attempts in a row are dropped.
    sim.inject("models", "drop", times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await http.get(sim.url("/api/v1/models"))
    assert [r.dropped for r in sim.requests_to("models")] == [True, True]


# --------------------------------------------------------------------------- media knobs


async def test_media_size_expiry_signature_and_truncation(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.next_task(media_size=3_000_000, polls_until_done=0)
    _, task = await create(http, sim)
    url = (await poll(http, sim, task["id"]))["result"]["primary_url"]
    async with http.get(url) as resp:
        assert (resp.content_length, len(await resp.read())) == (3_000_000, 3_000_000)
    sim.inject("media", "truncated")
    async with http.get(url) as resp:
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    async with http.get(url.split("?")[0]) as resp:
        assert resp.status == 403
    sim.expire_media(task["id"])
    async with http.get(url) as resp:
        assert resp.status == 404


async def test_a_simulator_on_another_loopback_address_can_redirect_its_media(
    http: aiohttp.ClientSession,
) -> None:
    async with RivyaSimulator(api_key=KEY, host="127.0.0.2") as elsewhere:
        assert elsewhere.base_url.startswith("http://127.0.0.2:")
        elsewhere.next_task(polls_until_done=0, media_redirect="http://127.0.0.1:9/private")
        _, task = await create(http, elsewhere)
        url = (await poll(http, elsewhere, task["id"]))["result"]["primary_url"]
        assert url.startswith(elsewhere.base_url)
        async with http.get(url, allow_redirects=False) as resp:
            assert (resp.status, resp.headers["Location"]) == (302, "http://127.0.0.1:9/private")


async def test_media_of_unfinished_task_is_404(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    _, task = await create(http, sim)
    async with http.get(sim.media_url(task["id"])) as resp:
        assert resp.status == 404


# --------------------------------------------------------------------------- recording, waiting


async def test_recording_keeps_headers_query_and_unknown_paths(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    await create(http, sim, key="k-1")
    rec = sim.requests_to("create")[0]
    assert (rec.method, rec.path, rec.status) == ("POST", "/api/v1/generations", 200)
    assert rec.authorization == f"Bearer {KEY}"
    assert rec.headers["idempotency-key"] == "k-1"
    async with http.get(sim.url("/api/v2/generations?x=1")) as resp:
        assert (resp.status, resp.content_type) == (404, "text/html")
    unknown = sim.requests_to("unknown")[0]
    assert (unknown.path, unknown.query["x"]) == ("/api/v2/generations", "1")


async def test_wait_for_wakes_on_requests_and_times_out(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    async def client() -> None:
        await asyncio.sleep(0.05)
        await create(http, sim)

    background = asyncio.create_task(client())
    task = await sim.wait_for(lambda: sim.created_tasks and sim.created_tasks[0], timeout=2)
    assert task.model == "sora-2-pro"
    await background
    with pytest.raises(TimeoutError, match="not met"):
        await sim.wait_for(lambda: len(sim.tasks) == 2, timeout=0.05)


def test_bad_injection_and_overrides_are_refused() -> None:
    sim = RivyaSimulator()
    with pytest.raises(ValueError, match="endpoint"):
        sim.inject("generations", "rate_limited")
    with pytest.raises(ValueError, match="mode"):
        sim.inject("create", "rate-limited")
    with pytest.raises(TypeError, match="media_bytes"):
        sim.next_task(media_bytes=1)


async def test_tasks_can_finish_at_a_wall_time_whatever_the_polls(
    http: aiohttp.ClientSession, sim: RivyaSimulator
) -> None:
    sim.generation_seconds = lambda _task: 3600.0
    _, task = await create(http, sim)
    states = [(await poll(http, sim, task["id"]))["status"] for _ in range(5)]
    assert states == ["processing"] * 5
    simulated = sim.tasks[task["id"]]
    assert simulated.ready_at == pytest.approx(simulated.created_at + 3600.0)
    simulated.ready_at = time.time() - 1.0  # it finished a second ago, between two polls
    finished = await poll(http, sim, task["id"])
    assert finished["status"] == "succeeded"
    assert finished["updated_at"] == rivya_iso(simulated.ready_at)
    assert simulated.finish_seen_at is not None and simulated.finish_seen_at >= simulated.ready_at
