"""All SQL lives in bot/storage/: the domain modules keep the decisions and call it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Statements as the code writes them: a keyword opening a string literal.
_SQL = re.compile(r"""["'](?:SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|PRAGMA)\b""")
# `sora-bot backup` checks the copy it wrote, a file apart from the bot's database.
INSPECTIONS = {"bot/ops/backup.py"}


def test_sql_is_written_only_in_the_storage_layer() -> None:
    offenders = []
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "cogs").rglob("*.py")]):
        name = path.relative_to(ROOT).as_posix()
        if name.startswith("bot/storage/") or name in INSPECTIONS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _SQL.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


def test_the_domain_modules_hold_no_connection_calls() -> None:
    calls = re.compile(r"\bconn\.(execute|fetch_all|fetch_one|fetch_value|insert_returning_id)\(")
    offenders = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "bot").glob("*.py"))
        if calls.search(path.read_text())
    ]
    assert offenders == []
