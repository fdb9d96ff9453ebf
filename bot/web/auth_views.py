"""Signing in with Discord, signing out, the home page and the language switch."""

from __future__ import annotations

import logging

from aiohttp import web

from bot import i18n
from bot.i18n import Text
from bot.storage.web_sessions import SharedGuild
from bot.web.app import (
    LANGUAGE_COOKIE,
    PageError,
    page,
    session_of,
    web_of,
)
from bot.web.oauth import SignInFailed, authorize_url
from bot.web.security import client_address, safe_next
from bot.web.sessions import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    SIGN_IN_COOKIE,
    SIGN_IN_SECONDS,
    pkce_challenge,
)

log = logging.getLogger(__name__)
YEAR = 365 * 24 * 3600


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", home)
    router.add_get("/sign-in", sign_in)
    router.add_get("/auth/callback", callback)
    router.add_post("/sign-out", sign_out)
    router.add_get("/language/{code}", switch_language)


async def home(request: web.Request) -> web.Response:
    session = session_of(request)
    if session is None:
        return page(request, "welcome.html")
    served = [guild for guild in session.guilds if web_of(request).settings.serves(guild.id)]
    return page(request, "home.html", guilds=served)


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def _set_cookie(
    request: web.Request, response: web.Response, name: str, value: str, age: int
) -> None:
    w = web_of(request)
    response.set_cookie(
        w.cookie(name),
        value,
        max_age=age,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=w.config.secure,
    )


def _drop_cookie(request: web.Request, response: web.Response, name: str) -> None:
    w = web_of(request)
    response.del_cookie(w.cookie(name), path="/", secure=w.config.secure, samesite="Lax")


async def sign_in(request: web.Request) -> web.Response:
    w = web_of(request)
    if not w.limiter.allow(client_address(request, w.config.trusted_proxies)):
        raise PageError(429, Text("web.error.too_many_sign_ins"))
    next_path = safe_next(request.query.get("next"))
    secret, state, verifier = await w.sessions.begin_sign_in(next_path)
    client_id = await w.api.application_id()
    response = _redirect(
        authorize_url(
            w.config.oauth_url, client_id, w.config.redirect_uri, state, pkce_challenge(verifier)
        )
    )
    _set_cookie(request, response, SIGN_IN_COOKIE, secret, SIGN_IN_SECONDS)
    return response


async def callback(request: web.Request) -> web.Response:
    w = web_of(request)
    found = await w.sessions.finish_sign_in(
        request.cookies.get(w.cookie(SIGN_IN_COOKIE)), request.query.get("state")
    )
    if request.query.get("error"):
        raise PageError(400, Text("web.error.sign_in_cancelled"))
    code = request.query.get("code")
    if found is None or not code:
        raise PageError(400, Text("web.error.sign_in_expired"))
    client_id = await w.api.application_id()
    try:
        identity = await w.oauth.identify(
            code,
            found.code_verifier,
            w.config.redirect_uri,
            client_id,
            w.config.client_secret.reveal(),
        )
    except SignInFailed as error:
        log.warning("web: a sign-in failed: %s", error)
        raise PageError(502, Text("web.error.sign_in_failed")) from None
    bot_guilds = await w.api.bot_guild_ids()
    shared = tuple(
        SharedGuild(guild_id, name)
        for guild_id, name in sorted(identity.guilds.items(), key=lambda item: item[1].lower())
        if guild_id in bot_guilds and w.settings.serves(guild_id)
    )
    chosen = request.cookies.get(w.cookie(LANGUAGE_COOKIE))
    locale = chosen if chosen in i18n.available_locales() else i18n.match_locale(identity.locale)
    secret = await w.sessions.open(identity.user_id, identity.name, str(locale), shared)
    log.info("web: member %s signed in", identity.user_id)
    response = _redirect(found.next_path)
    _set_cookie(request, response, SESSION_COOKIE, secret, SESSION_SECONDS)
    _drop_cookie(request, response, SIGN_IN_COOKIE)
    return response


async def sign_out(request: web.Request) -> web.Response:
    w = web_of(request)
    session = session_of(request)
    if session is not None:
        await w.sessions.close(session)
    response = _redirect("/")
    _drop_cookie(request, response, SESSION_COOKIE)
    return response


async def switch_language(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    if code not in i18n.available_locales():
        raise PageError(404, Text("web.error.not_found"))
    session = session_of(request)
    if session is not None:
        await web_of(request).sessions.set_locale(session, code)
    response = _redirect(safe_next(request.query.get("next")))
    _set_cookie(request, response, LANGUAGE_COOKIE, code, YEAR)
    return response
