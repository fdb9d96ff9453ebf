"""`/quota`: members see their quota; moderators manage limits, usage, blocks and the blocklist.

Thin glue: every decision, including who counts as a moderator, is in bot/moderation/service.py and
is made when the command runs. Each handler acknowledges at once (privately), then asks the
service, then answers. No command here is hidden by default permissions, because `/quota view`
is for everyone; the moderator check at run time is what protects the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import HIGHEST_QUOTA_LIMIT
from bot.i18n import render
from bot.models import Actor
from bot.moderation.actions import MAX_REASON_CHARS, PERIODS, PICTURE_SETTINGS
from bot.moderation.languages import server_choices
from bot.moderation.log_channel import post_to_log_channel
from bot.moderation.service import Done, ModerationService
from bot.quota.blocklist import MAX_TERM_CHARS
from cogs._log_channel import DiscordLogChannel
from cogs._members import actor_of, role_ids_of
from cogs._replies import NO_PINGS
from cogs._translator import words

if TYPE_CHECKING:
    from cogs._client import SoraBot

T = TypeVar("T")

PERIOD_CHOICES = [
    app_commands.Choice(name=words(f"quota.choice.{period}"), value=period) for period in PERIODS
]
LANGUAGE_CHOICES = [
    app_commands.Choice(name=words(f"common.language.{setting}"), value=setting)
    for setting in server_choices()
]
PICTURE_CHOICES = [
    app_commands.Choice(name=words(f"access.choice.pictures.{setting}"), value=setting)
    for setting in PICTURE_SETTINGS
]

# Discord's own checks of the options, with the service's ceilings (it checks them again).
# Held to MAX_QUOTA_LIMIT by the moderator-action frame, which tells the moderator the ceiling;
# Discord's client only keeps the numbers sane.
Limit = app_commands.Range[int, 0, HIGHEST_QUOTA_LIMIT]
Amount = app_commands.Range[int, -HIGHEST_QUOTA_LIMIT, HIGHEST_QUOTA_LIMIT]
Page = app_commands.Range[int, 1, 10_000]
Reason = app_commands.Range[str, 1, MAX_REASON_CHARS]
Term = app_commands.Range[str, 1, MAX_TERM_CHARS]


def named(*options: str) -> Callable[[T], T]:
    """Options named in each moderator's language (`quota.option_name.*`: 成員, 頁碼...), as
    `/sora`'s are; the guides and the `page:` hints use the same words."""
    return app_commands.rename(**{name: words(f"quota.option_name.{name}") for name in options})


# A question for the service: who asks, and the language they read (for text replies).
Question = Callable[[Actor, str], Awaitable["str | Done"]]


