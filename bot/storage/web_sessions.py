"""The web gallery's sign-ins under way and signed-in sessions (tables from migration 014).

Rows are keyed by the SHA-256 of the cookie's secret, never the secret itself: whoever reads
the database cannot open a session with what they read. bot/web/sessions.py makes the secrets
and decides lifetimes; this module only stores and finds the rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.storage.connection import Connection


@dataclass(frozen=True)
class SignIn:
    state: str
    code_verifier: str
    next_path: str
    created_at: float


@dataclass(frozen=True)
class SharedGuild:
    """A server the member shared with the bot when they signed in (for the menu only)."""

    id: int
    name: str


@dataclass(frozen=True)
class SessionRow:
    user_id: int
    user_name: str
    locale: str
    csrf_token: str
    guilds: tuple[SharedGuild, ...]
    created_at: float
    expires_at: float


async def add_sign_in(
    conn: Connection,
    token_hash: str,
    state: str,
    code_verifier: str,
    next_path: str,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO web_sign_ins (token_hash, state, code_verifier, next_path, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (token_hash, state, code_verifier, next_path, now),
    )


async def take_sign_in(conn: Connection, token_hash: str) -> SignIn | None:
    """The sign-in under way for this cookie, removed as it is read: it serves once."""
    row = await conn.fetch_one(
        "DELETE FROM web_sign_ins WHERE token_hash = ? "
        "RETURNING state, code_verifier, next_path, created_at",
        (token_hash,),
    )
    if row is None:
        return None
    return SignIn(str(row[0]), str(row[1]), str(row[2]), float(row[3]))


async def add_session(conn: Connection, token_hash: str, session: SessionRow) -> None:
    guilds = json.dumps([{"id": str(g.id), "name": g.name} for g in session.guilds])
    await conn.execute(
        "INSERT INTO web_sessions (token_hash, user_id, user_name, locale, csrf_token, "
        "guilds_json, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            token_hash,
            session.user_id,
            session.user_name,
            session.locale,
            session.csrf_token,
            guilds,
            session.created_at,
            session.expires_at,
        ),
    )


async def find_session(conn: Connection, token_hash: str, now: float) -> SessionRow | None:
    """The session for this cookie, unless it has expired."""
    row = await conn.fetch_one(
        "SELECT user_id, user_name, locale, csrf_token, guilds_json, created_at, expires_at "
        "FROM web_sessions WHERE token_hash = ? AND expires_at > ?",
        (token_hash, now),
    )
    if row is None:
        return None
    guilds = tuple(
        SharedGuild(int(entry["id"]), str(entry["name"])) for entry in json.loads(row[4])
    )
    return SessionRow(
        int(row[0]), str(row[1]), str(row[2]), str(row[3]), guilds, float(row[5]), float(row[6])
    )


async def set_locale(conn: Connection, token_hash: str, locale: str) -> None:
    await conn.execute(
        "UPDATE web_sessions SET locale = ? WHERE token_hash = ?", (locale, token_hash)
    )


async def remove_session(conn: Connection, token_hash: str) -> None:
    await conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))


async def remove_stale(conn: Connection, sessions_before: float, sign_ins_before: float) -> int:
    """Drop expired sessions and abandoned sign-ins; how many rows went."""
    removed = await conn.execute(
        "DELETE FROM web_sessions WHERE expires_at <= ?", (sessions_before,)
    )
    return removed + await conn.execute(
        "DELETE FROM web_sign_ins WHERE created_at <= ?", (sign_ins_before,)
    )
