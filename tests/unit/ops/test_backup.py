"""`sora-bot backup`: a consistent copy of a live WAL database, never over a file by accident."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.ops.backup import BackupError, backup_database


def live_database(path: Path) -> sqlite3.Connection:
    """A database whose latest rows exist only in its WAL file, still open (as the bot's is)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # keep every change in the WAL
    conn.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, prompt TEXT)")
    conn.executemany("INSERT INTO jobs (prompt) VALUES (?)", [(f"video {n}",) for n in range(50)])
    return conn


def test_backup_holds_changes_still_in_the_wal(tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    conn = live_database(source)
    try:
        # What copying the file would give: the rows are not in it yet.
        naive = tmp_path / "naive.sqlite3"
        shutil.copyfile(source, naive)
        with pytest.raises(sqlite3.OperationalError):
            sqlite3.connect(naive).execute("SELECT count(*) FROM jobs").fetchone()

        target = tmp_path / "backups" / "copy.sqlite3"
        size = backup_database(source, target)
        # The bot keeps writing during and after the backup.
        conn.execute("INSERT INTO jobs (prompt) VALUES ('after')")
    finally:
        conn.close()
    assert size == target.stat().st_size > 0
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT count(*) FROM jobs").fetchone() == (50,)
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    copy.close()
    assert not (tmp_path / "backups" / "copy.sqlite3.partial").exists()


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    live_database(source).close()
    target = tmp_path / "copy.sqlite3"
    target.write_text("an older backup")
    with pytest.raises(BackupError, match="already exists; pass --force"):
        backup_database(source, target)
    assert target.read_text() == "an older backup"
    backup_database(source, target, force=True)
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM jobs").fetchone() == (50,)


def test_the_database_itself_is_never_the_target(tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    live_database(source).close()
    with pytest.raises(BackupError, match="cannot replace the database itself"):
        backup_database(source, tmp_path / "." / "bot.sqlite3", force=True)


def test_a_missing_database_is_reported_not_created(tmp_path: Path) -> None:
    source = tmp_path / "nothing.sqlite3"
    with pytest.raises(BackupError, match="there is no database at"):
        backup_database(source, tmp_path / "copy.sqlite3")
    assert not source.exists() and not (tmp_path / "copy.sqlite3").exists()


def test_a_damaged_database_leaves_no_backup(tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    source.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackupError, match="the backup failed"):
        backup_database(source, tmp_path / "copy.sqlite3")
    assert list(tmp_path.iterdir()) == [source]
