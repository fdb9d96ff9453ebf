"""`/quota`: members see their quota; moderators manage limits, usage, blocks and the blocklist.

Thin glue: every decision, including who counts as a moderator, is in bot/moderation.py and
is made when the command runs. Each handler acknowledges at once (privately), then asks the
service, then answers. No command here is hidden by default permissions, because `/quota view`
is for everyone; the moderator check at run time is what protects the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.moderation import Actor, Done, ModerationService
from cogs._members import actor_of, role_ids_of
from cogs._replies import NO_PINGS

if TYPE_CHECKING:
    from cogs._client import SoraBot

log = logging.getLogger(__name__)

PERIOD_CHOICES = [
    app_commands.Choice(name="Day", value="day"),
    app_commands.Choice(name="Week", value="week"),
    app_commands.Choice(name="Month", value="month"),
]

Limit = app_commands.Range[int, 0, 1000]
Amount = app_commands.Range[int, -1000, 1000]
Page = app_commands.Range[int, 1, 10_000]
Reason = app_commands.Range[str, 1, 200]
Term = app_commands.Range[str, 1, 100]


Ask = Callable[[Actor], Awaitable["str | Done"]]


class QuotaCog(commands.Cog):
    quota = app_commands.Group(
        name="quota",
        description="Video quotas: see yours; moderators manage everyone's",
        guild_only=True,
    )
    blocklist = app_commands.Group(
        name="blocklist",
        description="Words and phrases refused in prompts (moderators)",
        parent=quota,
    )

    def __init__(self, bot: SoraBot) -> None:
        self.bot = bot
        self.moderation: ModerationService = bot.services.moderation
        self.log_channel_id = bot.services.settings.quota_log_channel_id

    async def _answer(self, interaction: discord.Interaction, ask: Ask) -> None:
        # Acknowledge first: Discord gives us 3 seconds and the database may be busy.
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await ask(actor_of(interaction))  # a `Refusal` is answered by the tree
        text = result.reply if isinstance(result, Done) else result
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
        if isinstance(result, Done):
            await self._post_to_log_channel(interaction, result.log_line)

    async def _post_to_log_channel(self, interaction: discord.Interaction, line: str) -> None:
        """Best effort: the action is done and recorded whatever happens here."""
        if self.log_channel_id is None:
            return
        try:
            channel = self.bot.get_channel(self.log_channel_id) or await self.bot.fetch_channel(
                self.log_channel_id
            )
            guild = getattr(channel, "guild", None)
            if guild is None or guild.id != interaction.guild_id:
                return  # the log channel belongs to another server: keep this one's news here
            if not isinstance(channel, discord.abc.Messageable):
                raise discord.ClientException("the channel cannot hold messages")
            await channel.send(line, allowed_mentions=NO_PINGS)
        except discord.DiscordException as error:
            log.warning(
                "could not post to the quota log channel %s: %s", self.log_channel_id, error
            )

    # -- everyone -------------------------------------------------------------------------

    @quota.command(name="view", description="See your videos left, bonus, reset time and jobs")
    @app_commands.describe(member="Moderators only: whose quota to see")
    async def view(
        self, interaction: discord.Interaction, member: discord.Member | None = None
    ) -> None:
        target = member or interaction.user
        await self._answer(
            interaction, lambda actor: self.moderation.view(actor, target.id, role_ids_of(target))
        )

    # -- moderators -----------------------------------------------------------------------

    @quota.command(name="set", description="Moderators: give a member a personal limit")
    @app_commands.describe(
        member="Whose limit", limit="Videos per period (0 stops them)", reason="Why"
    )
    async def set_limit(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        limit: Limit,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor: self.moderation.set_limit(actor, member.id, limit, reason)
        )

    @quota.command(name="clear", description="Moderators: remove a member's personal limit")
    @app_commands.describe(member="Whose limit", reason="Why")
    async def clear_limit(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor: self.moderation.clear_limit(actor, member.id, reason)
        )

    @quota.command(name="grant", description="Moderators: give (or take) bonus videos that last")
    @app_commands.describe(
        member="Who", amount="Bonus videos to add; negative takes them away", reason="Why"
    )
    async def grant(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        amount: Amount,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor: self.moderation.grant(actor, member.id, amount, reason)
        )

    @quota.command(name="reset", description="Moderators: give back what a member used this period")
    @app_commands.describe(member="Whose usage", reason="Why")
    async def reset(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor: self.moderation.reset(actor, member.id, reason)
        )

    @quota.command(name="default", description="Moderators: set the server's default allowance")
    @app_commands.describe(
        limit="Videos per member per period", period="How often it resets", reason="Why"
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
            interaction, lambda actor: self.moderation.set_default(actor, limit, period, reason)
        )

    @quota.command(name="role", description="Moderators: set a role's allowance")
    @app_commands.describe(
        role="Which role", limit="Videos per period for its members", reason="Why"
    )
    async def set_role(
        self,
        interaction: discord.Interaction,
        role: discord.Role,
        limit: Limit,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor: self.moderation.set_role(actor, role.id, limit, reason)
        )

    @quota.command(name="role-clear", description="Moderators: remove a role's allowance")
    @app_commands.describe(role="Which role", reason="Why")
    async def clear_role(
        self,
        interaction: discord.Interaction,
        role: discord.Role,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor: self.moderation.clear_role(actor, role.id, reason)
        )

    @quota.command(name="block", description="Moderators: stop a member from making videos")
    @app_commands.describe(member="Who", reason="Why")
    async def block(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor: self.moderation.block(actor, member.id, reason)
        )

    @quota.command(name="unblock", description="Moderators: let a blocked member make videos again")
    @app_commands.describe(member="Who", reason="Why")
    async def unblock(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        reason: Reason | None = None,
    ) -> None:
        await self._answer(
            interaction, lambda actor: self.moderation.unblock(actor, member.id, reason)
        )

    @quota.command(name="log", description="Moderators: recent quota events and actions")
    @app_commands.describe(member="Only this member's entries", page="Page (1 is the newest)")
    async def show_log(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        page: Page = 1,
    ) -> None:
        member_id = member.id if member is not None else None
        await self._answer(interaction, lambda actor: self.moderation.log(actor, member_id, page))

    @blocklist.command(
        name="add", description="Moderators: refuse prompts with this word or phrase"
    )
    @app_commands.describe(
        text="A word or phrase; * at the start or end matches any letters", reason="Why"
    )
    async def blocklist_add(
        self, interaction: discord.Interaction, text: Term, reason: Reason | None = None
    ) -> None:
        await self._answer(
            interaction, lambda actor: self.moderation.blocklist_add(actor, text, reason)
        )

    @blocklist.command(name="remove", description="Moderators: allow a blocklisted word again")
    @app_commands.describe(text="The entry, as listed", reason="Why")
    async def blocklist_remove(
        self, interaction: discord.Interaction, text: Term, reason: Reason | None = None
    ) -> None:
        await self._answer(
            interaction, lambda actor: self.moderation.blocklist_remove(actor, text, reason)
        )

    @blocklist.command(
        name="list", description="Moderators: show the blocklist (hidden by spoilers)"
    )
    @app_commands.describe(page="Page")
    async def blocklist_list(self, interaction: discord.Interaction, page: Page = 1) -> None:
        await self._answer(interaction, lambda actor: self.moderation.blocklist_list(actor, page))


async def setup(bot: SoraBot) -> None:
    await bot.add_cog(QuotaCog(bot))
