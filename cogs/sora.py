"""`/sora`: validate, accept (with a quota hold), post the public status message.

The command is built from the active model profile at load time, so the choices offered are
exactly what the configured model accepts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import (
    check_image_bytes,
    check_image_size,
    check_options,
    check_prompt,
    store_image,
)
from bot.jobs import NewJob, StoredImage, SubmissionRefused
from bot.models import JobOptions, JobState
from bot.providers.profiles import ModelProfile
from bot.status import status_text

if TYPE_CHECKING:
    from bot.discord_app import SoraBot

log = logging.getLogger(__name__)

ATTACHMENT_TIMEOUT = 30.0
NO_PINGS = discord.AllowedMentions.none()


class SoraCog(commands.Cog):
    def __init__(self, bot: SoraBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.command = build_sora_command(self, self.services.profile)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.command)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.command.name)

    async def handle_sora(
        self,
        interaction: discord.Interaction,
        prompt: str,
        orientation: str,
        duration: int,
        image: discord.Attachment | None,
        quality: str | None,
    ) -> None:
        # Acknowledge first: Discord gives us 3 seconds, the checks below may do I/O.
        await interaction.response.defer(ephemeral=True, thinking=True)
        stored: StoredImage | None = None
        try:
            channel = _usable_channel(interaction)
            profile = self.services.profile
            self._check_service()
            text = check_prompt(profile, prompt)
            chosen_quality = check_options(profile, orientation, duration, quality)
            if image is not None:
                stored = await self._fetch_image(profile, image)
            assert interaction.guild_id is not None
            job = await self.services.jobs.submit(
                NewJob(
                    guild_id=interaction.guild_id,
                    channel_id=channel.id,
                    user_id=interaction.user.id,
                    prompt=text,
                    options=JobOptions(orientation, duration, chosen_quality),
                    image=stored,
                    upload_limit_bytes=_upload_limit(interaction),
                ),
                self.services.allowance_for(interaction.guild_id, interaction.user.id),
            )
        except SubmissionRefused as refusal:
            if stored is not None:
                stored.path.unlink(missing_ok=True)
            await interaction.followup.send(str(refusal), ephemeral=True)
            return

        status = status_text(job, profile)
        try:
            message = await channel.send(status, allowed_mentions=NO_PINGS)
        except discord.HTTPException as error:
            log.warning("job %s: could not post the status message: %s", job.id, error)
            await self.services.jobs.finish_unsuccessfully(
                job,
                JobState.FAILED,
                "no_channel_access",
                "I could not post in that channel.",
            )
            await interaction.followup.send(
                "I can't post messages in this channel, so I did not start the video. "
                "Nothing was charged. Ask a moderator to check my permissions.",
                ephemeral=True,
            )
            return
        await self.services.jobs.record_status(job, message.id, status)
        if self.bot.worker is not None:
            self.bot.worker.wake()
        await interaction.followup.send(
            f"Job #{job.id} accepted: {message.jump_url}\nI'll post the video there and mention "
            "you when it's ready (usually a few minutes). You are only charged if you get a video.",
            ephemeral=True,
        )

    def _check_service(self) -> None:
        health = self.services.health
        if health.model_available is False:
            raise SubmissionRefused(
                f"The model {self.services.profile.model} is not available from the video "
                "service right now, so I can't make videos. The operator has been told."
            )
        if health.key_ok is False:
            raise SubmissionRefused(
                "The video service is misconfigured on this server (its API key was refused). "
                "The operator has been told."
            )

    async def _fetch_image(
        self, profile: ModelProfile, attachment: discord.Attachment
    ) -> StoredImage:
        check_image_size(profile, attachment.size)
        try:
            async with asyncio.timeout(ATTACHMENT_TIMEOUT):
                data = await attachment.read()
        except (TimeoutError, discord.HTTPException):
            raise SubmissionRefused(
                "I could not download your image from Discord. Please try again."
            ) from None
        mime = check_image_bytes(profile, data)
        return store_image(
            self.services.settings.media_dir, data, mime, attachment.filename, attachment.url
        )


def _usable_channel(interaction: discord.Interaction) -> discord.TextChannel | discord.Thread:
    channel = interaction.channel
    if interaction.guild_id is None or not isinstance(
        channel, discord.TextChannel | discord.Thread
    ):
        raise SubmissionRefused("Use /sora in a server text channel or thread.")
    perms = interaction.app_permissions
    can_send = (
        perms.send_messages_in_threads
        if isinstance(channel, discord.Thread)
        else (perms.send_messages)
    )
    missing = [
        name
        for name, ok in (
            ("View Channel", perms.view_channel),
            ("Send Messages", can_send),
            ("Attach Files", perms.attach_files),
            ("Read Message History", perms.read_message_history),
        )
        if not ok
    ]
    if missing:
        raise SubmissionRefused(
            f"I'm missing permissions in this channel: {', '.join(missing)}. "
            "Ask a moderator to grant them."
        )
    return channel


def _upload_limit(interaction: discord.Interaction) -> int | None:
    limit = getattr(interaction, "filesize_limit", None)
    return int(limit) if limit else None


def build_sora_command(cog: SoraCog, profile: ModelProfile) -> app_commands.Command:
    """Build `/sora` with the choices of `profile`; `quality` only if the model has tiers."""
    if profile.qualities:

        async def sora(
            interaction: discord.Interaction,
            prompt: str,
            orientation: str,
            duration: int,
            image: discord.Attachment | None = None,
            quality: str | None = None,
        ) -> None:
            await cog.handle_sora(interaction, prompt, orientation, duration, image, quality)

        sora = app_commands.describe(
            quality=f"Quality tier (default: {profile.quality_label(profile.default_quality)})"
        )(sora)
        sora = app_commands.choices(
            quality=[
                app_commands.Choice(name=profile.quality_label(q) or q, value=q)
                for q in profile.qualities
            ]
        )(sora)
    else:

        async def sora(  # type: ignore[misc]
            interaction: discord.Interaction,
            prompt: str,
            orientation: str,
            duration: int,
            image: discord.Attachment | None = None,
        ) -> None:
            await cog.handle_sora(interaction, prompt, orientation, duration, image, None)

    sora = app_commands.describe(
        prompt=f"What should happen in the video (up to {profile.prompt_limit:,} characters)",
        orientation="Portrait (vertical) or landscape (horizontal)",
        duration="Length of the video",
        image="Optional reference image: JPEG, PNG or WebP, up to "
        f"{profile.image_max_bytes // (1024 * 1024)} MB",
    )(sora)
    sora = app_commands.choices(
        orientation=[
            app_commands.Choice(name=o.capitalize(), value=o) for o in profile.orientations
        ],
        duration=[app_commands.Choice(name=f"{d} seconds", value=d) for d in profile.durations],
    )(sora)
    command = app_commands.Command(
        name="sora", description=f"Make a video with {profile.label}", callback=sora
    )
    command.guild_only = True
    return command


async def setup(bot: SoraBot) -> None:
    await bot.add_cog(SoraCog(bot))
