"""`/sora` and "Make a video" (a message's Apps menu): validate, accept (with a quota hold),
post the public status message.

The command is built from the active model profile at load time, so the choices offered are
exactly what the configured model accepts. "Make a video" takes the image of the message it is
used on, after the same type and size checks as `/sora`'s image option, and asks for the rest
in a form (cogs/_forms.py) whose custom_id names the message and the image, so it needs
nothing kept in memory.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.errors import Refusal
from bot.i18n import Text
from bot.jobs.admission import ImageUpload
from bot.jobs.new_job import NewJob
from bot.jobs.validation import quality_text, validate_image_size
from bot.jobs.video_form import orientation_for_picture, read_choices
from bot.models import Job, JobOptions
from bot.prompts import typed_prompt_limit
from bot.providers.profiles import ModelProfile
from bot.video.media_types import IMAGE_EXTENSIONS, describe_size
from cogs._forms import form_values, open_video_form, submitted_form
from cogs._job_messages import not_posted_yet
from cogs._members import actor_of, named_mentions, public_locale_of, upload_limit_of
from cogs._replies import acknowledged_if_slow, refusals_answered, said
from cogs._translator import words, words_of

if TYPE_CHECKING:
    from cogs._client import SoraBot

log = logging.getLogger(__name__)

ATTACHMENT_TIMEOUT = 30.0
NOT_POSTED_WITHDRAWN = Text("sora.not_posted_withdrawn")
ANIMATE_FORM = re.compile(r"sora:animate-form:(?P<message>\d+):(?P<attachment>\d+)")


@dataclass(frozen=True)
class SoraOptions:
    """What the member gave `/sora`."""

    prompt: str
    orientation: str
    duration: int
    image: discord.Attachment | None
    quality: str | None
    toggles: dict[str, bool]  # the model's yes/no options the member chose (unset: absent)


class SoraCog(commands.Cog):
    def __init__(self, bot: SoraBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.command = build_sora_command(self, self.services.profile)
        self.animate_menu = app_commands.ContextMenu(
            name=words("iterate.menu.animate"),
            callback=self.animate_from_menu,
            type=discord.AppCommandType.message,
        )
        self.animate_menu.guild_only = True

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.command)
        self.bot.tree.add_command(self.animate_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.command.name)
        self.bot.tree.remove_command(self.animate_menu.name, type=self.animate_menu.type)

    async def handle_sora(self, interaction: discord.Interaction, options: SoraOptions) -> None:
        # A quick admission is answered with the job's public status message itself: the
        # member sees it at once, and it does not count against the channel's message rate
        # limit. A slow one (an image still downloading) is acknowledged privately first.
        # A `Refusal` raised here is answered privately by the command tree.
        job, channel = await acknowledged_if_slow(
            interaction, self._admit_sora(interaction, options)
        )
        if interaction.response.is_done():
            await self._post_and_confirm(interaction, job, channel)
        else:
            await self.bot.job_messages.answer_with_status(interaction, job, channel)

    async def _admit_sora(
        self, interaction: discord.Interaction, options: SoraOptions
    ) -> tuple[Job, discord.TextChannel | discord.Thread]:
        channel = _usable_channel(interaction)
        new = NewJob(
            by=actor_of(interaction),
            channel_id=channel.id,
            prompt=options.prompt,
            options=JobOptions(
                options.orientation, options.duration, options.quality, options.toggles
            ),
            upload_limit_bytes=upload_limit_of(interaction),
            interaction_id=interaction.id,
            public_locale=await public_locale_of(interaction, self.services.languages),
        )
        # What can refuse without Discord first: the image download and the member look-ups
        # below are work that a refused request (a blocked member, no quota left) must not cause.
        await self.services.submitter.preview(new)
        upload = await self._fetch_image(options.image) if options.image is not None else None
        job = await self.services.submitter.submit(
            replace(new, prompt=await named_mentions(interaction, new.prompt)), upload
        )
        return job, channel

    async def _post_and_confirm(
        self,
        interaction: discord.Interaction,
        job: Job,
        channel: discord.TextChannel | discord.Thread,
    ) -> None:
        """Post the accepted job's status message, and tell the member privately where."""
        posted = await self.bot.job_messages.post_status_message(job, channel)
        message = posted.message
        if message is None:
            await interaction.followup.send(
                said(
                    interaction,
                    NOT_POSTED_WITHDRAWN if posted.withdrawn else not_posted_yet(job.id),
                ),
                ephemeral=True,
            )
            return
        try:
            await interaction.followup.send(
                said(interaction, Text("sora.accepted", job=job.id, link=message.jump_url)),
                ephemeral=True,
            )
        except discord.HTTPException as error:
            # The job runs regardless and its public status message says so.
            log.info("job %s: could not confirm privately: %s", job.id, error)

    # -- Make a video (a message's Apps menu) --------------------------------------------------

    async def animate_from_menu(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Check the message's image and where we are, then ask for the rest in a form.

        Nothing public happens before the form is sent; a `Refusal` is answered privately."""
        channel = _usable_channel(interaction)
        attachment = usable_image(self.services.profile, message.attachments)
        await self._refuse_others_picture(interaction, message)
        profile = self.services.profile
        # Refused now (blocked, no quota left...) rather than after the member filled the form.
        await self.services.submitter.preview(
            NewJob(
                by=actor_of(interaction),
                channel_id=channel.id,
                prompt="",
                options=JobOptions(profile.orientations[0], profile.durations[0]),
            )
        )
        await open_video_form(
            interaction,
            custom_id=f"sora:animate-form:{message.id}:{attachment.id}",
            title=Text("iterate.animate.title"),
            profile=profile,
            prompt="",
            orientation=orientation_for_picture(profile, attachment.width, attachment.height),
            duration=profile.durations[0],
        )

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        found = submitted_form(interaction, ANIMATE_FORM)
        if found is not None:
            await refusals_answered(
                interaction,
                self._animate_from_form(
                    interaction, int(found["message"]), int(found["attachment"])
                ),
            )

    async def _animate_from_form(
        self, interaction: discord.Interaction, message_id: int, attachment_id: int
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        channel = _usable_channel(interaction)
        form = form_values(interaction)
        choices = read_choices(self.services.profile, form)
        new = NewJob(
            by=actor_of(interaction),
            channel_id=channel.id,
            prompt=form.prompt,
            options=JobOptions(choices.orientation, choices.duration),
            upload_limit_bytes=upload_limit_of(interaction),
            reply_to_message_id=message_id,
            public_locale=await public_locale_of(interaction, self.services.languages),
        )
        await self.services.submitter.preview(new)  # before the picture is downloaded
        # Read again now: the form may have stayed open for a while, and links expire.
        try:
            async with asyncio.timeout(ATTACHMENT_TIMEOUT):
                message = await channel.fetch_message(message_id)
        except (discord.NotFound, discord.Forbidden):
            raise Refusal(Text("iterate.animate.gone")) from None
        except (TimeoutError, discord.HTTPException):
            raise Refusal(Text("iterate.animate.unreachable")) from None
        await self._refuse_others_picture(interaction, message)  # the setting may have changed
        attachment = next((a for a in message.attachments if a.id == attachment_id), None)
        if attachment is None:
            raise Refusal(Text("iterate.animate.gone"))
        upload = await self._fetch_image(attachment)
        # Mentions typed in the form are written out as names, as /sora's are.
        named = await named_mentions(interaction, form.prompt)
        job = await self.services.submitter.submit(replace(new, prompt=named), upload)
        await self._post_and_confirm(interaction, job, channel)

    async def _refuse_others_picture(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """A picture is used only with its poster's say-so: "Make a video" takes it from the
        member's own messages, or from anyone's where the moderators allowed that."""
        if message.author.id == interaction.user.id:
            return
        assert interaction.guild_id is not None  # `_usable_channel` checked
        if not await self.services.moderation.others_pictures_allowed(interaction.guild_id):
            raise Refusal(Text("access.refusal.others_picture"))

    async def _fetch_image(self, attachment: discord.Attachment) -> ImageUpload:
        # Refuse by declared size before downloading; the bytes are checked again after.
        validate_image_size(self.services.profile, attachment.size)
        try:
            async with asyncio.timeout(ATTACHMENT_TIMEOUT):
                data = await attachment.read()
        except (TimeoutError, discord.HTTPException):
            raise Refusal(Text("sora.image_unreadable")) from None
        return ImageUpload(data=data, filename=attachment.filename, source_url=attachment.url)


def usable_image(
    profile: ModelProfile, attachments: list[discord.Attachment]
) -> discord.Attachment:
    """The first picture among a message's attachments the model takes (by declared type,
    else by name; the bytes are checked after download), within the size limit."""
    pictures = [a for a in attachments if _declared_type(a).startswith("image/")]
    if not pictures:
        raise Refusal(Text("iterate.animate.no_image"))
    usable = [a for a in pictures if _declared_type(a) in profile.image_types]
    if not usable:
        raise Refusal(Text("iterate.animate.wrong_type"))
    validate_image_size(profile, usable[0].size)
    return usable[0]


def _declared_type(attachment: discord.Attachment) -> str:
    declared = (attachment.content_type or "").split(";")[0].strip().lower()
    if declared:
        return declared
    extension = PurePosixPath(attachment.filename).suffix.lower().lstrip(".")
    by_extension = {ext: mime for mime, ext in IMAGE_EXTENSIONS.items()} | {"jpeg": "image/jpeg"}
    return by_extension.get(extension, "")


def _usable_channel(interaction: discord.Interaction) -> discord.TextChannel | discord.Thread:
    channel = interaction.channel
    if interaction.guild_id is None or not isinstance(
        channel, discord.TextChannel | discord.Thread
    ):
        raise Refusal(Text("sora.use_in_channel"))
    lacking = missing_permissions(
        interaction.app_permissions, in_thread=isinstance(channel, discord.Thread)
    )
    if lacking is not None:
        raise Refusal(lacking)
    return channel


def missing_permissions(perms: discord.Permissions, *, in_thread: bool) -> Text | None:
    """What the bot lacks in a channel to post a job's messages and video, named as Discord's
    settings name those permissions in the reader's language (None when nothing is missing)."""
    can_send = perms.send_messages_in_threads if in_thread else perms.send_messages
    missing = [
        name
        for name, ok in (
            ("view_channel", perms.view_channel),
            ("send_messages", can_send),
            ("attach_files", perms.attach_files),
            ("read_message_history", perms.read_message_history),
        )
        if not ok
    ]
    if not missing:
        return None
    names = i18n.listing(Text(f"sora.permission.{name}") for name in missing)
    return Text("sora.missing_permissions", permissions=names)


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
    prompt_limit = f"{typed_prompt_limit(profile.prompt_limit):,}"
    descriptions: dict[str, app_commands.locale_str | str] = {
        "prompt": words("sora.option.prompt", limit=prompt_limit),
        "orientation": words("sora.option.orientation"),
        "duration": words("sora.option.duration"),
        "image": words("sora.option.image", size=describe_size(profile.image_max_bytes)),
    }
    # Option names in the member's language where Discord allows it (lowercase, no spaces).
    names: dict[str, app_commands.locale_str | str] = {
        name: words(f"sora.option_name.{name}") for name in descriptions
    }
    choices: dict[str, list[app_commands.Choice]] = {
        "orientation": [
            app_commands.Choice(name=words(f"sora.choice.{o}"), value=o)
            for o in profile.orientations
        ],
        "duration": [
            app_commands.Choice(name=words("sora.choice.seconds", d), value=d)
            for d in profile.durations
        ],
    }
    if profile.offers_quality_choice:
        parameters.append(_param("quality", str | None, default=None))
        default_label = quality_text(profile, profile.default_quality)
        descriptions["quality"] = words("sora.option.quality", default=default_label)
        names["quality"] = words("sora.option_name.quality")
        choices["quality"] = [
            app_commands.Choice(name=words_of(quality_text(profile, q)), value=q)
            for q in profile.qualities
        ]
    for toggle in profile.toggles:
        parameters.append(_param(toggle.name, bool | None, default=None))
        descriptions[toggle.name] = _toggle_words(toggle.name, toggle.description)
        # A model's own option has words only when the catalogs know it (Rivya's catalogue
        # may add others, which keep their own name and description).
        names[toggle.name] = words_of(i18n.word_for(f"sora.option_name.{toggle.name}", toggle.name))

    toggle_names = [toggle.name for toggle in profile.toggles]

    async def sora(interaction: discord.Interaction, **options: Any) -> None:
        await cog.handle_sora(
            interaction,
            SoraOptions(
                prompt=options["prompt"],
                orientation=options["orientation"],
                duration=options["duration"],
                image=options.get("image"),
                quality=options.get("quality"),
                toggles={n: options[n] for n in toggle_names if options.get(n) is not None},
            ),
        )

    sora.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback = app_commands.rename(**names)(
        app_commands.choices(**choices)(app_commands.describe(**descriptions)(sora))
    )
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="sora", description=words("sora.command", model=profile.label), callback=callback
    )
    command.guild_only = True
    return command


def _toggle_words(name: str, description: str) -> app_commands.locale_str | str:
    """A model option's description: translated when the catalogs know it."""
    key = f"sora.toggle.{name}"
    return words(key) if i18n.translation(key, i18n.DEFAULT_LOCALE) else description


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation, default=default
    )


async def setup(bot: SoraBot) -> None:
    await bot.add_cog(SoraCog(bot))
