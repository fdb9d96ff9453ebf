"""What members do with finished videos: re-run (🔁 reaction or button), edit & re-run (a
form), delete, list, show.

Buttons are `DynamicItem`s whose custom_id carries the job id, so they keep working after a
restart, and so does the edit form (cogs/_forms.py); reactions use the raw event, so they work
on messages that are not cached. Who may delete or show a video is decided in
bot/moderation/permissions.py, and deleting one follows bot/moderation/removal.py (as the web
does); the posts themselves are made and removed by cogs/_job_messages.py.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.errors import Refusal
from bot.i18n import Text
from bot.jobs.queue import QueuePlace
from bot.jobs.rerun import Remix, Where, check_rerunnable, find_job_by_message, rerun
from bot.jobs.state_words import state_icon, state_label
from bot.jobs.video_form import form_prompt_limit, prompt_fits_form, read_choices
from bot.jobs.wording import delete_question, settings_line
from bot.models import Actor, Job, JobState
from bot.moderation.people import is_automated
from bot.pages import split_message
from cogs._buttons import (
    RERUN_EMOJI,
    RESULTS_COG,
    ConfirmDeleteButton,
    DeleteButton,
    KeepVideoButton,
    RemixButton,
    RerunButton,
    delete_question_view,
    rerun_view,
)
from cogs._forms import form_values, open_video_form, submitted_form
from cogs._job_messages import not_posted_yet
from cogs._members import (
    actor_of,
    actor_of_reaction,
    can_view,
    named_mentions,
    public_locale_of,
    public_locale_of_reaction,
    upload_limit_of,
)
from cogs._replies import NO_PINGS, refusals_answered, said
from cogs._translator import words

if TYPE_CHECKING:
    from cogs._client import SoraBot

log = logging.getLogger(__name__)

RECENT_JOBS = 10
REMIX_FORM = re.compile(r"sora:remix-form:(?P<job>\d+)")


class ResultsCog(commands.Cog, name=RESULTS_COG):
    def __init__(self, bot: SoraBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.job_messages = bot.job_messages

    # -- re-run -------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if (
            payload.guild_id is None
            or str(payload.emoji) != RERUN_EMOJI
            or self.bot.user is None
            or payload.user_id == self.bot.user.id
            or is_automated(payload.member or self.bot.get_user(payload.user_id))
        ):
            return
        source = await find_job_by_message(self.services.jobs, payload.guild_id, payload.message_id)
        if source is None:
            return  # a reaction on some other message
        guild = self.bot.get_guild(payload.guild_id)
        languages = self.services.languages
        try:
            where = self._where(
                source, guild, payload.member, payload.channel_id, payload.message_id
            )
            await self._start_rerun(
                source,
                actor_of_reaction(payload),
                await public_locale_of_reaction(payload, guild, languages),
                where=where,
            )
        except Refusal as refusal:
            # A reaction has no private reply: the refusal goes by direct message, in the
            # member's last known language.
            await self._tell_privately(
                payload.user_id,
                Text("results.rerun.refused_dm", job=source.id, reason=refusal.reason),
            )

    async def rerun_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        source = await self._job_here(interaction, job_id)
        job, message = await self._start_rerun(
            source,
            actor_of(interaction),
            await public_locale_of(interaction, self.services.languages),
            upload_limit=upload_limit_of(interaction),
            where=self._where_pressed(interaction, source),
        )
        await interaction.followup.send(
            said(
                interaction,
                Text("results.rerun.accepted", job=job.id, link=message.jump_url)
                if message is not None
                else not_posted_yet(job.id),
            ),
            ephemeral=True,
        )

    # -- edit & re-run ------------------------------------------------------------------------

    async def remix_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        """Open the edit form, prefilled; a prompt too long for a form gets the plain re-run."""
        source = await self._job_here(interaction, job_id)
        self._where_pressed(interaction, source)  # the full prompt is shown only to those allowed
        check_rerunnable(source, image_retention_days=self.services.settings.image_retention_days)
        locale = interaction.locale.value
        profile = self.services.profile
        if not prompt_fits_form(profile, source.prompt):
            reason = Text(
                "iterate.remix.too_long",
                length=f"{len(source.prompt):,}",
                limit=f"{form_prompt_limit(profile):,}",
            )
            await interaction.response.send_message(
                i18n.render(reason, locale),
                view=rerun_view(source.id, locale),
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        await open_video_form(
            interaction,
            custom_id=f"sora:remix-form:{source.id}",
            title=Text("iterate.remix.title", job=source.id),
            profile=profile,
            prompt=source.prompt,
            orientation=source.options.orientation,
            duration=source.options.duration,
        )

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        found = submitted_form(interaction, REMIX_FORM)
        if found is not None:
            await refusals_answered(
                interaction, self._remix_from_form(interaction, int(found["job"]))
            )

    async def _remix_from_form(self, interaction: discord.Interaction, job_id: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        source = await self._job_here(interaction, job_id)
        form = form_values(interaction)
        locale = interaction.locale.value
        choices = read_choices(self.services.profile, form)
        remix = Remix(form.prompt, choices.orientation, choices.duration)
        job, message = await self._start_rerun(
            source,
            actor_of(interaction),
            await public_locale_of(interaction, self.services.languages),
            remix,
            upload_limit=upload_limit_of(interaction),
            where=self._where_pressed(interaction, source),
            # Mentions typed in the form are written out as names, as /sora's are.
            name_mentions=lambda prompt: named_mentions(interaction, prompt),
        )
        await interaction.followup.send(
            i18n.render(
                Text("iterate.remix.accepted", job=job.id, link=message.jump_url)
                if message is not None
                else not_posted_yet(job.id),
                locale,
            ),
            ephemeral=True,
        )

    # -- shared by re-runs --------------------------------------------------------------------

    async def _start_rerun(
        self,
        source: Job,
        actor: Actor,
        public_locale: str,
        remix: Remix | None = None,
        *,
        upload_limit: int | None = None,
        where: Where | None = None,
        name_mentions: Callable[[str], Awaitable[str]] | None = None,
    ) -> tuple[Job, discord.Message | None]:
        """Accept the re-run and post its status message (None if Discord has not taken it
        yet: the worker will). Raises `Refusal` if it was refused or withdrawn."""
        job = await rerun(
            self.services.submitter,
            source,
            actor,
            image_retention_days=self.services.settings.image_retention_days,
            remix=remix,
            upload_limit_bytes=upload_limit,
            public_locale=public_locale,
            where=where,
            name_mentions=name_mentions,
        )
        posted = await self.job_messages.post_status_message(job, attach_reference=True)
        if posted.withdrawn:
            raise Refusal(Text("results.rerun.not_posted"))
        return job, posted.message

    def _where_pressed(self, interaction: discord.Interaction, source: Job) -> Where | None:
        message = interaction.message
        return self._where(
            source,
            interaction.guild,
            interaction.user if isinstance(interaction.user, discord.Member) else None,
            interaction.channel_id,
            message.id if message is not None else None,
        )

    def _where(
        self,
        source: Job,
        guild: discord.Guild | None,
        member: discord.Member | None,
        channel_id: int | None,
        message_id: int | None,
    ) -> Where | None:
        """Where a re-run asked for in `channel_id` goes: the original's place when asked
        there, else that channel (a /sora-show repost), replying to the post, and then only
        for a member who can see the original's channel now: its prompt and picture go with
        the re-run. `Refusal` for anyone else."""
        if channel_id is None or channel_id == source.channel_id:
            return None
        if guild is None or member is None or not can_view(guild, member, source.channel_id):
            raise Refusal(Text("access.refusal.original_hidden"))
        return Where(channel_id, message_id)

    # -- delete -------------------------------------------------------------------------------

    async def delete_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        """Ask privately first: the video was paid for and cannot be brought back."""
        job = await self._deletable(interaction, job_id)
        post_id = interaction.message.id if interaction.message is not None else 0
        await interaction.response.send_message(
            said(interaction, delete_question(job.id)),
            view=delete_question_view(job.id, post_id, interaction.locale.value),
            ephemeral=True,
        )

    async def _deletable(self, interaction: discord.Interaction, job_id: int) -> Job:
        """The job, if the one who pressed may delete its video (else a `Refusal`)."""
        job = await self._job_here(interaction, job_id)
        if not self.services.removal.may_remove(actor_of(interaction), job):
            raise Refusal(Text("results.delete.not_yours"))
        return job

    async def delete_confirmed(self, interaction: discord.Interaction, job_id: int) -> None:
        job = await self._deletable(interaction, job_id)
        await interaction.response.edit_message(
            content=said(interaction, Text("results.delete.deleting", job=job.id)), view=None
        )
        # The job's own posts, as recorded (bot/moderation/removal.py): never a message the
        # button names (a client may forge its custom_id).
        try:
            await self.services.removal.remove(
                actor_of(interaction), job, self.job_messages.delete_post
            )
        except Refusal as refusal:
            await interaction.edit_original_response(content=said(interaction, refusal.reason))
            return
        await interaction.edit_original_response(
            content=said(interaction, Text("results.delete.done", job=job.id))
        )

    # -- history ------------------------------------------------------------------------------

    @app_commands.command(name="sora-jobs", description=words("results.jobs.command"))
    @app_commands.guild_only()
    async def sora_jobs(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        jobs = await self.services.jobs.recent_for_member(
            interaction.guild_id, interaction.user.id, RECENT_JOBS
        )
        if not jobs:
            await interaction.followup.send(
                said(interaction, Text("results.jobs.none")), ephemeral=True
            )
            return
        locale = interaction.locale.value
        places = {}
        if any(job.is_waiting for job in jobs):
            places = await self.services.places.in_guild(interaction.guild_id)
        lines = [said(interaction, Text("results.jobs.heading", len(jobs)))]
        lines += [self._job_line(job, locale, places.get(job.id)) for job in jobs]
        for part in split_message("\n".join(lines)):
            await interaction.followup.send(part, ephemeral=True)

    def _job_line(self, job: Job, locale: str, place: QueuePlace | None = None) -> str:
        prompt = job.prompt.replace("\n", " ")
        prompt = prompt if len(prompt) <= 60 else prompt[:59] + "…"
        state = i18n.render(state_label(job, place.position if place else None), locale)
        line = (
            f"{state_icon(job)} **#{job.id}** {state} · "
            f"{settings_line(job, self.services.profile, locale)} · <t:{int(job.created_at)}:R>\n"
            f"-# {discord.utils.escape_markdown(discord.utils.escape_mentions(prompt))}"
        )
        if job.result_deleted_at is not None:
            return line + " · " + i18n.render(Text("results.jobs.removed"), locale)
        target = job.result_message_id or job.status_message_id
        if target:
            link = f"https://discord.com/channels/{job.guild_id}/{job.channel_id}/{target}"
            line += " · " + i18n.render(Text("results.jobs.open", link=link), locale)
        return line

    @app_commands.command(name="sora-show", description=words("results.show.command"))
    @app_commands.describe(job=words("results.show.option.job"))
    @app_commands.rename(job=words("results.show.option_name.job"))
    @app_commands.guild_only()
    async def sora_show(self, interaction: discord.Interaction, job: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        found = await self.services.jobs.get(job)
        if found is None or found.guild_id != interaction.guild_id:
            raise Refusal(Text("results.show.no_such_job", job=job))
        if not self.services.moderation.may_manage_video(actor_of(interaction), found):
            raise Refusal(Text("results.show.not_yours", job=job))
        if found.result_deleted_at is not None:
            raise Refusal(Text("results.show.removed", job=job))
        if found.state is not JobState.DELIVERED:
            raise Refusal(Text("results.show.no_video", job=job, state=state_label(found)))
        channel = interaction.channel
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise Refusal(Text("results.show.not_here"))
        turn = self.services.show_cooldown.take(interaction.user.id, found.id, channel.id)
        try:
            posted = await self.job_messages.repost_result(
                found, channel, upload_limit_of(interaction)
            )
        except BaseException:
            self.services.show_cooldown.give_back(turn)
            raise
        await self.services.jobs.record_repost(found, posted.channel.id, posted.id)
        await interaction.followup.send(
            said(interaction, Text("results.show.posted", link=posted.jump_url)), ephemeral=True
        )

    # -- helpers ------------------------------------------------------------------------------

    async def _job_here(self, interaction: discord.Interaction, job_id: int) -> Job:
        """The job a button names, if it is still there and belongs to this server."""
        job = await self.services.jobs.get(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise Refusal(Text("results.job_gone"))
        return job

    async def _tell_privately(self, user_id: int, text: Text) -> None:
        """DM a refusal in the member's last known language; if DMs are closed, say nothing
        rather than spam the channel."""
        words = i18n.render(text, await self.services.languages.member_locale(user_id))
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            async with asyncio.timeout(10):
                await user.send(words, allowed_mentions=discord.AllowedMentions.none())
        except (discord.HTTPException, TimeoutError):
            log.info("could not DM member %s about a refused re-run", user_id)


async def setup(bot: SoraBot) -> None:
    bot.add_dynamic_items(
        RerunButton, RemixButton, DeleteButton, ConfirmDeleteButton, KeepVideoButton
    )
    await bot.add_cog(ResultsCog(bot))
