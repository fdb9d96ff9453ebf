"""The record of moderator actions, and the quota log that merges it with the ledger.

Each moderator action is exactly one `moderation_actions` row. An action that changes usage
(a grant, a reset) also writes a ledger row and points at it; the log shows such a pair once,
as the action, and every other ledger row (holds, charges, releases, settlements) as itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.pages import page_bounds, pick_page

LOG_PAGE_SIZE = 10
REASON_PREVIEW_CHARS = 60


@dataclass(frozen=True)
class Action:
    """What a moderator did: `detail` is a sentence without its subject, e.g.
    "set <@7>'s personal limit to 10 (was not set)". It never holds a blocklist term."""

    action: str
    detail: str
    target_user_id: int | None = None
    target_role_id: int | None = None
    reason: str | None = None
    term: str | None = None  # blocklist entries only; shown to moderators, never posted
    ledger_id: int | None = None


@dataclass(frozen=True)
class LogEntry:
    source: str  # "action" (a moderator did it) or "ledger" (a job or the bot did it)
    id: int
    created_at: float
    actor_id: int | None
    kind: str  # the action name, or the ledger kind
    user_id: int | None
    detail: str | None
    term: str | None
    reason: str | None
    job_id: int | None
    units: int | None
    period_start: str | None


@dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    page: int  # 1-based, clamped to the pages there are
    pages: int
    total: int


def page_of(everything: list[LogEntry], page: int, per_page: int = LOG_PAGE_SIZE) -> LogPage:
    """Page `page` of the log `everything` (newest first); a page past the end shows the last
    one. A page holds at most `per_page` entries, fewer when their lines would not fit one
    message (see bot/pages.py)."""
    bounds = page_bounds([len(describe(entry)) for entry in everything], max_lines=per_page)
    page, start, end = pick_page(bounds, page)
    return LogPage(everything[start:end], page, len(bounds), len(everything))


def describe(entry: LogEntry) -> str:
    """One line of the log, for moderators (ephemeral)."""
    when = f"<t:{int(entry.created_at)}:f>"
    if entry.source == "action":
        line = f"{when} <@{entry.actor_id}> {entry.detail}"
        if entry.term is not None:
            line += f" (||{entry.term}||)"  # spoilered: moderators choose to read it
    else:
        line = f"{when} {_describe_ledger(entry)}"
    if entry.reason and entry.source == "action":
        line += f" — {_preview(entry.reason)}"
    return line


def _describe_ledger(entry: LogEntry) -> str:
    member = f"<@{entry.user_id}>"
    where = "from bonus" if entry.period_start is None else f"on {entry.period_start}"
    if entry.kind == "hold":
        return f"job #{entry.job_id}: 1 video held for {member} ({where})"
    if entry.kind == "charge":
        return f"job #{entry.job_id}: charged to {member} (video delivered)"
    if entry.kind == "release":
        return f"job #{entry.job_id}: 1 video given back to {member} ({entry.reason})"
    units = entry.units or 0
    # `units` is a change in usage: in the bonus bucket that is the bonus going the other way.
    if entry.period_start is None:
        change = f"bonus {-units:+d}"
    else:
        change = f"usage {units:+d} on {entry.period_start}"
    text = f"{member}: {change}"
    return f"{text} ({_preview(entry.reason)})" if entry.reason else text


def _preview(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > REASON_PREVIEW_CHARS:
        return text[: REASON_PREVIEW_CHARS - 1].rstrip() + "…"
    return text
