"""What discord.py's failures at start mean for the operator: one line each (the words are in
bot/ops/startup_failures.py), never a traceback or the token."""

from __future__ import annotations

import aiohttp
import discord
import discord.http

from bot.ops.startup_failures import (
    EXIT_DISCORD_UNREACHABLE,
    EXIT_TOKEN_REFUSED,
    StartupFailure,
    discord_unreachable,
    token_refused,
)


def discord_api_base() -> str:
    """The REST address discord.py uses (the tests point it at a fake Discord)."""
    return discord.http.Route.BASE


def discord_startup_failure(error: BaseException) -> StartupFailure | None:
    """The operator's line for a Discord failure that ended the start, or None."""
    if isinstance(error, AttributeError) and _is_unreachable(error.__context__):
        # discord.py 2.7 fails this way when the very first gateway connection fails: its
        # retry reads the websocket it never made. The connection error is the real cause.
        assert error.__context__ is not None
        error = error.__context__
    if isinstance(error, discord.LoginFailure):
        return StartupFailure(token_refused(), EXIT_TOKEN_REFUSED)
    if isinstance(error, discord.ConnectionClosed) and error.code == 4004:
        return StartupFailure(token_refused(), EXIT_TOKEN_REFUSED)
    if _is_unreachable(error):
        return StartupFailure(discord_unreachable(type(error).__name__), EXIT_DISCORD_UNREACHABLE)
    if isinstance(error, discord.HTTPException) and error.status >= 500:
        return StartupFailure(
            f"Discord answered HTTP {error.status} while logging in: it may be having an outage "
            "(https://discordstatus.com); start again later.",
            EXIT_DISCORD_UNREACHABLE,
        )
    return None


def _is_unreachable(error: BaseException | None) -> bool:
    return isinstance(error, aiohttp.ClientConnectionError | discord.GatewayNotFound | TimeoutError)
