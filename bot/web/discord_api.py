"""Discord's REST API for the web side, with the bot token: who is in a server with which
roles, the server's roles and channels (with their permission overwrites), and the few writes
the web makes (removing a deleted video's posts, a line in the moderators' log channel).

Answers are kept `cache_seconds` (WEB_PERMISSION_CACHE_SECONDS), so a page does not cost
several calls to Discord and a busy gallery stays under Discord's rate limits; the same
question asked while it is on its way waits for that answer. Every call has a timeout; a 429
is waited out once when Discord asks for a short wait; anything else that fails is
`DiscordUnavailable` (the page says Discord is not answering). The token is sent only in the
Authorization header and never appears in an error or the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from bot.web.permissions import Channel, Overwrite

log = logging.getLogger(__name__)

T = TypeVar("T")
CALL_TIMEOUT = 10.0
LONGEST_RATE_LIMIT_WAIT = 5.0
BOT_GUILD_PAGES = 20  # 200 servers a page
HTTP_DELETE = "delete"  # an HTTP method (aiohttp takes any case; the SQL guard reads upper)


class DiscordUnavailable(Exception):
    """Discord did not answer usably; the message is for the operator's log."""


@dataclass(frozen=True)
class Member:
    user_id: int
    role_ids: tuple[int, ...]
    name: str  # the server nickname, else the display name, else the username


@dataclass(frozen=True)
class Role:
    id: int
    name: str
    permissions: int
    position: int
    managed: bool


@dataclass(frozen=True)
class Guild:
    id: int
    name: str
    owner_id: int
    preferred_locale: str | None
    roles: tuple[Role, ...]

    @property
    def role_permissions(self) -> dict[int, int]:
        return {role.id: role.permissions for role in self.roles}


@dataclass(frozen=True)
class ChannelInfo:
    channel: Channel
    name: str
    guild_id: int | None


