"""The jobs table (and the reposts of their videos): the queue the worker reads and the rows
the state machine moves. bot/jobs/store.py decides which moves are allowed; this module only says
how each read and conditional write is put to the database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from bot.models import (
    ACTIVE_STATES,
    IN_QUEUE,
    PENDING_AT_PROVIDER,
    RELEASED_STATES,
    WORKER_STATES,
    JobState,
    ShardSlice,
)
from bot.storage import budget, ledger
from bot.storage.connection import Connection, Row, database_now, marks

_ACTIVE = tuple(state.value for state in ACTIVE_STATES)
_STEPPED = tuple(state.value for state in WORKER_STATES)  # the worker's steps move these
_SLOT = tuple(state.value for state in PENDING_AT_PROVIDER)  # each holds a slot
_WAITING = JobState.WAITING.value
assert IN_QUEUE == (JobState.WAITING,)
# Jobs that ended giving their unit back delivered nothing: they start no cooldown.
_RELEASED = tuple(state.value for state in RELEASED_STATES)


def _excluding(ids: tuple[int, ...]) -> str:
    """` AND id NOT IN (?, …)` for `ids`, or nothing (an empty list is not valid SQL)."""
    return f" AND id NOT IN ({marks(ids)})" if ids else ""


# -- reading ----------------------------------------------------------------------------------


async def get(conn: Connection, job_id: int) -> Row | None:
    return await conn.fetch_one("SELECT * FROM jobs WHERE id = ?", (job_id,))


async def due(
    conn: Connection,
    now: float,
    limit: int,
    states: tuple[JobState, ...],
    exclude: tuple[int, ...],
) -> list[Row]:
    values = tuple(state.value for state in states)
    return await conn.fetch_all(
        f"SELECT * FROM jobs WHERE state IN ({marks(values)}) AND next_action_at <= ?"
        f"{_excluding(exclude)} ORDER BY next_action_at, id LIMIT ?",
        (*values, now, *exclude, limit),
    )


async def next_due_at(
    conn: Connection, exclude: tuple[int, ...], owner: str | None = None
) -> float | None:
    """The earliest next action time; with `owner`, a job another worker holds counts from
    the end of its lease (when it may be taken over)."""
    params: tuple[str, ...] = ()
    due_at = "next_action_at"
    if owner is not None:
        due_at = (
            "CASE WHEN lease_owner IS NOT NULL AND lease_owner <> ? "
            "AND lease_until > next_action_at THEN lease_until ELSE next_action_at END"
        )
        params = (owner,)
    value = await conn.fetch_value(
        f"SELECT MIN({due_at}) FROM jobs WHERE state IN ({marks(_STEPPED)}){_excluding(exclude)}",
        (*params, *_STEPPED, *exclude),
    )
    return float(value) if value is not None else None


async def claim_due(
    conn: Connection,
    engine: str,
    owner: str,
    now: float,
    lease_seconds: float,
    limit: int,
    states: tuple[JobState, ...],
    exclude: tuple[int, ...],
) -> list[Row]:
    """Lease up to `limit` jobs in `states` due at `now` to `owner` for `lease_seconds`: jobs
    nobody holds, that `owner` holds already, or whose lease has lapsed (their worker died).
    Leases are written and judged by the database's clock, never a process's. On PostgreSQL,
    rows another worker is claiming at this moment are skipped, not waited for. Oldest due
    first."""
    values = tuple(state.value for state in states)
    skip_locked = " FOR UPDATE SKIP LOCKED" if engine == "postgresql" else ""
    db_now = database_now(engine)
    rows = await conn.fetch_all(
        f"UPDATE jobs SET lease_owner = ?, lease_until = {db_now} + ? WHERE id IN ("
        f"SELECT id FROM jobs WHERE state IN ({marks(values)}) AND next_action_at <= ? "
        f"AND (lease_owner IS NULL OR lease_owner = ? OR lease_until <= {db_now})"
        f"{_excluding(exclude)} ORDER BY next_action_at, id LIMIT ?{skip_locked}) RETURNING *",
        (owner, lease_seconds, *values, now, owner, *exclude, limit),
    )
    return sorted(rows, key=lambda row: (row["next_action_at"], row["id"]))


async def renew_leases(
    conn: Connection, engine: str, owner: str, job_ids: tuple[int, ...], lease_seconds: float
) -> set[int]:
    """Extend `owner`'s leases on `job_ids` by `lease_seconds` from the database's now; the
    ids it still held (another worker may have taken a job whose lease lapsed)."""
    if not job_ids:
        return set()
    rows = await conn.fetch_all(
        f"UPDATE jobs SET lease_until = {database_now(engine)} + ? "
        f"WHERE lease_owner = ? AND id IN ({marks(job_ids)}) RETURNING id",
        (lease_seconds, owner, *job_ids),
    )
    return {int(row[0]) for row in rows}


async def holds_lease(conn: Connection, engine: str, owner: str, job_id: int) -> bool:
    """Whether `owner`'s lease on the job is still in force, by the database's clock."""
    row = await conn.fetch_one(
        "SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ? "
        f"AND lease_until > {database_now(engine)}",
        (job_id, owner),
    )
    return row is not None


async def release_lease(conn: Connection, owner: str, job_id: int) -> None:
    await conn.execute(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
        (job_id, owner),
    )


async def count_by_state(conn: Connection) -> dict[str, int]:
    rows = await conn.fetch_all("SELECT state, COUNT(*) FROM jobs GROUP BY state")
    return {str(row[0]): int(row[1]) for row in rows}


async def count_due(conn: Connection, now: float, excluding: Collection[int]) -> int:
    excluded = tuple(excluding)
    value = await conn.fetch_value(
        f"SELECT COUNT(*) FROM jobs WHERE state IN ({marks(_STEPPED)}) "
        f"AND next_action_at <= ?{_excluding(excluded)}",
        (*_STEPPED, now, *excluded),
    )
    return int(value or 0)


async def recent_for_member(conn: Connection, guild_id: int, user_id: int, limit: int) -> list[Row]:
    return await conn.fetch_all(
        "SELECT * FROM jobs WHERE guild_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?",
        (guild_id, user_id, limit),
    )


async def active_image_paths(conn: Connection) -> list[str]:
    rows = await conn.fetch_all(
        f"SELECT image_path FROM jobs WHERE image_path IS NOT NULL AND state IN ({marks(_ACTIVE)})",
        _ACTIVE,
    )
    return [str(row[0]) for row in rows]


async def active_video_paths(conn: Connection) -> list[str]:
    """Kept videos of jobs still in progress."""
    rows = await conn.fetch_all(
        f"SELECT video_path FROM jobs WHERE video_path IS NOT NULL AND state IN ({marks(_ACTIVE)})",
        _ACTIVE,
    )
    return [str(row[0]) for row in rows]


async def image_used_elsewhere(conn: Connection, job_id: int, image_path: str) -> bool:
    """Whether a job other than `job_id` still needs the reference image at `image_path`: one
    in progress, or one delivered and not removed (it may be re-run)."""
    row = await conn.fetch_one(
        "SELECT 1 FROM jobs WHERE image_path = ? AND id <> ? "
        f"AND state NOT IN ({marks(_RELEASED)}) AND result_deleted_at IS NULL LIMIT 1",
        (image_path, job_id, *_RELEASED),
    )
    return row is not None


async def at_service_in_guild(conn: Connection, guild_id: int) -> list[Row]:
    """The guild's jobs holding a slot at the video service."""
    return await conn.fetch_all(
        f"SELECT * FROM jobs WHERE guild_id = ? AND state IN ({marks(_SLOT)}) ORDER BY id",
        (guild_id, *_SLOT),
    )


