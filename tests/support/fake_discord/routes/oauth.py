"""OAuth2 sign-in (token exchange and revocation), the signed-in user and their servers, and
thread membership: what a bot's web side asks Discord (see ``..oauth``)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from aiohttp import web

from .. import errors
from ..oauth import basic_auth
from ..payloads import user_payload
from ..rest import Call, Reply
from .common import require_channel

if TYPE_CHECKING:
    from ..rest import ApiRouter
    from ..server import FakeDiscord


def _form(call: Call) -> dict[str, str]:
    body = call.body.json
    return dict(parse_qsl(body)) if isinstance(body, str) else {}


def _client(call: Call) -> tuple[str, str] | None:
    return basic_auth(call.request.headers.get("Authorization"))


def register(api: ApiRouter, sim: FakeDiscord) -> None:
    world = sim.world
    oauth = sim.oauth

    async def token(call: Call) -> Reply:
        from ..oauth import basic_auth

        status, data = oauth.exchange(
            _form(call), basic_auth(call.request.headers.get("Authorization"))
        )
        return Reply(data, status)

    async def revoke(call: Call) -> Reply:
        from ..oauth import basic_auth

        status, data = oauth.revoke(
            _form(call), basic_auth(call.request.headers.get("Authorization"))
        )
        return Reply(data, status)

    def guild_entry() -> dict[str, object]:
        return {
            "id": str(world.guild_id),
            "name": world.guild_name,
            "icon": None,
            "banner": None,
            "owner": False,
            "permissions": "0",
            "features": [],
        }

    async def my_guilds(call: Call) -> Reply:
        authorization = call.request.headers.get("Authorization")
        if authorization == f"Bot {sim.token}":
            return Reply([guild_entry()])
        found = oauth.bearer(authorization)
        if found is None:
            raise errors.unauthorized()
        user_id, scopes = found
        if "guilds" not in scopes:
            raise errors.ApiError(403, 50001, "Missing Access")
        return Reply([guild_entry()] if user_id in world.members else [])

    async def thread_member(call: Call) -> Reply:
        thread = require_channel(sim, call.params["channel_id"])
        user_id = call.params["user_id"]
        if not user_id.isdigit() or int(user_id) not in thread.thread_members:
            raise errors.unknown_member()
        return Reply(
            {
                "id": str(thread.id),
                "user_id": user_id,
                "join_timestamp": "2024-01-01T00:00:00+00:00",
                "flags": 0,
            }
        )

    api.add("POST", "/oauth2/token", token, auth=False)
    api.add("POST", "/oauth2/token/revoke", revoke, auth=False)
    api.add("GET", "/users/@me/guilds", my_guilds, auth=False)
    api.add("GET", "/channels/{channel_id}/thread-members/{user_id}", thread_member)


def me_by_bearer(sim: FakeDiscord, authorization: str | None) -> dict[str, object] | None:
    """``/users/@me`` for a Bearer token: the signed-in user, with their Discord language."""
    found = sim.oauth.bearer(authorization)
    if found is None:
        return None
    user = sim.world.user_by_id(found[0])
    if user is None:
        return None
    return user_payload(user) | {"locale": user.locale, "mfa_enabled": False, "verified": True}


def add_pages(app: web.Application, sim: FakeDiscord) -> None:
    """Discord's authorize page (outside /api), as a browser sees it."""
    oauth = sim.oauth

    async def authorize(request: web.Request) -> web.Response:
        query = dict(request.query)
        problem = oauth.check_request(query)
        if problem is not None:
            return web.Response(status=400, text=problem)
        if oauth.signed_in is not None:
            raise web.HTTPFound(oauth.approve(query, sim.user(oauth.signed_in)))
        return web.Response(text=oauth.consent_page(query), content_type="text/html")

    async def approve(request: web.Request) -> web.Response:
        query = dict(request.query)
        cancel, user = query.pop("cancel", None), query.pop("user", None)
        problem = oauth.check_request(query)
        if problem is not None:
            return web.Response(status=400, text=problem)
        if cancel:
            raise web.HTTPFound(oauth.cancelled(query))
        if user not in sim.world.users:
            return web.Response(status=400, text="Unknown user")
        raise web.HTTPFound(oauth.approve(query, sim.user(user)))

    app.router.add_get("/oauth2/authorize", authorize)
    app.router.add_get("/oauth2/authorize/approve", approve)
