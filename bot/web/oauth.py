"""Signing in with Discord: OAuth2's authorization code flow with `state` and PKCE (S256),
scopes `identify` and `guilds`.

The member's access token is used at once, for who they are (`/users/@me`: id, name, Discord
language) and which servers they are in (`/users/@me/guilds`), then revoked: the web keeps no
Discord token of theirs. Membership and permissions are read later with the bot's token.
Nothing here logs a code or a token, and errors carry only HTTP statuses.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

log = logging.getLogger(__name__)

SCOPES = "identify guilds"
CALL_TIMEOUT = 10.0


class SignInFailed(Exception):
    """Discord did not complete the sign-in; the message is for the operator's log."""


@dataclass(frozen=True)
class Identity:
    user_id: int
    name: str
    locale: str | None
    guilds: dict[int, str]  # the servers they are in: id -> name


def authorize_url(
    oauth_url: str, client_id: int, redirect_uri: str, state: str, challenge: str
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": str(client_id),
            "scope": SCOPES,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "prompt": "none",
        }
    )
    return f"{oauth_url}?{query}"


class OAuthClient:
    def __init__(self, session: aiohttp.ClientSession, api_url: str) -> None:
        self._session = session
        self._api_url = api_url.rstrip("/")

    async def identify(
        self, code: str, verifier: str, redirect_uri: str, client_id: int, client_secret: str
    ) -> Identity:
        """Exchange the code for a token, read who signed in, and revoke the token."""
        auth = aiohttp.BasicAuth(str(client_id), client_secret)
        token_data = await self._call(
            "POST",
            "/oauth2/token",
            auth=auth,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
        )
        token = token_data.get("access_token") if isinstance(token_data, dict) else None
        if not isinstance(token, str) or not token:
            raise SignInFailed("the token answer had no access token")
        try:
            bearer = {"Authorization": f"Bearer {token}"}
            me = await self._call("GET", "/users/@me", headers=bearer)
            guilds = await self._call("GET", "/users/@me/guilds", headers=bearer)
        finally:
            await self._revoke(token, auth)
        if not isinstance(me, dict) or not str(me.get("id", "")).isdigit():
            raise SignInFailed("/users/@me did not say who signed in")
        name = me.get("global_name") or me.get("username") or str(me["id"])
        shared = {
            int(entry["id"]): str(entry.get("name") or entry["id"])
            for entry in (guilds if isinstance(guilds, list) else [])
            if isinstance(entry, dict) and str(entry.get("id", "")).isdigit()
        }
        return Identity(int(me["id"]), str(name), me.get("locale"), shared)

    async def _revoke(self, token: str, auth: aiohttp.BasicAuth) -> None:
        try:
            await self._call(
                "POST",
                "/oauth2/token/revoke",
                auth=auth,
                data={"token": token, "token_type_hint": "access_token"},
            )
        except SignInFailed as error:
            log.warning("could not revoke a sign-in's Discord token: %s", error)

    async def _call(self, method: str, path: str, **options: Any) -> Any:
        try:
            async with (
                asyncio.timeout(CALL_TIMEOUT),
                self._session.request(method, self._api_url + path, **options) as reply,
            ):
                if reply.status >= 300:
                    raise SignInFailed(f"{method} {path}: HTTP {reply.status}")
                if reply.status == 204:
                    return None
                return await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise SignInFailed(f"{method} {path}: {type(error).__name__}") from None
