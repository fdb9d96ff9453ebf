from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.jobs.store import JobStore
from bot.storage.database import ENGINES, Database, open_database
from tests.support.doubles import FakeClock
from tests.support.jobs import make_store
from tests.support.postgres_cluster import Databases, PostgresCluster


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Databases]:
    """A real PostgreSQL server for the whole run, started on first use."""
    with PostgresCluster() as cluster:
        yield Databases(cluster)


def migrate(url: str) -> None:
    """Apply every migration to the database at `url` (callable with or without a running
    event loop: it runs on a thread of its own)."""

    async def run() -> None:
        await (await open_database(url)).close()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, run()).result(timeout=60)


def fresh_database_url(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty-of-rows database of `engine`, as a DATABASE_URL."""
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    databases: Databases = request.getfixturevalue("postgres")
    return databases.cleared(migrate)


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that uses it runs once on SQLite and once on PostgreSQL."""
    return fresh_database_url(request.param, request, tmp_path)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await open_database(database_url)
    yield database
    await database.close()


@pytest.fixture
def job_store(db: Database, clock: FakeClock) -> JobStore:
    return make_store(db, clock)
