"""The metrics: what each recording function counts, the database collector, and the labels
submissions and provider calls get."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from bot import metrics
from bot.errors import Refusal, RefusalKind
from bot.jobs.new_job import NewJob
from bot.jobs.store import JobStore
from bot.metrics import REGISTRY, Snapshot
from bot.models import Actor, JobOptions, JobState
from bot.ops.metrics_server import read_snapshot
from bot.providers.base import ProviderHealth
from bot.quota.allowance import Allowance
from tests.support.admission import HEALTHY, ask, make_submitter
from tests.support.doubles import FakeClock
from tests.support.jobs import DAY


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_provider_call_is_timed_and_labelled_by_its_answer() -> None:
    def outcome_count(outcome: str) -> float:
        return value(
            "sora_provider_request_seconds_count",
            provider="test",
            operation="status",
            outcome=outcome,
        )

    before = {o: outcome_count(o) for o in ("ok", "server_error", "rate_limited")}
    with metrics.provider_request("test", metrics.STATUS) as call:
        call.answered(200)
    with pytest.raises(RuntimeError), metrics.provider_request("test", metrics.STATUS) as call:
        call.answered(503)
        raise RuntimeError("the backend's own error for a 503")
    with metrics.provider_request("test", metrics.STATUS) as call:
        call.answered(429)
    assert {o: outcome_count(o) - before[o] for o in before} == {
        "ok": 1,
        "server_error": 1,
        "rate_limited": 1,
    }


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (TimeoutError(), "timeout"),
        (aiohttp.ClientConnectionError(), "unreachable"),
        (ValueError(), "error"),
    ],
)
def test_a_call_without_an_answer_is_labelled_by_its_failure(
    error: Exception, outcome: str
) -> None:
    labels = {"provider": "test", "operation": "create", "outcome": outcome}
    before = value("sora_provider_request_seconds_count", **labels)
    with pytest.raises(type(error)), metrics.provider_request("test", metrics.CREATE):
        raise error
    assert value("sora_provider_request_seconds_count", **labels) == before + 1


def test_a_cancelled_call_is_not_counted() -> None:
    total = sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "sora_provider_request_seconds"
        for sample in family.samples
        if sample.name.endswith("_count") and sample.labels.get("operation") == "upload"
    )
    with pytest.raises(asyncio.CancelledError), metrics.provider_request("test", metrics.UPLOAD):
        raise asyncio.CancelledError
    after = sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "sora_provider_request_seconds"
        for sample in family.samples
        if sample.name.endswith("_count") and sample.labels.get("operation") == "upload"
    )
    assert after == total


def test_deliveries_are_counted_by_kind() -> None:
    upload, fitted, link = (
        value("sora_deliveries_total", kind="upload"),
        value("sora_deliveries_total", kind="fitted"),
        value("sora_deliveries_total", kind="link"),
    )
    metrics.delivered("file")  # what a job records for an uploaded video
    metrics.delivered("fitted")  # an uploaded video compressed to fit first
    metrics.delivered("link")
    metrics.delivered("link")
    assert value("sora_deliveries_total", kind="upload") == upload + 1
    assert value("sora_deliveries_total", kind="fitted") == fitted + 1
    assert value("sora_deliveries_total", kind="link") == link + 2


async def test_submits_and_refusals_are_counted_by_reason(
    job_store: JobStore, tmp_path: Path
) -> None:
    submits = value("sora_submits_total")
    quota = value("sora_refusals_total", reason="quota_exhausted")
    service = value("sora_refusals_total", reason="service_unavailable")
    invalid = value("sora_refusals_total", reason="invalid_request")

    submitter = make_submitter(job_store, tmp_path, HEALTHY, limit=1)
    await submitter.submit(ask())
    for bad in (ask(), ask(duration=7)):  # the quota is spent; a duration the model lacks
        with pytest.raises(Refusal):
            await submitter.submit(bad)
    unavailable = make_submitter(job_store, tmp_path, ProviderHealth(True, False, "gone"))
    with pytest.raises(Refusal, match="not available"):
        await unavailable.submit(ask())

    assert value("sora_submits_total") == submits + 1
    assert value("sora_refusals_total", reason="quota_exhausted") == quota + 1
    assert value("sora_refusals_total", reason="invalid_request") == invalid + 1
    assert value("sora_refusals_total", reason="service_unavailable") == service + 1
    assert {reason.value for reason in RefusalKind} >= {"quota_exhausted", "other"}


async def test_the_database_counts_are_read_at_scrape_time(
    job_store: JobStore, clock: FakeClock
) -> None:
    jobs = []
    for user in (1, 2, 3):
        new = NewJob(
            by=Actor(1, user),
            channel_id=5,
            prompt="waves",
            options=JobOptions("landscape", 10, None),
        )
        jobs.append(await job_store.submit(new, Allowance(5, DAY)))
    await job_store.finish_unsuccessfully(jobs[2], JobState.FAILED, "test", "failed")
    clock.advance(3600)  # past the hand-over grace: both active jobs are due

    async def read() -> Snapshot:
        return await read_snapshot(job_store, clock.now(), in_flight=[jobs[0].id])

    await metrics.refresh(read)
    assert value("sora_jobs", state="queued") == 2
    assert value("sora_jobs", state="failed") == 1
    assert value("sora_jobs", state="delivered") == 0  # every state is listed
    assert value("sora_worker_queue_depth", stage="waiting") == 1
    assert value("sora_worker_queue_depth", stage="in_flight") == 1
    assert b'sora_jobs{state="queued"} 2.0' in metrics.exposition()

    async def broken() -> Snapshot:
        raise OSError("disk gone")

    await metrics.refresh(broken)  # the scrape still answers, with the last reading
    assert value("sora_jobs", state="queued") == 2


def test_credits_are_a_gauge_per_provider() -> None:
    metrics.credits_left("rivya", 925)
    metrics.credits_left("rivya", 850)
    assert value("sora_provider_credits", provider="rivya") == 850
