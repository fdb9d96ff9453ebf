"""A member's browser at HTTP level for the web gallery's tests: a cookie jar of its own,
signing in through the fake Discord's OAuth2 pages, and reading forms' tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import TracebackType

import aiohttp

from tests.support.fake_discord import FakeDiscord

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def web_env(sim: FakeDiscord, port: int, cache_seconds: str = "0") -> dict[str, str]:
    """Settings that serve the web on `port`, signing in through `sim`."""
    base = f"http://127.0.0.1:{port}"
    sim.oauth.redirect_uris = [f"{base}/auth/callback"]
    return {
        "WEB_PORT": str(port),
        "WEB_BASE_URL": base,
        "DISCORD_CLIENT_SECRET": sim.oauth.client_secret,
        "DISCORD_API_URL": sim.rest_base,
        "DISCORD_OAUTH_URL": f"{sim.base_url}/oauth2/authorize",
        "WEB_PERMISSION_CACHE_SECONDS": cache_seconds,
    }


@dataclass
class Answer:
    status: int
    text: str
    url: str
    headers: dict[str, str]


class WebClient:
    def __init__(self, base_url: str, sim: FakeDiscord) -> None:
        self.base_url = base_url
        self.sim = sim
        # unsafe: keep cookies for an IP address (127.0.0.1), as a browser does.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def __aenter__(self) -> WebClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.close()

    async def sign_in(self, user: str, next_path: str = "/me") -> Answer:
        """Sign in as `user` (already signed in to Discord): the page the web ends on."""
        self.sim.oauth.signed_in = user
        try:
            return await self.get("/sign-in", params={"next": next_path})
        finally:
            self.sim.oauth.signed_in = None

    async def get(
        self,
        path: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        follow: bool = True,
    ) -> Answer:
        async with self.http.get(
            self._url(path), params=params, headers=headers, allow_redirects=follow
        ) as reply:
            return Answer(reply.status, await reply.text(), str(reply.url), dict(reply.headers))

    async def get_bytes(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        async with self.http.get(self._url(path), headers=headers) as reply:
            return reply.status, await reply.read(), dict(reply.headers)

    async def post(
        self,
        path: str,
        data: dict[str, str],
        *,
        csrf_from: str | None = None,
        headers: dict[str, str] | None = None,
        follow: bool = True,
    ) -> Answer:
        """POST a form; with `csrf_from` (a page's path), the token that page's forms carry."""
        form = dict(data)
        if csrf_from is not None:
            form["csrf"] = self.csrf_of((await self.get(csrf_from)).text)
        async with self.http.post(
            self._url(path), data=form, headers=headers, allow_redirects=follow
        ) as reply:
            return Answer(reply.status, await reply.text(), str(reply.url), dict(reply.headers))

    @staticmethod
    def csrf_of(page: str) -> str:
        found = CSRF.search(page)
        assert found is not None, "the page has no form token"
        return found[1]

    def cookie(self, name: str) -> str | None:
        for cookie in self.http.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None

    def set_cookie(self, name: str, value: str) -> None:
        self.http.cookie_jar.update_cookies({name: value}, aiohttp.client.URL(self.base_url))

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path
