"""The small checks every page shares: where a redirect may go, who is asking, how often."""

from __future__ import annotations

import pytest

from bot.web.app import snowflake
from bot.web.security import AttemptLimiter, safe_next
from bot.web.sessions import looks_like_secret, pkce_challenge


@pytest.mark.parametrize(
    "value",
    [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/ok\r\nSet-Cookie: x=1",
        "",
        None,
        "evil.example",
        "/" + "a" * 3000,
    ],
)
def test_only_paths_on_this_site_are_followed(value: str | None) -> None:
    assert safe_next(value) == "/"


def test_paths_on_this_site_are_kept() -> None:
    assert safe_next("/me?q=%E7%8B%90&before=12") == "/me?q=%E7%8B%90&before=12"
    assert safe_next("/servers/1/log") == "/servers/1/log"


def test_ids_are_read_only_when_a_database_column_can_hold_them() -> None:
    assert snowflake("123") == snowflake("<@123>") == snowflake("<@!123>") == 123
    for bad in ("", "0", "-1", "1e5", "9" * 19, "9" * 30, "１２３", "12 3", "<@>"):
        assert snowflake(bad) is None, bad


def test_sign_in_attempts_are_limited_per_address_for_a_while() -> None:
    now = [0.0]
    limiter = AttemptLimiter(limit=3, window=60, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")
    now[0] = 61
    assert limiter.allow("a")


def test_pkce_and_cookie_values() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert looks_like_secret("abc-_DEF123")
    assert not looks_like_secret("../etc") and not looks_like_secret("x" * 65)
    assert not looks_like_secret(None) and not looks_like_secret("")
