"""What `/quota view` shows: a member's allowance, usage, bonus, reset time and jobs."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import Text, render
from bot.jobs.state_words import state_label
from bot.models import Job
from bot.moderation.wording import allowance_text, this_period_text
from bot.quota.allowance import Allowance, Balance
from bot.storage import rules as rule_rows


@dataclass(frozen=True)
class QuotaStatus:
    member_id: int
    allowance: Allowance
    balance: Balance
    resets_at: float
    active: list[Job]
    block: rule_rows.Block | None


def status_lines(status: QuotaStatus, *, show_block_reason: bool, locale: str | None) -> list[str]:
    """`/quota view`: a member's allowance, usage, bonus, reset time and jobs in progress."""
    allowance, balance, kind = status.allowance, status.balance, status.allowance.period.kind
    if allowance.source == "member":
        source = Text("quota.source.member")
    elif allowance.source == "role":
        source = Text("quota.source.role", role=f"<@&{allowance.role_id}>")
    else:
        source = Text("quota.source.default")
    this_period = this_period_text(kind)
    left = (
        Text(
            "quota.view.left_with_bonus",
            left=balance.remaining,
            period_left=balance.period_left,
            period=this_period,
            bonus=balance.bonus,
        )
        if balance.bonus > 0
        else Text("quota.view.left", left=balance.remaining)
    )
    lines = [
        Text("quota.view.title", member=f"<@{status.member_id}>"),
        Text(
            "quota.view.allowance", allowance=allowance_text(allowance.limit, kind), source=source
        ),
        Text("quota.view.usage", period=this_period, used=max(0, balance.used), left=left),
    ]
    if balance.bonus > 0:
        lines.append(Text("quota.view.bonus", balance.bonus))
    if balance.owed:
        lines.append(Text("quota.view.owed", balance.owed))
    lines.append(Text("quota.view.resets", at=int(status.resets_at)))
    if status.active:
        separator = render(Text("quota.view.separator"), locale)
        jobs = separator.join(render(_describe_job(job), locale) for job in status.active)
        lines.append(Text("quota.view.in_progress", jobs=jobs))
    else:
        lines.append(Text("quota.view.in_progress_none"))
    if status.block is not None:
        since = int(status.block.blocked_at)
        if show_block_reason and status.block.reason:
            lines.append(Text("quota.view.blocked_reason", at=since, reason=status.block.reason))
        else:
            lines.append(Text("quota.view.blocked", at=since))
    return [render(line, locale) for line in lines]


def _describe_job(job: Job) -> Text:
    state = state_label(job)
    if job.status_message_id is None:
        return Text("quota.job.plain", id=job.id, state=state)
    link = f"https://discord.com/channels/{job.guild_id}/{job.channel_id}/{job.status_message_id}"
    return Text("quota.job.linked", id=job.id, link=link, state=state)
