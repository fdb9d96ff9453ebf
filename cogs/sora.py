"""`/sora`: validate, accept (with a quota hold), post the public status message.

The command is built from the active model profile at load time, so the choices offered are
exactly what the configured model accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import check_image_size
from bot.jobs import SubmissionRefused
from bot.media import describe_size
from bot.mentions import MAX_MEMBER_LOOKUPS, MentionNames, mentioned, write_mentions_as_names
from bot.models import Job
from bot.prompts import typed_prompt_limit
from bot.providers.profiles import ModelProfile
from bot.status import status_text
from bot.submission import Ask, ImageUpload, Requester
from cogs._presenter import NO_PINGS, reply_to, status_nonce

if TYPE_CHECKING:
    from bot.discord_app import SoraBot

log = logging.getLogger(__name__)

ATTACHMENT_TIMEOUT = 30.0
MENTION_LOOKUP_TIMEOUT = 5.0
NOT_POSTED_WITHDRAWN = (
    "I can't post messages in this channel, so I did not start the video. Nothing was charged. "
    "Ask a moderator to check my permissions."
)


def not_posted_yet(job_id: int) -> str:
    return (
        f"Job #{job_id} is accepted, but Discord did not take its status message yet. I'll keep "
        "trying in this channel and mention you when the video is ready."
    )


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
        toggles: dict[str, bool | None],
    ) -> None:
        # Acknowledge first: Discord gives us 3 seconds, the checks below may do I/O.
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            channel = _usable_channel(interaction)
            upload = await self._fetch_image(image) if image is not None else None
            named = write_mentions_as_names(prompt, await mention_names(interaction, prompt))
            job = await self.services.submitter.submit(
                requester_of(interaction),
                Ask(
                    prompt=named,
                    orientation=orientation,
                    duration=duration,
                    quality=quality,
                    toggles=toggles,
                    channel_id=channel.id,
                    upload=upload,
                    upload_limit_bytes=_upload_limit(interaction),
                ),
            )
        except SubmissionRefused as refusal:
            await interaction.followup.send(str(refusal), ephemeral=True)
            return
        posted = await post_status_message(self.bot, job, channel)
        message = posted.message
        if message is None:
            await interaction.followup.send(
                NOT_POSTED_WITHDRAWN if posted.withdrawn else not_posted_yet(job.id),
                ephemeral=True,
            )
            return
        try:
            await interaction.followup.send(
                f"Job #{job.id} accepted: {message.jump_url}\nI'll post the video there and "
                "mention you when it's ready (usually a few minutes). You are only charged if "
                "you get a video.",
                ephemeral=True,
            )
        except discord.HTTPException as error:
            # The job runs regardless and its public status message says so.
            log.info("job %s: could not confirm privately: %s", job.id, error)

    async def _fetch_image(self, attachment: discord.Attachment) -> ImageUpload:
        # Refuse by declared size before downloading; the bytes are checked again after.
        check_image_size(self.services.profile, attachment.size)
        try:
            async with asyncio.timeout(ATTACHMENT_TIMEOUT):
                data = await attachment.read()
        except (TimeoutError, discord.HTTPException):
            raise SubmissionRefused(
                "I could not download your image from Discord. Please try again."
            ) from None
        return ImageUpload(data=data, filename=attachment.filename, source_url=attachment.url)


async def mention_names(interaction: discord.Interaction, text: str) -> MentionNames:
    """Names for the mentions in `text`: from Discord's cache, else asked for (a few members,
    briefly; one not found reads as "unknown")."""
    wanted = mentioned(text)
    guild = interaction.guild
    if guild is None:
        return MentionNames()
    users = {i: member.display_name for i in wanted.users if (member := guild.get_member(i))}
    try:
        async with asyncio.timeout(MENTION_LOOKUP_TIMEOUT):
            for user_id in [i for i in wanted.users if i not in users][:MAX_MEMBER_LOOKUPS]:
                with contextlib.suppress(discord.HTTPException):
                    users[user_id] = (await guild.fetch_member(user_id)).display_name
    except TimeoutError:
        log.info("gave up looking up the members mentioned in a prompt")
    roles = {i: role.name for i in wanted.roles if (role := guild.get_role(i)) is not None}
    channels = {i: place.name for i in wanted.channels if (place := guild.get_channel_or_thread(i))}
    return MentionNames(users, roles, channels)


def requester_of(interaction: discord.Interaction) -> Requester:
    assert interaction.guild_id is not None
    roles = getattr(interaction.user, "roles", [])
    return Requester(
        guild_id=interaction.guild_id,
        user_id=interaction.user.id,
        role_ids=tuple(role.id for role in roles),
    )


@dataclass(frozen=True)
class StatusPost:
    """How posting a new job's status message went."""

    message: discord.Message | None  # posted
    withdrawn: bool = False  # Discord refused for good: the job was failed, nothing held