async def active_for_member(conn: Connection, guild_id: int, user_id: int) -> list[Row]:
    return await conn.fetch_all(
        "SELECT * FROM jobs WHERE guild_id = ? AND user_id = ? "
        f"AND state IN ({marks(_ACTIVE)}) ORDER BY id",
        (guild_id, user_id, *_ACTIVE),
    )


async def by_message(conn: Connection, guild_id: int, message_id: int) -> Row | None:
    """The job whose result, status message or /sora-show repost is `message_id` (its result
    first)."""
    return await conn.fetch_one(
        "SELECT * FROM jobs WHERE guild_id = ? "
        "AND (result_message_id = ? OR status_message_id = ? "
        "OR id = (SELECT job_id FROM result_reposts WHERE message_id = ?)) "
        "ORDER BY CASE WHEN result_message_id = ? THEN 0 ELSE 1 END LIMIT 1",
        (guild_id, message_id, message_id, message_id, message_id),
    )


async def reposts(conn: Connection, job_id: int) -> list[tuple[int, int]]:
    rows = await conn.fetch_all(
        "SELECT channel_id, message_id FROM result_reposts WHERE job_id = ?", (job_id,)
    )
    return [(int(row[0]), int(row[1])) for row in rows]


# -- the queue (bot/jobs/queue.py says the rules) ---------------------------------------------

