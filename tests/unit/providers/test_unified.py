"""UnifiedProvider against the unified API simulator, across gateway variants."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.metrics import REGISTRY
from bot.providers.base import (
    GenerationRequest,
    JobRejectedError,
    OutcomeUnknownError,
    ProviderMisconfiguredError,
    ReferenceImage,
    TaskStatus,
    TransientProviderError,
)
from bot.providers.profiles import UNIFIED_SORA_2_PRO
from bot.providers.unified import UnifiedProvider
from tests.support.sims.unified import (
    FAILURE_LOCATIONS,
    PROCESSING_SPELLINGS,
    QUEUED_SPELLINGS,
    SUCCEEDED_SPELLINGS,
    VIDEO_URL_LOCATIONS,
    UnifiedVideoSimulator,
)

KEY = "sk-test"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def make_provider(base_url: str, session: aiohttp.ClientSession) -> UnifiedProvider:
    return UnifiedProvider(
        base_url=base_url,
        api_key=KEY,
        profile=UNIFIED_SORA_2_PRO,
        poll_seconds=(30.0,),
        timeout_seconds=0.5,
        session=session,
    )


def request(**overrides: object) -> GenerationRequest:
    fields: dict[str, object] = {
        "idempotency_key": "sorabot-1",
        "model": "sora-2-pro",
        "prompt": "a comet over the sea",
        "orientation": "landscape",
        "duration": 25,
        "quality": "large",
        "toggles": {"watermark": False, "private": True},
        "reference_url": None,
        "image": None,
    }
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


async def run_to_end(provider: UnifiedProvider, task_id: str, limit: int = 10) -> TaskStatus:
    for _ in range(limit):
        status = await provider.status(task_id)
        if status.state in ("succeeded", "failed"):
            return status
    raise AssertionError("the task never finished")


@pytest.mark.parametrize("style", ["task", "openai"])
async def test_both_create_shapes_and_an_encoded_query(
    session: aiohttp.ClientSession, style: str
) -> None:
    async with UnifiedVideoSimulator(KEY, create_style=style) as sim:
        provider = make_provider(sim.base_url, session)
        task_id = await provider.create(request())
        body = sim.requests_to("create")[0].json
        assert body == {
            "images": [],
            "model": "sora-2-pro",
            "orientation": "landscape",
            "prompt": "a comet over the sea",
            "size": "large",
            "duration": 25,
            "watermark": False,
            "private": True,
        }
        final = await run_to_end(provider, task_id)
        assert final.state == "succeeded" and final.video_url == sim.media_url(task_id)
        if ":" in task_id:
            assert "%3A" in sim.requests_to("query")[0].raw_query


@pytest.mark.parametrize("progress_style", ["string", "int", "pending_info"])
@pytest.mark.parametrize("location", VIDEO_URL_LOCATIONS)
async def test_progress_and_url_variants(
    session: aiohttp.ClientSession, progress_style: str, location: str
) -> None:
    async with UnifiedVideoSimulator(
        KEY, progress_style=progress_style, video_url_location=location, polls_until_done=4
    ) as sim:
        provider = make_provider(sim.base_url, session)
        task_id = await provider.create(request())
        seen = [await provider.status(task_id) for _ in range(3)]
        assert any(s.state == "processing" and s.progress is not None for s in seen)
        final = await run_to_end(provider, task_id)
        assert final.video_url == sim.media_url(task_id)


@pytest.mark.parametrize(
    "spellings",
    [
        {"queued": q, "processing": p, "succeeded": s}
        for q, p, s in zip(
            QUEUED_SPELLINGS, PROCESSING_SPELLINGS, SUCCEEDED_SPELLINGS * 2, strict=False
        )
    ],
)
async def test_status_spellings_end_to_end(
    session: aiohttp.ClientSession, spellings: dict[str, str]
) -> None:
    async with UnifiedVideoSimulator(KEY, spellings=spellings) as sim:
        provider = make_provider(sim.base_url, session)
        final = await run_to_end(provider, await provider.create(request()))
        assert final.state == "succeeded"


async def test_unknown_status_keeps_polling(session: aiohttp.ClientSession) -> None:
    async with UnifiedVideoSimulator(KEY, spellings={"processing": "moderating"}) as sim:
        provider = make_provider(sim.base_url, session)
        task_id = await provider.create(request())
        await provider.status(task_id)
        assert (await provider.status(task_id)).state == "processing"


@pytest.mark.parametrize("location", FAILURE_LOCATIONS)
async def test_failure_reason_from_every_location(
    session: aiohttp.ClientSession, location: str
) -> None:
    async with UnifiedVideoSimulator(KEY) as sim:
        sim.fail_next("The flames looked wrong.", location=location, code="moderation_blocked")
        provider = make_provider(sim.base_url, session)
        final = await run_to_end(provider, await provider.create(request()))
        assert final.state == "failed"
        assert final.failure_reason and final.failure_reason != "The video service gave no reason."


async def test_reference_image_goes_in_images(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with UnifiedVideoSimulator(KEY) as sim:
        provider = make_provider(sim.base_url, session)
        image = ReferenceImage(tmp_path / "x.png", "x.png", "image/png", "https://cdn.test/x.png")
        url = await provider.prepare_reference(image, "k")
        await provider.create(request(reference_url=url, image=image))
        assert sim.image_urls == ["https://cdn.test/x.png"]


@pytest.mark.parametrize("mode", ["timeout", "drop"])
async def test_create_with_unknown_outcome_is_not_retried(
    session: aiohttp.ClientSession, mode: str
) -> None:
    async with UnifiedVideoSimulator(KEY) as sim:
        sim.inject("create", mode, after=True)
        provider = make_provider(sim.base_url, session)
        with pytest.raises(OutcomeUnknownError):
            await provider.create(request())
        assert len(sim.created_tasks) == 1  # it did exist upstream


async def test_unreachable_gateway_is_safe_to_retry(session: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = make_provider(f"http://127.0.0.1:{port}", session)
    with pytest.raises(TransientProviderError):
        await provider.create(request())


async def test_probe_of_an_unreachable_gateway_says_no_answer(
    session: aiohttp.ClientSession,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    health = await make_provider(f"http://127.0.0.1:{port}", session).probe()
    assert health.unreachable and not health.refuses_jobs


@pytest.mark.parametrize(
    ("mode", "options", "error", "text"),
    [
        ("rate_limited", {"retry_after": 45}, TransientProviderError, "busy"),
        ("upstream_error", {"code": "sentinel_block"}, JobRejectedError, "refused the prompt"),
        ("message_error", {"status": 400}, JobRejectedError, "refused the job"),
        ("error_string", {"status": 400}, JobRejectedError, "refused the job"),
        ("html", {"status": 502}, OutcomeUnknownError, "cannot tell"),
        ("server_error", {"status": 503}, TransientProviderError, "unavailable"),
    ],
)
async def test_create_errors(
    session: aiohttp.ClientSession, mode: str, options: dict, error: type, text: str
) -> None:
    async with UnifiedVideoSimulator(KEY) as sim:
        sim.inject("create", mode, **options)
        provider = make_provider(sim.base_url, session)
        with pytest.raises(error, match=text):
            await provider.create(request())


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("rate_limited", {}),
        ("html", {}),
        ("html", {"status": 500}),
        ("html", {"status": 404}),  # a proxy's "404 Not Found" page
        ("error", {"status": 404, "code": "route_missing", "message": "Not Found"}),
        ("malformed_json", {}),
        ("server_error", {}),
        ("timeout", {}),
    ],
)
async def test_query_trouble_is_retried_not_fatal(
    session: aiohttp.ClientSession, mode: str, options: dict
) -> None:
    async with UnifiedVideoSimulator(KEY) as sim:
        provider = make_provider(sim.base_url, session)
        task_id = await provider.create(request())
        sim.inject("query", mode, **options)
        with pytest.raises(TransientProviderError):
            await provider.status(task_id)
        assert (await run_to_end(provider, task_id)).state == "succeeded"


async def test_a_404_with_the_gateways_own_code_means_no_such_task(
    session: aiohttp.ClientSession,
) -> None:
    async with UnifiedVideoSimulator(KEY) as sim:
        provider = make_provider(sim.base_url, session)
        with pytest.raises(JobRejectedError, match="does not know this task"):
            await provider.status("sora-2:task_missing")


async def test_wrong_key(session: aiohttp.ClientSession) -> None:
    async with UnifiedVideoSimulator("another-key") as sim:
        provider = make_provider(sim.base_url, session)
        with pytest.raises(ProviderMisconfiguredError) as caught:
            await provider.create(request())
        assert KEY not in str(caught.value)


def _calls(operation: str, outcome: str) -> float:
    labels = {"provider": "unified", "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("sora_provider_request_seconds_count", labels) or 0.0


async def test_every_call_is_counted_by_operation_and_outcome(
    session: aiohttp.ClientSession,
) -> None:
    async with UnifiedVideoSimulator(KEY) as sim:
        provider = make_provider(sim.base_url, session)
        before = {
            key: _calls(*key)
            for key in [
                ("catalogue", "ok"),
                ("create", "ok"),
                ("status", "rate_limited"),
                ("status", "timeout"),
                ("status", "ok"),
            ]
        }
        await provider.probe()
        task_id = await provider.create(request())
        sim.inject("query", "rate_limited")
        with pytest.raises(TransientProviderError):
            await provider.status(task_id)
        sim.inject("query", "timeout")
        with pytest.raises(TransientProviderError):
            await provider.status(task_id)
        await provider.status(task_id)
        assert {key: _calls(*key) - count for key, count in before.items()} == {
            ("catalogue", "ok"): 1,
            ("create", "ok"): 1,
            ("status", "rate_limited"): 1,
            ("status", "timeout"): 1,
            ("status", "ok"): 1,
        }
