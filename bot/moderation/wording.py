"""The words `/quota`'s actions and views share: allowances, periods, languages."""

from __future__ import annotations

from bot.i18n import Text


def allowance_text(limit: int, period: str) -> Text:
    """A limit for a period kind: "5 videos per day"."""
    return Text(f"quota.allowance.{period}", limit)


def this_period_text(period: str) -> Text:
    """The current period: "today", "this week", "this month"."""
    return Text(f"quota.period.this_{period}")


def language_name(setting: str) -> Text:
    return Text(f"common.language.{setting}")


def was_text(before: int | None) -> Text | int:
    """A limit before a change: the number, or "not set"."""
    return Text("quota.was.not_set") if before is None else before
