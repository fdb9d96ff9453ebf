"""The worker's `JobPresenter`, done with ordinary bot messages (they never expire)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import discord

from bot.models import Job
from bot.presenter import DeliveryError, UploadTooLarge
from bot.status import result_text
from cogs._buttons import RERUN_EMOJI, result_view

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
HISTORY_SCAN = 200
SEARCH_MARGIN_SECONDS = 60


async def messageable(client: discord.Client, channel_id: int) -> discord.abc.Messageable:
    """The channel from the cache or the API; `DeliveryError` if it is gone or not a chat."""
    channel = client.get_channel(channel_id)
    if channel is None:
        try:
            channel = await client.fetch_channel(channel_id)
        except discord.HTTPException as error:
            raise _delivery_error(error) from None
    if not isinstance(channel, discord.abc.Messageable):
        raise DeliveryError(f"channel {channel_id} cannot hold messages", permanent=True)
    return channel


def only_requester(job: Job) -> discord.AllowedMentions:
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(id=job.user_id)], replied_user=False
    )


def _nonce(job: Job, kind: str) -> str:
    # Discord returns the existing message when a nonce repeats (<= 25 characters).
    return f"sora-{job.id}-{kind}"[:25]


def status_nonce(job: Job) -> str:
    # A replacement for a deleted status message needs a nonce of its own.
    return _nonce(job, f"s{job.status_message_id or 0}")


class DiscordPresenter:
    def __init__(self, client: discord.Client, alert_channel_id: int | None = None) -> None:
        self.client = client
        self.alert_channel_id = alert_channel_id
        self._reactions: set[asyncio.Task[None]] = set()  # kept until done (see post_result)

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        return await messageable(self.client, channel_id)

    async def show_status(self, job: Job, text: str) -> int:
        channel = await self._channel(job.channel_id)
        if job.status_message_id is not None:
            message = channel.get_partial_message(job.status_message_id)  # type: ignore[attr-defined]
            try:
                await message.edit(content=text, allowed_mentions=NO_PINGS)
                return job.status_message_id
            except discord.NotFound:
                log.info("job %s: status message was deleted; posting a new one", job.id)
            except discord.HTTPException as error:
                raise _delivery_error(error) from None
        reference = reply_to(job, job.reply_to_message_id)
        try:
            message = await channel.send(
                text,
                allowed_mentions=NO_PINGS,
                reference=reference,  # type: ignore[arg-type]
                nonce=status_nonce(job),
            )
        except discord.HTTPException as error:
            raise _delivery_error(error) from None
        return message.id

    async def find_posted_result(self, job: Job) -> tuple[int, str] | None:
        if self.client.user is None:
            return None
        channel = await self._channel(job.channel_id)
        expected = result_text(job, None)
        # Search from a little before the first post attempt: the result is among the
        # messages after it, however busy the channel was while the job ran.
        since = (job.delivery_started_at or job.created_at) - SEARCH_MARGIN_SECONDS
        after = discord.Object(id=discord.utils.time_snowflake(datetime.fromtimestamp(since, UTC)))
        try:
            async for message in channel.history(
                after=after, limit=HISTORY_SCAN, oldest_first=True
            ):
                if message.author.id == self.client.user.id and message.content.startswith(
                    expected
                ):
                    return message.id, "file" if message.attachments else "link"
        except discord.HTTPException as error:
            raise _delivery_error(error) from None
        return None

    async def post_result(self, job: Job, video: Path | None, text: str) -> int:
        channel = await self._channel(job.channel_id)
        reference = reply_to(job, job.status_message_id)
        file = discord.File(video, filename=f"sora-job-{job.id}.mp4") if video else None
        try:
            message = await channel.send(
                text,
                files=[file] if file else [],
                allowed_mentions=only_requester(job),
                reference=reference,  # type: ignore[arg-type]
                nonce=_nonce(job, "result"),
                view=result_view(job.id),
            )
        except discord.HTTPException as error:
            if error.status == 413 or error.code == 40005:
                raise UploadTooLarge() from None
            raise _delivery_error(error) from None
        # Not awaited: the worker records the delivery when this returns, and until then a
        # re-run of the posted video is refused ("no video yet"); Discord often rate-limits
        # reactions for seconds, which must not hold that up.
        task = asyncio.create_task(_offer_rerun(message), name=f"rerun-reaction-{job.id}")
        self._reactions.add(task)
        task.add_done_callback(self._reactions.discard)
        return message.id

    async def alert_moderators(self, text: str) -> None:
        if self.alert_channel_id is None:
            return  # the log already has it at ERROR level
        channel = await self._channel(self.alert_channel_id)
        try:
            await channel.send(text, allowed_mentions=NO_PINGS)
        except discord.HTTPException as error:
            raise _delivery_error(error) from None

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
        except discord.HTTPException as error:
            raise _delivery_error(error) from None


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


def _delivery_error(error: discord.HTTPException) -> DeliveryError:
    permanent = isinstance(error, discord.Forbidden | discord.NotFound) or error.status in (400,)
    return DeliveryError(
        f"Discord answered {error.status} ({error.code}): {error.text}", permanent=permanent
    )
