"""A download goes only where a video should be, and takes only a video.

The provider here is on 127.0.0.2; 127.0.0.1 stands for everything else on the bot's machine
(a metrics port, a database, another service) that a result link must never reach."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.video.destinations import (
    Destinations,
    GuardedResolver,
    RefusedAddress,
    is_public,
)
from bot.video.download import (
    MAX_REDIRECTS,
    DownloadFailed,
    ResultRefused,
    TooLargeToUpload,
    VideoDownloader,
)
from bot.video.media_types import ISO_MEDIA
from tests.support.video_server import fake_video, video_server

PROVIDER_HOST = "127.0.0.2"


@pytest.fixture
async def provider_hits() -> list[str]:
    return []


@pytest.fixture
async def other_hits() -> list[str]:
    return []


@pytest.fixture
async def provider(provider_hits: list[str]) -> AsyncIterator[str]:
    async with video_server(host=PROVIDER_HOST, hits=provider_hits) as url:
        yield url


@pytest.fixture
async def elsewhere(other_hits: list[str]) -> AsyncIterator[str]:
    """Something else on this machine, on another loopback address."""
    async with video_server(host="127.0.0.1", hits=other_hits) as url:
        yield url


@pytest.fixture
async def downloader(tmp_path: Path, provider: str) -> AsyncIterator[VideoDownloader]:
    async with VideoDownloader(tmp_path / "tmp", 5, Destinations(provider)) as loader:
        yield loader


def redirect(via: str, to: str, status: int = 302) -> str:
    return f"{via}/to?status={status}&url={quote(to, safe='')}"


def temp_files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "tmp"
    return list(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata services
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.1", "2606:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


async def test_the_providers_own_address_is_allowed(
    downloader: VideoDownloader, provider: str, tmp_path: Path
) -> None:
    got = await downloader.fetch(f"{provider}/video/5000", max_bytes=10_000)
    assert got.path.read_bytes() == fake_video(5000) and got.kind == ISO_MEDIA


async def test_a_link_to_another_address_on_this_machine_is_refused(
    downloader: VideoDownloader, elsewhere: str, other_hits: list[str], tmp_path: Path
) -> None:
    with pytest.raises(ResultRefused, match=r"127\.0\.0\.1 is not a public address"):
        await downloader.fetch(f"{elsewhere}/video/5000", max_bytes=10_000)
    assert other_hits == [] and temp_files(tmp_path) == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_to_another_address_is_refused_before_connecting(
    downloader: VideoDownloader,
    provider: str,
    elsewhere: str,
    other_hits: list[str],
    tmp_path: Path,
    status: int,
) -> None:
    with pytest.raises(ResultRefused, match="not a public address"):
        await downloader.fetch(redirect(provider, f"{elsewhere}/video/5000", status), 10_000)
    assert other_hits == [] and temp_files(tmp_path) == []


async def test_a_redirect_by_name_to_this_machine_is_refused_where_it_connects(
    downloader: VideoDownloader, provider: str, elsewhere: str, other_hits: list[str]
) -> None:
    by_name = elsewhere.replace("127.0.0.1", "localhost")
    with pytest.raises(ResultRefused, match=r"localhost leads to .*not a public address"):
        await downloader.fetch(redirect(provider, f"{by_name}/video/5000"), 10_000)
    assert other_hits == []


async def test_redirects_within_the_allowed_are_followed_up_to_three(
    downloader: VideoDownloader, provider: str, provider_hits: list[str]
) -> None:
    url = f"{provider}/video/5000"
    for _ in range(MAX_REDIRECTS):
        url = redirect(provider, url)
    got = await downloader.fetch(url, 10_000)
    assert got.size == 5000 and len(provider_hits) == MAX_REDIRECTS + 1
    provider_hits.clear()
    with pytest.raises(ResultRefused, match="redirected more than 3 times"):
        await downloader.fetch(redirect(provider, url), 10_000)
    assert len(provider_hits) == MAX_REDIRECTS + 1  # the fifth address was never asked


async def test_a_relative_redirect_stays_where_it_was(
    downloader: VideoDownloader, provider: str
) -> None:
    got = await downloader.fetch(redirect(provider, "/video/3000"), 10_000)
    assert got.size == 3000


@pytest.mark.parametrize(
    "link", ["file:///etc/passwd", "ftp://127.0.0.2/video.mp4", "gopher://127.0.0.2/"]
)
async def test_only_http_links_are_followed(
    downloader: VideoDownloader, provider: str, link: str
) -> None:
    with pytest.raises(ResultRefused, match="not an http"):
        await downloader.fetch(link, 10_000)
    with pytest.raises(ResultRefused, match="not an http"):
        await downloader.fetch(redirect(provider, link), 10_000)


async def test_an_html_page_said_to_be_a_video_is_refused(
    downloader: VideoDownloader, provider: str, tmp_path: Path
) -> None:
    with pytest.raises(ResultRefused, match="not a video"):
        await downloader.fetch(f"{provider}/page", 1_000_000)
    assert temp_files(tmp_path) == []


async def test_the_size_limit_holds_while_streaming(
    downloader: VideoDownloader, provider: str, tmp_path: Path
) -> None:
    with pytest.raises(TooLargeToUpload):
        await downloader.fetch(f"{provider}/chunked/300000", 100_000)
    assert temp_files(tmp_path) == []
    got = await downloader.fetch(f"{provider}/chunked/300000", 300_000)
    assert got.size == 300_000


async def test_a_gone_link_is_permanent_and_refusals_are_not(
    downloader: VideoDownloader, provider: str
) -> None:
    with pytest.raises(DownloadFailed) as gone:
        await downloader.fetch(f"{provider}/gone", 10_000)
    assert gone.value.permanent and not isinstance(gone.value, ResultRefused)
    with pytest.raises(ResultRefused) as refused:
        await downloader.fetch(f"{provider}/page", 1_000_000)
    assert not refused.value.permanent  # retried like a network error


async def test_a_provider_on_the_internet_exempts_nothing(tmp_path: Path, provider: str) -> None:
    async with VideoDownloader(tmp_path / "tmp", 5, Destinations("https://rivya.ai")) as loader:
        with pytest.raises(ResultRefused, match="not a public address"):
            await loader.fetch(f"{provider}/video/5000", 10_000)


class FakeResolver(AbstractResolver):
    """A resolver answering from a table, as a DNS server would."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.table:
            raise OSError(f"unknown host {host}")
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.table[host]
        ]

    async def close(self) -> None:
        return None


