"""What every answer of the web side carries, and the small checks pages share.

- Headers: a Content-Security-Policy that allows no script at all (the pages need none) and
  loads nothing from elsewhere, no framing, no sniffing, no referrer beyond this site (a
  sign-in's callback address holds Discord's one-time code), no caching of private pages,
  and HSTS on https.
- `safe_next`: where to go after signing in or switching language, only ever a path on this
  site (no `//host`, `\\host`, scheme or control characters: no open redirect).
- `AttemptLimiter`: sign-in attempts per address.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import Callable

from aiohttp import web

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


def client_address(request: web.Request) -> str:
    """The browser's address: the peer's, or, when the peer is a reverse proxy on this machine
    (loopback), the last address it added to X-Forwarded-For."""
    peer = request.remote or ""
    try:
        loopback = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        loopback = False
    forwarded = request.headers.get("X-Forwarded-For", "")
    if loopback and forwarded:
        last = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            return peer
    return peer


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