class DiscordApi:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        bot_token: str,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._api_url = api_url.rstrip("/")
        self._headers = {"Authorization": f"Bot {bot_token}"}
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[tuple[object, ...], tuple[float, Any]] = {}
        self._asking: dict[tuple[object, ...], asyncio.Future[Any]] = {}

    # -- reads (cached) -----------------------------------------------------------------------

    async def member(self, guild_id: int, user_id: int) -> Member | None:
        """The member as they are in the server now, or None if they are not in it."""

        async def ask() -> Member | None:
            data = await self._get(f"/guilds/{guild_id}/members/{user_id}", missing_ok=True)
            return _member(data) if data is not None else None

        return await self._cached(("member", guild_id, user_id), ask)

    async def guild(self, guild_id: int) -> Guild | None:
        """The server with its roles, or None if the bot is not in it."""

        async def ask() -> Guild | None:
            data = await self._get(f"/guilds/{guild_id}", missing_ok=True)
            return _guild(data) if data is not None else None

        return await self._cached(("guild", guild_id), ask)

    async def channels(self, guild_id: int) -> dict[int, ChannelInfo]:
        """The server's channels (threads are not listed: see `channel`)."""

        async def ask() -> dict[int, ChannelInfo]:
            data = await self._get(f"/guilds/{guild_id}/channels", missing_ok=True) or []
            found = (_channel(entry) for entry in data if isinstance(entry, dict))
            return {info.channel.id: info for info in found}

        return await self._cached(("channels", guild_id), ask)

    async def channel(self, channel_id: int) -> ChannelInfo | None:
        async def ask() -> ChannelInfo | None:
            data = await self._get(f"/channels/{channel_id}", missing_ok=True)
            return _channel(data) if isinstance(data, dict) else None

        return await self._cached(("channel", channel_id), ask)

    async def in_thread(self, thread_id: int, user_id: int) -> bool:
        async def ask() -> bool:
            path = f"/channels/{thread_id}/thread-members/{user_id}"
            return await self._get(path, missing_ok=True) is not None

        return await self._cached(("thread-member", thread_id, user_id), ask)

    async def bot_guild_ids(self) -> set[int]:
        """Every server the bot is in."""

        async def ask() -> set[int]:
            found: set[int] = set()
            after = 0
            for _ in range(BOT_GUILD_PAGES):
                page = await self._get(f"/users/@me/guilds?limit=200&after={after}") or []
                ids = [int(entry["id"]) for entry in page if isinstance(entry, dict)]
                found.update(ids)
                if len(ids) < 200:
                    break
                after = max(ids)
            return found

        return await self._cached(("bot-guilds",), ask)

    async def application_id(self) -> int:
        async def ask() -> int:
            data = await self._get("/oauth2/applications/@me")
            return int(data["id"])

        # The application's id never changes: asked once per process.
        key = ("application",)
        if key in self._cache:
            return int(self._cache[key][1])
        value = await ask()
        self._cache[key] = (float("inf"), value)
        return value

    def forget_member(self, guild_id: int, user_id: int) -> None:
        self._cache.pop(("member", guild_id, user_id), None)

    # -- writes -------------------------------------------------------------------------------

    async def delete_message(self, channel_id: int, message_id: int) -> bool:
        """Remove a post; True when it is gone (already gone counts), False if Discord refused."""
        path = f"/channels/{channel_id}/messages/{message_id}"
        status, _ = await self._call(HTTP_DELETE, path)
        if status in (200, 204, 404):
            return True
        log.warning("Discord refused to delete message %s: HTTP %s", message_id, status)
        return False

    async def post_message(self, channel_id: int, content: str) -> None:
        """Post a plain line that pings nobody."""
        body = {"content": content, "allowed_mentions": {"parse": []}}
        status, _ = await self._call("POST", f"/channels/{channel_id}/messages", json=body)
        if status >= 300:
            raise DiscordUnavailable(f"posting to channel {channel_id}: HTTP {status}")

    # -- plumbing -----------------------------------------------------------------------------

    async def _cached(self, key: tuple[object, ...], ask: Callable[[], Awaitable[T]]) -> T:
        now = self._clock()
        kept = self._cache.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        waiting = self._asking.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._asking[key] = future
        try:
            value = await ask()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self._asking.pop(key, None)
        future.set_result(value)
        if self._cache_seconds > 0:
            self._cache[key] = (self._clock() + self._cache_seconds, value)
            if len(self._cache) > 50_000:
                self._forget_expired()
        return value

    def _forget_expired(self) -> None:
        now = self._clock()
        for key in [key for key, (until, _) in self._cache.items() if until <= now]:
            del self._cache[key]

    async def _get(self, path: str, *, missing_ok: bool = False) -> Any:
        status, data = await self._call("GET", path)
        if status == 200:
            return data
        if missing_ok and status in (403, 404):
            return None  # not in the server, no such channel, or the bot cannot see it
        raise DiscordUnavailable(f"GET {path.split('?')[0]}: HTTP {status}")

    async def _call(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        url = self._api_url + path
        for attempt in range(2):
            try:
                async with (
                    asyncio.timeout(CALL_TIMEOUT),
                    self._session.request(method, url, headers=self._headers, json=json) as reply,
                ):
                    data = await _json_of(reply)
                    if reply.status == 429 and attempt == 0:
                        wait = _retry_after(reply.headers, data)
                        if wait <= LONGEST_RATE_LIMIT_WAIT:
                            await asyncio.sleep(wait)
                            continue
                    if reply.status >= 500 and attempt == 0:
                        await asyncio.sleep(0.5)
                        continue
                    if reply.status == 429 or reply.status >= 500:
                        raise DiscordUnavailable(f"{method} {path}: HTTP {reply.status}")
                    return reply.status, data
            except (aiohttp.ClientError, TimeoutError) as error:
                if attempt == 0:
                    await asyncio.sleep(0.5)
                    continue
                raise DiscordUnavailable(f"{method} {path}: {type(error).__name__}") from None
        raise DiscordUnavailable(f"{method} {path}: no answer")


async def _json_of(reply: aiohttp.ClientResponse) -> Any:
    if reply.status == 204:
        return None
    try:
        return await reply.json(content_type=None)
    except ValueError:
        return None


def _retry_after(headers: Any, data: Any) -> float:
    for value in (
        data.get("retry_after") if isinstance(data, dict) else None,
        headers.get("Retry-After"),
    ):
        try:
            return max(0.0, float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    return 1.0


def _member(data: dict[str, Any]) -> Member:
    user = data.get("user") or {}
    name = data.get("nick") or user.get("global_name") or user.get("username") or ""
    return Member(int(user["id"]), tuple(int(r) for r in data.get("roles", ())), str(name))


def _guild(data: dict[str, Any]) -> Guild:
    roles = tuple(
        Role(
            int(role["id"]),
            str(role.get("name", "")),
            int(role.get("permissions", 0)),
            int(role.get("position", 0)),
            bool(role.get("managed", False)),
        )
        for role in data.get("roles", ())
    )
    return Guild(
        int(data["id"]),
        str(data.get("name", "")),
        int(data.get("owner_id", 0)),
        data.get("preferred_locale"),
        roles,
    )


def _channel(data: dict[str, Any]) -> ChannelInfo:
    overwrites = tuple(
        Overwrite(
            int(entry["id"]),
            int(entry.get("type", 0)),
            int(entry.get("allow", 0)),
            int(entry.get("deny", 0)),
        )
        for entry in data.get("permission_overwrites") or ()
    )
    parent = data.get("parent_id")
    guild = data.get("guild_id")
    return ChannelInfo(
        Channel(
            int(data["id"]), int(data.get("type", 0)), int(parent) if parent else None, overwrites
        ),
        str(data.get("name", "")),
        int(guild) if guild else None,
    )
