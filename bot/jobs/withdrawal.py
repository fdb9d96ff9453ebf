"""Taking a waiting job out of the queue within a transaction already open: the Cancel button's,
a moderator's block, the start of a job whose member or prompt was barred while it waited.

One rule for all of them: the job ends as cancelled and its hold is released in the same
transaction, once (the state check and the ledger's unique outcome), and nothing was sent to the
video service (a waiting job never was).
"""

from __future__ import annotations

from bot.models import QUOTA_OUTCOMES, FailureCode, JobState, check_transition
from bot.storage import jobs as job_rows
from bot.storage import ledger as ledger_rows
from bot.storage.connection import Connection

CANCELLED_OUTCOME_REASON = "job cancelled"
# Why the bot cancelled a waiting job itself (kept with the job, for the operator).
BLOCKED_WHILE_WAITING = "A moderator blocked the member while the job waited in the queue."
PROMPT_BLOCKED_WHILE_WAITING = (
    "The prompt matched a blocklist entry added while the job waited in the queue."
)


async def cancel_waiting(
    conn: Connection,
    job_id: int,
    now: float,
    *,
    by: int | None,
    why: str | None = None,
    code: FailureCode | None = None,
) -> bool:
    """End the waiting job `job_id` as cancelled by `by` (None: by the bot, for `why`) and
    release its hold; False if it was no longer waiting (it took its slot, or ended)."""
    check_transition(JobState.WAITING, JobState.CANCELLED)
    fields = {
        "state": JobState.CANCELLED.value,
        "cancelled_by": by,
        "error_message": why,
        "error_code": code.value if code is not None else None,
        "updated_at": now,
        "finished_at": now,
    }
    if not await job_rows.update_if_state(conn, job_id, JobState.WAITING, fields):
        return False
    outcome = QUOTA_OUTCOMES[JobState.CANCELLED]
    await ledger_rows.insert_outcome(conn, job_id, outcome.value, CANCELLED_OUTCOME_REASON, now)
    return True


async def cancel_members_waiting(
    conn: Connection, guild_id: int, user_id: int, now: float, *, by: int
) -> list[int]:
    """Cancel every waiting job of the member in the guild, as `by` (the moderator blocking
    them); the ids of the jobs cancelled."""
    cancelled = []
    for row in await job_rows.waiting(conn, guild_id):
        job_id, member = int(row["id"]), int(row["user_id"])
        if member == user_id and await cancel_waiting(
            conn, job_id, now, by=by, why=BLOCKED_WHILE_WAITING
        ):
            cancelled.append(job_id)
    return cancelled
