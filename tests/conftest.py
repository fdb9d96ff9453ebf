from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.jobs import JobStore
from bot.storage.database import Database
from tests.support.doubles import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "test.sqlite3")
    yield database
    await database.close()


@pytest.fixture
def job_store(db: Database, clock: FakeClock) -> JobStore:
    return JobStore(
        db,
        clock,
        provider="rivya",
        model="sora-2-pro",
        deadline_seconds=1800,
        max_active_per_member=2,
    )
