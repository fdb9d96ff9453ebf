"""What members do with finished videos: re-run (🔁 reaction or button), delete, list, show.

Buttons are `DynamicItem`s whose custom_id carries the job id, so they keep working after a
restart; reactions use the raw event, so they work on messages that are not cached.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.audit import Action
from bot.delivery import DownloadFailed, TooLargeToUpload
from bot.jobs import SubmissionRefused
from bot.models import Job, JobState
from bot.people import is_automated
from bot.presenter import DeliveryError
from bot.rerun import find_job_by_message, rerun
from bot.status import delete_question, settings_line
from bot.submission import Requester
from cogs._buttons import (
    RERUN_EMOJI,
    RESULTS_COG,
    ConfirmDeleteButton,
    DeleteButton,
    KeepVideoButton,
    RerunButton,
    delete_question_view,
    result_view,
)
from cogs._presenter import messageable
from cogs.quota import actor_of
from cogs.sora import StatusPost, not_posted_yet, post_status_message, requester_of

if TYPE_CHECKING:
    from bot.discord_app import SoraBot

log = logging.getLogger(__name__)

RECENT_JOBS = 10
STATE_ICONS = {
    JobState.QUEUED: "⏳",
    JobState.SUBMITTED: "⏳",
    JobState.RUNNING: "🎞️",
    JobState.SUCCEEDED: "📦",
    JobState.DELIVERED: "✅",
    JobState.FAILED: "❌",
    JobState.EXPIRED: "⌛",
}


class ResultsCog(commands.Cog, name=RESULTS_COG):
    def __init__(self, bot: SoraBot) -> None:
        self.bot = bot
        self.services = bot.services

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
        roles = tuple(role.id for role in payload.member.roles) if payload.member else ()
        requester = Requester(payload.guild_id, payload.user_id, roles)
        try:
            await self._start_rerun(source, requester)
        except SubmissionRefused as refusal:
            await self._tell_privately(payload.user_id, f"Re-run of job #{source.id}: {refusal}")

    async def rerun_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        source = await self.services.jobs.get(job_id)
        if source is None or source.guild_id != interaction.guild_id:
            await interaction.followup.send("That job no longer exists.", ephemeral=True)
            return
        try:
            job, message = await self._start_rerun(source, requester_of(interaction))
        except SubmissionRefused as refusal:
            await interaction.followup.send(str(refusal), ephemeral=True)
            return
        await interaction.followup.send(
            f"Re-run accepted as job #{job.id}: {message.jump_url}"
            if message is not None
            else not_posted_yet(job.id),
            ephemeral=True,
        )

    async def _start_rerun(
        self, source: Job, requester: Requester
    ) -> tuple[Job, discord.Message | None]:
        """Accept the re-run and post its status message (None if Discord has not taken it
        yet: the worker will). Raises `SubmissionRefused` if it was refused or withdrawn."""
        job = await rerun(
            self.services.submitter,
            source,
            requester,
            image_retention_days=self.services.settings.image_retention_days,
        )
        channel = await self._channel(job.channel_id)
        if channel is None:
            withdrawn = await self.services.jobs.withdraw_unsent(
                job, "no_channel_access", "The channel is gone."
            )
            posted = StatusPost(None, withdrawn=withdrawn)
        else:
            posted = await post_status_message(self.bot, job, channel, attach_reference=True)
        if posted.withdrawn:
            raise SubmissionRefused(
                "I could not post in that channel, so the re-run was not started. "
                "Nothing was charged."
            )
        return job, posted.message

    # -- delete -------------------------------------------------------------------------------

    async def delete_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        """Ask privately first: the video was paid for and cannot be brought back."""
        job = await self._deletable(interaction, job_id)
        if job is None:
            return
        post_id = interaction.message.id if interaction.message is not None else 0
        await interaction.response.send_message(
            delete_question(job.id), view=delete_question_view(job.id, post_id), ephemeral=True
        )

    async def _deletable(self, interaction: discord.Interaction, job_id: int) -> Job | None:
        """The job, if the one who pressed may delete its video; else say why, privately."""
        job = await self.services.jobs.get(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            await interaction.response.send_message("That job no longer exists.", ephemeral=True)
            return None
        if interaction.user.id != job.user_id and not self._is_moderator(interaction):
            await interaction.response.send_message(
                "Only the member who asked for this video, or a moderator, can delete it.",
                ephemeral=True,
            )
            return None
        return job

    async def delete_confirmed(
        self, interaction: discord.Interaction, job_id: int, post_id: int
    ) -> None:
        job = await self._deletable(interaction, job_id)
        if job is None:
            return
        is_requester = interaction.user.id == job.user_id
        await interaction.response.edit_message(
            content=f"Deleting the video of job #{job.id}…", view=None
        )
        clicked = None
        if post_id and isinstance(interaction.channel, discord.TextChannel | discord.Thread):
            clicked = interaction.channel.get_partial_message(post_id)
        for message in await self._posts_of(job, clicked):
            try:
                await message.delete()
            except discord.NotFound:
                pass
            except discord.HTTPException as error:
                log.warning("job %s: could not delete the result: %s", job.id, error)
                await interaction.edit_original_response(
                    content="Discord refused to delete it; try again."
                )
                return
        action = None
        if not is_requester:
            action = Action(
                action="remove_video",
                detail=f"removed the video of job #{job.id} by <@{job.user_id}>",
                target_user_id=job.user_id,
            )
        await self.services.jobs.record_video_removed(job, interaction.user.id, action)
        log.info("job %s: video removed by %s", job.id, interaction.user.id)
        await interaction.edit_original_response(content=f"Deleted the video of job #{job.id}.")

    async def _posts_of(
        self, job: Job, clicked: discord.Message | discord.PartialMessage | None
    ) -> list[discord.Message | discord.PartialMessage]:
        """The clicked post, the original result and every /sora-show repost of the video."""
        posts: list[discord.Message | discord.PartialMessage] = [clicked] if clicked else []
        places = await self.services.jobs.reposts(job)
        if job.result_message_id:
            places.append((job.channel_id, job.result_message_id))
        for channel_id, message_id in places:
            if any(post.id == message_id for post in posts):
                continue
            channel = await self._channel(channel_id)
            if isinstance(channel, discord.TextChannel | discord.Thread):
                posts.append(channel.get_partial_message(message_id))
        return posts

    def _is_moderator(self, interaction: discord.Interaction) -> bool:
        return self.services.moderation.is_moderator(actor_of(interaction))

    # -- history ------------------------------------------------------------------------------

    @app_commands.command(name="sora-jobs", description="Your recent video jobs on this server")
    @app_commands.guild_only()
    async def sora_jobs(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        jobs = await self.services.jobs.recent_for_member(
            interaction.guild_id, interaction.user.id, RECENT_JOBS
        )
        if not jobs:
            await interaction.followup.send(
                "You have no video jobs here yet. Try `/sora`!", ephemeral=True
            )
            return
        lines = [f"**Your last {len(jobs)} job(s)**"]
        lines += [self._job_line(job) for job in jobs]
        await interaction.followup.send("\n".join(lines)[:2000], ephemeral=True)

    def _job_line(self, job: Job) -> str:
        prompt = job.prompt.replace("\n", " ")
        prompt = prompt if len(prompt) <= 60 else prompt[:59] + "…"
        line = (
            f"{STATE_ICONS[job.state]} **#{job.id}** {job.state.value} · "
            f"{settings_line(job, self.services.profile)} · <t:{int(job.created_at)}:R>\n"
            f"-# {discord.utils.escape_markdown(discord.utils.escape_mentions(prompt))}"
        )
        if job.result_deleted_at is not None:
            return line + " · video removed"
        target = job.result_message_id or job.status_message_id
        if target:
            line += (
                f" · [open](https://discord.com/channels/{job.guild_id}/{job.channel_id}/{target})"
            )
        return line

    @app_commands.command(name="sora-show", description="Post a finished video again")
    @app_commands.describe(job="The job number, as shown in /sora-jobs")
    @app_commands.guild_only()
    async def sora_show(self, interaction: discord.Interaction, job: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        found = await self.services.jobs.get(job)
        if found is None or found.guild_id != interaction.guild_id:
            await interaction.followup.send(
                f"There is no job #{job} on this server.", ephemeral=True
            )
            return
        if found.user_id != interaction.user.id and not self._is_moderator(interaction):
            await interaction.followup.send(
                f"Only the member who asked for job #{job}, or a moderator, can show it again.",
                ephemeral=True,
            )
            return
        if found.result_deleted_at is not None:
            await interaction.followup.send(
                f"The video of job #{job} was removed, so it is not shown again.", ephemeral=True
            )
            return
        if found.state is not JobState.DELIVERED:
            await interaction.followup.send(
                f"Job #{job} has no video to show (it is {found.state.value}).", ephemeral=True
            )
            return
        channel = interaction.channel
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            await interaction.followup.send("Use this in a text channel or thread.", ephemeral=True)
            return
        try:
            posted = await self._repost(found, channel)
        except _Unavailable as gone:
            await interaction.followup.send(str(gone), ephemeral=True)
            return
        await self.services.jobs.record_repost(found, posted.channel.id, posted.id)
        await interaction.followup.send(f"Posted: {posted.jump_url}", ephemeral=True)

    async def _repost(self, job: Job, channel: discord.abc.Messageable) -> discord.Message:
        text = f"Job #{job.id} by <@{job.user_id}>: {settings_line(job, self.services.profile)}"
        kwargs: dict[str, Any] = {
            "allowed_mentions": discord.AllowedMentions.none(),
            "view": result_view(job.id),
        }
        path = await self._fetch_video(job)
        try:
            if path is None:
                if not job.result_url:
                    raise _Unavailable(f"The video of job #{job.id} is no longer available.")
                return await channel.send(f"{text}\n{job.result_url}", **kwargs)
            return await channel.send(
                text, file=discord.File(path, filename=f"sora-job-{job.id}.mp4"), **kwargs
            )
        finally:
            if path is not None:
                path.unlink(missing_ok=True)

    async def _fetch_video(self, job: Job) -> Path | None:
        """The video file, from the original post or the provider's link; None if too big."""
        urls = []
        original = await self._original_attachment_url(job)
        if original:
            urls.append(original)
        if job.result_url:
            urls.append(job.result_url)
        limit = self.services.settings.upload_limit_bytes
        for url in urls:
            try:
                return (await self.bot.downloader.fetch(url, limit)).path
            except TooLargeToUpload:
                return None
            except DownloadFailed as error:
                log.info("job %s: video not available at one source: %s", job.id, error)
        raise _Unavailable(
            f"The video of job #{job.id} is no longer available (the post was deleted and the "
            "provider's link has expired)."
        )

    async def _original_attachment_url(self, job: Job) -> str | None:
        if job.result_message_id is None:
            return None
        channel = await self._channel(job.channel_id)
        if channel is None:
            return None
        try:
            message = await channel.fetch_message(job.result_message_id)
        except discord.HTTPException:
            return None
        videos = [a for a in message.attachments if a.filename.endswith(".mp4")]
        return videos[0].url if videos else None

    # -- helpers ------------------------------------------------------------------------------

    async def _channel(self, channel_id: int) -> discord.abc.Messageable | None:
        try:
            return await messageable(self.bot, channel_id)
        except DeliveryError:
            return None

    async def _tell_privately(self, user_id: int, text: str) -> None:
        """DM a refusal; if DMs are closed, say nothing rather than spam the channel."""
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            async with asyncio.timeout(10):
                await user.send(text, allowed_mentions=discord.AllowedMentions.none())
        except (discord.HTTPException, TimeoutError):
            log.info("could not DM member %s about a refused re-run", user_id)


class _Unavailable(Exception):
    pass


async def setup(bot: SoraBot) -> None:
    bot.add_dynamic_items(RerunButton, DeleteButton, ConfirmDeleteButton, KeepVideoButton)
    await bot.add_cog(ResultsCog(bot))
