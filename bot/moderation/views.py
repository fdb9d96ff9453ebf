"""What `/quota` shows without changing anything: a member's quota (`/quota view`, also in
`/help`), the log of the server's quota (`/quota log`) and its prompt blocklist."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.errors import Refusal
from bot.i18n import Text, listing, render
from bot.jobs.queue_places import QueuePlaces
from bot.jobs.queue_store import QueueStore
from bot.jobs.state_words import state_label
from bot.jobs.store import JobStore
from bot.models import Actor, Job
from bot.moderation import audit
from bot.moderation.permissions import Moderators
from bot.moderation.wording import allowance_text, this_period_text
from bot.pages import page_bounds, pick_page
from bot.quota import allowance as quotas
from bot.quota.allowance import Allowance, Balance, QuotaPolicy
from bot.storage import audit as audit_rows
from bot.storage import blocklist as blocklist_rows
from bot.storage import rules as rule_rows
from bot.storage.database import Database

BLOCKLIST_PAGE_SIZE = 40


@dataclass(frozen=True)
class QuotaStatus:
    member_id: int
    allowance: Allowance
    balance: Balance
    resets_at: float
    active: list[Job]
    block: rule_rows.Block | None
    positions: dict[int, int] = field(default_factory=dict)  # waiting job → place in the queue


class QuotaViews:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        jobs: JobStore,
        policy: QuotaPolicy,
        moderators: Moderators,
    ) -> None:
        self.db = db
        self.clock = clock
        self.jobs = jobs
        self.policy = policy
        self.moderators = moderators
        self.places = QueuePlaces(QueueStore(jobs), clock, schedule=None)  # positions only

    # -- anyone ---------------------------------------------------------------------------

    async def status(
        self, actor: Actor, member_id: int, member_role_ids: tuple[int, ...]
    ) -> QuotaStatus:
        if member_id != actor.user_id and not self.moderators.includes(actor):
            raise Refusal(Text("quota.refusal.not_yours"))
        now = self.clock.now()
        async with self.db.transaction() as conn:
            allowance = await self.policy.allowance_in(
                conn, actor.guild_id, member_id, member_role_ids
            )
            balance = await quotas.read_balance(
                conn, actor.guild_id, member_id, allowance.limit, allowance.period, now
            )
            block = await rule_rows.get_block(conn, actor.guild_id, member_id)
        active = await self.jobs.active_for_member(actor.guild_id, member_id)
        positions = {}
        if any(job.is_waiting for job in active):
            places = await self.places.in_guild(actor.guild_id)
            positions = {job_id: place.position for job_id, place in places.items()}
        return QuotaStatus(
            member_id,
            allowance,
            balance,
            allowance.period.next_reset(now),
            active,
            block,
            positions,
        )

    async def view(
        self,
        actor: Actor,
        member_id: int,
        member_role_ids: tuple[int, ...],
        locale: str | None = None,
    ) -> str:
        status = await self.status(actor, member_id, member_role_ids)
        lines = status_lines(
            status, show_block_reason=self.moderators.includes(actor), locale=locale
        )
        return "\n".join(lines)

    # -- moderators ----------------------------------------------------------------------

    async def log(
        self,
        actor: Actor,
        member_id: int | None = None,
        page: int = 1,
        locale: str | None = None,
    ) -> str:
        self.moderators.require(actor)
        # Plain reads (no write lock), and the paging, which renders every line to measure
        # it, off the event loop: a server's log grows with every job.
        async with self.db.reading() as conn:
            everything = await audit_rows.log_entries(conn, actor.guild_id, member_id)
        found = await asyncio.to_thread(audit.page_of, everything, page, locale)
        member = f"<@{member_id}>" if member_id is not None else None
        if found.total == 0:
            if member is None:
                return render(Text("quota.log.empty"), locale)
            return render(Text("quota.log.empty_member", member=member), locale)
        entries = Text("quota.entries", found.total)
        header = (
            Text("quota.log.header", page=found.page, pages=found.pages, entries=entries)
            if member is None
            else Text(
                "quota.log.header_member",
                member=member,
                page=found.page,
                pages=found.pages,
                entries=entries,
            )
        )
        lines = [render(header, locale), *(audit.describe(e, locale) for e in found.entries)]
        if found.page < found.pages:
            lines.append(render(Text("quota.log.older", next=found.page + 1), locale))
        return "\n".join(lines)

    async def blocklist_list(self, actor: Actor, page: int = 1, locale: str | None = None) -> str:
        self.moderators.require(actor)
        async with self.db.reading() as conn:
            entries = await blocklist_rows.entries(conn, actor.guild_id)
        if not entries:
            return render(Text("quota.blocklist.empty"), locale)
        listed = [f"#{entry.id} ||{entry.term}||" for entry in entries]
        bounds = page_bounds([len(line) for line in listed], max_lines=BLOCKLIST_PAGE_SIZE)
        page, start, end = pick_page(bounds, page)
        pages = len(bounds)
        header = Text(
            "quota.blocklist.header",
            entries=Text("quota.entries", len(entries)),
            page=page,
            pages=pages,
        )
        lines = [render(header, locale), *listed[start:end]]
        if page < pages:
            lines.append(render(Text("quota.blocklist.more", next=page + 1), locale))
        return "\n".join(lines)


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
        jobs = listing(_describe_job(job, status.positions.get(job.id)) for job in status.active)
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


def _describe_job(job: Job, position: int | None = None) -> Text:
    state = state_label(job, position)
    if job.status_message_id is None:
        return Text("quota.job.plain", id=job.id, state=state)
    link = f"https://discord.com/channels/{job.guild_id}/{job.channel_id}/{job.status_message_id}"
    return Text("quota.job.linked", id=job.id, link=link, state=state)
