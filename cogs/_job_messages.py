"""Every job message the bot posts, edits or deletes, done with ordinary bot messages (they
never expire): the worker's `ChatPort`, a new job's status message, /sora-show reposts and
removing a video's posts.

A new job's status message may also be the public answer to the member's `/sora`: Discord
keeps such an answer as an ordinary message of the bot, which is edited and deleted like any
other once the interaction has expired."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import discord

from bot import i18n
from bot.i18n import Text
from bot.jobs.chat_port import ChannelGone, DeliveryError, UploadTooLarge
from bot.jobs.delivery import Offer, VideoDelivery
from bot.jobs.queue_places import QueuePlaces
from bot.jobs.store import JobStore
from bot.jobs.wording import compressed_note, result_text, settings_line, status_text
from bot.models import FailureCode, Job
from bot.moderation.languages import Languages
from bot.moderation.log_channel import post_to_log_channel
from bot.providers.profiles import ModelProfile
from cogs._buttons import RERUN_EMOJI, cancel_view, result_view
from cogs._log_channel import DiscordLogChannel
from cogs._replies import NO_PINGS

log = logging.getLogger(__name__)

# What a call to Discord can end with: an answer refusing it, or no answer at all.
CALL_ERRORS = (discord.HTTPException, aiohttp.ClientError, TimeoutError, OSError)

UNKNOWN_CHANNEL = 10003  # Discord's code for a channel that does not exist (deleted)
HISTORY_SCAN = 200
SEARCH_MARGIN_SECONDS = 60


async def messageable(client: discord.Client, channel_id: int) -> discord.abc.Messageable:
    """The channel from the cache or the API; `DeliveryError` if it is gone or not a chat."""
    channel = client.get_channel(channel_id)
    if channel is None:
        try:
            channel = await client.fetch_channel(channel_id)
        except CALL_ERRORS as error:
            raise _delivery_error(error) from None
    if not isinstance(channel, discord.abc.Messageable):
        raise DeliveryError(f"channel {channel_id} cannot hold messages", permanent=True)
    return channel


def only_requester(job: Job) -> discord.AllowedMentions:
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(id=job.user_id)], replied_user=False
    )


def _answers(message: discord.Message, interaction_id: int | None) -> bool:
    """Whether `message` is the answer to the interaction `interaction_id`."""
    metadata = message.interaction_metadata
    return metadata is not None and metadata.id == interaction_id


def _nonce(job: Job, kind: str) -> str:
    # Discord returns the existing message when a nonce repeats (<= 25 characters).
    return f"sora-{job.id}-{kind}"[:25]


def status_nonce(job: Job) -> str:
    # A replacement for a deleted status message needs a nonce of its own.
    return _nonce(job, f"s{job.status_message_id or 0}")


def not_posted_yet(job_id: int) -> Text:
    return Text("sora.not_posted_yet", job=job_id)


@dataclass(frozen=True)
class StatusPost:
    """How posting a new job's status message went."""

    message: discord.Message | None  # posted
    withdrawn: bool = False  # Discord refused for good: the job was failed, nothing held


