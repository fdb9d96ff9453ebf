"""The quick look before a request costs anything: every refusal `submit` would give now, read
without a lock and without writing, so the Discord glue asks it before downloading an image or
looking up the members a prompt mentions."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import Refusal, RefusalKind
from bot.jobs.store import JobStore
from bot.models import Actor
from bot.moderation.actions import Block, Grant
from bot.moderation.service import ModerationService
from bot.providers.base import ProviderHealth
from bot.storage.database import Database
from tests.support.admission import MEMBER, ask, make_submitter
from tests.support.doubles import FakeClock

MOD = Actor(1, 99, manage_guild=True)


async def rows(db: Database) -> tuple[int, int]:
    jobs = int(await db.fetch_value("SELECT COUNT(*) FROM jobs"))
    ledger = int(await db.fetch_value("SELECT COUNT(*) FROM quota_ledger"))
    return jobs, ledger


async def test_the_preview_refuses_what_submit_would_and_writes_nothing(
    job_store: JobStore, db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    submitter = make_submitter(job_store, tmp_path, limit=1)
    await submitter.preview(ask())  # nothing against it yet
    await submitter.submit(ask())
    with pytest.raises(Refusal) as used_up:
        await submitter.preview(ask())
    assert used_up.value.kind is RefusalKind.QUOTA_EXHAUSTED
    assert await rows(db) == (1, 1)

    moderation = ModerationService(db=db, clock=clock, jobs=job_store, policy=submitter.policy)
    await moderation.perform(MOD, Grant(MEMBER.user_id, 3))
    await moderation.perform(MOD, Block(MEMBER.user_id))
    with pytest.raises(Refusal) as blocked:
        await submitter.preview(ask())
    assert blocked.value.kind is RefusalKind.MEMBER_BLOCKED


async def test_the_preview_leaves_the_prompt_to_submit(job_store: JobStore, tmp_path: Path) -> None:
    # A mention is written out as a name before the prompt is judged: `<@…>` may grow or
    # shrink, so its length is checked by `submit` alone.
    submitter = make_submitter(job_store, tmp_path, limit=5)
    await submitter.preview(ask("x" * 20_000))
    with pytest.raises(Refusal) as too_long:
        await submitter.submit(ask("x" * 20_000))
    assert too_long.value.kind is RefusalKind.INVALID_REQUEST


async def test_the_preview_says_when_the_service_refuses_jobs(
    job_store: JobStore, tmp_path: Path
) -> None:
    down = ProviderHealth(key_ok=None, model_available=None, detail="", out_of_credits=True)
    submitter = make_submitter(job_store, tmp_path, down)
    with pytest.raises(Refusal) as refused:
        await submitter.preview(ask())
    assert refused.value.kind is RefusalKind.SERVICE_UNAVAILABLE
