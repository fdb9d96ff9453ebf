"""The record of moderator actions, and the quota log that merges it with the ledger.

Each moderator action is exactly one `moderation_actions` row. An action that changes usage
(a grant, a reset) also writes a ledger row and points at it; the log shows such a pair once,
as the action, and every other ledger row (holds, charges, releases, settlements) as itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.i18n import Text, decode_text, render
from bot.pages import page_bounds, pick_page
from bot.storage.audit import LogEntry

LOG_PAGE_SIZE = 10
REASON_PREVIEW_CHARS = 60


@dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    page: int  # 1-based, clamped to the pages there are
    pages: int
    total: int


def page_of(
    everything: list[LogEntry], page: int, locale: str | None = None, per_page: int = LOG_PAGE_SIZE
) -> LogPage:
    """Page `page` of the log `everything` (newest first); a page past the end shows the last
    one. A page holds at most `per_page` entries, fewer when their lines in `locale` would not
    fit one message (see bot/pages.py)."""
    lengths = [len(describe(entry, locale)) for entry in everything]
    bounds = page_bounds(lengths, max_lines=per_page)
    page, start, end = pick_page(bounds, page)
    return LogPage(everything[start:end], page, len(bounds), len(everything))


def describe(entry: LogEntry, locale: str | None = None) -> str:
    """One line of the log, for moderators (ephemeral), in their language."""
    when = f"<t:{int(entry.created_at)}:f>"
    if entry.source == "action":
        line = f"{when} <@{entry.actor_id}> {render(_action_detail(entry), locale)}"
        if entry.term is not None:
            line += f" (||{entry.term}||)"  # spoilered: moderators choose to read it
    else:
        line = f"{when} {render(_describe_ledger(entry), locale)}"
    if entry.reason and entry.source == "action":
        line += render(Text("quota.log.reason", reason=_preview(entry.reason)), locale)
    if entry.via == "web":
        line += render(Text("quota.log.via_web"), locale)
    return line


def _action_detail(entry: LogEntry) -> Text | str:
    if entry.detail_key is None:
        return entry.detail or ""
    return decode_text(json.loads(entry.detail_values or "{}") | {"key": entry.detail_key})


def _describe_ledger(entry: LogEntry) -> Text:
    member = f"<@{entry.user_id}>"
    if entry.kind in ("hold", "charge", "release"):
        where = (
            Text("quota.ledger.from_bonus")
            if entry.period_start is None
            else Text("quota.ledger.on_day", day=entry.period_start)
        )
        return Text(
            f"quota.ledger.{entry.kind}",
            job=entry.job_id,
            member=member,
            where=where,
            reason=_outcome_reason(entry.reason),
        )
    units = entry.units or 0
    # `units` is a change in usage: in the bonus bucket that is the bonus going the other way.
    if entry.period_start is None:
        change = Text("quota.ledger.bonus_change", change=f"{-units:+d}", member=member)
    else:
        change = Text(
            "quota.ledger.usage_change", change=f"{units:+d}", day=entry.period_start, member=member
        )
    if not entry.reason:
        return change
    return Text("quota.ledger.with_reason", change=change, reason=_preview(entry.reason))


# The reasons the job store writes with a charge or a release (bot/jobs/store.py), in any language.
_OUTCOME_REASONS = {
    "video delivered": "quota.ledger.reason.delivered",
    "job withdrawn": "quota.ledger.reason.withdrawn",
    "job failed": "quota.ledger.reason.failed",
    "job expired": "quota.ledger.reason.expired",
    "job cancelled": "quota.ledger.reason.cancelled",
}


def _outcome_reason(reason: str | None) -> Text | str:
    key = _OUTCOME_REASONS.get(reason or "")
    return Text(key) if key else (reason or "")


def _preview(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > REASON_PREVIEW_CHARS:
        return text[: REASON_PREVIEW_CHARS - 1].rstrip() + "…"
    return text
