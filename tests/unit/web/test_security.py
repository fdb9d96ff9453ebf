"""The small checks every page shares: where a redirect may go, who is asking, how often."""

from __future__ import annotations

import ipaddress
import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from bot.config import LOOPBACK
from bot.web import security
from bot.web.app import snowflake
from bot.web.security import AttemptLimiter, client_address, safe_next
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


def request_from(peer: str, *forwarded: str) -> web.Request:
    """A request reaching the web from `peer`, with one X-Forwarded-For line per `forwarded`."""
    headers = CIMultiDict(("X-Forwarded-For", line) for line in forwarded)
    return make_mocked_request("GET", "/sign-in", headers=headers).clone(remote=peer)


def networks(*entries: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry) for entry in entries)


DOCKER = networks("172.18.0.0/16")


def test_a_proxy_on_this_machine_names_the_browser_by_default() -> None:
    assert client_address(request_from("127.0.0.1", "203.0.113.7"), LOOPBACK) == "203.0.113.7"
    assert client_address(request_from("::1", "2001:db8::7"), LOOPBACK) == "2001:db8::7"
    # Without a header, or from a browser on this machine, the peer is the browser.
    assert client_address(request_from("127.0.0.1"), LOOPBACK) == "127.0.0.1"
    assert client_address(request_from("203.0.113.7"), LOOPBACK) == "203.0.113.7"


def test_a_proxy_in_a_trusted_network_names_the_browser() -> None:
    # Docker's gateway, as the web inside a container sees a reverse proxy on the host.
    assert client_address(request_from("172.18.0.1", "203.0.113.7"), DOCKER) == "203.0.113.7"
    assert client_address(request_from("172.18.0.1", "198.51.100.2"), DOCKER) == "198.51.100.2"
    # The setting replaces the default: loopback is no longer believed.
    assert client_address(request_from("127.0.0.1", "203.0.113.7"), DOCKER) == "127.0.0.1"


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    for forged in ("198.51.100.1", "127.0.0.1", "172.18.0.1", "1.1.1.1, 2.2.2.2"):
        assert client_address(request_from("203.0.113.7", forged), DOCKER) == "203.0.113.7"
        assert client_address(request_from("203.0.113.7", forged), LOOPBACK) == "203.0.113.7"


def test_the_right_most_address_that_is_not_a_trusted_proxy_is_the_browser() -> None:
    trusted = networks("172.18.0.1", "10.0.0.0/8")
    # browser 203.0.113.7 -> proxy 10.0.0.5 -> proxy 10.1.2.3 -> Docker's gateway -> web;
    # what the browser wrote itself (198.51.100.1) is left of its own address and ignored.
    chain = "198.51.100.1, 203.0.113.7, 10.0.0.5, 10.1.2.3"
    assert client_address(request_from("172.18.0.1", chain), trusted) == "203.0.113.7"
    # The same list over several header lines.
    lines = ("198.51.100.1", "203.0.113.7, 10.0.0.5", "10.1.2.3")
    assert client_address(request_from("172.18.0.1", *lines), trusted) == "203.0.113.7"
    # Every hop a trusted proxy: the farthest one is the best that is known.
    assert client_address(request_from("172.18.0.1", "10.0.0.5, 10.1.2.3"), trusted) == "10.0.0.5"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("not-an-address", "172.18.0.1"),
        ("203.0.113.7:5555", "172.18.0.1"),  # with a port
        ("[2001:db8::7]", "172.18.0.1"),  # in brackets
        ("203.0.113.7, unknown", "172.18.0.1"),
        ("", "172.18.0.1"),
        ("203.0.113.7,", "172.18.0.1"),
        ("198.51.100.1, garbage, 172.18.0.9", "172.18.0.9"),  # the last trusted hop
        ("garbage, 203.0.113.7", "203.0.113.7"),  # the browser comes before the garbage
    ],
)
def test_a_malformed_entry_ends_the_walk_at_the_last_trusted_hop(
    forwarded: str, expected: str
) -> None:
    assert client_address(request_from("172.18.0.1", forwarded), DOCKER) == expected


def test_ipv6_proxies_and_ipv4_seen_through_a_dual_stack_socket() -> None:
    trusted = networks("fd00:18::/64", "172.18.0.1")
    peer = "fd00:18::1"
    assert client_address(request_from(peer, "2001:db8::7"), trusted) == "2001:db8::7"
    assert client_address(request_from(peer, "203.0.113.7"), trusted) == "203.0.113.7"
    assert client_address(request_from("fd00:19::1", "2001:db8::7"), trusted) == "fd00:19::1"
    # A listener on :: reports an IPv4 peer as ::ffff:a.b.c.d; the same address either way.
    mapped = "::ffff:172.18.0.1"
    assert client_address(request_from(mapped, "203.0.113.7"), trusted) == "203.0.113.7"
    assert client_address(request_from("::ffff:203.0.113.7"), trusted) == "203.0.113.7"
    assert client_address(request_from(peer, "::ffff:203.0.113.7"), trusted) == "203.0.113.7"


def test_an_unbelieved_header_is_named_once_in_the_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(security, "_UNBELIEVED", set())
    with caplog.at_level(logging.WARNING, logger="bot.web.security"):
        for _ in range(3):
            client_address(request_from("172.17.0.1", "203.0.113.7"), LOOPBACK)
        client_address(request_from("172.17.0.2"), LOOPBACK)  # no header: nothing to say
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "172.17.0.1" in warnings[0]
    assert "WEB_TRUSTED_PROXIES" in warnings[0] and "203.0.113.7" not in warnings[0]
    # Anyone who reaches the port may send the header: the log says only so much.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.web.security"):
        for n in range(50):
            client_address(request_from(f"198.51.100.{n}", "203.0.113.7"), LOOPBACK)
    assert len(caplog.records) == security._MOST_UNBELIEVED_NOTED - 1


def test_pkce_and_cookie_values() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert looks_like_secret("abc-_DEF123")
    assert not looks_like_secret("../etc") and not looks_like_secret("x" * 65)
    assert not looks_like_secret(None) and not looks_like_secret("")
