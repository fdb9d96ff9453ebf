"""Only the servers the operator chose, and only as a server app.

The operator pays for every video, so the bot serves the servers in ALLOWED_GUILD_IDS (all
servers it is in when unset) and nothing else:
- it leaves any other server as soon as it sees it (at start-up and when added), with one line
  in the log;
- its commands are synced as installed in servers and used in servers only;
- every interaction is looked at before anything else of the bot sees it (commands, buttons,
  forms, autocomplete): one from another server, from an app installed on a member's own
  account ("User Install"), from a direct message or from a server the bot is not in is
  answered privately and goes no further. Nothing is read, held or sent to the video service;
- a 🔁 on a video in another server (one the bot could not leave: Discord refused) is dropped
  before the re-run sees it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import serves_guild
from bot.i18n import Text
from bot.ops.spending import OPEN_TO_ANY_SERVER
from cogs._replies import send_ephemeral

log = logging.getLogger(__name__)

# Discord's numbers: who installed the app the interaction came through, and where it is used.
GUILD_INSTALL, USER_INSTALL = "0", "1"
GUILD_CONTEXT = 0

NOT_THIS_SERVER = Text("access.refusal.server_not_allowed")
SERVERS_ONLY = Text("access.refusal.servers_only")


def refusal_for(
    payload: Mapping[str, Any], allowed: frozenset[int], bot_is_in: Callable[[int], bool]
) -> Text | None:
    """Why an interaction (its raw INTERACTION_CREATE payload) is not served, or None."""
    guild_text = payload.get("guild_id")
    if guild_text is None or payload.get("context", GUILD_CONTEXT) != GUILD_CONTEXT:
        return SERVERS_ONLY  # a direct message or a group chat
    owners = payload.get("authorizing_integration_owners") or {}
    if USER_INSTALL in owners and GUILD_INSTALL not in owners:
        return SERVERS_ONLY  # the app installed on a member's account, not by the server
    guild_id = int(guild_text)
    if not serves_guild(allowed, guild_id):
        return NOT_THIS_SERVER
    if not bot_is_in(guild_id):
        return SERVERS_ONLY  # the commands are there, the bot is not (or has left)
    return None


class ServerGuard:
    def __init__(self, allowed_guild_ids: Iterable[int]) -> None:
        self.allowed = frozenset(allowed_guild_ids)
        self._leaving: set[int] = set()
        self._answers: set[asyncio.Task[None]] = set()  # kept until sent

    def install(self, bot: commands.Bot) -> None:
        """Before the bot connects and syncs: the command defaults, the interaction gate and
        the events that make it leave other servers."""
        # Every command and the context menu: installed by servers, used in servers.
        bot.tree.allowed_installs = app_commands.AppInstallationType(guild=True, user=False)
        bot.tree.allowed_contexts = app_commands.AppCommandContext(
            guild=True, dm_channel=False, private_channel=False
        )
        # discord.py hands each INTERACTION_CREATE to this parser, which routes it to the
        # commands, the buttons and the `interaction` listeners: the one place before them all.
        parsers = bot._connection.parsers
        parsers["INTERACTION_CREATE"] = self._gate(bot, parsers["INTERACTION_CREATE"])
        parsers["MESSAGE_REACTION_ADD"] = self._gate_reactions(parsers["MESSAGE_REACTION_ADD"])
        bot.add_listener(self._leave_if_not_allowed, "on_guild_join")
        bot.add_listener(self._leave_if_not_allowed, "on_guild_available")
        if self.allowed:
            log.info("serving only the %d server(s) in ALLOWED_GUILD_IDS", len(self.allowed))
        else:
            log.warning("%s", OPEN_TO_ANY_SERVER)

    def _gate(
        self, bot: commands.Bot, parse: Callable[[dict[str, Any]], None]
    ) -> Callable[[dict[str, Any]], None]:
        def bot_is_in(guild_id: int) -> bool:
            return bot.get_guild(guild_id) is not None

        def gated(data: dict[str, Any]) -> None:
            refusal = refusal_for(data, self.allowed, bot_is_in)
            if refusal is None:
                parse(data)
                return
            log.info(
                "refused an interaction from %s (server %s): %s",
                data.get("member", {}).get("user", data.get("user", {})).get("id", "?"),
                data.get("guild_id", "none"),
                refusal.key.rsplit(".", 1)[-1],
            )
            task = asyncio.get_running_loop().create_task(_answer(bot, data, refusal))
            self._answers.add(task)
            task.add_done_callback(self._answers.discard)

        return gated

    def _gate_reactions(
        self, parse: Callable[[dict[str, Any]], None]
    ) -> Callable[[dict[str, Any]], None]:
        def gated(data: dict[str, Any]) -> None:
            guild_text = data.get("guild_id")
            if guild_text is not None and not serves_guild(self.allowed, int(guild_text)):
                log.info("ignored a reaction in server %s: not in ALLOWED_GUILD_IDS", guild_text)
                return
            parse(data)  # a direct message's reaction: the re-run ignores it itself

        return gated

    async def _leave_if_not_allowed(self, guild: discord.Guild) -> None:
        if serves_guild(self.allowed, guild.id) or guild.id in self._leaving:
            return
        self._leaving.add(guild.id)
        try:
            await guild.leave()
        except discord.HTTPException as error:
            self._leaving.discard(guild.id)  # seen again (a reconnect), it is tried again
            log.warning(
                "could not leave server %s, which is not in ALLOWED_GUILD_IDS: %s", guild.id, error
            )
            return
        log.warning(
            'left server "%s" (id %s): it is not in ALLOWED_GUILD_IDS', guild.name, guild.id
        )


async def _answer(bot: commands.Bot, data: dict[str, Any], refusal: Text) -> None:
    """Say why, privately, in the member's language (a suggestion list cannot hold words: it
    stays empty)."""
    # The object discord.py would have made, only to answer it.
    interaction = discord.Interaction(data=data, state=bot._connection)  # type: ignore[arg-type]
    if interaction.type is discord.InteractionType.autocomplete:
        try:
            await interaction.response.autocomplete([])
        except discord.HTTPException as error:
            log.info("could not answer a refused suggestion request: %s", error)
        return
    await send_ephemeral(interaction, refusal)
