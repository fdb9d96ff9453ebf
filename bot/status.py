"""The words members see: status messages and result captions, as pure functions."""

from __future__ import annotations

import re

from bot import i18n
from bot.i18n import Text
from bot.models import Job, JobState
from bot.providers.profiles import ModelProfile

PROMPT_PREVIEW_CHARS = 1200
REASON_CHARS = 300
MESSAGE_CHARS = 2000  # Discord's limit for a message's content
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


def settings_line(job: Job, profile: ModelProfile | None) -> str:
    parts = [job.options.orientation.capitalize(), f"{job.options.duration} s"]
    if job.options.quality:
        label = profile.quality_label(job.options.quality) if profile else job.options.quality
        parts.append(str(label))
    parts.append(profile.label if profile else job.model)
    if job.image_name:
        parts.append("with reference image")
    return " · ".join(parts)


def state_line(job: Job, *, compressing: bool = False) -> str:
    if job.state is JobState.QUEUED:
        return "⏳ Queued: sending to the video service…"
    if job.state is JobState.SUBMITTED:
        return "⏳ Waiting in the video service's queue…"
    if job.state is JobState.RUNNING:
        if job.progress is not None:
            return f"🎞️ Generating… {job.progress}%"
        return "🎞️ Generating…"
    if job.state is JobState.SUCCEEDED:
        if compressing:
            return i18n.render(Text("fit.status.compressing"), None)
        return "📦 Video ready, posting it…"
    if job.state is JobState.DELIVERED:
        return "✅ Done: the video is in the reply below."
    reason = shorten(job.error_message or "The video service gave no reason.", REASON_CHARS)
    if job.state is JobState.EXPIRED:
        return f"⌛ Expired: {reason} It did not count against your quota."
    return f"❌ Failed: {reason} It did not count against your quota."


def timing_line(job: Job, expected_ready_at: float | None = None, locale: str | None = None) -> str:
    """When the job started, and while it runs its expected ready time if one is known, as
    Discord timestamps: each reader's client shows them in their own time and keeps the
    relative ones ("in 3 minutes") ticking without any edit."""
    started = int(job.created_at)
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
) -> str:
    head = f"🎬 **Video job #{job.id}** for <@{job.user_id}>"
    tail = (
        f"{settings_line(job, profile)}\n-# {timing_line(job, expected_ready_at)}\n"
        f"**Status:** {state_line(job, compressing=compressing)}"
    )
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
    """The result post's words: the file (`compressed` to fit, with or without the
    `full_quality` button), or the `link` when no file could be posted."""
    head = f"<@{job.user_id}> your video for job #{job.id} is ready."
    if link is None:
        if compressed:
            return f"{head}\n{compressed_note(full_quality)}"
        return head
    return (
        f"{head} It is too large to upload here, so here is the link: {link}\n"
        "-# The link is the video service's and expires after a while: save the video soon."
    )


def compressed_note(full_quality: bool) -> str:
    """Says a posted video was compressed, and where the original is while it is offered."""
    key = "fit.note.compressed_with_link" if full_quality else "fit.note.compressed"
    return "-# " + i18n.render(Text(key), None)


def delete_question(job_id: int) -> str:
    return (
        f"Delete the video of job #{job_id}? It goes for everyone, with every repost of it, and "
        "cannot be brought back; it was paid for, and making it again costs a new video."
    )


def outcome_notice(job: Job) -> str:
    return f"<@{job.user_id}> job #{job.id}: {state_line(job)}"
