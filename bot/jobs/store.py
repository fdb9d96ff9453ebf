"""The job store: accept a job (with its quota hold), then move it along the state machine.

Every state change is checked against `bot.models.TRANSITIONS` and written as
`UPDATE ... WHERE id = ? AND state = <the state the caller saw>`: if another worker (or a
restarted bot) already moved the job, the update touches no row and the caller backs off.
A terminal state writes its quota outcome (`bot.models.QUOTA_OUTCOMES`) in the same
transaction. Other writes only keep a job's bookkeeping within its state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.errors import Refusal, RefusalKind
from bot.i18n import DEFAULT_LOCALE, Text, render
from bot.jobs.acceptance import AcceptanceRules
from bot.jobs.leases import Lease
from bot.jobs.new_job import NewJob, new_job_row
from bot.jobs.queue import SlotCaps
from bot.jobs.withdrawal import cancel_waiting
from bot.models import (
    IN_QUEUE,
    PENDING_AT_PROVIDER,
    QUOTA_OUTCOMES,
    WORKER_STATES,
    FailureCode,
    Job,
    JobState,
    QuotaOutcome,
    check_transition,
)
from bot.quota import allowance as quotas
from bot.quota.allowance import Allowance
from bot.quota.budget import DailyBudget
from bot.storage import audit as audit_rows
from bot.storage import budget as budget_rows
from bot.storage import jobs as job_rows
from bot.storage import ledger as ledger_rows
from bot.storage.connection import Connection
from bot.storage.database import Database

log = logging.getLogger(__name__)


class JobStore:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        provider: str,
        model: str,
        deadline_seconds: float,
        caps: SlotCaps,
        accept_grace_seconds: float = 0.0,
        daily_budget: DailyBudget | None = None,
        on_budget_alert: Callable[[Text], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.provider = provider
        self.model = model
        self.deadline_seconds = deadline_seconds
        self.caps = caps
        self.accept_grace_seconds = accept_grace_seconds
        self.daily_budget = daily_budget  # None: no DAILY_VIDEO_BUDGET
        # Hands an alert about the budget on to the moderators (it must not wait for them).
        self.on_budget_alert = on_budget_alert

    # -- accepting ----------------------------------------------------------------------------

    @property
    def _rules(self) -> AcceptanceRules:
        return AcceptanceRules(self.caps, self.daily_budget)

    async def submit(self, new: NewJob, allowance: Allowance) -> Job:
        """Write the job and its hold atomically, or raise `Refusal`.

        The checks and the writes share one IMMEDIATE transaction, so concurrent submits are
        serialised and can never overdraw the allowance, exceed a cap on jobs at the video
        service, overfill the queue or pass the daily budget. The job takes a slot at once when
        one is free and nobody waits for one, else it waits in the server's queue
        (bot/jobs/queue.py), holding its unit and counted in the day's budget. It makes five
        round trips: BEGIN, one read of every fact checked, the insert, the hold, COMMIT.
        """
        refusal: Text | None = None
        alerts: list[Text] = []
        guild_id, user_id = new.by.guild_id, new.by.user_id
        async with self.db.transaction() as conn:
            # Other processes may accept jobs at the same moment (PostgreSQL): everything
            # checked below is about this member and this guild (and, with a budget or a
            # deployment-wide cap, the whole deployment), so hold them all until commit.
            await conn.lock(*self._rules.locks(guild_id, user_id))
            # Read once the locks are held: a submit that committed while this one waited has
            # an earlier time, so the cooldown never measures a negative gap.
            now = self.clock.now()
            facts = await self._facts(conn, new, allowance, now)
            state = self._rules.accepted_state(new.parent_job_id, facts, allowance, now)
            # Settling a deduction is kept even if this submit is then refused: it only ever
            # takes what this period still had, so it cannot be taken twice.
            balance = quotas.balance_of(allowance.limit, facts.usage, facts.bonus_sum)
            balance = await quotas.settle_owed(
                conn, guild_id, user_id, balance, allowance.period, now
            )
            if balance.remaining <= 0:
                refusal = quotas.exhausted_message(balance, allowance.period, now)
            else:
                row = await job_rows.insert(
                    conn,
                    new_job_row(
                        new,
                        state,
                        now,
                        provider=self.provider,
                        model=self.model,
                        deadline_seconds=self.deadline_seconds,
                        accept_grace_seconds=self.accept_grace_seconds,
                    ),
                )
                label = None if balance.from_bonus else allowance.period.day_key(now)
                await ledger_rows.insert_hold(conn, row["id"], guild_id, user_id, label, now)
                alerts = await self._rules.budget_alerts(conn, facts, now)
        if refusal is not None:
            raise Refusal(refusal, RefusalKind.QUOTA_EXHAUSTED)
        for alert in alerts:
            self._announce(alert)
        return Job.from_row(row)

    async def preview(self, new: NewJob, allowance: Allowance) -> None:
        """Raise the `Refusal` `submit` would raise now, without writing or locking anything:
        so that a request bound to be refused costs no image download and no member look-up.
        `submit` checks all of it again, atomically."""
        async with self.db.reading() as conn:
            now = self.clock.now()
            facts = await self._facts(conn, new, allowance, now)
        self._rules.accepted_state(new.parent_job_id, facts, allowance, now)
        balance = quotas.balance_of(allowance.limit, facts.usage, facts.bonus_sum)
        if balance.remaining <= 0:  # what settling a deduction leaves is the same
            raise Refusal(
                quotas.exhausted_message(balance, allowance.period, now),
                RefusalKind.QUOTA_EXHAUSTED,
            )

    async def _facts(
        self, conn: Connection, new: NewJob, allowance: Allowance, now: float
    ) -> job_rows.AdmissionFacts:
        start, end = allowance.period.span(now)
        return await job_rows.admission_facts(
            conn,
            new.by.guild_id,
            new.by.user_id,
            new.parent_job_id,
            start,
            end,
            budget_span=self._rules.budget_span(now),
            everywhere=self.caps.provider is not None,
        )

    def _announce(self, alert: Text) -> None:
        log.warning("daily video budget: %s", render(alert, DEFAULT_LOCALE))
        if self.on_budget_alert is not None:
            self.on_budget_alert(alert)

    # -- the queue ----------------------------------------------------------------------------

    async def cancel(self, job: Job, by: int | None, why: str | None = None) -> bool:
        """End a waiting job as cancelled by `by` (None: by the bot itself, for `why`) and
        release its hold, atomically; False if it was no longer waiting (it took its slot, or
        ended, meanwhile)."""
        if job.state not in IN_QUEUE:
            return False
        async with self.db.transaction() as conn:
            return await cancel_waiting(conn, job.id, self.clock.now(), by=by, why=why)

    # -- reading ------------------------------------------------------------------------------

    async def get(self, job_id: int) -> Job | None:
        async with self.db.reading() as conn:
            row = await job_rows.get(conn, job_id)
        return Job.from_row(row) if row else None

    async def due(
        self,
        now: float,
        limit: int,
        states: tuple[JobState, ...] = WORKER_STATES,
        exclude: tuple[int, ...] = (),
    ) -> list[Job]:
        """Jobs in `states` whose next action time has come, oldest first, leaving out the
        ids in `exclude` (steps already in flight)."""
        async with self.db.reading() as conn:
            rows = await job_rows.due(conn, now, limit, states, exclude)
        return [Job.from_row(row) for row in rows]

    async def next_due_at(
        self, exclude: tuple[int, ...] = (), lease: Lease | None = None
    ) -> float | None:
        """The earliest next action time of an active job, leaving out the ids in `exclude`;
        with `lease`, a job another worker holds counts from when its lease runs out."""
        async with self.db.reading() as conn:
            return await job_rows.next_due_at(conn, exclude, lease.owner if lease else None)

    # -- leases (several worker processes on one database) ------------------------------------

    async def claim_due(
        self,
        now: float,
        limit: int,
        states: tuple[JobState, ...],
        exclude: tuple[int, ...],
        lease: Lease,
    ) -> list[Job]:
        """Like `due`, but each job returned is leased to `lease.owner` for `lease.seconds`:
        no other worker takes it up until the lease is released or lapses."""
        async with self.db.transaction() as conn:
            rows = await job_rows.claim_due(
                conn, self.db.engine, lease.owner, now, lease.seconds, limit, states, exclude
            )
        return [Job.from_row(row) for row in rows]

    async def renew_leases(self, job_ids: tuple[int, ...], lease: Lease) -> set[int]:
        """Extend the leases on `job_ids` (by the database's clock); the ids still held."""
        async with self.db.writing() as conn:  # one statement
            return await job_rows.renew_leases(
                conn, self.db.engine, lease.owner, job_ids, lease.seconds
            )

    async def holds_lease(self, job: Job, lease: Lease) -> bool:
        """Whether this worker's lease on `job` is still in force (by the database's clock)."""
        async with self.db.reading() as conn:
            return await job_rows.holds_lease(conn, self.db.engine, lease.owner, job.id)

    async def release_lease(self, job_id: int, lease: Lease) -> None:
        async with self.db.writing() as conn:  # one statement
            await job_rows.release_lease(conn, lease.owner, job_id)

    async def count_by_state(self) -> dict[str, int]:
        """How many jobs are in each state (an index-only scan; read at every metrics scrape)."""
        async with self.db.reading() as conn:
            return await job_rows.count_by_state(conn)

    async def budget_used(self, now: float) -> int:
        """Videos the deployment accepted on `now`'s day and still holds or charged (the
        daily budget's use)."""
        assert self.daily_budget is not None
        day = self.daily_budget.day(now)
        async with self.db.reading() as conn:
            return await budget_rows.used(conn, day.start, day.end)

    async def count_due(self, now: float, excluding: Collection[int] = ()) -> int:
        """Active jobs whose next action time has come, leaving out the ids in `excluding`."""
        async with self.db.reading() as conn:
            return await job_rows.count_due(conn, now, excluding)

    async def recent_for_member(self, guild_id: int, user_id: int, limit: int) -> list[Job]:
        """The member's latest jobs in the guild, newest first."""
        async with self.db.reading() as conn:
            rows = await job_rows.recent_for_member(conn, guild_id, user_id, limit)
        return [Job.from_row(row) for row in rows]

    async def image_paths_in_use(self) -> list[Path]:
        """Reference images of jobs still in progress (never to be swept away)."""
        async with self.db.reading() as conn:
            return [Path(path) for path in await job_rows.active_image_paths(conn)]

    async def image_needed_elsewhere(self, job: Job) -> bool:
        """Whether another job still needs `job`'s kept reference image (a re-run of it in
        progress, or delivered and not removed)."""
        if job.image_path is None:
            return False
        async with self.db.reading() as conn:
            return await job_rows.image_used_elsewhere(conn, job.id, str(job.image_path))

    async def video_paths_in_use(self) -> list[Path]:
        """Kept videos of jobs still in progress (being delivered: never to be swept away)."""
        async with self.db.reading() as conn:
            return [Path(path) for path in await job_rows.active_video_paths(conn)]

    async def active_for_member(self, guild_id: int, user_id: int) -> list[Job]:
        async with self.db.reading() as conn:
            rows = await job_rows.active_for_member(conn, guild_id, user_id)
        return [Job.from_row(row) for row in rows]

    async def by_message(self, guild_id: int, message_id: int) -> Job | None:
        """The job whose result, status message or /sora-show repost is `message_id`."""
        async with self.db.reading() as conn:
            row = await job_rows.by_message(conn, guild_id, message_id)
        return Job.from_row(row) if row else None

    async def at_service_in_guild(self, guild_id: int) -> list[Job]:
        """The guild's jobs holding a slot at the video service."""
        async with self.db.reading() as conn:
            rows = await job_rows.at_service_in_guild(conn, guild_id)
        return [Job.from_row(row) for row in rows]

    # -- transitions --------------------------------------------------------------------------

    async def _transition(
        self,
        job: Job,
        target: JobState,
        fields: dict[str, Any],
        *,
        outcome_reason: str = "",
        only_if_unsent: bool = False,
    ) -> bool:
        """Move `job` from the state it was read in to `target`, writing `fields` (and, for a
        terminal state, the quota outcome) in one transaction; False if it had already moved.

        Raises `IllegalTransition` if the machine has no such arrow."""
        check_transition(job.state, target)
        now = self.clock.now()
        fields = {**fields, "state": target.value, "updated_at": now}
        outcome = QUOTA_OUTCOMES.get(target)
        if outcome is not None:
            fields["finished_at"] = now
        # Without a quota outcome the change is one statement, atomic on its own: no
        # transaction needed (one round trip to the database instead of three).
        writes = self.db.transaction() if outcome is not None else self.db.writing()
        async with writes as conn:
            if not await job_rows.update_if_state(
                conn, job.id, job.state, fields, only_if_unsent=only_if_unsent
            ):
                return False
            if outcome is not None:
                await ledger_rows.insert_outcome(conn, job.id, outcome.value, outcome_reason, now)
            return True

    async def _keep_within(
        self, job: Job, states: tuple[JobState, ...], fields: dict[str, Any]
    ) -> bool:
        """Bookkeeping that does not change the state: set `fields` if the job is still in
        one of `states`; True if it was."""
        fields = {**fields, "updated_at": self.clock.now()}
        async with self.db.writing() as conn:  # one statement
            return await job_rows.update_if_in(conn, job.id, states, fields)

    async def hand_to_worker(
        self, job: Job, status_message_id: int, status_text: str, image_source_url: str | None
    ) -> None:
        """Record a just-accepted job's status message and make the job due now, in one write.

        Until then the worker leaves the job alone, so it cannot post a second status message.
        `image_source_url` replaces the reference image's public link (a re-run's fresh one).
        """
        now = self.clock.now()
        # One statement: atomic without a transaction of its own.
        async with self.db.writing() as conn:
            await job_rows.hand_to_worker(
                conn, job.id, status_message_id, status_text, image_source_url, now
            )

    async def mark_submit_attempted(self, job: Job) -> bool:
        """Claim the create call: True only for the first caller since the last resend."""
        now = self.clock.now()
        async with self.db.writing() as conn:  # one statement
            return await job_rows.claim_submit(conn, job.id, now)

    async def record_reference(self, job: Job, reference_url: str) -> bool:
        return await self._keep_within(job, (JobState.QUEUED,), {"reference_url": reference_url})

    async def record_submitted(self, job: Job, task_id: str, next_action_at: float) -> bool:
        return await self._transition(
            job,
            JobState.SUBMITTED,
            {
                "provider_task_id": task_id,
                "next_action_at": next_action_at,
                "transient_failures": 0,
                "submitted_at": self.clock.now(),
            },
        )

    async def record_poll(
        self, job: Job, state: JobState, progress: int | None, next_action_at: float
    ) -> bool:
        """A poll's news: still waiting (`state` unchanged) or now generating."""
        return await self._transition(
            job,
            state,
            {
                "progress": progress,
                "polls": job.polls + 1,
                "next_action_at": next_action_at,
                "transient_failures": 0,
            },
        )

    async def record_succeeded(self, job: Job, video_url: str) -> bool:
        return await self._transition(
            job,
            JobState.SUCCEEDED,
            {
                "result_url": video_url,
                "progress": 100,
                "polls": job.polls + 1,
                "transient_failures": 0,
                "next_action_at": self.clock.now(),
            },
        )

    async def mark_delivery_started(self, job: Job) -> bool:
        if job.delivery_started:
            return True  # keep the first attempt's time: the search after a crash starts there
        return await self._keep_within(
            job,
            (JobState.SUCCEEDED,),
            {"delivery_started": 1, "delivery_started_at": self.clock.now()},
        )

    async def record_kept_video(self, job: Job, path: Path, size: int) -> bool:
        """Remember the bot's own copy of the finished video (a restart delivers from it)."""
        return await self._keep_within(
            job, (JobState.SUCCEEDED,), {"video_path": str(path), "video_bytes": size}
        )

    async def reschedule(
        self,
        job: Job,
        next_action_at: float,
        failed_attempt: bool,
        resend_allowed: bool = False,
    ) -> bool:
        """Try again later; `failed_attempt` counts towards the backoff. `resend_allowed`
        clears the create claim when the provider said it did not take the job."""
        failures = job.transient_failures + 1 if failed_attempt else job.transient_failures
        fields: dict[str, Any] = {"next_action_at": next_action_at, "transient_failures": failures}
        if resend_allowed:
            fields["submit_attempted"] = 0
        return await self._keep_within(job, WORKER_STATES, fields)

    async def record_status(self, job: Job, message_id: int, text: str) -> None:
        # Status bookkeeping is allowed in any state: the final edit happens after the outcome.
        now = self.clock.now()
        async with self.db.writing() as conn:  # one statement
            await job_rows.set_status(conn, job.id, message_id, text, now)

    async def record_waiting_status(self, job: Job, message_id: int, text: str) -> bool:
        """Record a waiting job's status message as the queue shows it; False (nothing
        written) once the job has left the queue, whose own words then stand."""
        now = self.clock.now()
        return await self._keep_within(
            job,
            IN_QUEUE,
            {"status_message_id": message_id, "status_text": text, "status_edited_at": now},
        )

    async def record_repost(self, job: Job, channel_id: int, message_id: int) -> None:
        async with self.db.writing() as conn:  # one statement
            await job_rows.insert_repost(conn, job.id, channel_id, message_id, self.clock.now())

    async def reposts(self, job: Job) -> list[tuple[int, int]]:
        """(channel id, message id) of each /sora-show repost of the job's video."""
        async with self.db.reading() as conn:
            return await job_rows.reposts(conn, job.id)

    async def record_video_removed(
        self, job: Job, actor_id: int, moderator_action: audit_rows.Action | None
    ) -> bool:
        """Mark the posted video removed (once); a moderator's removal is also audited."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if not await job_rows.mark_removed(conn, job.id, actor_id, now):
                return False
            if moderator_action is not None:
                await audit_rows.record(conn, job.guild_id, actor_id, moderator_action, now)
            return True

    async def record_delivered(self, job: Job, message_id: int, delivery: str) -> bool:
        """Mark the result posted and charge the hold, atomically."""
        return await self._transition(
            job,
            JobState.DELIVERED,
            {"result_message_id": message_id, "delivery": delivery},
            outcome_reason="video delivered",
        )

    async def withdraw_unsent(self, job: Job, code: FailureCode, message: str) -> bool:
        """Fail a job that was never sent (and release its hold); False if the worker has
        already begun sending it, in which case it carries on."""
        if job.state not in (JobState.QUEUED, *IN_QUEUE):
            return False
        return await self._transition(
            job,
            JobState.FAILED,
            {"error_code": code, "error_message": message},
            outcome_reason="job withdrawn",
            only_if_unsent=True,
        )

    async def finish_unsuccessfully(
        self, job: Job, state: JobState, code: FailureCode | str | None, message: str
    ) -> bool:
        """Fail or expire the job and release its hold, atomically."""
        assert QUOTA_OUTCOMES.get(state) is QuotaOutcome.RELEASE, state
        return await self._transition(
            job,
            state,
            {"error_code": code, "error_message": message},
            outcome_reason=f"job {state.value}",
        )

    async def expire_if_overdue(self, job: Job) -> bool:
        if job.state not in PENDING_AT_PROVIDER or self.clock.now() < job.deadline_at:
            return False
        minutes = round(self.deadline_seconds / 60)
        return await self.finish_unsuccessfully(
            job,
            JobState.EXPIRED,
            FailureCode.DEADLINE,
            f"The video was not ready within {minutes} minute(s), so the job was stopped.",
        )
