"""The waiting jobs' status messages, kept in step with their places in the queue.

One slot freeing moves every job behind it up by one: fifty waiting jobs would be fifty edits
at once, and Discord limits edits per channel, so the status edits of jobs being made would wait
behind them. So the board edits at most `EDITS_PER_CHANNEL` waiting messages per channel per
`STATUS_EDIT_INTERVAL_SECONDS` (never less than a second), each message at most once per that
interval, and spends them where a message is most wrong: a job whose place changed most for
its position first (2nd to 1st before 40th to 39th), a start time that moved only a little
not at all (it is a rough time, and Discord keeps its countdown ticking without edits). A job
whose status message is still missing after its acceptance grace gets it posted first.

Several processes sharing a database: the one with the deployment's duties keeps the board.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.clock import Clock
from bot.jobs.chat_port import ChannelGone, ChatPort, DeliveryError
from bot.jobs.queue import QueuePlace
from bot.jobs.queue_places import QueuePlaces
from bot.jobs.status_messages import StatusMessages
from bot.jobs.store import JobStore
from bot.jobs.wording import status_text
from bot.models import Job, JobState
from bot.providers.profiles import ModelProfile

log = logging.getLogger(__name__)

EDITS_PER_CHANNEL = 2  # waiting messages edited per channel per edit interval
MIN_WINDOW_SECONDS = 1.0
# A start time shown is edited only once it is this far off (or a quarter of the wait left).
START_TOLERANCE_SECONDS = 120.0
START_TOLERANCE_SHARE = 0.25


class EditBudget:
    """At most `per_window` edits per channel per `window` seconds: a bucket per channel,
    refilled evenly."""

    def __init__(self, per_window: int, window: float) -> None:
        self.per_window = per_window
        self.window = window
        self._left: dict[int, tuple[float, float]] = {}  # channel → (tokens, as of when)

    def available(self, channel_id: int, now: float) -> int:
        tokens, since = self._left.get(channel_id, (float(self.per_window), now))
        tokens = min(float(self.per_window), tokens + (now - since) * self.per_window / self.window)
        self._left[channel_id] = (tokens, now)
        return int(tokens)

    def spend(self, channel_id: int, now: float) -> None:
        tokens, _ = self._left.get(channel_id, (float(self.per_window), now))
        self._left[channel_id] = (tokens - 1, now)


@dataclass(frozen=True)
class _Edit:
    urgency: float
    job: Job
    place: QueuePlace
    text: str


class QueueBoard:
    def __init__(
        self,
        *,
        places: QueuePlaces,
        jobs: JobStore,
        chat: ChatPort,
        status: StatusMessages,
        profile: ModelProfile,
        clock: Clock,
        edit_interval: float,
        edits_per_channel: int = EDITS_PER_CHANNEL,
        on_channel_gone: Callable[[Job, ChannelGone], Awaitable[None]] | None = None,
    ) -> None:
        self.places = places
        self.jobs = jobs
        self.chat = chat
        self.status = status
        self.profile = profile
        self.clock = clock
        self.edit_interval = edit_interval
        self.budget = EditBudget(edits_per_channel, self.window)
        # A waiting job whose channel was deleted ends at once (bot/jobs/steps.py).
        self.on_channel_gone = on_channel_gone
        self._shown: dict[int, QueuePlace] = {}  # job → the place its message shows
        # When this process began keeping the board: a status text recorded before then may
        # not be what Discord shows (a process stopped between an edit and its record).
        self._since: float | None = None

    def take_over(self) -> None:
        """This process keeps the board from now on (again): re-show what it cannot vouch
        for, once each, within the budget."""
        self._since = None
        self._shown.clear()

    @property
    def window(self) -> float:
        return max(MIN_WINDOW_SECONDS, self.edit_interval)

    @property
    def pass_gap(self) -> float:
        """How often a pass is worth making: as often as a channel's budget refills by one."""
        return self.window / self.budget.per_window

    async def refresh(self) -> int:
        """Bring the waiting jobs' status messages up to date within the budget; how many
        were edited (or posted)."""
        now = self.clock.now()
        if self._since is None:
            self._since = now
        placed = await self.places.everywhere()
        still = {job.id for job, _ in placed}
        left = [job_id for job_id in self._shown if job_id not in still]
        self._shown = {job.id: self._shown[job.id] for job, _ in placed if job.id in self._shown}
        for job_id in left:
            await self._show_if_cancelled(job_id)
        by_channel: dict[int, list[_Edit]] = {}
        for job, place in placed:
            edit = self._edit_for(job, place, now)
            if edit is not None:
                by_channel.setdefault(job.channel_id, []).append(edit)
        done = 0
        for channel_id, edits in by_channel.items():
            edits.sort(key=lambda edit: (-edit.urgency, edit.place.position))
            for edit in edits[: self.budget.available(channel_id, now)]:
                self.budget.spend(channel_id, now)
                await self._show(edit)
                done += 1
        return done

    async def _show_if_cancelled(self, job_id: int) -> None:
        """A job that left the queue cancelled by someone other than the member pressing its
        button (a moderator blocking them: bot/moderation/actions.py) still shows its place:
        say it was cancelled. One that started is the worker's to show."""
        job = await self.jobs.get(job_id)
        if job is None or job.state is not JobState.CANCELLED:
            return
        with contextlib.suppress(ChannelGone):  # nowhere left to say it
            await self.status.refresh(job, force=True)

    def _edit_for(self, job: Job, place: QueuePlace, now: float) -> _Edit | None:
        """The edit `job` needs now, if any."""
        text = status_text(job, self.profile, place=place)
        if job.status_message_id is None:
            if now < job.next_action_at:
                return None  # the answer to its /sora may still be on its way
            return _Edit(float("inf"), job, place, text)
        shown = self._shown.get(job.id)
        if shown is not None and not _moved(shown, place, now):
            return None
        if text == job.status_text and self._vouched_for(job):
            self._shown[job.id] = place
            return None
        if job.status_edited_at is not None and now - job.status_edited_at < self.edit_interval:
            return None
        return _Edit(_urgency(shown, place), job, place, text)

    def _vouched_for(self, job: Job) -> bool:
        """Whether the job's recorded status text was written while this process kept the
        board (an edit and its record, or the /sora's answer and its record, both here)."""
        edited = job.status_edited_at
        return edited is not None and self._since is not None and edited >= self._since

    async def _show(self, edit: _Edit) -> None:
        job = edit.job
        try:
            message_id = await self.chat.show_status(job, edit.text)
        except ChannelGone as error:
            self._shown.pop(job.id, None)
            if self.on_channel_gone is not None:
                await self.on_channel_gone(job, error)
            return
        except DeliveryError as error:
            log.warning("job %s: queue place not shown: %s", job.id, error)
            if error.permanent:
                # Discord refused (the channel closed to the bot, say): asking again every
                # interval would be refused the same way. Try again when the place changes.
                self._shown[job.id] = edit.place
            return
        if await self.jobs.record_waiting_status(job, message_id, edit.text):
            self._shown[job.id] = edit.place
            return
        # It left the queue (started or cancelled) while this edit was on its way, and this
        # edit may have landed after the one saying so: say again what it is now.
        self._shown.pop(job.id, None)
        fresh = await self.jobs.get(job.id)
        if fresh is not None:
            if fresh.status_message_id is None:
                await self.jobs.record_status(fresh, message_id, edit.text)
                fresh = await self.jobs.get(job.id) or fresh
            await self.status.repair(fresh)


def _moved(shown: QueuePlace, place: QueuePlace, now: float) -> bool:
    """Whether a message showing `shown` is wrong enough about `place` to edit."""
    if shown.position != place.position or (shown.starts_at is None) != (place.starts_at is None):
        return True
    if shown.starts_at is None or place.starts_at is None:
        return False
    tolerance = max(START_TOLERANCE_SECONDS, START_TOLERANCE_SHARE * (shown.starts_at - now))
    return abs(place.starts_at - shown.starts_at) > tolerance


def _urgency(shown: QueuePlace | None, place: QueuePlace) -> float:
    """How wrong a message is: its place's change for its position (1 to 2 is worse than 39
    to 40); never shown by this process (a restart): by position, front first."""
    if shown is None:
        return 1.0 / place.position
    return abs(shown.position - place.position) / place.position + 0.001