_MEMBER_LAST_START = (
    "COALESCE((SELECT MAX(s.started_at) FROM jobs AS s "
    "WHERE s.guild_id = w.guild_id AND s.user_id = w.user_id), 0)"
)
_GUILD_LAST_START = (
    "COALESCE((SELECT MAX(s.started_at) FROM jobs AS s WHERE s.guild_id = w.guild_id), 0)"
)


async def next_waiting(
    conn: Connection,
    engine: str,
    *,
    per_member: int,
    per_guild: int | None,
    provider: int | None,
    owner: str | None,
    guild_ids: Collection[int] = (),
    shards: ShardSlice | None = None,
    lock: bool = True,
) -> Row | None:
    """The waiting job to start next, if any may take a slot now: among the waiting jobs whose
    member and guild (and, with `provider`, the deployment) have a slot free, the oldest of the
    member whose last job started longest ago; with `provider`, of the guild whose last job
    started longest ago first. Only jobs of `guild_ids` when given (the servers the bot
    serves) and of the servers `shards` covers (this process's). A job another worker holds
    a lease on (by the database's clock) is left to it; with `lock` on PostgreSQL, the row
    is locked, and a row another transaction is locking is skipped, not waited for."""
    slot = marks(_SLOT)
    where = [
        # Written out, not a parameter: SQLite uses the partial index of waiting jobs only
        # for the very condition it was made with.
        f"w.state = '{_WAITING}'",
        f"(SELECT COUNT(*) FROM jobs AS m WHERE m.guild_id = w.guild_id "
        f"AND m.user_id = w.user_id AND m.state IN ({slot})) < ?",
    ]
    params: list[object] = [*_SLOT, per_member]
    if per_guild is not None:
        where.append(
            f"(SELECT COUNT(*) FROM jobs AS g WHERE g.guild_id = w.guild_id "
            f"AND g.state IN ({slot})) < ?"
        )
        params += [*_SLOT, per_guild]
    if provider is not None:
        where.append(f"(SELECT COUNT(*) FROM jobs AS p WHERE p.state IN ({slot})) < ?")
        params += [*_SLOT, provider]
    if guild_ids:
        where.append(f"w.guild_id IN ({marks(tuple(guild_ids))})")
        params += list(guild_ids)
    if shards is not None:
        where.append(f"(w.guild_id >> 22) % {shards.count:d} IN ({marks(shards.ids)})")
        params += list(shards.ids)
    if owner is not None:
        where.append(
            "(w.lease_owner IS NULL OR w.lease_owner = ? "
            f"OR w.lease_until <= {database_now(engine)})"
        )
        params.append(owner)
    order = [_MEMBER_LAST_START, "w.id"]
    if provider is not None:
        order.insert(0, _GUILD_LAST_START)
    skip_locked = " FOR UPDATE SKIP LOCKED" if lock and engine == "postgresql" else ""
    return await conn.fetch_one(
        f"SELECT w.* FROM jobs AS w WHERE {' AND '.join(where)} "
        f"ORDER BY {', '.join(order)} LIMIT 1{skip_locked}",
        tuple(params),
    )


async def take_lease(
    conn: Connection, engine: str, owner: str, job_id: int, lease_seconds: float
) -> None:
    """Lease the job to `owner` for `lease_seconds` from the database's now."""
    await conn.execute(
        f"UPDATE jobs SET lease_owner = ?, lease_until = {database_now(engine)} + ? WHERE id = ?",
        (owner, lease_seconds, job_id),
    )


