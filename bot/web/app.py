"""The web gallery and moderators' dashboard: an aiohttp application on the bot's services.

It runs inside the bot process (WEB_PORT set) or alone (`sora-bot web`), on the same database.
Every request finds its session (bot/web/sessions.py), speaks the member's language, and
checks what it shows against Discord at that moment (bot/web/access.py). Forms carry the
session's token; a POST without it is refused before any page code runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web

from bot import i18n
from bot.config import Settings, WebSettings
from bot.errors import Refusal
from bot.i18n import Text
from bot.storage.outage import describe, is_unreachable
from bot.video.shelf import VideoShelf
from bot.web import access, decisions
from bot.web.access import Standing
from bot.web.discord_api import DiscordApi, DiscordUnavailable
from bot.web.oauth import OAuthClient
from bot.web.rendering import Names, Templates, mentioned_ids, plain_text
from bot.web.security import AttemptLimiter, add_security_headers
from bot.web.sessions import SESSION_COOKIE, Session, Sessions, cookie_name, same_secret
from bot.wiring import Services

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LANGUAGE_COOKIE = "sora_lang"
MOST_NAME_LOOKUPS = 40  # members named on one page; the rest show as their id


class PageError(Exception):
    """A page that cannot be shown: its HTTP status and what the member is told."""

    def __init__(self, status: int, text: Text) -> None:
        super().__init__(text.key)
        self.status = status
        self.text = text


@dataclass
class Web:
    settings: Settings
    config: WebSettings
    services: Services
    api: DiscordApi
    oauth: OAuthClient
    sessions: Sessions
    templates: Templates
    limiter: AttemptLimiter = field(default_factory=AttemptLimiter)
    notices: dict[str, tuple[str, str]] = field(default_factory=dict)  # one-shot, per session

    @property
    def shelf(self) -> VideoShelf:
        """The bot's kept videos (the same folder as the bot's, built by bot/wiring.py)."""
        return self.services.shelf

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.quota_timezone)

    def cookie(self, base: str) -> str:
        return cookie_name(base, self.config.secure)


WEB = web.AppKey("web", Web)


def web_of(request: web.Request) -> Web:
    return request.app[WEB]


def session_of(request: web.Request) -> Session | None:
    session: Session | None = request.get("session")
    return session


def locale_of(request: web.Request) -> str:
    return str(request.get("locale", i18n.DEFAULT_LOCALE))


def signed_in(request: web.Request) -> Session:
    session = session_of(request)
    if session is None:
        raise web.HTTPFound(f"/sign-in?next={_quoted_path(request)}")
    return session


def _quoted_path(request: web.Request) -> str:
    from urllib.parse import quote

    return quote(request.path_qs, safe="")


# -- pages ----------------------------------------------------------------------------------


def page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    w = web_of(request)
    session = session_of(request)
    notice = w.notices.pop(session.secret_hash, None) if session else None
    html = w.templates.render(
        template,
        locale_of(request),
        {
            "session": session,
            "csrf": session.csrf_token if session else "",
            "here": request.path_qs,
            "notice": notice,
            **context,
        },
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def notify(request: web.Request, kind: str, text: str) -> None:
    """A line for the next page this member sees ("done", "refused")."""
    session = session_of(request)
    if session is not None:
        w = web_of(request)
        if len(w.notices) > 10_000:
            w.notices.clear()
        w.notices[session.secret_hash] = (kind, text)


def say(request: web.Request, text: Text | str, names: Names | None = None) -> str:
    w = web_of(request)
    locale = locale_of(request)
    return plain_text(i18n.render(text, locale), locale, w.zone, names or Names())


async def said(request: web.Request, standing: Standing, text: Text | str) -> str:
    """`text` in the member's language, with the members and roles it mentions named."""
    w = web_of(request)
    locale = locale_of(request)
    raw = i18n.render(text, locale)
    return plain_text(raw, locale, w.zone, await names_for(w, standing, [raw]))


async def names_for(w: Web, standing: Standing | None, texts: list[str]) -> Names:
    """Names for the members, roles and channels the texts mention, as the server has them."""
    if standing is None:
        return Names()
    ids: set[int] = set()
    for text in texts:
        ids |= mentioned_ids(text)
    users: dict[int, str] = {}
    for user_id in sorted(ids)[:MOST_NAME_LOOKUPS]:
        member = await w.api.member(standing.guild_id, user_id)
        if member is not None:
            users[user_id] = member.name
    roles = {role.id: role.name for role in standing.guild.roles}
    channels = {cid: info.name for cid, info in (await w.api.channels(standing.guild_id)).items()}
    return Names(users, roles, channels)


