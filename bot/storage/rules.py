"""The quota rules tables: guild defaults, role allowances, member overrides and blocks.

Plain reads and writes on a connection the caller holds, so a moderator's change and its audit
row commit together (see bot/moderation/service.py). The records below are the rules as
moderators set them; how they combine into an allowance is in bot/quota/allowance.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.connection import Connection, Row, marks


@dataclass(frozen=True)
class GuildDefault:
    limit: int
    period: str


@dataclass(frozen=True)
class MemberRules:
    guild_default: GuildDefault | None
    override: int | None
    role_limits: dict[int, int]  # role id -> limit, for the member's roles that have one


@dataclass(frozen=True)
class Block:
    reason: str | None
    blocked_by: int
    blocked_at: float


@dataclass(frozen=True)
class Standing:
    """A member's rules and whether they are blocked: what admission reads for each /sora."""

    rules: MemberRules
    blocked: bool


async def _one(conn: Connection, sql: str, params: tuple[object, ...]) -> Row | None:
    return await conn.fetch_one(sql, params)


async def member_rules(
    conn: Connection, guild_id: int, user_id: int, role_ids: tuple[int, ...]
) -> MemberRules:
    role_limits: dict[int, int] = {}
    if role_ids:
        rows = await conn.fetch_all(
            "SELECT role_id, quota_limit FROM quota_role_limits "
            f"WHERE guild_id = ? AND role_id IN ({marks(role_ids)})",
            (guild_id, *role_ids),
        )
        role_limits = {int(row[0]): int(row[1]) for row in rows}
    return MemberRules(
        guild_default=await guild_default(conn, guild_id),
        override=await get_override(conn, guild_id, user_id),
        role_limits=role_limits,
    )


async def member_standing(
    conn: Connection, guild_id: int, user_id: int, role_ids: tuple[int, ...]
) -> Standing:
    """`member_rules` and `get_block` in a single statement."""
    # A member without roles reads no role limits (and `IN ()` is not valid SQL everywhere).
    roles = (
        "UNION ALL SELECT 'role', quota_limit, NULL, role_id FROM quota_role_limits "
        f"WHERE guild_id = ? AND role_id IN ({marks(role_ids)})"
        if role_ids
        else ""
    )
    role_params = (guild_id, *role_ids) if role_ids else ()
    rows = await conn.fetch_all(
        "SELECT 'default', quota_limit, period, CAST(NULL AS BIGINT) FROM quota_guild_defaults "
        "WHERE guild_id = ? "
        "UNION ALL SELECT 'override', quota_limit, NULL, NULL FROM quota_member_overrides "
        "WHERE guild_id = ? AND user_id = ? "
        "UNION ALL SELECT 'block', NULL, NULL, NULL FROM quota_blocks "
        f"WHERE guild_id = ? AND user_id = ? {roles}",
        (guild_id, guild_id, user_id, guild_id, user_id, *role_params),
    )
    default: GuildDefault | None = None
    override: int | None = None
    blocked = False
    role_limits: dict[int, int] = {}
    for kind, limit, period, role_id in rows:
        if kind == "default":
            default = GuildDefault(int(limit), str(period))
        elif kind == "override":
            override = int(limit)
        elif kind == "block":
            blocked = True
        else:
            role_limits[int(role_id)] = int(limit)
    return Standing(MemberRules(default, override, role_limits), blocked)


async def guild_default(conn: Connection, guild_id: int) -> GuildDefault | None:
    row = await _one(
        conn,
        "SELECT quota_limit, period FROM quota_guild_defaults WHERE guild_id = ?",
        (guild_id,),
    )
    return GuildDefault(int(row[0]), str(row[1])) if row else None


async def set_guild_default(
    conn: Connection, guild_id: int, limit: int, period: str, actor_id: int, now: float
) -> None:
    await conn.execute(
        "INSERT INTO quota_guild_defaults (guild_id, quota_limit, period, updated_by, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
        "quota_limit = excluded.quota_limit, period = excluded.period, "
        "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (guild_id, limit, period, actor_id, now),
    )


async def get_role_limit(conn: Connection, guild_id: int, role_id: int) -> int | None:
    row = await _one(
        conn,
        "SELECT quota_limit FROM quota_role_limits WHERE guild_id = ? AND role_id = ?",
        (guild_id, role_id),
    )
    return int(row[0]) if row else None


async def set_role_limit(
    conn: Connection, guild_id: int, role_id: int, limit: int, actor_id: int, now: float
) -> None:
    await conn.execute(
        "INSERT INTO quota_role_limits (guild_id, role_id, quota_limit, updated_by, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, role_id) DO UPDATE SET "
        "quota_limit = excluded.quota_limit, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at",
        (guild_id, role_id, limit, actor_id, now),
    )


async def clear_role_limit(conn: Connection, guild_id: int, role_id: int) -> bool:
    changed = await conn.execute(
        "DELETE FROM quota_role_limits WHERE guild_id = ? AND role_id = ?", (guild_id, role_id)
    )
    return changed == 1


async def get_override(conn: Connection, guild_id: int, user_id: int) -> int | None:
    row = await _one(
        conn,
        "SELECT quota_limit FROM quota_member_overrides WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    return int(row[0]) if row else None


async def set_override(
    conn: Connection, guild_id: int, user_id: int, limit: int, actor_id: int, now: float
) -> None:
    await conn.execute(
        "INSERT INTO quota_member_overrides (guild_id, user_id, quota_limit, updated_by, "
        "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET "
        "quota_limit = excluded.quota_limit, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at",
        (guild_id, user_id, limit, actor_id, now),
    )


async def clear_override(conn: Connection, guild_id: int, user_id: int) -> bool:
    changed = await conn.execute(
        "DELETE FROM quota_member_overrides WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    return changed == 1


async def get_block(conn: Connection, guild_id: int, user_id: int) -> Block | None:
    row = await _one(
        conn,
        "SELECT reason, blocked_by, blocked_at FROM quota_blocks "
        "WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    return Block(row[0], int(row[1]), float(row[2])) if row else None


async def add_block(
    conn: Connection,
    guild_id: int,
    user_id: int,
    reason: str | None,
    actor_id: int,
    now: float,
) -> bool:
    """False if the member was already blocked (the first block and its reason stand)."""
    changed = await conn.execute(
        "INSERT INTO quota_blocks (guild_id, user_id, reason, blocked_by, blocked_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (guild_id, user_id, reason, actor_id, now),
    )
    return changed == 1


async def remove_block(conn: Connection, guild_id: int, user_id: int) -> bool:
    changed = await conn.execute(
        "DELETE FROM quota_blocks WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return changed == 1