async def slot_counts(
    conn: Connection, guild_id: int, user_id: int, *, everywhere: bool
) -> tuple[int, int, int]:
    """Jobs holding a slot: the member's in the guild, the guild's and (with `everywhere`)
    the deployment's, in one statement."""
    slot = f"state IN ({marks(_SLOT)})"
    deployment = f"(SELECT COUNT(*) FROM jobs WHERE {slot})" if everywhere else "0"
    row = await conn.fetch_one(
        f"SELECT (SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND user_id = ? AND {slot}), "
        f"(SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND {slot}), {deployment}",
        (guild_id, user_id, *_SLOT, guild_id, *_SLOT, *(_SLOT if everywhere else ())),
    )
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def waiting(conn: Connection, guild_id: int | None = None) -> list[Row]:
    """The waiting jobs of one guild (or of every guild), oldest first."""
    if guild_id is None:
        return await conn.fetch_all(f"SELECT * FROM jobs WHERE state = '{_WAITING}' ORDER BY id")
    return await conn.fetch_all(
        f"SELECT * FROM jobs WHERE guild_id = ? AND state = '{_WAITING}' ORDER BY id",
        (guild_id,),
    )


async def last_starts(conn: Connection, guild_id: int) -> dict[int, float]:
    """When each member with a waiting job in the guild last had a job start (members whose
    jobs never started are left out)."""
    rows = await conn.fetch_all(
        "SELECT user_id, MAX(started_at) FROM jobs WHERE guild_id = ? AND user_id IN "
        f"(SELECT user_id FROM jobs WHERE guild_id = ? AND state = '{_WAITING}') "
        "AND started_at IS NOT NULL GROUP BY user_id",
        (guild_id, guild_id),
    )
    return {int(row[0]): float(row[1]) for row in rows}


# -- accepting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdmissionFacts:
    rerunning: int  # the member's active re-runs of the parent job
    mine_at_service: int  # the member's jobs holding a slot in the guild
    mine_waiting: int  # the member's jobs waiting for one in the guild
    guild_at_service: int
    guild_waiting: int
    all_at_service: int  # across every guild (read only when asked for: `everywhere`)
    all_waiting: int
    last_created_at: float | None  # the member's latest delivered-or-active job in the guild
    usage: int  # the member's usage in the period
    bonus_sum: int  # the member's bonus bucket's ledger sum
    budget_used: int | None = None  # videos accepted in the budget's day (None: no budget)


async def admission_facts(
    conn: Connection,
    guild_id: int,
    user_id: int,
    parent_job_id: int | None,
    period_start: str,
    period_end: str,
    budget_span: tuple[float, float] | None = None,
    *,
    everywhere: bool = False,
) -> AdmissionFacts:
    """Everything accepting a job checks, read in one statement; with `budget_span`, also the
    videos the whole deployment accepted in it (the daily budget), and with `everywhere`, the
    jobs at the video service and waiting across every guild (a deployment-wide cap)."""
    balance_sql, balance_params = ledger.balance_subqueries(
        guild_id, user_id, period_start, period_end
    )
    budget_sql, budget_params = (
        budget.used_subquery(*budget_span) if budget_span is not None else ("NULL", ())
    )
    active = f"state IN ({marks(_ACTIVE)})"
    slot = f"state IN ({marks(_SLOT)})"
    deployment = (
        f"(SELECT COUNT(*) FROM jobs WHERE {slot}), (SELECT COUNT(*) FROM jobs WHERE state = ?), "
        if everywhere
        else "0, 0, "
    )
    row = await conn.fetch_one(
        f"SELECT (SELECT COUNT(*) FROM jobs WHERE parent_job_id = ? AND user_id = ? AND {active}), "
        f"(SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND user_id = ? AND {slot}), "
        "(SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND user_id = ? AND state = ?), "
        f"(SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND {slot}), "
        "(SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND state = ?), "
        f"{deployment}"
        "(SELECT MAX(created_at) FROM jobs WHERE guild_id = ? AND user_id = ? "
        f"AND state NOT IN ({marks(_RELEASED)})), "
        f"{balance_sql}, {budget_sql}",
        (
            parent_job_id,
            user_id,
            *_ACTIVE,
            guild_id,
            user_id,
            *_SLOT,
            guild_id,
            user_id,
            _WAITING,
            guild_id,
            *_SLOT,
            guild_id,
            _WAITING,
            *((*_SLOT, _WAITING) if everywhere else ()),
            guild_id,
            user_id,
            *_RELEASED,
            *balance_params,
            *budget_params,
        ),
    )
    assert row is not None
    (rerunning, mine, mine_waiting, in_guild, guild_waiting, *rest) = row
    all_at_service, all_waiting, last, usage, bonus_sum, budget_used = rest
    return AdmissionFacts(
        int(rerunning),
        int(mine),
        int(mine_waiting),
        int(in_guild),
        int(guild_waiting),
        int(all_at_service),
        int(all_waiting),
        last,
        int(usage),
        int(bonus_sum),
        int(budget_used) if budget_used is not None else None,
    )


