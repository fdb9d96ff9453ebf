"""Pages of videos for the web gallery: a member's own jobs, and a server's delivered videos.

Pages are keyset-paged on job ids, newest first (`before`: the smallest id of the page shown;
None: the first page), each one a short range of an index from migration 015, so page 500 is
as quick as page 1. The partial indexes are used only when a query repeats their condition as
written, hence the literal `state = 'delivered' AND result_deleted_at IS NULL` below.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.connection import Connection, Row, marks

_SHOWN = "state = 'delivered' AND result_deleted_at IS NULL"
_COLUMNS = "*"  # the whole row: the page reads it as a `bot.models.Job`


def like_pattern(word: str) -> str:
    """`%word%` with LIKE's wildcards in `word` matched literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _words_condition(words: Sequence[Sequence[str]]) -> tuple[str, list[object]]:
    """Every word in the prompt, each in any of its spellings (LIKE is case-blind for ASCII
    on SQLite; LOWER makes PostgreSQL the same)."""
    clauses: list[str] = []
    params: list[object] = []
    for spellings in words:
        ors = " OR ".join("LOWER(prompt) LIKE LOWER(?) ESCAPE '\\'" for _ in spellings)
        clauses.append(f"({ors})")
        params += [like_pattern(spelling) for spelling in spellings]
    return "".join(f" AND {clause}" for clause in clauses), params


async def member_jobs(
    conn: Connection,
    user_id: int,
    before: int | None,
    limit: int,
    words: Sequence[Sequence[str]] = (),
    *,
    guild_ids: Sequence[int] = (),
) -> list[Row]:
    """Every job of the member in every server (with `guild_ids`, in those servers only),
    newest first; with `words`, only those whose prompt holds each of them."""
    matching, word_params = _words_condition(words)
    older = " AND id < ?" if before is not None else ""
    servers = f" AND guild_id IN ({marks(guild_ids)})" if guild_ids else ""
    rows = await conn.fetch_all(
        f"SELECT {_COLUMNS} FROM jobs WHERE user_id = ?{older}{servers}{matching} "
        "ORDER BY id DESC LIMIT ?",
        (
            user_id,
            *([before] if before is not None else []),
            *guild_ids,
            *word_params,
            limit,
        ),
    )
    return rows


async def delivered_channels(conn: Connection, guild_id: int) -> list[int]:
    """The channels (and threads) holding the server's shown videos."""
    rows = await conn.fetch_all(
        f"SELECT DISTINCT channel_id FROM jobs WHERE guild_id = ? AND {_SHOWN}", (guild_id,)
    )
    return [int(row[0]) for row in rows]


async def guild_videos(
    conn: Connection,
    guild_id: int,
    channel_ids: Sequence[int],
    before: int | None,
    limit: int,
    member_id: int | None = None,
) -> list[Row]:
    """The server's delivered videos posted in `channel_ids`, newest first, optionally one
    member's only."""
    if not channel_ids:
        return []
    member = " AND user_id = ?" if member_id is not None else ""
    older = " AND id < ?" if before is not None else ""
    rows = await conn.fetch_all(
        f"SELECT {_COLUMNS} FROM jobs WHERE guild_id = ?{member} AND {_SHOWN}{older} "
        f"AND channel_id IN ({marks(channel_ids)}) ORDER BY id DESC LIMIT ?",
        (
            guild_id,
            *([member_id] if member_id is not None else []),
            *([before] if before is not None else []),
            *channel_ids,
            limit,
        ),
    )
    return rows