class DiscordJobMessages:
    def __init__(
        self,
        client: discord.Client,
        *,
        jobs: JobStore,
        profile: ModelProfile,
        delivery: VideoDelivery,
        alert_channel_id: int | None = None,
        languages: Languages | None = None,
        on_handed_over: Callable[[], None] = lambda: None,
        places: QueuePlaces | None = None,
    ) -> None:
        self.client = client
        self.jobs = jobs
        self.places = places  # a waiting job's place in its server's queue
        self.profile = profile
        self.delivery = delivery
        self.alert_channel_id = alert_channel_id
        self.languages = languages  # for the alert channel's server language
        self.on_handed_over = on_handed_over  # wakes the worker for a job just handed over
        self._reactions: set[asyncio.Task[None]] = set()  # kept until done (see post_result)

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        return await messageable(self.client, channel_id)

    async def channel_or_none(self, channel_id: int) -> discord.abc.Messageable | None:
        try:
            return await self._channel(channel_id)
        except DeliveryError:
            return None

    # -- a new job ----------------------------------------------------------------------------

    async def _first_text(self, job: Job) -> str:
        """A new job's status message: a waiting one says its place in the queue."""
        place = await self.places.place_of(job) if self.places is not None else None
        return status_text(job, self.profile, place=place)

    async def answer_with_status(
        self,
        interaction: discord.Interaction,
        job: Job,
        channel: discord.abc.Messageable,
    ) -> None:
        """Answer the member's command with the accepted job's public status message, then
        hand the job to the worker.

        One call to Discord instead of three (acknowledge, post, confirm), outside the
        channel's message rate limit. If Discord does not take the answer, the status message
        is posted in the channel instead (`post_status_message`).
        """
        text = await self._first_text(job)
        try:
            answer = await interaction.response.send_message(
                text, allowed_mentions=NO_PINGS, view=_buttons_of(job)
            )
            # Discord names the message it created; discord.py types it as optional.
            message_id = answer.message_id or (await interaction.original_response()).id
        except CALL_ERRORS as error:
            log.warning("job %s: could not answer with the status message: %s", job.id, error)
            if isinstance(error, discord.HTTPException):
                await self.post_status_message(job, channel)  # Discord refused the answer
                return
            # No word back at all: Discord may have made the answer all the same.
            known, answer_id = await self._answer_made(interaction)
            if not known:
                # The worker looks for the answer in the channel (by the command it answers)
                # after the acceptance grace, and posts a status message only if it is not
                # there: one message, whichever way this went.
                return
            if answer_id is None:
                await self.post_status_message(job, channel)
                return
            message_id = answer_id
        await self.jobs.hand_to_worker(job, message_id, text, None)
        self.on_handed_over()

    async def _answer_made(self, interaction: discord.Interaction) -> tuple[bool, int | None]:
        """Whether Discord can say if it made the command's answer, and the answer's id if it
        did."""
        try:
            return True, (await interaction.original_response()).id
        except discord.NotFound:
            return True, None
        except CALL_ERRORS as error:
            log.info("could not ask Discord whether it made an answer: %s", error)
            return False, None

    async def post_status_message(
        self,
        job: Job,
        channel: discord.abc.Messageable | None = None,
        *,
        attach_reference: bool = False,
    ) -> StatusPost:
        """Post the job's public status message (in `channel`, or the job's channel looked up),
        then hand the job to the worker.

        If Discord refuses for good (no access, channel gone) the job is withdrawn. Any other
        failure leaves it to the worker, which posts the status message itself after the
        acceptance grace (same nonce, so never twice). With `attach_reference`, the kept
        reference image is attached, and that fresh Discord link becomes the image's public URL
        (a re-run's original link has usually expired).
        """
        if channel is None:
            channel = await self.channel_or_none(job.channel_id)
            if channel is None:
                withdrawn = await self.jobs.withdraw_unsent(
                    job, FailureCode.NO_CHANNEL_ACCESS, "The channel is gone."
                )
                return StatusPost(None, withdrawn=withdrawn)
        text = await self._first_text(job)
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
                view=_buttons_of(job),
            )
        except (discord.Forbidden, discord.NotFound) as error:
            log.warning("job %s: Discord refused the status message: %s", job.id, error)
            withdrawn = await self.jobs.withdraw_unsent(
                job, FailureCode.NO_CHANNEL_ACCESS, "I could not post in that channel."
            )
            return StatusPost(None, withdrawn=withdrawn)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
            log.warning(
                "job %s: status message not posted yet (%s); the worker will", job.id, error
            )
            return StatusPost(None)
        image_url = message.attachments[0].url if files and message.attachments else None
        await self.jobs.hand_to_worker(job, message.id, text, image_url)
        self.on_handed_over()
        return StatusPost(message)

    # -- the worker's port --------------------------------------------------------------------

    async def show_status(self, job: Job, text: str) -> int:
        channel = await self._channel(job.channel_id)
        if job.status_message_id is not None:
            message = channel.get_partial_message(job.status_message_id)  # type: ignore[attr-defined]
            try:
                # A waiting job's Cancel button goes once it has left the queue.
                view = cancel_view(job.id, job.public_locale) if job.is_waiting else None
                await message.edit(content=text, allowed_mentions=NO_PINGS, view=view)
                return job.status_message_id
            except discord.NotFound as error:
                if error.code == UNKNOWN_CHANNEL:
                    raise _delivery_error(error) from None
                log.info("job %s: status message was deleted; posting a new one", job.id)
            except CALL_ERRORS as error:
                raise _delivery_error(error) from None
        elif job.interaction_id is not None:
            # The bot may have answered the /sora with the status message and stopped before
            # recording it: that answer is the status message, not a second one.
            answer = await self._own_message_since(
                channel, job.created_at, lambda message: _answers(message, job.interaction_id)
            )
            if answer is not None:
                log.info("job %s: found its status message in the answer to its /sora", job.id)
                view = cancel_view(job.id, job.public_locale) if job.is_waiting else None
                try:
                    await answer.edit(content=text, allowed_mentions=NO_PINGS, view=view)
                except CALL_ERRORS as error:
                    raise _delivery_error(error) from None
                return answer.id
        reference = reply_to(job, job.reply_to_message_id)
        try:
            message = await channel.send(
                text,
                allowed_mentions=NO_PINGS,
                reference=reference,  # type: ignore[arg-type]
                nonce=status_nonce(job),
                view=_buttons_of(job),
            )
        except CALL_ERRORS as error:
            raise _delivery_error(error) from None
        return message.id

    async def find_posted_result(self, job: Job) -> tuple[int, str] | None:
        channel = await self._channel(job.channel_id)
        expected = result_text(job, None)
        # Search from a little before the first post attempt: the result is among the
        # messages after it, however busy the channel was while the job ran.
        message = await self._own_message_since(
            channel,
            job.delivery_started_at or job.created_at,
            lambda message: message.content.startswith(expected),
        )
        return (message.id, _delivery_of(message, expected)) if message else None

    async def _own_message_since(
        self,
        channel: discord.abc.Messageable,
        since: float,
        matches: Callable[[discord.Message], bool],
    ) -> discord.Message | None:
        """The bot's first message in `channel` from a little before `since` that `matches`."""
        if self.client.user is None:
            return None
        start = datetime.fromtimestamp(since - SEARCH_MARGIN_SECONDS, UTC)
        after = discord.Object(id=discord.utils.time_snowflake(start))
        try:
            async for message in channel.history(
                after=after, limit=HISTORY_SCAN, oldest_first=True
            ):
                if message.author.id == self.client.user.id and matches(message):
                    return message
        except CALL_ERRORS as error:
            raise _delivery_error(error) from None
        return None

    async def post_result(
        self, job: Job, video: Path | None, text: str, *, full_quality_url: str | None = None
    ) -> int:
        channel = await self._channel(job.channel_id)
        reference = reply_to(job, job.status_message_id)
        with _refusals_as_port_errors():
            message = await channel.send(
                text,
                files=[_video_file(job, video)] if video else [],
                allowed_mentions=only_requester(job),
                reference=reference,  # type: ignore[arg-type]
                nonce=_nonce(job, "result"),
                view=result_view(job.id, job.public_locale, full_quality_url=full_quality_url),
            )
        # Not awaited: the worker records the delivery when this returns, and until then a
        # re-run of the posted video is refused ("no video yet"); Discord often rate-limits
        # reactions for seconds, which must not hold that up.
        task = asyncio.create_task(_offer_rerun(message), name=f"rerun-reaction-{job.id}")
        self._reactions.add(task)
        task.add_done_callback(self._reactions.discard)
        return message.id

    async def alert_moderators(self, text: Text) -> None:
        await post_to_log_channel(
            DiscordLogChannel(self.client), self.alert_channel_id, text, languages=self.languages
        )

    async def notify_requester(self, job: Job, text: str) -> None:
        channel = await self._channel(job.channel_id)
        reference = reply_to(job, job.status_message_id)
        try:
            await channel.send(
                text,
                allowed_mentions=only_requester(job),
                reference=reference,  # type: ignore[arg-type]
                nonce=_nonce(job, "end"),
            )
        except CALL_ERRORS as error:
            raise _delivery_error(error) from None

    # -- after delivery -----------------------------------------------------------------------

    async def repost_result(
        self, job: Job, channel: discord.abc.Messageable, reported_limit: int | None
    ) -> discord.Message:
        """Post a delivered video again (/sora-show) within the upload limit Discord reported
        where it was asked for; `Refusal` if the video is no longer available."""
        caption = i18n.render(
            Text(
                "results.show.caption",
                job=job.id,
                user=f"<@{job.user_id}>",
                settings=settings_line(job, self.profile),
            ),
            job.public_locale,
        )

        async def post(offer: Offer) -> discord.Message:
            with _refusals_as_port_errors():
                if offer.video is None:
                    return await channel.send(
                        f"{caption}\n{offer.link}",
                        allowed_mentions=NO_PINGS,
                        view=result_view(job.id, job.public_locale),
                    )
                text = caption
                if offer.compressed:
                    full_quality = offer.full_quality_url is not None
                    text += "\n" + compressed_note(full_quality, job.public_locale)
                return await channel.send(
                    text,
                    file=_video_file(job, offer.video),
                    allowed_mentions=NO_PINGS,
                    view=result_view(
                        job.id, job.public_locale, full_quality_url=offer.full_quality_url
                    ),
                )

        posted = await self.delivery.post_best(
            job,
            reported_limit,
            post,
            member_waiting=True,
            posted_before=lambda: self._original_attachment_url(job),
        )
        return posted.message

    async def _original_attachment_url(self, job: Job) -> str | None:
        if job.result_message_id is None:
            return None
        channel = await self.channel_or_none(job.channel_id)
        if channel is None:
            return None
        try:
            message = await channel.fetch_message(job.result_message_id)
        except discord.HTTPException:
            return None
        videos = [a for a in message.attachments if a.filename.endswith(".mp4")]
        return videos[0].url if videos else None

    async def delete_post(self, channel_id: int, message_id: int) -> bool:
        """Delete one recorded post of a video (bot/moderation/removal.py names it, never a
        button): True once it is gone (already gone counts), False if Discord refused."""
        channel = await self.channel_or_none(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return True  # the channel is gone or out of the bot's reach: nothing to delete
        message = channel.get_partial_message(message_id)
        try:
            await message.delete()
        except discord.NotFound:
            pass
        except discord.HTTPException as error:
            log.warning("could not delete message %s of a video: %s", message_id, error)
            return False
        return True


@contextlib.contextmanager
def _refusals_as_port_errors() -> Iterator[None]:
    """Discord's answers to a post as the chat port's errors: `UploadTooLarge` for a file over
    the limit (413, or code 40005), `DeliveryError` for anything else."""
    try:
        yield
    except CALL_ERRORS as error:
        if isinstance(error, discord.HTTPException) and (
            error.status == 413 or error.code == 40005
        ):
            raise UploadTooLarge() from None
        raise _delivery_error(error) from None


def _buttons_of(job: Job) -> discord.ui.View:
    """The buttons a new status message carries: Cancel while the job waits in the queue
    (`MISSING`, none, otherwise)."""
    if job.is_waiting:
        return cancel_view(job.id, job.public_locale)
    return discord.utils.MISSING


def _video_file(job: Job, video: Path) -> discord.File:
    return discord.File(video, filename=f"sora-job-{job.id}.mp4")


def _delivery_of(message: discord.Message, head: str) -> str:
    """How a result found in the channel was delivered: a compressed file carries a note."""
    if not message.attachments:
        return "link"
    return "fitted" if message.content != head else "file"


async def _offer_rerun(message: discord.Message) -> None:
    # The reaction makes the re-run visible; the post stands without it if Discord refuses.
    try:
        await message.add_reaction(RERUN_EMOJI)
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
        # Runs in the background: a failure (or the bot shutting down) must end here.
        log.info("could not add the re-run reaction to %s: %s", message.id, error)


def reply_to(job: Job, message_id: int | None) -> discord.MessageReference | None:
    if message_id is None:
        return None
    return discord.MessageReference(
        message_id=message_id, channel_id=job.channel_id, fail_if_not_exists=False
    )


def _delivery_error(error: BaseException) -> DeliveryError:
    if isinstance(error, discord.NotFound) and error.code == UNKNOWN_CHANNEL:
        return ChannelGone(f"Discord answered 404 ({error.code}): the channel is gone")
    if not isinstance(error, discord.HTTPException):
        # No answer at all (connection dropped, timed out): worth another try later.
        return DeliveryError(f"Discord could not be reached: {error!r}", permanent=False)
    permanent = isinstance(error, discord.Forbidden | discord.NotFound) or error.status in (400,)
    return DeliveryError(
        f"Discord answered {error.status} ({error.code}): {error.text}", permanent=permanent
    )
