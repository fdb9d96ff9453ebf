"""Building and serving the web application (bot/web/app.py holds what its pages share)."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.config import Settings
from bot.ops.startup_failures import EXIT_FAILED, StartupFailure
from bot.web import auth_views, dashboard_views, quota_views, video_views
from bot.web.app import (
    WEB,
    Web,
    forms_need_their_token,
    headers_and_errors,
    session_and_language,
)
from bot.web.discord_api import DiscordApi
from bot.web.oauth import OAuthClient
from bot.web.rendering import Templates
from bot.web.sessions import Sessions
from bot.wiring import Services

log = logging.getLogger(__name__)


# -- the application --------------------------------------------------------------------------


def static_folder() -> Path:
    return Path(str(resources.files("bot.web") / "static"))


def build_app(w: Web) -> web.Application:
    app = web.Application(
        middlewares=[headers_and_errors, session_and_language, forms_need_their_token],
        client_max_size=64 * 1024,
    )
    app[WEB] = w
    for module in (auth_views, video_views, dashboard_views, quota_views):
        module.add_routes(app.router)
    app.router.add_static("/static/", static_folder(), follow_symlinks=False)
    return app


async def open_web(settings: Settings, services: Services) -> Web:
    config = settings.web
    assert config is not None, "WEB_PORT is not set"
    session = services.http
    api = DiscordApi(session, config.api_url, settings.discord_token.reveal(), config.cache_seconds)
    return Web(
        settings=settings,
        config=config,
        services=services,
        api=api,
        oauth=OAuthClient(session, config.api_url),
        sessions=Sessions(services.db, services.clock),
        templates=Templates(ZoneInfo(settings.quota_timezone)),
    )


async def start_web(settings: Settings, services: Services) -> web.AppRunner:
    """Serve until `runner.cleanup()`; a taken or invalid address ends the start plainly."""
    w = await open_web(settings, services)
    config = w.config
    # No access log: a sign-in's callback address carries Discord's one-time code.
    runner = web.AppRunner(build_app(w), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, config.host, config.port).start()
    except OSError as error:
        await runner.cleanup()
        raise StartupFailure(
            f"Could not serve the web gallery on {config.host}:{config.port} "
            f"({error.strerror or error}): set WEB_PORT to a free port, or WEB_HOST to an "
            "address of this machine.",
            EXIT_FAILED,
        ) from None
    except BaseException:
        await runner.cleanup()
        raise
    log.info(
        "web gallery on http://%s:%s (public address %s; X-Forwarded-For believed from %s)",
        config.host,
        config.port,
        config.base_url,
        ", ".join(str(network) for network in config.trusted_proxies),
    )
    return runner