async def post_status_message(
    bot: SoraBot, job: Job, channel: discord.abc.Messageable, *, attach_reference: bool = False
) -> StatusPost:
    """Post the job's public status message, then hand the job to the worker.

    If Discord refuses for good (no access, channel gone) the job is withdrawn. Any other
    failure leaves it to the worker, which posts the status message itself after the
    acceptance grace (same nonce, so never twice). With `attach_reference`, the kept reference
    image is attached, and that fresh Discord link becomes the image's public URL (a re-run's
    original link has usually expired).
    """
    text = status_text(job, bot.services.profile)
    reference = reply_to(job, job.reply_to_message_id)
    files = []
    if attach_reference and job.image_path is not None and job.image_path.is_file():
        files.append(discord.File(job.image_path, filename=job.image_name or "reference.png"))
    try:
        message = await channel.send(
            text,
            allowed_mentions=NO_PINGS,
            reference=reference,  # type: ignore[arg-type]
            files=files,
            # The worker posts with the same nonce if the bot stopped before recording this
            # message: within Discord's nonce window that returns this message, not a second.
            nonce=status_nonce(job),
        )
    except (discord.Forbidden, discord.NotFound) as error:
        log.warning("job %s: Discord refused the status message: %s", job.id, error)
        withdrawn = await bot.services.jobs.withdraw_unsent(
            job, "no_channel_access", "I could not post in that channel."
        )
        return StatusPost(None, withdrawn=withdrawn)
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
        log.warning("job %s: status message not posted yet (%s); the worker will", job.id, error)
        return StatusPost(None)
    image_url = message.attachments[0].url if files and message.attachments else None
    await bot.services.jobs.hand_to_worker(job, message.id, text, image_url)
    if bot.worker is not None:
        bot.worker.wake()
    return StatusPost(message)


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
    """Build `/sora` with exactly the options and choices `profile` allows.

    The callback's signature is assembled from the profile (discord.py reads it to declare the
    options), so a backend's own options appear only when that backend is active.
    """
    parameters = [
        _param("interaction", discord.Interaction),
        _param("prompt", app_commands.Range[str, 1, typed_prompt_limit(profile.prompt_limit)]),
        _param("orientation", str),
        _param("duration", int),
        _param("image", discord.Attachment | None, default=None),
    ]
    descriptions = {
        "prompt": "What should happen in the video (up to "
        f"{typed_prompt_limit(profile.prompt_limit):,} characters)",
        "orientation": "Portrait (vertical) or landscape (horizontal)",
        "duration": "Length of the video",
        "image": "Optional reference image: JPEG, PNG or WebP, up to "
        f"{describe_size(profile.image_max_bytes)}",
    }
    choices: dict[str, list[app_commands.Choice]] = {
        "orientation": [
            app_commands.Choice(name=o.capitalize(), value=o) for o in profile.orientations
        ],
        "duration": [app_commands.Choice(name=f"{d} seconds", value=d) for d in profile.durations],
    }
    if profile.offers_quality_choice:
        parameters.append(_param("quality", str | None, default=None))
        default_label = profile.quality_label(profile.default_quality)
        descriptions["quality"] = f"Quality (default: {default_label})"
        choices["quality"] = [
            app_commands.Choice(name=profile.quality_label(q) or q, value=q)
            for q in profile.qualities
        ]
    for toggle in profile.toggles:
        parameters.append(_param(toggle.name, bool | None, default=None))
        descriptions[toggle.name] = toggle.description

    toggle_names = [toggle.name for toggle in profile.toggles]

    async def sora(interaction: discord.Interaction, **options: Any) -> None:
        await cog.handle_sora(
            interaction,
            prompt=options["prompt"],
            orientation=options["orientation"],
            duration=options["duration"],
            image=options.get("image"),
            quality=options.get("quality"),
            toggles={name: options.get(name) for name in toggle_names},
        )

    sora.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback = app_commands.choices(**choices)(app_commands.describe(**descriptions)(sora))
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="sora", description=f"Make a video with {profile.label}", callback=callback
    )
    command.guild_only = True
    return command


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation, default=default
    )


async def setup(bot: SoraBot) -> None:
    await bot.add_cog(SoraCog(bot))
