"""RivyaProvider against the Rivya simulator: the wire contract and every error path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.config import load_settings
from bot.metrics import REGISTRY
from bot.providers.base import (
    GenerationRequest,
    JobRejectedError,
    ProviderMisconfiguredError,
    ProviderOutOfCreditsError,
    ReferenceImage,
    TransientProviderError,
)
from bot.providers.factory import build_provider
from bot.providers.profiles import RIVYA_SORA_2_PRO
from bot.providers.rivya import (
    RivyaProvider,
    _took_seconds,
    catalogue_image_limit,
    fetch_catalogue,
    profile_from_catalogue,
    with_catalogue_limits,
)
from tests.support.images import PNG
from tests.support.sims.rivya import RivyaSimulator

KEY = "rvya_sk_test"


@pytest.fixture
async def sim() -> AsyncIterator[RivyaSimulator]:
    async with RivyaSimulator(api_key=KEY) as simulator:
        yield simulator


@pytest.fixture
async def provider(sim: RivyaSimulator) -> AsyncIterator[RivyaProvider]:
    async with aiohttp.ClientSession() as session:
        yield RivyaProvider(
            base_url=sim.base_url,
            api_key=KEY,
            profile=RIVYA_SORA_2_PRO,
            poll_seconds=(3.0,),
            timeout_seconds=0.5,
            session=session,
        )


def request(**overrides: object) -> GenerationRequest:
    fields: dict[str, object] = {
        "idempotency_key": "sorabot-abc",
        "model": "sora-2-pro",
        "prompt": "a paper boat on a river",
        "orientation": "portrait",
        "duration": 15,
        "quality": "high",
        "toggles": {"remove_watermark": True},
        "reference_url": None,
        "image": None,
    }
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


async def test_probe_reports_key_and_model(sim: RivyaSimulator, provider: RivyaProvider) -> None:
    health = await provider.probe()
    assert (health.key_ok, health.model_available) == (True, True)
    sim.set_model_status("sora-2-pro", "coming_soon")
    assert (await provider.probe()).model_available is False
    sim.key_status = "revoked"
    assert (await provider.probe()).key_ok is False


async def test_probe_with_the_catalogue_down_cannot_tell(
    sim: RivyaSimulator, provider: RivyaProvider
) -> None:
    sim.inject("models", "server_error", times=None)
    health = await provider.probe()
    assert health.model_available is None and not health.refuses_jobs


async def test_probe_reports_the_balance(sim: RivyaSimulator, provider: RivyaProvider) -> None:
    sim.credits = 420
    health = await provider.probe()
    assert health.credits == 420 and not health.unreachable


async def test_probe_tells_a_server_error_from_no_answer(
    sim: RivyaSimulator, provider: RivyaProvider
) -> None:
    sim.inject("credits", "server_error", times=None)
    sim.inject("models", "server_error", times=None)
    assert not (await provider.probe()).unreachable  # it answered, badly
    await sim.close()
    health = await provider.probe()
    assert health.unreachable and health.credits is None
    assert health.detail.startswith("Could not reach the video service")


async def test_create_sends_the_documented_body_and_polls_to_success(
    sim: RivyaSimulator, provider: RivyaProvider
) -> None:
    task_id = await provider.create(request())
    sent = sim.requests_to("create")[0]
    assert sent.headers["Idempotency-Key"] == "sorabot-abc"
    assert sent.authorization == f"Bearer {KEY}"
    assert sent.json["params"] == {
        "n_frames": "15",
        "aspect_ratio": "portrait",
        "size": "high",
        "remove_watermark": "true",
        "upload_method": "s3",
    }
    assert sent.json["client_request_id"] == "sorabot-abc"
    states = [(await provider.status(task_id)).state for _ in range(3)]
    assert states[-1] == "succeeded"
    final = await provider.status(task_id)
    assert final.video_url == sim.media_url(task_id)


async def test_a_retried_create_returns_the_same_task(
    sim: RivyaSimulator, provider: RivyaProvider
) -> None:
    sim.inject("create", "drop", after=True)  # created upstream, answer lost
    with pytest.raises(TransientProviderError):
        await provider.create(request())
    task_id = await provider.create(request())
    assert len(sim.created_tasks) == 1 and sim.created_tasks[0].id == task_id


async def test_reference_image_is_uploaded_and_referenced(
    sim: RivyaSimulator, provider: RivyaProvider, tmp_path: Path
) -> None:
    path = tmp_path / "ref.png"
    path.write_bytes(PNG)
    image = ReferenceImage(path, "ref.png", "image/png", None)
    url = await provider.prepare_reference(image, "sorabot-abc")
    upload = sim.uploads[0]
    assert upload.data == PNG and upload.kind == "image" and upload.model == "sora-2-pro"
    await provider.create(request(reference_url=url, image=image))
    items = sim.requests_to("create")[0].json["params"]["referenceMediaItems"]
    assert items == [{"url": url, "kind": "image", "name": "ref.png", "mimeType": "image/png"}]


async def test_upload_rejected_for_its_type(
    sim: RivyaSimulator, provider: RivyaProvider, tmp_path: Path
) -> None:
    sim.inject("upload", "upload_rejected")
    path = tmp_path / "ref.png"
    path.write_bytes(PNG)
    with pytest.raises(JobRejectedError, match="rejected"):
        await provider.prepare_reference(ReferenceImage(path, "r.png", "image/png", None), "k")


@pytest.mark.parametrize(
    ("mode", "options", "error", "retry_after"),
    [
        ("validation_failed", {}, JobRejectedError, None),
        ("insufficient_credits", {}, ProviderOutOfCreditsError, None),
        ("rate_limited", {"retry_after": 7}, TransientProviderError, 7.0),
        ("rate_limited", {}, TransientProviderError, None),
        ("server_error", {}, TransientProviderError, None),
        ("server_error", {"status": 502}, TransientProviderError, None),
        ("public_api_disabled", {}, TransientProviderError, None),
        ("timeout", {}, TransientProviderError, None),
        ("malformed_json", {}, TransientProviderError, None),
        ("html", {}, TransientProviderError, None),
        ("wrong_content_type", {}, None, None),  # the body is still JSON: read it
    ],
)
async def test_create_errors_map_to_what_the_worker_must_do(
    sim: RivyaSimulator,
    provider: RivyaProvider,
    mode: str,
    options: dict,
    error: type[Exception] | None,
    retry_after: float | None,
) -> None:
    sim.inject("create", mode, **options)
    if error is None:
        assert await provider.create(request())
        return
    with pytest.raises(error) as caught:
        await provider.create(request())
    if retry_after is not None:
        assert caught.value.retry_after == retry_after  # type: ignore[attr-defined]


async def test_bad_key_is_an_operator_error(sim: RivyaSimulator, provider: RivyaProvider) -> None:
    sim.key_status = "expired"
    with pytest.raises(ProviderMisconfiguredError) as caught:
        await provider.create(request())
    assert KEY not in str(caught.value)


async def test_failed_task_reason_and_unknown_task(
    sim: RivyaSimulator, provider: RivyaProvider
) -> None:
    sim.fail_next("The scene could not be rendered.")
    task_id = await provider.create(request())
    statuses = [await provider.status(task_id) for _ in range(3)]
    assert statuses[-1].state == "failed"
    assert statuses[-1].failure_reason == "The scene could not be rendered."
    with pytest.raises(JobRejectedError, match="no longer knows"):
        await provider.status("task_missing")


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("html", {"status": 404}),  # a proxy's "404 Not Found" page
        ("error", {"status": 404, "code": "route_missing"}),  # JSON, but not Rivya's not_found
    ],
)
async def test_a_404_without_rivyas_not_found_is_retried(
    sim: RivyaSimulator, provider: RivyaProvider, mode: str, options: dict
) -> None:
    task_id = await provider.create(request())
    sim.inject("status", mode, **options)
    with pytest.raises(TransientProviderError):
        await provider.status(task_id)
    for _ in range(10):
        if (await provider.status(task_id)).state == "succeeded":
            break
    else:
        raise AssertionError("the task never finished")


async def test_profile_from_the_catalogue(sim: RivyaSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        entry = await fetch_catalogue(session, sim.base_url, "sora-2-pro", 2)
        assert await fetch_catalogue(session, sim.base_url, "no-such-model", 2) is None
    assert entry is not None
    profile = profile_from_catalogue(entry)
    assert profile.durations == RIVYA_SORA_2_PRO.durations
    assert profile.qualities == RIVYA_SORA_2_PRO.qualities
    assert [t.name for t in profile.toggles] == ["remove_watermark"]
    assert profile.fixed_params == {"upload_method": "s3"}
    assert profile.prompt_limit == 10_000 and profile.max_images == 1


@pytest.mark.parametrize(
    ("reference_media", "limit"),
    [
        ({"max_files": 1, "limits": {"image": {"max_bytes": 8_000_000}}}, 8_000_000),
        ({"max_files": 1, "max_bytes": 5_000_000}, 5_000_000),
        # Shapes we do not know fall back to the documented 10 MB.
        ({"max_files": 1, "limits": {"image": {"max_bytes": "10MB"}}}, 10_000_000),
        ({"max_files": 1, "limits": ["image"]}, 10_000_000),
        ({"max_files": 1, "limits": {"image": {"max_bytes": True}}}, 10_000_000),
        ({"max_files": 1, "limits": {"image": {"max_bytes": -1}}}, 10_000_000),
        (None, 10_000_000),
        ("image", 10_000_000),
    ],
)
def test_the_image_limit_is_read_from_the_catalogue(reference_media: object, limit: int) -> None:
    entry = {"id": "m", "reference_media": reference_media, "params": []}
    assert with_catalogue_limits(RIVYA_SORA_2_PRO, entry).image_max_bytes == limit
    if isinstance(reference_media, dict):
        assert profile_from_catalogue(entry).image_max_bytes == limit


async def test_the_built_in_profile_takes_the_limit_the_catalogue_states(
    sim: RivyaSimulator,
) -> None:
    settings = load_settings(
        {"DISCORD_TOKEN": "t", "RIVYA_API_KEY": KEY, "RIVYA_BASE_URL": sim.base_url}
    )
    sim.model("sora-2-pro")["reference_media"]["limits"]["image"]["max_bytes"] = 8_000_000
    async with aiohttp.ClientSession() as session:
        provider = await build_provider(settings, session)
        assert provider.profile.image_max_bytes == 8_000_000
        assert provider.profile.durations == RIVYA_SORA_2_PRO.durations  # the rest is built in
        # A catalogue that cannot be read leaves the documented 10 MB.
        sim.inject("models", "server_error", times=None)
        provider = await build_provider(settings, session)
        assert provider.profile.image_max_bytes == 10_000_000


async def test_the_simulated_catalogue_states_10_mb(sim: RivyaSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        entry = await fetch_catalogue(session, sim.base_url, "sora-2-pro", 2)
    assert catalogue_image_limit(entry or {}) == 10_000_000


async def test_a_catalogue_only_model_round_trips(sim: RivyaSimulator) -> None:
    # A model the bot has never heard of: its profile comes from the catalogue, and the
    # simulator (strict about params and options) accepts what the bot then sends.
    entry = {**sim.model("sora-2-pro"), "id": "sora-3", "display_name": "Sora 3"}
    entry["params"] = [
        {**p, "options": ["5", "20"], "default": "5"} if p["key"] == "n_frames" else p
        for p in entry["params"]
    ]
    sim.catalogue.append(entry)
    async with aiohttp.ClientSession() as session:
        fetched = await fetch_catalogue(session, sim.base_url, "sora-3", 2)
        assert fetched is not None
        profile = profile_from_catalogue(fetched)
        assert profile.durations == (5, 20) and profile.label == "Sora 3"
        provider = RivyaProvider(
            base_url=sim.base_url,
            api_key=KEY,
            profile=profile,
            poll_seconds=(1,),
            timeout_seconds=2,
            session=session,
        )
        task_id = await provider.create(request(model="sora-3", duration=20))
        assert task_id


async def test_probe_notices_an_empty_account(sim: RivyaSimulator, provider: RivyaProvider) -> None:
    sim.credits = 10  # less than one 75-credit video
    health = await provider.probe()
    assert health.out_of_credits and health.refuses_jobs


async def test_probe_survives_an_odd_credits_answer(
    sim: RivyaSimulator, provider: RivyaProvider
) -> None:
    real_call = provider._call

    async def credits_as_a_list(method: str, path: str, **kwargs: object) -> object:
        if path == "/credits":
            return [75]  # valid JSON, not the documented object
        return await real_call(method, path, **kwargs)  # type: ignore[arg-type]

    provider._call = credits_as_a_list  # type: ignore[method-assign]
    health = await provider.probe()
    assert health.key_ok is True and health.model_available is True
    assert not health.out_of_credits and "? credits left" in health.detail


async def test_a_finished_task_says_how_long_it_took(
    sim: RivyaSimulator, provider: RivyaProvider
) -> None:
    task_id = await provider.create(request())
    running = await provider.status(task_id)
    assert running.state != "succeeded" and running.took_seconds is None
    task = sim.tasks[task_id]
    task.created_at -= 120.0
    task.ready_at = task.created_at + 100.0  # finished 20 s ago, 100 s after it was created
    done = await provider.status(task_id)
    assert done.state == "succeeded"
    assert done.took_seconds == pytest.approx(100.0, abs=0.002)


def test_an_unreadable_generation_time_is_left_out() -> None:
    assert _took_seconds({"created_at": "yesterday", "updated_at": "2026-05-11T00:00:00Z"}) is None
    assert _took_seconds({"updated_at": "2026-05-11T00:00:00Z"}) is None
    assert (
        _took_seconds({"created_at": "2026-05-11T00:00:10Z", "updated_at": "2026-05-11T00:00:00Z"})
        is None
    )
    assert _took_seconds(
        {"created_at": "2026-05-11T00:00:00.000Z", "updated_at": "2026-05-11T00:03:00.500Z"}
    ) == pytest.approx(180.5)


def _calls(operation: str, outcome: str) -> float:
    labels = {"provider": "rivya", "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("sora_provider_request_seconds_count", labels) or 0.0


async def test_every_call_is_counted_by_operation_and_outcome(
    sim: RivyaSimulator, provider: RivyaProvider, tmp_path: Path
) -> None:
    keys = [
        ("credits", "ok"),
        ("catalogue", "ok"),
        ("upload", "ok"),
        ("create", "unreachable"),
        ("create", "ok"),
        ("status", "server_error"),
    ]
    before = {key: _calls(*key) for key in keys}
    await provider.probe()
    path = tmp_path / "ref.png"
    path.write_bytes(PNG)
    await provider.prepare_reference(ReferenceImage(path, "ref.png", "image/png", None), "k")
    sim.inject("create", "drop", after=True)  # the connection closes: no answer
    with pytest.raises(TransientProviderError):
        await provider.create(request())
    task_id = await provider.create(request())
    sim.inject("status", "server_error")
    with pytest.raises(TransientProviderError):
        await provider.status(task_id)
    assert {key: _calls(*key) - count for key, count in before.items()} == dict.fromkeys(keys, 1)


def test_a_models_price_comes_from_the_catalogue_when_it_states_one() -> None:
    assert RIVYA_SORA_2_PRO.credits_per_video == 75
    assert with_catalogue_limits(RIVYA_SORA_2_PRO, {"base_credits": 90}).credits_per_video == 90
    assert (
        with_catalogue_limits(RIVYA_SORA_2_PRO, {"base_credits": "a lot"}).credits_per_video == 75
    )
    assert profile_from_catalogue({"id": "m", "base_credits": 12}).credits_per_video == 12
    assert profile_from_catalogue({"id": "m"}).credits_per_video is None
