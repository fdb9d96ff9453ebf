from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import Refusal
from bot.jobs.admission import ImageUpload
from bot.jobs.store import JobStore
from bot.providers.base import ProviderHealth
from tests.support.admission import HEALTHY, ask, make_submitter
from tests.support.images import PNG


async def test_accepts_and_keeps_the_image_by_its_real_type(
    job_store: JobStore, tmp_path: Path
) -> None:
    submitter = make_submitter(job_store, tmp_path, HEALTHY)
    job = await submitter.submit(ask(), ImageUpload(PNG, "holiday.gif", "https://cdn/holiday.gif"))
    assert job.image_mime == "image/png" and job.image_name == "holiday.png"
    assert job.image_path is not None and job.image_path.read_bytes() == PNG
    assert job.options.quality == "standard"  # the profile's default


@pytest.mark.parametrize(
    ("health", "message"),
    [
        (ProviderHealth(True, False, "gone"), "not available"),
        (ProviderHealth(False, True, "bad key"), "misconfigured"),
    ],
)
async def test_unhealthy_provider_refuses_before_anything_is_held(
    job_store: JobStore, tmp_path: Path, health: ProviderHealth, message: str
) -> None:
    submitter = make_submitter(job_store, tmp_path, health)
    with pytest.raises(Refusal, match=message):
        await submitter.submit(ask())
    assert await job_store.db.fetch_all("SELECT * FROM quota_ledger") == []


async def test_unknown_health_still_accepts(job_store: JobStore, tmp_path: Path) -> None:
    submitter = make_submitter(job_store, tmp_path, ProviderHealth(None, None, "offline"))
    await submitter.submit(ask())


async def test_a_refused_job_leaves_no_image_behind(job_store: JobStore, tmp_path: Path) -> None:
    submitter = make_submitter(job_store, tmp_path, HEALTHY, limit=0)
    with pytest.raises(Refusal):
        await submitter.submit(ask(), ImageUpload(PNG, "a.png", None))
    assert list(tmp_path.rglob("*.png")) == []


@pytest.mark.parametrize(
    "prompt",
    ["\u200b\u200b\u200b", "\u200c\u200d", "\u2060 \ufeff", " \u200b\n\u2060 ", "\u200e\u200f"],
)
async def test_a_prompt_of_invisible_characters_is_refused_and_spends_nothing(
    job_store: JobStore, tmp_path: Path, prompt: str
) -> None:
    submitter = make_submitter(job_store, tmp_path, HEALTHY)
    with pytest.raises(Refusal, match="empty"):
        await submitter.submit(ask(prompt=prompt))
    assert await job_store.db.fetch_all("SELECT * FROM jobs") == []
    assert await job_store.db.fetch_all("SELECT * FROM quota_ledger") == []