class QuotaCog(commands.Cog):
    quota = app_commands.Group(
        name="quota",
        description=words("quota.cmd.quota"),
        guild_only=True,
    )
    blocklist = app_commands.Group(
        name="blocklist",
        description=words("quota.cmd.blocklist"),
        parent=quota,
    )

    def __init__(self, bot: SoraBot) -> None:
        self.bot = bot
        self.moderation: ModerationService = bot.services.moderation
        self.log_channel_id = bot.services.settings.quota_log_channel_id

    async def _answer(self, interaction: discord.Interaction, question: Question) -> None:
        # Acknowledge first: Discord gives us 3 seconds and the database may be busy.
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = interaction.locale.value
        result = await question(actor_of(interaction), locale)  # a `Refusal`: the tree answers
        text = render(result.reply, locale) if isinstance(result, Done) else result
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
        if isinstance(result, Done):
            await post_to_log_channel(
                DiscordLogChannel(self.bot),
                self.log_channel_id,
                result.log_line,
                languages=self.bot.services.languages,
                from_guild_id=interaction.guild_id,
            )

    # -- everyone -------------------------------------------------------------------------

    @quota.command(name="view", description=words("quota.cmd.view"))
    @named("member")
    @app_commands.describe(member=words("quota.opt.view.member"))
    async def view(
        self, interaction: discord.Interaction, member: discord.Member | None = None
    ) -> None:
        target = member or interaction.user
        await self._answer(
            interaction,
            lambda actor, locale: self.moderation.view(
                actor, target.id, role_ids_of(target), locale
            ),
        )

    # -- moderators -----------------------------------------------------------------------

    @quota.command(name="set", description=words("quota.cmd.set"))
    @named("member", "limit", "reason")
    @app_commands.describe(
        member=words("quota.opt.set.member"),
        limit=words("quota.opt.set.limit"),
        reason=words("quota.opt.reason"),
    )
    async def set_limit(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        limit: Limit,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction,
            lambda actor, locale: self.moderation.set_limit(actor, member.id, limit, reason),
        )

    @quota.command(name="clear", description=words("quota.cmd.clear"))
    @named("member", "reason")
    @app_commands.describe(member=words("quota.opt.clear.member"), reason=words("quota.opt.reason"))
    async def clear_limit(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor, locale: self.moderation.clear_limit(actor, member.id, reason)
        )

    @quota.command(name="grant", description=words("quota.cmd.grant"))
    @named("member", "amount", "reason")
    @app_commands.describe(
        member=words("quota.opt.grant.member"),
        amount=words("quota.opt.grant.amount"),
        reason=words("quota.opt.reason"),
    )
    async def grant(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        amount: Amount,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction,
            lambda actor, locale: self.moderation.grant(actor, member.id, amount, reason),
        )

    @quota.command(name="reset", description=words("quota.cmd.reset"))
    @named("member", "reason")
    @app_commands.describe(member=words("quota.opt.reset.member"), reason=words("quota.opt.reason"))
    async def reset(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor, locale: self.moderation.reset(actor, member.id, reason)
        )

    @quota.command(name="default", description=words("quota.cmd.default"))
    @named("limit", "period", "reason")
    @app_commands.describe(
        limit=words("quota.opt.default.limit"),
        period=words("quota.opt.default.period"),
        reason=words("quota.opt.reason"),
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    async def set_default(
        self,
        interaction: discord.Interaction,
        limit: Limit,
        period: str,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction,
            lambda actor, locale: self.moderation.set_default(actor, limit, period, reason),
        )

    @quota.command(name="role", description=words("quota.cmd.role"))
    @named("role", "limit", "reason")
    @app_commands.describe(
        role=words("quota.opt.role.role"),
        limit=words("quota.opt.role.limit"),
        reason=words("quota.opt.reason"),
    )
    async def set_role(
        self,
        interaction: discord.Interaction,
        role: discord.Role,
        limit: Limit,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction,
            lambda actor, locale: self.moderation.set_role(actor, role.id, limit, reason),
        )

    @quota.command(name="role-clear", description=words("quota.cmd.role_clear"))
    @named("role", "reason")
    @app_commands.describe(
        role=words("quota.opt.role_clear.role"), reason=words("quota.opt.reason")
    )
    async def clear_role(
        self,
        interaction: discord.Interaction,
        role: discord.Role,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor, locale: self.moderation.clear_role(actor, role.id, reason)
        )

    @quota.command(name="block", description=words("quota.cmd.block"))
    @named("member", "reason")
    @app_commands.describe(member=words("quota.opt.block.member"), reason=words("quota.opt.reason"))
    async def block(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor, locale: self.moderation.block(actor, member.id, reason)
        )

    @quota.command(name="unblock", description=words("quota.cmd.unblock"))
    @named("member", "reason")
    @app_commands.describe(
        member=words("quota.opt.unblock.member"), reason=words("quota.opt.reason")
    )
    async def unblock(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor, locale: self.moderation.unblock(actor, member.id, reason)
        )

    @quota.command(name="language", description=words("quota.cmd.language"))
    @named("setting", "reason")
    @app_commands.describe(
        setting=words("quota.opt.language.setting"), reason=words("quota.opt.reason")
    )
    @app_commands.choices(setting=LANGUAGE_CHOICES)
    async def set_language(
        self,
        interaction: discord.Interaction,
        setting: str,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor, locale: self.moderation.set_language(actor, setting, reason)
        )

    @quota.command(name="pictures", description=words("access.cmd.pictures"))
    @named("whose", "reason")
    @app_commands.describe(
        whose=words("access.opt.pictures.setting"), reason=words("quota.opt.reason")
    )
    @app_commands.choices(whose=PICTURE_CHOICES)
    async def set_pictures(
        self,
        interaction: discord.Interaction,
        whose: str,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor, locale: self.moderation.set_pictures(actor, whose, reason)
        )

    @quota.command(name="log", description=words("quota.cmd.log"))
    @named("member", "page")
    @app_commands.describe(member=words("quota.opt.log.member"), page=words("quota.opt.log.page"))
    async def show_log(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        page: Page = 1,
    ) -> None:
        member_id = member.id if member is not None else None
        await self._answer(
            interaction, lambda actor, locale: self.moderation.log(actor, member_id, page, locale)
        )

    @blocklist.command(name="add", description=words("quota.cmd.blocklist_add"))
    @named("text", "reason")
    @app_commands.describe(
        text=words("quota.opt.blocklist_add.text"), reason=words("quota.opt.reason")
    )
    async def blocklist_add(
        self, interaction: discord.Interaction, text: Term, reason: Reason | None = None
    ) -> None:
        await self._answer(
            interaction, lambda actor, locale: self.moderation.blocklist_add(actor, text, reason)
        )

    @blocklist.command(name="remove", description=words("quota.cmd.blocklist_remove"))
    @named("text", "reason")
    @app_commands.describe(
        text=words("quota.opt.blocklist_remove.text"), reason=words("quota.opt.reason")
    )
    async def blocklist_remove(
        self, interaction: discord.Interaction, text: Term, reason: Reason | None = None
    ) -> None:
        await self._answer(
            interaction, lambda actor, locale: self.moderation.blocklist_remove(actor, text, reason)
        )

    @blocklist.command(name="list", description=words("quota.cmd.blocklist_list"))
    @named("page")
    @app_commands.describe(page=words("quota.opt.blocklist_list.page"))
    async def blocklist_list(self, interaction: discord.Interaction, page: Page = 1) -> None:
        await self._answer(
            interaction, lambda actor, locale: self.moderation.blocklist_list(actor, page, locale)
        )


async def setup(bot: SoraBot) -> None:
    await bot.add_cog(QuotaCog(bot))
