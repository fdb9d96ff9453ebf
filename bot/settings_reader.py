"""Reading settings from an environment mapping: typed values, each problem recorded (not
raised), so that an operator sees every invalid or missing setting at once (bot/config.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.storage.urls import redact

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def quoted(value: str) -> bool:
    """Whether `value` is wrapped in a matching pair of quotes, as `"UTC"` or `'UTC'`."""
    return len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'"


def quotes_problem(name: str) -> str:
    # Never the value itself: it may be a secret.
    return (
        f"{name} is wrapped in quotes: remove the quotes around the value in .env "
        "(`docker run --env-file` keeps them as part of the value)."
    )


class SettingsReader:
    """Reads typed values from an environment mapping, recording problems instead of raising."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        """The value without surrounding blanks; a quoted one is a problem of its own (no
        setting's value starts and ends with a quote) and is read without its quotes."""
        value = self.env.get(name)
        if value is None:
            return None
        value = value.strip()
        if quoted(value):
            problem = quotes_problem(name)
            if problem not in self.problems:
                self.problems.append(problem)
            value = value[1:-1].strip()
        return value or None

    def required(self, name: str, expects: str) -> str:
        value = self.raw(name)
        if value is None:
            self.problems.append(f"{name} is missing: expected {expects}.")
            return ""
        return value

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = (self.raw(name) or default).lower()
        if value not in options:
            self.problems.append(f"{name} must be one of {', '.join(options)} (got {value!r}).")
            return default
        return value

    def integer(self, name: str, default: int | None, minimum: int = 0) -> int | None:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            self.problems.append(f"{name} must be a whole number (got {value!r}).")
            return default
        if number < minimum:
            self.problems.append(f"{name} must be at least {minimum} (got {number}).")
            return default
        return number

    def bounded(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        """A whole number from `minimum` to `maximum`."""
        number = self.integer(name, default, minimum=minimum)
        assert number is not None
        if number > maximum:
            self.problems.append(f"{name} must be at most {maximum:,} (got {number:,}).")
            return default
        return number

    def number(self, name: str, default: float, minimum: float) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            self.problems.append(f"{name} must be a number (got {value!r}).")
            return default
        if number < minimum:
            self.problems.append(f"{name} must be at least {minimum:g} (got {number:g}).")
            return default
        return number

    def optional_number(self, name: str, minimum: float) -> float | None:
        """A number, or None when the setting is empty or invalid (the feature it sets is off)."""
        if self.raw(name) is None:
            return None
        problems = len(self.problems)
        number = self.number(name, 0.0, minimum)
        return None if len(self.problems) > problems else number

    def port(self, name: str) -> int | None:
        """A TCP port, or None when the setting is empty (the feature it sets is off)."""
        value = self.raw(name)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 65535):
            self.problems.append(f"{name} must be a port number from 1 to 65535 (got {value!r}).")
            return None
        return int(value)

    def id_list(self, name: str) -> tuple[int, ...]:
        """Comma-separated Discord ids (snowflakes); empty means none."""
        text = self.raw(name) or ""
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not all(part.isascii() and part.isdigit() and int(part) > 0 for part in parts):
            self.problems.append(
                f"{name} must be a comma-separated list of Discord ids, e.g. "
                f"123456789012345678,234567890123456789 (got {text!r})."
            )
            return ()
        return tuple(dict.fromkeys(int(part) for part in parts))

    def networks(self, name: str, default: str) -> tuple[IPNetwork, ...]:
        """Comma-separated IP addresses or networks (CIDR, e.g. 172.16.0.0/12); an address is a
        network of one. IPv4-mapped IPv6 (::ffff:a.b.c.d) is read as the IPv4 it stands for."""
        text = self.raw(name) or default
        entries = [part.strip() for part in text.split(",") if part.strip()]
        found: list[IPNetwork] = []
        bad: list[str] = []
        for entry in entries:
            try:
                # Not strict: 172.18.0.1/16 means the network it is in, 172.18.0.0/16.
                found.append(plain_network(ipaddress.ip_network(entry, strict=False)))
            except ValueError:
                bad.append(entry)
        if bad or not entries:
            named = ", ".join(repr(entry) for entry in bad) or repr(text)
            self.problems.append(
                f"{name} must be a comma-separated list of IP addresses or networks, e.g. "
                f"172.18.0.1,10.0.0.0/8 (not an address or network: {named})."
            )
            return tuple(ipaddress.ip_network(part) for part in default.split(","))
        return tuple(dict.fromkeys(found))

    def shards(self) -> tuple[int | None, tuple[int, ...] | None]:
        """SHARD_COUNT (`auto` or a number) and SHARD_IDS (which of them this process runs)."""
        count_text = (self.raw("SHARD_COUNT") or "").strip().lower()
        ids_text = self.raw("SHARD_IDS") or ""
        count: int | None = None
        if count_text == "auto":
            count = 0
        elif count_text:
            count = self.integer("SHARD_COUNT", None, minimum=1)
        parts = [part.strip() for part in ids_text.split(",") if part.strip()]
        if not parts:
            return count, None
        if not count:
            self.problems.append(
                "SHARD_IDS needs SHARD_COUNT set to the total number of shards, e.g. "
                "SHARD_COUNT=2 with SHARD_IDS=0 on one process and SHARD_IDS=1 on another."
            )
            return count, None
        if not all(part.isascii() and part.isdigit() and int(part) < count for part in parts):
            self.problems.append(
                f"SHARD_IDS must be a comma-separated list of shard numbers from 0 to "
                f"{count - 1} (SHARD_COUNT={count}), e.g. 0,1 (got {ids_text!r})."
            )
            return count, None
        return count, tuple(dict.fromkeys(int(part) for part in parts))

    def seconds_list(self, name: str, default: str) -> tuple[float, ...]:
        text = self.raw(name) or default
        try:
            gaps = tuple(float(part) for part in text.split(",") if part.strip())
        except ValueError:
            gaps = ()
        if not gaps or any(gap <= 0 for gap in gaps):
            self.problems.append(
                f"{name} must be a comma-separated list of positive seconds, e.g. 3,5,10,30 "
                f"(got {text!r})."
            )
            return tuple(float(part) for part in default.split(","))
        return gaps

    def timezone(self, name: str, default: str) -> str:
        value = self.raw(name) or default
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.problems.append(
                f"{name} must be an IANA time zone such as UTC or Europe/Paris (got {value!r})."
            )
            return default
        return value

    def url(self, name: str, default: str | None) -> str | None:
        value = self.raw(name) or default
        if value is None:
            return None
        if not is_private_enough(value):
            self.problems.append(
                f"{name} must start with https:// (a key, a token or a sign-in travels through "
                "it); "
                "http:// only for this machine (localhost, 127.0.0.1, ::1) "
                f"(got {redact(value)!r})."
            )
        return value.rstrip("/")


def plain_network(network: IPNetwork) -> IPNetwork:
    """An IPv4-mapped IPv6 network (::ffff:0:0/96 and within) as the IPv4 network it maps."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network


def is_private_enough(url: str) -> bool:
    """HTTPS anywhere, or plain HTTP to this machine's own loopback address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host:
        return False
    if parts.scheme.lower() == "https":
        return True
    return parts.scheme.lower() == "http" and _is_loopback(host)


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
