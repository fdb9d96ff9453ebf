"""The words members see: status messages and result captions, as pure functions."""

from __future__ import annotations

import re

from bot import i18n
from bot.i18n import Text
from bot.jobs.queue import QueuePlace
from bot.jobs.state_words import state_sentence
from bot.models import FailureCode, Job, JobState
from bot.pages import MESSAGE_CHARS
from bot.providers.profiles import ModelProfile

PROMPT_PREVIEW_CHARS = 1200
REASON_CHARS = 300
_MENTION = re.compile(r"@(everyone|here|[!&]?\d+)")
_ROLE_OR_USER = re.compile(r"<(@[!&]?|#)(\d+)>")
_MARKDOWN = re.compile(r"([\\*_~`|>\[\]()#-])")


def neutralise_mentions(text: str) -> str:
    """Break @everyone, @here and <@id> so echoed text cannot ping anyone."""
    text = _ROLE_OR_USER.sub(lambda m: f"<{m.group(1)}\u200b{m.group(2)}>", text)
    return _MENTION.sub(lambda m: f"@\u200b{m.group(1)}", text)


def escape_markdown(text: str) -> str:
    """Show a member's text as typed: no links, code blocks or formatting taking effect."""
    return _MARKDOWN.sub(r"\\\1", text)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def prompt_preview(prompt: str, limit: int = PROMPT_PREVIEW_CHARS) -> str:
    text = shorten(neutralise_mentions(prompt.strip()), limit)
    return "\n".join(f"> {escape_markdown(line)}" if line else ">" for line in text.splitlines())


def settings_line(job: Job, profile: ModelProfile | None, locale: str | None = None) -> str:
    """Orientation, length, quality, model and image, in `locale` (default: the job's)."""
    language = job.public_locale if locale is None else locale
    orientation = Text(f"iterate.orientation.{job.options.orientation}")
    parts = [
        _known_or(orientation, job.options.orientation, language).capitalize(),
        i18n.render(Text("status.settings.seconds", job.options.duration), language),
    ]
    if job.options.quality:
        label = profile.quality_label(job.options.quality) if profile else job.options.quality
        quality = Text(f"status.quality.{job.options.quality}")
        parts.append(_known_or(quality, str(label), language))
    parts.append(profile.label if profile else job.model)
    if job.image_name:
        parts.append(i18n.render(Text("status.settings.image"), language))
    return " · ".join(parts)


def _known_or(text: Text, fallback: str, locale: str | None) -> str:
    """`text` in `locale` if any catalog has it (a model's own values may have no words)."""
    if i18n.translation(text.key, i18n.DEFAULT_LOCALE) is None:
        return fallback
    return i18n.render(text, locale)


def state_text(job: Job, *, compressing: bool = False, place: QueuePlace | None = None) -> Text:
    """Where the job is, in a few words (with the reason for a failure, and a waiting job's
    position in its server's queue when `place` says it)."""
    if compressing and job.state is JobState.SUCCEEDED:
        return Text("fit.status.compressing")
    return state_sentence(job, failure_reason, place.position if place else None)


def state_line(job: Job, locale: str | None = None) -> str:
    return i18n.render(state_text(job), job.public_locale if locale is None else locale)


def failure_reason(job: Job) -> Text:
    """Why the job ended without a video: the bot's own reasons in the reader's language
    (`status.reason.<code>`), anything else in the video service's words as it gave them."""
    code = FailureCode.of(job.error_code)
    if code is FailureCode.DEADLINE:
        # The deadline runs from when the job took its slot (after any wait in the queue).
        started = job.started_at if job.started_at is not None else job.created_at
        minutes = max(1, round((job.deadline_at - started) / 60))
        return Text("status.reason.deadline", minutes)
    if code is not None and not code.quotes_the_service:
        return Text(f"status.reason.{code.value}")
    if not job.error_message:
        return Text("status.reason.none")
    return Text("status.reason.service", detail=shorten(job.error_message, REASON_CHARS))


def timing_line(
    job: Job,
    expected_ready_at: float | None = None,
    locale: str | None = None,
    place: QueuePlace | None = None,
) -> str:
    """When the job started, and while it runs its expected ready time if one is known, as
    Discord timestamps: each reader's client shows them in their own time and keeps the
    relative ones ("in 3 minutes") ticking without any edit. A waiting job says when it was
    asked for, and roughly when it will start when `place` knows."""
    if job.is_waiting:
        asked = int(job.created_at)
        if place is not None and place.starts_at is not None:
            text = Text("queue.status.asked_start", asked=asked, start=int(place.starts_at))
        else:
            text = Text("queue.status.asked", asked=asked)
        return i18n.render(text, locale)
    started = int(job.started_at if job.started_at is not None else job.created_at)
    if expected_ready_at is not None and job.state in (
        JobState.QUEUED,
        JobState.SUBMITTED,
        JobState.RUNNING,
    ):
        text = Text(
            "iterate.status.started_expected", started=started, ready=int(expected_ready_at)
        )
    else:
        text = Text("iterate.status.started", started=started)
    return i18n.render(text, locale)


def status_text(
    job: Job,
    profile: ModelProfile | None,
    *,
    expected_ready_at: float | None = None,
    compressing: bool = False,
    place: QueuePlace | None = None,
) -> str:
    """The job's public status message, in the job's public language; `place` is a waiting
    job's place in its server's queue."""
    language = job.public_locale
    head = i18n.render(Text("status.head", job=job.id, user=f"<@{job.user_id}>"), language)
    state = state_text(job, compressing=compressing, place=place)
    status = i18n.render(Text("status.line", state=state), language)
    timing = timing_line(job, expected_ready_at, language, place)
    tail = f"{settings_line(job, profile)}\n-# {timing}\n{status}"
    # Escaping can lengthen the preview; shrink it until the whole message fits.
    limit = PROMPT_PREVIEW_CHARS
    while True:
        text = f"{head}\n{prompt_preview(job.prompt, limit)}\n{tail}"
        if len(text) <= MESSAGE_CHARS or limit <= 50:
            return text[:MESSAGE_CHARS]
        limit = max(50, limit - (len(text) - MESSAGE_CHARS) - 10)


def result_text(
    job: Job, link: str | None, *, compressed: bool = False, full_quality: bool = False
) -> str:
    """The result post's words (public: the job's language): the file (`compressed` to fit,
    with or without the `full_quality` button), or the `link` when no file could be posted."""
    head = Text("status.result.ready", job=job.id, user=f"<@{job.user_id}>")
    if link is None:
        if compressed:
            note = compressed_note(full_quality, job.public_locale)
            return f"{i18n.render(head, job.public_locale)}\n{note}"
        return i18n.render(head, job.public_locale)
    return i18n.render(Text("status.result.link", ready=head, link=link), job.public_locale)


def compressed_note(full_quality: bool, locale: str | None) -> str:
    """Says a posted video was compressed, and where the original is while it is offered."""
    key = "fit.note.compressed_with_link" if full_quality else "fit.note.compressed"
    return "-# " + i18n.render(Text(key), locale)


def delete_question(job_id: int) -> Text:
    return Text("results.delete.question", job=job_id)


def outcome_notice(job: Job) -> str:
    """The public notice to the requester that their job failed or expired."""
    return i18n.render(
        Text("status.notice", user=f"<@{job.user_id}>", job=job.id, state=state_text(job)),
        job.public_locale,
    )
