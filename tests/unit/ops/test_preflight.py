"""`sora-bot check`'s storage verdicts: read-only, and honest about migrations."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from bot.ops.preflight import (
    FAILED_DATABASE,
    FAILED_MEDIA,
    check_database,
    check_media,
    exit_status,
)
from bot.storage.database import bundled_migration_versions, open_database


async def test_a_migrated_database_is_current(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await (await open_database(path)).close()
    verdict = check_database(path)
    assert verdict.ok and "migrations up to date" in verdict.detail


async def test_pending_migrations_pass_and_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await (await open_database(path)).close()
    latest = bundled_migration_versions()[-1]
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = ?", (latest,))
    verdict = check_database(path)
    assert verdict.ok and "1 migration(s) to apply at the next start" in verdict.detail
    # Checking applied nothing.
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() != (latest,)


async def test_a_database_from_a_newer_version_fails(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await (await open_database(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (999, '999_future.sql')")
    verdict = check_database(path)
    assert not verdict.ok and "newer sora-bot (migrations [999])" in verdict.detail
    assert exit_status([verdict]) == FAILED_DATABASE


def test_a_missing_database_is_fine_where_it_can_be_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "bot.sqlite3"
    verdict = check_database(path)
    assert verdict.ok and "created at the first start" in verdict.detail
    assert not path.parent.exists()  # nothing was created


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_the_bot_cannot_write_fails(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    verdict = check_media(locked / "media")
    assert not verdict.ok and "is not writable by this user" in verdict.detail
    assert exit_status([verdict]) == FAILED_MEDIA


def test_a_file_where_the_media_folder_should_be_fails(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.write_text("not a folder")
    verdict = check_media(media)
    assert not verdict.ok and exit_status([verdict]) == FAILED_MEDIA


def test_a_damaged_database_fails(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"not sqlite" * 1000)
    verdict = check_database(path)
    assert not verdict.ok and "cannot be read" in verdict.detail


async def test_a_postgresql_database_is_checked_without_migrating_it(postgres) -> None:
    from bot.ops.preflight import check_postgres

    empty = postgres.empty()
    before = await check_postgres(empty)
    assert before.ok and "migration(s) to apply at the next start" in before.detail
    await (await open_database(empty)).close()
    after = await check_postgres(empty)
    assert after.ok and "migrations up to date" in after.detail


async def test_an_unreachable_postgresql_server_fails_the_check_without_its_password() -> None:
    from bot.ops.preflight import check_postgres
    from tests.support.postgres_cluster import _free_port

    verdict = await check_postgres(f"postgresql://sora:hunter22@127.0.0.1:{_free_port()}/sora")
    assert not verdict.ok and "cannot be reached" in verdict.detail
    assert "hunter22" not in verdict.detail
