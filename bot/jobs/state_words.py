"""How members see a job's state: one icon and one set of words for each `JobState`.

The status message says where a job is in a sentence (`sentence`: "⏳ Starting: sending to the
video service…"); `/sora-jobs`, `/quota view` and `/sora-show`'s answers say it in a word or
two (`label`: "starting"), `/sora-jobs` after the icon. A waiting job's words say its position
in the server's queue when it is known. The icons are written here only: the catalogs place
them with `{icon}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.i18n import Text
from bot.models import Job, JobState


@dataclass(frozen=True)
class StateWords:
    icon: str
    label: str  # catalog key: the state in a word or two
    sentence: str  # catalog key: the status message's line, with {icon}
    # The sentence says why the job ended without a video ({reason}).
    tells_reason: bool = False
    # Said instead while the video service reports how far along it is ({progress}).
    label_progress: str | None = None
    sentence_progress: str | None = None
    # Said instead while the job's position in its server's queue is known ({position}).
    label_position: str | None = None
    sentence_position: str | None = None
    # The sentence says who cancelled the job ({member}); said instead when the bot cancelled
    # it itself, having left the job's server, or for a reason it recorded ({reason}).
    names_canceller: bool = False
    sentence_by_bot: str | None = None
    sentence_by_bot_reason: str | None = None


STATE_WORDS: Mapping[JobState, StateWords] = {
    JobState.WAITING: StateWords(
        "🕒",
        "status.label.waiting",
        "status.state.waiting",
        label_position="status.label.waiting_position",
        sentence_position="status.state.waiting_position",
    ),
    JobState.QUEUED: StateWords("⏳", "status.label.queued", "status.state.queued"),
    JobState.SUBMITTED: StateWords("⏳", "status.label.submitted", "status.state.submitted"),
    JobState.RUNNING: StateWords(
        "🎞️",
        "status.label.running",
        "status.state.generating",
        label_progress="status.label.running_progress",
        sentence_progress="status.state.generating_progress",
    ),
    JobState.SUCCEEDED: StateWords("📦", "status.label.succeeded", "status.state.ready"),
    JobState.DELIVERED: StateWords("✅", "status.label.delivered", "status.state.delivered"),
    JobState.FAILED: StateWords(
        "❌", "status.label.failed", "status.state.failed", tells_reason=True
    ),
    JobState.EXPIRED: StateWords(
        "⌛", "status.label.expired", "status.state.expired", tells_reason=True
    ),
    JobState.CANCELLED: StateWords(
        "🚫",
        "status.label.cancelled",
        "status.state.cancelled",
        names_canceller=True,
        sentence_by_bot="status.state.cancelled_left",
        sentence_by_bot_reason="status.state.cancelled_reason",
    ),
}


def state_icon(job: Job) -> str:
    return STATE_WORDS[job.state].icon


def state_label(job: Job, position: int | None = None) -> Text:
    """The job's state in a word or two ("starting", "generating, 42%"); a waiting job's
    `position` in its server's queue, when known ("waiting in the queue, number 3")."""
    words = STATE_WORDS[job.state]
    if words.label_progress is not None and job.progress is not None:
        return Text(words.label_progress, progress=job.progress)
    if words.label_position is not None and position is not None:
        return Text(words.label_position, position=position)
    return Text(words.label)


def state_sentence(job: Job, reason: Callable[[Job], Text], position: int | None = None) -> Text:
    """The status message's line for the job's state; `reason` says why a job ended without
    a video (asked only for such a job), `position` where a waiting job stands in its
    server's queue."""
    words = STATE_WORDS[job.state]
    if words.sentence_progress is not None and job.progress is not None:
        return Text(words.sentence_progress, icon=words.icon, progress=job.progress)
    if words.sentence_position is not None and position is not None:
        return Text(words.sentence_position, icon=words.icon, position=position)
    if words.tells_reason:
        return Text(words.sentence, icon=words.icon, reason=reason(job))
    if words.sentence_by_bot is not None and job.cancelled_by is None:
        if words.sentence_by_bot_reason is not None and job.error_code is not None:
            return Text(words.sentence_by_bot_reason, icon=words.icon, reason=reason(job))
        return Text(words.sentence_by_bot, icon=words.icon)
    if words.names_canceller:
        return Text(words.sentence, icon=words.icon, member=f"<@{job.cancelled_by}>")
    return Text(words.sentence, icon=words.icon)
