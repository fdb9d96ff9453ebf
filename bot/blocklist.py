"""A guild's list of words and phrases refused in prompts.

Entries are plain text, matched case-insensitively as whole words: `fox` refuses "Fox" and
"a fox." but not "foxglove". A `*` at the start or end of an entry stands for any letters
(`fox*` also refuses "foxglove", `*fox` refuses "firefox"). No user-written regular expression
is ever compiled: entries are escaped, so no entry can make matching slow.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import aiosqlite

MAX_TERM_CHARS = 100
MAX_ENTRIES_PER_GUILD = 500

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w")


class InvalidTerm(ValueError):
    """A friendly reason why an entry cannot be added."""


@dataclass(frozen=True)
class Entry:
    id: int
    term: str


def normalise_text(text: str) -> str:
    """Fold what should not matter: case, compatibility forms, invisible characters, spacing."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Zero-width and other format characters would otherwise split a word invisibly.
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return _SPACES.sub(" ", visible).strip()


def normalise_term(raw: str) -> str:
    """The stored form of an entry, or `InvalidTerm` saying what is wrong."""
    term = normalise_text(raw)
    if not term:
        raise InvalidTerm("The blocklist entry is empty.")
    if len(term) > MAX_TERM_CHARS:
        raise InvalidTerm(f"A blocklist entry can be at most {MAX_TERM_CHARS} characters long.")
    core = term.removeprefix("*").removesuffix("*")
    if "*" in core:
        raise InvalidTerm("`*` may only be used at the start or the end of an entry.")
    if not _WORD.search(core):
        raise InvalidTerm("A blocklist entry needs at least one letter or digit.")
    return term


@lru_cache(maxsize=4096)
def _pattern(term: str) -> re.Pattern[str]:
    core = term.removeprefix("*").removesuffix("*")
    body = r"\s+".join(re.escape(word) for word in core.split(" "))
    prefix = r"\w*" if term.startswith("*") else ""
    suffix = r"\w*" if term.endswith("*") else ""
    # Lookarounds instead of \b: they also hold when the entry starts or ends with punctuation.
    return re.compile(rf"(?<!\w){prefix}{body}{suffix}(?!\w)")


def matches(term: str, text: str) -> bool:
    """Whether the normalised entry `term` occurs in already normalised `text`."""
    return _pattern(term).search(text) is not None


def first_match(entries: Sequence[Entry], prompt: str) -> Entry | None:
    text = normalise_text(prompt)
    for entry in entries:
        if matches(entry.term, text):
            return entry
    return None


# -- storage --------------------------------------------------------------------------------


async def entries(conn: aiosqlite.Connection, guild_id: int) -> list[Entry]:
    rows = await conn.execute_fetchall(
        "SELECT id, term FROM prompt_blocklist WHERE guild_id = ? ORDER BY term", (guild_id,)
    )
    return [Entry(int(row[0]), str(row[1])) for row in rows]


async def find(conn: aiosqlite.Connection, guild_id: int, term: str) -> Entry | None:
    cursor = await conn.execute(
        "SELECT id, term FROM prompt_blocklist WHERE guild_id = ? AND term = ?", (guild_id, term)
    )
    row = await cursor.fetchone()
    return Entry(int(row[0]), str(row[1])) if row else None


async def count(conn: aiosqlite.Connection, guild_id: int) -> int:
    cursor = await conn.execute(
        "SELECT COUNT(*) FROM prompt_blocklist WHERE guild_id = ?", (guild_id,)
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def add(
    conn: aiosqlite.Connection, guild_id: int, term: str, actor_id: int, now: float
) -> Entry:
    cursor = await conn.execute(
        "INSERT INTO prompt_blocklist (guild_id, term, added_by, added_at) VALUES (?, ?, ?, ?)",
        (guild_id, term, actor_id, now),
    )
    assert cursor.lastrowid is not None
    return Entry(cursor.lastrowid, term)


async def remove(conn: aiosqlite.Connection, entry: Entry) -> None:
    await conn.execute("DELETE FROM prompt_blocklist WHERE id = ?", (entry.id,))
