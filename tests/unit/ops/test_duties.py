"""Once-per-deployment work runs on one process at a time and moves when that process dies."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.ops.duties import COMMAND_SYNC_LOCK, DeploymentDuties
from bot.storage.database import open_database
from tests.support.postgres_cluster import Databases

TIMEOUT = 10.0


async def test_the_only_sqlite_process_always_holds_the_duties(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "one.sqlite3")
    try:
        duties = DeploymentDuties(db)
        assert duties.held
        await asyncio.wait_for(duties.run(), TIMEOUT)  # nothing to take: returns at once
        assert duties.held
    finally:
        await db.close()


async def test_one_postgresql_process_holds_them_and_another_takes_over(
    postgres: Databases,
) -> None:
    url = postgres.empty()
    first, second = await open_database(url), await open_database(url)
    one, other = DeploymentDuties(first, 0.05), DeploymentDuties(second, 0.05)
    tasks = [asyncio.create_task(one.run()), asyncio.create_task(other.run())]
    try:
        await asyncio.wait_for(
            asyncio.wait(
                [asyncio.create_task(d.wait_until_held()) for d in (one, other)],
                return_when=asyncio.FIRST_COMPLETED,
            ),
            TIMEOUT,
        )
        for _ in range(5):  # stays with one process
            await asyncio.sleep(0.05)
            assert one.held != other.held
        holder, waiter = (one, other) if one.held else (other, one)
        dying = tasks[0] if holder is one else tasks[1]
        # The holder's process dies: its task stops and its connections close.
        dying.cancel()
        await asyncio.gather(dying, return_exceptions=True)
        await (first if holder is one else second).close()
        await asyncio.wait_for(waiter.wait_until_held(), TIMEOUT)
        assert waiter.held
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for db in (first, second):
            await db.close()


async def test_command_sync_waits_for_the_process_syncing(postgres: Databases) -> None:
    url = postgres.empty()
    first, second = await open_database(url), await open_database(url)
    order: list[str] = []
    try:
        async with first.deployment_lock(*COMMAND_SYNC_LOCK, wait=True):
            waiting = asyncio.create_task(_sync(second, order))
            await asyncio.sleep(0.2)
            assert order == []  # the second process waits while the first syncs
            order.append("first")
        await asyncio.wait_for(waiting, TIMEOUT)
        assert order == ["first", "second"]
    finally:
        await first.close()
        await second.close()


async def _sync(db, order: list[str]) -> None:  # type: ignore[no-untyped-def]
    async with db.deployment_lock(*COMMAND_SYNC_LOCK, wait=True):
        order.append("second")
