"""`/help`'s decisions: what the bot can do, and the server's rules as they apply right now.

The member's quota is the same text `/quota view` shows (bot/moderation/views.py); this
module adds the overview of commands and the server-wide rules. The blocklist is only said to
exist: its words are for moderators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.i18n import Text
from bot.models import Actor
from bot.moderation.service import ModerationService
from bot.storage import blocklist as blocklist_rows

MINUTE_THRESHOLD_SECONDS = 90  # from here on a wait is said in minutes


@dataclass(frozen=True)
class ServerRules:
    period: str  # day | week | month: how often allowances reset
    max_active_per_member: int
    max_active_per_guild: int | None  # None: no server-wide cap
    cooldown_seconds: float
    has_blocklist: bool
    waiting_per_member: int = 0  # 0: no queue (a job over the caps is refused)
    waiting_per_guild: int = 0
    service_cap: int | None = None  # the deployment's jobs at the video service at once
    others_pictures: bool = False  # "Make a video" on anyone's messages, not only one's own


@dataclass(frozen=True)
class Guide:
    """Everything `/help` shows one member."""

    quota: str  # as /quota view renders it
    rules: ServerRules
    moderator: bool


async def guide_for(
    moderation: ModerationService, actor: Actor, locale: str | None = None
) -> Guide:
    quota = await moderation.view(actor, actor.user_id, actor.role_ids, locale)
    allowance = await moderation.policy.allowance(actor.guild_id, actor.user_id, actor.role_ids)
    async with moderation.db.transaction() as conn:
        has_blocklist = bool(await blocklist_rows.entries(conn, actor.guild_id))
    caps = moderation.jobs.caps
    queue = caps.queue_enabled
    rules = ServerRules(
        period=allowance.period.kind,
        max_active_per_member=caps.per_member,
        max_active_per_guild=caps.per_guild,
        cooldown_seconds=allowance.cooldown_seconds,
        has_blocklist=has_blocklist,
        waiting_per_member=caps.waiting_per_member if queue else 0,
        waiting_per_guild=caps.waiting_per_guild if queue else 0,
        service_cap=caps.provider,
        others_pictures=await moderation.others_pictures_allowed(actor.guild_id),
    )
    return Guide(quota=quota, rules=rules, moderator=moderation.is_moderator(actor))


def guide_texts(guide: Guide) -> list[Text | str]:
    """The overview, in order: commands, the member's quota, the server's rules."""
    parts: list[Text | str] = [
        Text("iterate.help.commands"),
        Text("iterate.help.quota_heading"),
        guide.quota,
        Text("iterate.help.rules_heading"),
        *rule_texts(guide.rules),
    ]
    if guide.moderator:
        parts.append(Text("iterate.help.moderators"))
    return parts


def rule_texts(rules: ServerRules) -> list[Text]:
    lines = [
        Text("iterate.help.rule.period", period=Text(f"iterate.help.period.{rules.period}")),
        Text("iterate.help.rule.per_member", rules.max_active_per_member),
    ]
    if rules.max_active_per_guild is not None:
        lines.append(Text("iterate.help.rule.per_server", rules.max_active_per_guild))
    if rules.service_cap is not None:
        lines.append(Text("queue.help.rule.service", rules.service_cap))
    if rules.waiting_per_guild > 0:
        lines.append(
            Text("queue.help.rule.queue", rules.waiting_per_member, server=rules.waiting_per_guild)
        )
    if rules.cooldown_seconds > 0:
        lines.append(Text("iterate.help.rule.cooldown", wait=wait_text(rules.cooldown_seconds)))
    if rules.has_blocklist:
        lines.append(Text("iterate.help.rule.blocklist"))
    lines.append(Text(f"access.help.pictures.{'anyone' if rules.others_pictures else 'own'}"))
    lines.append(Text("iterate.help.rule.charged"))
    return lines


def wait_text(seconds: float) -> Text:
    whole = max(1, math.ceil(seconds))
    if whole < MINUTE_THRESHOLD_SECONDS:
        return Text("iterate.help.seconds", whole)
    return Text("iterate.help.minutes", math.ceil(whole / 60))
