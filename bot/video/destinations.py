"""Where a video download may connect: public addresses only.

A result URL comes from the video service, and a member's prompt can sometimes steer what it
says; followed blindly, it (or a redirect) could make the bot fetch from its own machine or
network (a metrics port, a cloud metadata service, a database) and post what it got. So every
address a download connects to is checked: loopback, private, link-local, multicast, reserved
and unspecified addresses are refused, except the provider's own when the configured provider
itself is on such an address (a self-hosted or test provider).

The check is made where the connection is made: `GuardedResolver` is the download session's
resolver, so the address checked is the address connected to (no second lookup that could
answer differently), and every hop of a redirect goes through it. Addresses written in a URL
are never looked up, so `Destinations.check_literal` checks those.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# How long the provider's own addresses are trusted before they are looked up again.
PROVIDER_ADDRESSES_SECONDS = 300.0


class RefusedAddress(OSError):
    """A download was about to connect somewhere a video should not be."""


def is_public(address: IPAddress) -> bool:
    """Whether `address` is a public internet address (not this machine, not a private
    network, not link-local, multicast, reserved or unspecified)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class Destinations:
    """Public addresses, and the provider's own non-public ones (see the module's words).

    `provider_url` is the configured base URL of the video service (RIVYA_BASE_URL or
    UNIFIED_BASE_URL)."""

    def __init__(self, provider_url: str | None, resolver: AbstractResolver | None = None) -> None:
        self._provider_host = urlsplit(provider_url).hostname if provider_url else None
        self._resolver = resolver
        self._provider_addresses: frozenset[IPAddress] = frozenset()
        self._looked_up_at: float | None = None
        self._lookup = asyncio.Lock()

    def set_resolver(self, resolver: AbstractResolver) -> None:
        self._resolver = resolver

    async def allows(self, address: IPAddress) -> bool:
        return is_public(address) or address in await self._providers_own()

    async def check_literal(self, host: str) -> None:
        """Refuse a URL's host written as an address that may not be connected to."""
        address = literal_address(host)
        if address is not None and not await self.allows(address):
            raise RefusedAddress(f"{address} is not a public address")

    async def _providers_own(self) -> frozenset[IPAddress]:
        """The provider's non-public addresses (none for a provider on the internet)."""
        host = self._provider_host
        if host is None:
            return frozenset()
        address = literal_address(host)
        if address is not None:
            return frozenset({address})
        async with self._lookup:
            now = time.monotonic()
            if self._looked_up_at is None or now - self._looked_up_at > PROVIDER_ADDRESSES_SECONDS:
                self._provider_addresses = await self._look_up(host)
                self._looked_up_at = now
            return self._provider_addresses

    async def _look_up(self, host: str) -> frozenset[IPAddress]:
        resolver = self._resolver or aiohttp.DefaultResolver()
        try:
            found = await resolver.resolve(host, 0, socket.AF_UNSPEC)
        except OSError:
            return frozenset()  # unknown now: nothing exempt; looked up again later
        finally:
            if self._resolver is None:
                await resolver.close()
        addresses = {literal_address(result["host"]) for result in found}
        return frozenset(a for a in addresses if a is not None and not is_public(a))


class GuardedResolver(AbstractResolver):
    """A resolver that answers only with the addresses `Destinations` allows; a name that
    leads nowhere else is refused (`RefusedAddress`)."""

    def __init__(self, destinations: Destinations, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or aiohttp.DefaultResolver()
        self._destinations = destinations
        destinations.set_resolver(self._inner)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = []
        for result in found:
            address = literal_address(result["host"])
            if address is not None and await self._destinations.allows(address):
                allowed.append(result)
        if not allowed:
            shown = ", ".join(sorted({result["host"] for result in found})) or "nothing"
            raise RefusedAddress(f"{host} leads to {shown}, not a public address")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