TABLE = {
    "sim.internal": ["10.0.0.5"],
    "cdn.example": ["151.101.1.1"],
    "rebind.example": ["127.0.0.1", "10.0.0.5"],
    "mixed.example": ["10.0.0.6", "151.101.1.2"],
}


async def test_a_provider_named_on_a_private_network_exempts_its_own_addresses_only() -> None:
    resolver = GuardedResolver(Destinations("http://sim.internal:8080"), FakeResolver(TABLE))
    assert [r["host"] for r in await resolver.resolve("sim.internal", 80)] == ["10.0.0.5"]
    assert [r["host"] for r in await resolver.resolve("cdn.example", 443)] == ["151.101.1.1"]
    # Another name may lead to the provider's address, never to another private one.
    assert [r["host"] for r in await resolver.resolve("rebind.example", 80)] == ["10.0.0.5"]


async def test_only_the_allowed_addresses_of_a_name_are_connected_to() -> None:
    resolver = GuardedResolver(Destinations("https://rivya.ai"), FakeResolver(TABLE))
    assert [r["host"] for r in await resolver.resolve("mixed.example", 443)] == ["151.101.1.2"]
    with pytest.raises(RefusedAddress, match=r"rebind\.example leads to 10\.0\.0\.5, 127\.0\.0\.1"):
        await resolver.resolve("rebind.example", 80)
