"""Login, gateway discovery, users, DMs and guild lookups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import errors
from ..gateway import GUILDS
from ..payloads import (
    application_payload,
    channel_payload,
    guild_payload,
    member_payload,
    role_payload,
    user_payload,
)
from ..rest import Call, Reply
from .common import require_channel, require_guild

if TYPE_CHECKING:
    from ..rest import ApiRouter
    from ..server import FakeDiscord


def register(api: ApiRouter, sim: FakeDiscord) -> None:
    world = sim.world

    async def me(call: Call) -> Reply:
        authorization = call.request.headers.get("Authorization")
        if authorization != f"Bot {sim.token}":
            # A member's OAuth2 token (a bot's web sign-in) stands for that member.
            from .oauth import me_by_bearer

            signed_in = me_by_bearer(sim, authorization)
            if signed_in is None:
                raise errors.unauthorized()
            return Reply(signed_in)
        return Reply(user_payload(world.bot) | {"verified": True, "mfa_enabled": False})

    async def application(call: Call) -> Reply:
        return Reply(application_payload(world, owner=sim.app_owner))

    async def gateway(call: Call) -> Reply:
        return Reply({"url": sim.gateway_url})

    async def gateway_bot(call: Call) -> Reply:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        shards = sim.recommended_shards
        return Reply({"url": sim.gateway_url, "shards": shards, "session_start_limit": limit})

    async def get_user(call: Call) -> Reply:
        user_id = call.params["user_id"]
        user = world.user_by_id(int(user_id)) if user_id.isdigit() else None
        if user is None:
            raise errors.unknown_user()
        return Reply(user_payload(user))

    async def open_dm(call: Call) -> Reply:
        recipient = world.user_by_id(int(call.json.get("recipient_id", 0)))
        if recipient is None:
            raise errors.unknown_user()
        return Reply(channel_payload(world.open_dm(recipient), world))

    async def get_guild(call: Call) -> Reply:
        require_guild(sim, call.params["guild_id"])
        data = guild_payload(world)
        if call.query_flag("with_counts"):
            data.update(
                approximate_member_count=len(world.members),
                approximate_presence_count=len(world.members),
            )
        return Reply(data)

    async def get_member(call: Call) -> Reply:
        require_guild(sim, call.params["guild_id"])
        user_id = call.params["user_id"]
        member = world.members.get(int(user_id)) if user_id.isdigit() else None
        if member is None:
            raise errors.unknown_member()
        return Reply(member_payload(member))

    async def get_roles(call: Call) -> Reply:
        require_guild(sim, call.params["guild_id"])
        return Reply([role_payload(r) for r in world.roles.values()])

    async def get_channels(call: Call) -> Reply:
        require_guild(sim, call.params["guild_id"])
        return Reply(
            [
                channel_payload(c, world)
                for c in world.channels.values()
                if c.guild_id is not None and not c.is_thread
            ]
        )

    async def get_channel(call: Call) -> Reply:
        return Reply(channel_payload(require_channel(sim, call.params["channel_id"]), world))

    async def leave_guild(call: Call) -> Reply:
        require_guild(sim, call.params["guild_id"])
        if not world.bot_in_guild:
            raise errors.unknown_guild()
        world.bot_in_guild = False
        await sim.gateway.dispatch(
            "GUILD_DELETE", {"id": str(world.guild_id)}, intent=GUILDS, guild_id=world.guild_id
        )
        return Reply(status=204)

    api.add("GET", "/users/@me", me, auth=False)  # the bot's token, or a member's OAuth2 one
    api.add("DELETE", "/users/@me/guilds/{guild_id}", leave_guild)
    api.add("GET", "/oauth2/applications/@me", application)
    api.add("GET", "/applications/@me", application)
    api.add("GET", "/gateway", gateway, auth=False)
    api.add("GET", "/gateway/bot", gateway_bot)
    api.add("POST", "/users/@me/channels", open_dm)
    api.add("GET", "/users/{user_id}", get_user)
    api.add("GET", "/guilds/{guild_id}", get_guild)
    api.add("GET", "/guilds/{guild_id}/members/{user_id}", get_member)
    api.add("GET", "/guilds/{guild_id}/roles", get_roles)
    api.add("GET", "/guilds/{guild_id}/channels", get_channels)
    api.add("GET", "/channels/{channel_id}", get_channel)
