"""What every answer of the web side carries, and the small checks pages share.

- Headers: a Content-Security-Policy that allows no script at all (the pages need none) and
  loads nothing from elsewhere, no framing, no sniffing, no referrer beyond this site (a
  sign-in's callback address holds Discord's one-time code), no caching of private pages,
  and HSTS on https.
- `safe_next`: where to go after signing in or switching language, only ever a path on this
  site (no `//host`, `\\host`, scheme or control characters: no open redirect).
- `client_address`: who is asking, through the reverse proxies the operator trusts.
- `AttemptLimiter`: sign-in attempts per address.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence

from aiohttp import web

from bot.settings_reader import IPNetwork

log = logging.getLogger(__name__)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SIGN_IN_ATTEMPTS = 10  # per address
SIGN_IN_WINDOW_SECONDS = 300.0


def add_security_headers(response: web.StreamResponse, *, secure: bool) -> None:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    headers.setdefault("Cache-Control", "no-store")
    if secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"


def safe_next(value: str | None, default: str = "/") -> str:
    """`value` if it is a path on this site, else `default`."""
    if not value or len(value) > 2000 or not value.startswith("/"):
        return default
    if value.startswith(("//", "/\\")) or "\\" in value:
        return default
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return default
    return value


def client_address(request: web.Request, trusted_proxies: Sequence[IPNetwork]) -> str:
    """The browser's address, for counting its sign-in attempts.

    The peer's own address, unless the peer is one of `trusted_proxies` (WEB_TRUSTED_PROXIES):
    then X-Forwarded-For is read from the right (each proxy appends the address it was reached
    from), past every trusted proxy, to the first address that is not one: anything left of it
    was written by the browser or its side and proves nothing. A malformed entry ends the walk
    at the last trusted hop, so a garbled header never picks the address."""
    peer = request.remote or ""
    address = _ip(peer)
    if address is None:
        return peer
    if not _trusted(address, trusted_proxies):
        if request.headers.get("X-Forwarded-For"):
            _note_unbelieved(address)
        return str(address)
    # Several X-Forwarded-For lines are one list, in order (RFC 9110, section 5.3).
    hops = [
        hop.strip()
        for line in request.headers.getall("X-Forwarded-For", ())
        for hop in line.split(",")
    ]
    for hop in reversed(hops):
        forwarded = _ip(hop)
        if forwarded is None:
            break
        address = forwarded
        if not _trusted(address, trusted_proxies):
            break
    return str(address)


def _ip(text: str) -> IPAddress | None:
    """An address as written by a proxy (no port, no brackets); IPv4-mapped IPv6
    (::ffff:a.b.c.d, from a dual-stack socket) as the IPv4 address it stands for."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, trusted_proxies: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in trusted_proxies)


# Peers whose X-Forwarded-For was not believed, said once each in the log: usually a reverse
# proxy missing from WEB_TRUSTED_PROXIES (in Docker, the network's gateway). Bounded, since
# anyone who reaches the port can send the header.
_UNBELIEVED: set[IPAddress] = set()
_MOST_UNBELIEVED_NOTED = 10


def _note_unbelieved(peer: IPAddress) -> None:
    if peer in _UNBELIEVED or len(_UNBELIEVED) >= _MOST_UNBELIEVED_NOTED:
        return
    _UNBELIEVED.add(peer)
    log.warning(
        "X-Forwarded-For from %s is not believed: it is not in WEB_TRUSTED_PROXIES, so every "
        "sign-in through it counts as that one address; if it is your reverse proxy, add it",
        peer,
    )


class AttemptLimiter:
    """At most `limit` attempts per key in any `window` seconds."""

    def __init__(
        self,
        limit: int = SIGN_IN_ATTEMPTS,
        window: float = SIGN_IN_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        if len(self._seen) > 10_000:  # forget addresses that went quiet
            for stale in [k for k, v in self._seen.items() if not v or v[-1] <= now - self.window]:
                del self._seen[stale]
        return True
