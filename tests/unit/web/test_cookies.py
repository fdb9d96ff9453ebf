"""The web's cookies on https and on a plain-http test setup: the session lasts 7 days, is
never readable by scripts, goes only to this site (on https: Secure, with the `__Host-`
prefix, so no other host or path can set it), and https pages tell browsers to stay on https."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.web.app import WEB
from bot.web.auth_views import _set_cookie
from bot.web.security import add_security_headers
from bot.web.sessions import SESSION_COOKIE, SESSION_SECONDS, cookie_name


class _Site:
    """What the cookie code reads of the running web: whether it is served over https."""

    def __init__(self, secure: bool) -> None:
        self.config = SimpleNamespace(secure=secure)

    def cookie(self, base: str) -> str:
        return cookie_name(base, self.config.secure)


@pytest.mark.parametrize("secure", [True, False])
def test_the_session_cookie_lasts_seven_days_for_this_site_only(secure: bool) -> None:
    app = web.Application()
    app[WEB] = _Site(secure)  # type: ignore[misc]
    response = web.Response()
    _set_cookie(make_mocked_request("GET", "/", app=app), response, SESSION_COOKIE, "s", 1)
    _set_cookie(
        make_mocked_request("GET", "/", app=app), response, SESSION_COOKIE, "v", SESSION_SECONDS
    )
    name = "__Host-sora_session" if secure else "sora_session"
    assert list(response.cookies) == [name]
    morsel = response.cookies[name]
    assert morsel.value == "v" and morsel["max-age"] == str(7 * 24 * 3600)
    assert morsel["httponly"] is True and morsel["samesite"] == "Lax" and morsel["path"] == "/"
    assert not morsel["domain"]  # this host only
    assert bool(morsel["secure"]) is secure


@pytest.mark.parametrize("secure", [True, False])
def test_https_pages_keep_browsers_on_https(secure: bool) -> None:
    response = web.Response()
    add_security_headers(response, secure=secure)
    assert ("Strict-Transport-Security" in response.headers) is secure
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