async def insert(conn: Connection, values: Mapping[str, Any]) -> Row:
    """Insert one job with `values` (column → value); the new row."""
    columns = ", ".join(values)
    row = await conn.fetch_one(
        f"INSERT INTO jobs ({columns}) VALUES ({marks(tuple(values))}) RETURNING *",
        tuple(values.values()),
    )
    assert row is not None
    return row


# -- conditional writes -----------------------------------------------------------------------


async def update_if_state(
    conn: Connection,
    job_id: int,
    state: JobState,
    fields: Mapping[str, Any],
    *,
    only_if_unsent: bool = False,
) -> bool:
    """Set `fields` if the job is still in `state` (and, with `only_if_unsent`, its create
    call not yet claimed); True if it was."""
    assignments = ", ".join(f"{column} = ?" for column in fields)
    unsent = " AND submit_attempted = 0" if only_if_unsent else ""
    changed = await conn.execute(
        f"UPDATE jobs SET {assignments} WHERE id = ? AND state = ?{unsent}",
        (*fields.values(), job_id, state.value),
    )
    return changed == 1


async def update_if_in(
    conn: Connection, job_id: int, states: tuple[JobState, ...], fields: Mapping[str, Any]
) -> bool:
    """Set `fields` if the job is in one of `states`; True if it was."""
    values = tuple(state.value for state in states)
    assignments = ", ".join(f"{column} = ?" for column in fields)
    changed = await conn.execute(
        f"UPDATE jobs SET {assignments} WHERE id = ? AND state IN ({marks(values)})",
        (*fields.values(), job_id, *values),
    )
    return changed == 1


async def hand_to_worker(
    conn: Connection,
    job_id: int,
    status_message_id: int,
    status_text: str,
    image_source_url: str | None,
    now: float,
) -> None:
    """Record the status message and make a job that is still queued (or still waiting for
    its slot) due now, in one statement."""
    await conn.execute(
        "UPDATE jobs SET status_message_id = ?, status_text = ?, status_edited_at = ?, "
        "image_source_url = COALESCE(?, image_source_url), "
        "next_action_at = CASE WHEN state IN (?, ?) THEN ? ELSE next_action_at END, "
        "updated_at = ? WHERE id = ?",
        (
            status_message_id,
            status_text,
            now,
            image_source_url,
            JobState.QUEUED.value,
            _WAITING,
            now,
            now,
            job_id,
        ),
    )


async def claim_submit(conn: Connection, job_id: int, now: float) -> bool:
    """Mark the create call attempted if the job is queued and it was not; True if so."""
    changed = await conn.execute(
        "UPDATE jobs SET submit_attempted = 1, updated_at = ? "
        "WHERE id = ? AND state = ? AND submit_attempted = 0",
        (now, job_id, JobState.QUEUED.value),
    )
    return changed == 1


async def set_status(conn: Connection, job_id: int, message_id: int, text: str, now: float) -> None:
    await conn.execute(
        "UPDATE jobs SET status_message_id = ?, status_text = ?, status_edited_at = ?, "
        "updated_at = ? WHERE id = ?",
        (message_id, text, now, now, job_id),
    )


async def insert_repost(
    conn: Connection, job_id: int, channel_id: int, message_id: int, now: float
) -> None:
    await conn.execute(
        "INSERT INTO result_reposts (message_id, job_id, channel_id, created_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (message_id, job_id, channel_id, now),
    )


async def mark_removed(conn: Connection, job_id: int, actor_id: int, now: float) -> bool:
    """Mark the posted video removed unless it already was; True if this call did."""
    changed = await conn.execute(
        "UPDATE jobs SET result_deleted_by = ?, result_deleted_at = ?, updated_at = ? "
        "WHERE id = ? AND result_deleted_at IS NULL",
        (actor_id, now, now, job_id),
    )
    return changed == 1
