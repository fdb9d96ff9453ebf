"""`sora-bot backup PATH`: an online, consistent copy of the SQLite database.

SQLite's backup API copies a single snapshot of the database, including what is still in the
WAL file, while the bot keeps running (a WAL reader does not block its writes). Copying the
file instead can miss recent changes or catch a half-written page."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class BackupError(Exception):
    """Why no backup was made, in one line for the operator."""


def backup_database(source: Path, target: Path, *, force: bool = False) -> int:
    """Copy the database at `source` to `target`, checked; return the copy's size in bytes."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (DATABASE_PATH); nothing to back up")
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the backup a file name")
    if target.exists():
        if not force:
            raise BackupError(f"{target} already exists; pass --force to overwrite it")
        if target.resolve() == source.resolve():
            raise BackupError("the backup cannot replace the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed when verified: a failed backup never replaces a
    # good older one.
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _copy_and_verify(source, partial)
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupError(f"the backup failed: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def _copy_and_verify(source: Path, copy: Path) -> None:
    # Read-only, so a wrong path can never create or change a database.
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
            # A single self-contained file, restorable by copying it back.
            dst.execute("PRAGMA journal_mode=DELETE")
            problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
        finally:
            dst.close()
    finally:
        src.close()
    if problems != ["ok"]:
        raise BackupError(f"the copy failed its integrity check: {'; '.join(problems[:3])}")
