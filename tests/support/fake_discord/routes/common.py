"""Checks several route groups share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import errors
from ..bodies import RequestBody
from ..world import FakeChannel

if TYPE_CHECKING:
    from ..server import FakeDiscord


def require_channel(sim: FakeDiscord, channel_id: str) -> FakeChannel:
    channel = sim.world.channel_by_id(int(channel_id)) if channel_id.isdigit() else None
    if channel is None:
        raise errors.unknown_channel()
    return channel


def require_guild(sim: FakeDiscord, guild_id: str) -> None:
    if guild_id != str(sim.world.guild_id):
        raise errors.unknown_guild()


def check_upload(sim: FakeDiscord, body: RequestBody, channel: FakeChannel | None) -> None:
    """Discord refuses a request whose files add up to more than the upload limit of the
    channel it posts in (its guild's boost tier)."""
    place = (channel.id, channel.guild_id) if channel is not None else (None, None)
    if body.total_upload_size > sim.settings.upload_limit_in(*place):
        raise errors.request_too_large()