# -- who may see a server's pages -------------------------------------------------------------


async def member_standing(request: web.Request, guild_id: int) -> Standing:
    """The signed-in member's standing in the server; a server they are not in, the bot is
    not in, or the bot does not serve (ALLOWED_GUILD_IDS) is "not found", whichever it is."""
    session = signed_in(request)
    w = web_of(request)
    if not w.settings.serves(guild_id):
        raise PageError(404, Text("web.error.no_server"))
    standing = await access.standing_in(w.api, guild_id, session.user_id)
    if standing is None:
        raise PageError(404, Text("web.error.no_server"))
    return standing


async def moderator_standing(request: web.Request, guild_id: int) -> Standing:
    standing = await member_standing(request, guild_id)
    if not decisions.is_moderator(web_of(request).services.moderation, standing):
        raise PageError(403, Text("web.error.not_moderator"))
    return standing


def guild_id_of(request: web.Request) -> int:
    return _id(request.match_info["guild_id"])


def _id(text: str) -> int:
    found = snowflake(text)
    if found is None:
        raise PageError(404, Text("web.error.not_found"))
    return found


def snowflake(text: str) -> int | None:
    """A Discord id (or a row id) as typed: 123, <@123>, <@!123> or @123; None for anything
    else, including numbers no database column holds."""
    digits = text.strip().removeprefix("<@").removeprefix("!").removeprefix("@").rstrip(">")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        return None
    value = int(digits)
    return value if 0 < value < 2**63 else None


# -- middlewares ------------------------------------------------------------------------------


@web.middleware
async def headers_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    w = web_of(request)
    try:
        response = await handler(request)
    except web.HTTPException as answer:
        if answer.status == 404:
            response = page(request, "error.html", 404, message=say(request, _NOT_FOUND))
        else:
            kept = {k: v for k, v in answer.headers.items() if k in ("Location", "Allow")}
            response = web.Response(status=answer.status, headers=kept)
    except PageError as error:
        response = page(request, "error.html", error.status, message=say(request, error.text))
    except Refusal as refusal:
        response = page(request, "error.html", 400, message=say(request, refusal.reason))
    except DiscordUnavailable as error:
        log.warning("web: Discord did not answer: %s", error)
        response = page(request, "error.html", 503, message=say(request, _DISCORD_DOWN))
    except Exception as error:
        if not is_unreachable(error):
            log.exception("web: %s %s failed", request.method, request.path)
            response = page(request, "error.html", 500, message=say(request, _BROKEN))
        else:
            # One line per request, no traceback: the worker tells the outage once.
            log.info(
                "web: %s %s could not reach the database (%s)",
                request.method,
                request.path,
                describe(error),
            )
            response = page(request, "error.html", 503, message=say(request, _DATABASE_DOWN))
    add_security_headers(response, secure=w.config.secure)
    return response


_NOT_FOUND = Text("web.error.not_found")
_DISCORD_DOWN = Text("web.error.discord")
_BROKEN = Text("web.error.broken")
_DATABASE_DOWN = Text("web.error.database")


@web.middleware
async def session_and_language(request: web.Request, handler: Handler) -> web.StreamResponse:
    w = web_of(request)
    session = await w.sessions.find(request.cookies.get(w.cookie(SESSION_COOKIE)))
    request["session"] = session
    chosen = request.cookies.get(w.cookie(LANGUAGE_COOKIE))
    if session is not None:
        request["locale"] = i18n.match_locale(session.locale)
    elif chosen in i18n.available_locales():
        request["locale"] = chosen
    else:
        request["locale"] = _accepted_language(request.headers.get("Accept-Language", ""))
    return await handler(request)


def _accepted_language(header: str) -> str:
    for part in header.split(","):
        tag = part.split(";")[0].strip()
        if tag and i18n.match_locale(tag) != i18n.DEFAULT_LOCALE:
            return i18n.match_locale(tag)
        if tag.lower().startswith("en"):
            return i18n.DEFAULT_LOCALE
    return i18n.DEFAULT_LOCALE


@web.middleware
async def forms_need_their_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST comes from one of this site's forms: same origin, and the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return await handler(request)
    w = web_of(request)
    origin = request.headers.get("Origin")
    if origin is not None and origin != _origin(w.config.base_url):
        raise PageError(403, Text("web.error.forged_form"))
    session = session_of(request)
    if session is None:
        raise PageError(403, Text("web.error.signed_out_form"))
    form = await request.post()
    given = form.get("csrf")
    if not isinstance(given, str) or not same_secret(given, session.csrf_token):
        raise PageError(403, Text("web.error.forged_form"))
    return await handler(request)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
