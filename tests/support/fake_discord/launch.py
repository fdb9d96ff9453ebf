"""Run a bot module against the simulator:
``python -m tests.support.fake_discord.launch bot [args]``.

Only discord.py's two base addresses change (REST ``Route.BASE`` and the gateway's
``DEFAULT_GATEWAY``); the target then runs as ``__main__`` exactly as ``python -m <module>``
would. A ``.py`` path runs as a script instead.
"""

from __future__ import annotations

import os
import runpy
import sys

import discord.gateway
import discord.http
import yarl

REST_ENV = "FAKE_DISCORD_REST"
GATEWAY_ENV = "FAKE_DISCORD_GATEWAY"


def point_discord_at(rest_base: str, gateway_url: str) -> None:
    discord.http.Route.BASE = rest_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(
            "usage: python -m tests.support.fake_discord.launch <module | script.py> [args]"
        )
    rest_base, gateway_url = os.environ.get(REST_ENV), os.environ.get(GATEWAY_ENV)
    if not rest_base or not gateway_url:
        # Never fall through to the real Discord with a test configuration.
        raise SystemExit(f"{REST_ENV} and {GATEWAY_ENV} must both be set")
    point_discord_at(rest_base, gateway_url)
    target, *args = argv
    sys.argv = [target, *args]
    if target.endswith(".py"):
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
