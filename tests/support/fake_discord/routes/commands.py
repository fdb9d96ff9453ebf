"""Application command sync: bulk overwrite (PUT) and listing (GET), global and per guild."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import errors
from ..rest import Call, Reply
from .common import require_guild

if TYPE_CHECKING:
    from ..rest import ApiRouter
    from ..server import FakeDiscord


def register(api: ApiRouter, sim: FakeDiscord) -> None:
    def scope(call: Call) -> int | None:
        if call.params["application_id"] != str(sim.world.application_id):
            raise errors.unknown_application()
        if "guild_id" not in call.params:
            return None
        require_guild(sim, call.params["guild_id"])
        return int(call.params["guild_id"])

    async def overwrite(call: Call) -> Reply:
        return Reply(sim.commands.replace(scope(call), call.body.json))

    async def listing(call: Call) -> Reply:
        return Reply(sim.commands.listed(scope(call)))

    for path in (
        "/applications/{application_id}/commands",
        "/applications/{application_id}/guilds/{guild_id}/commands",
    ):
        api.add("PUT", path, overwrite)
        api.add("GET", path, listing)
