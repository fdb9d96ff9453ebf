"""Wire-level behaviour of the simulator, checked with a plain HTTP client (no bot process)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.support.fake_discord import FakeDiscord, InvocationError


@pytest_asyncio.fixture
async def http(discord_sim: FakeDiscord) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bot {discord_sim.token}"}
    async with aiohttp.ClientSession(discord_sim.base_url, headers=headers) as session:
        yield session


async def call(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, str | None, Any]:
    async with http.request(method, "/api/v10" + path, **kwargs) as resp:
        body = await resp.read()
        return resp.status, resp.headers.get("Content-Type"), json.loads(body) if body else None


async def test_json_content_type_is_exact_and_204_has_no_body(
    discord_sim: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    status, content_type, me = await call(http, "GET", "/users/@me")
    assert (status, content_type) == (200, "application/json")
    assert me["id"] == str(discord_sim.bot_user.id) and me["bot"] is True

    general = discord_sim.channel("general").id
    _, _, message = await call(
        http, "POST", f"/channels/{general}/messages", json={"content": "hi"}
    )
    status, content_type, body = await call(
        http, "DELETE", f"/channels/{general}/messages/{message['id']}"
    )
    assert (status, content_type, body) == (204, None, None)


async def test_unknown_routes_and_bad_auth_are_recorded(
    discord_sim: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    status, content_type, body = await call(http, "GET", "/guilds/1/audit-logs/nope")
    assert (status, content_type) == (404, "application/json")
    assert body == {"message": "404: Not Found", "code": 0}
    assert [r.path for r in discord_sim.unknown_requests] == ["/guilds/1/audit-logs/nope"]

    async with aiohttp.ClientSession(discord_sim.base_url) as anonymous:
        status, _, body = await call(anonymous, "GET", "/users/@me")
    assert (status, body["code"]) == (401, 0)
    assert [e.status for e in discord_sim.errors] == [404, 401]


async def test_command_sync_validates_and_keeps_ids(
    discord_sim: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    path = f"/applications/{discord_sim.application_id}/guilds/{discord_sim.guild_id}/commands"
    option = {"name": "prompt", "description": "What to make", "type": 3}
    bad = [
        {
            "name": "sora",
            "description": "Make a video",
            "options": [option, option | {"name": "seconds", "type": 4, "required": True}],
        }
    ]
    status, _, body = await call(http, "PUT", path, json=bad)
    assert (status, body["code"]) == (400, 50035)
    assert "0" in body["errors"]

    good = [{"name": "sora", "description": "Make a video", "options": [option]}]
    _, _, first = await call(http, "PUT", path, json=good)
    _, _, second = await call(http, "PUT", path, json=good)
    assert first[0]["id"] == second[0]["id"] and first[0]["guild_id"] == str(discord_sim.guild_id)
    _, _, listed = await call(http, "GET", path)
    assert listed == second and discord_sim.command("sora").options()["prompt"]["type"] == 3


async def test_history_is_newest_first_for_every_anchor(
    discord_sim: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    channel = discord_sim.channel("videos").id
    ids = []
    for n in range(6):
        _, _, sent = await call(
            http, "POST", f"/channels/{channel}/messages", json={"content": f"m{n}"}
        )
        ids.append(sent["id"])

    async def page(**query: str) -> list[str]:
        _, _, data = await call(http, "GET", f"/channels/{channel}/messages", params=query)
        return [m["id"] for m in data]

    assert await page(limit="2") == [ids[5], ids[4]]
    assert await page(before=ids[3], limit="2") == [ids[2], ids[1]]
    assert await page(after=ids[1], limit="2") == [ids[3], ids[2]]
    assert await page(around=ids[3], limit="3") == [ids[4], ids[3], ids[2]]


async def test_mentions_follow_allowed_mentions(
    discord_sim: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    general = discord_sim.channel("general").id
    alice, moderator = discord_sim.user("alice"), discord_sim.role("Moderator")
    content = f"@everyone {alice.mention} {moderator.mention}"
    await call(http, "POST", f"/channels/{general}/messages", json={"content": content})
    limited = {"content": content, "allowed_mentions": {"parse": [], "users": [str(alice.id)]}}
    await call(http, "POST", f"/channels/{general}/messages", json=limited)

    everything, only_alice = discord_sim.bot_messages("general")
    assert everything.mentions.everyone and everything.mentions.role_ids == {moderator.id}
    assert not only_alice.mentions.everyone and only_alice.mentions.role_ids == set()
    assert only_alice.mentions.user_ids == {alice.id}


async def test_nonce_without_enforcement_does_not_deduplicate(
    discord_sim: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    general = discord_sim.channel("general").id
    for enforce in (False, False, True, True):
        payload = {"content": "x", "nonce": "n1", "enforce_nonce": enforce}
        await call(http, "POST", f"/channels/{general}/messages", json=payload)
    # The two unenforced sends both create; the first enforced send matches the latest of them.
    assert len(discord_sim.bot_messages("general")) == 2
    too_long = {"content": "x", "nonce": "n" * 26, "enforce_nonce": True}
    status, _, body = await call(http, "POST", f"/channels/{general}/messages", json=too_long)
    assert (status, body["code"]) == (400, 50035)


async def test_injected_rate_limit_looks_like_discord(
    discord_sim: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    rule = discord_sim.rate_limit("GET /guilds/{guild_id}", retry_after=1.5, times=2)
    async with http.get(f"/api/v10/guilds/{discord_sim.guild_id}") as resp:
        assert resp.status == 429 and resp.headers["Via"]
        assert resp.headers["X-RateLimit-Remaining"] == "0"
        assert float(resp.headers["X-RateLimit-Reset-After"]) == 1.5
        assert (await resp.json())["retry_after"] == 1.5
    assert rule.remaining == 1 and len(rule.hits) == 1
    discord_sim.fail("GET /guilds/{guild_id}", status=500, times=1)
    status, _, _ = await call(http, "GET", f"/guilds/{discord_sim.guild_id}")
    assert status == 429  # rules apply in the order they were added


async def test_invoke_needs_a_connected_bot_and_a_synced_command(
    discord_sim: FakeDiscord,
) -> None:
    with pytest.raises(InvocationError, match="not synced"):
        await discord_sim.invoke("sora", user="alice")
    discord_sim.commands.replace(
        discord_sim.guild_id, [{"name": "sora", "description": "Make a video"}]
    )
    with pytest.raises(RuntimeError, match="no bot is connected"):
        await discord_sim.invoke("sora", user="alice")
    with pytest.raises(TimeoutError, match="bot ready"):
        await discord_sim.wait_until_ready(timeout=0.2)


async def test_guild_member_role_channel_and_user_lookups(
    discord_sim: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    sim = discord_sim
    guild = f"/guilds/{sim.guild_id}"
    _, _, data = await call(http, "GET", guild, params={"with_counts": "true"})
    assert data["owner_id"] == str(sim.user("owner").id)
    assert data["approximate_member_count"] == len(sim.world.members)
    _, _, member = await call(http, "GET", f"{guild}/members/{sim.user('mod').id}")
    assert member["roles"] == [str(sim.role("Moderator").id)]
    _, _, roles = await call(http, "GET", f"{guild}/roles")
    assert {r["name"] for r in roles} >= {"@everyone", "Moderator", "Booster", "Admin"}
    _, _, channels = await call(http, "GET", f"{guild}/channels")
    assert [c["name"] for c in channels] == ["general", "videos"]
    _, _, thread = await call(http, "GET", f"/channels/{sim.channel('sora-thread').id}")
    assert thread["parent_id"] == str(sim.channel("general").id)
    _, _, user = await call(http, "GET", f"/users/{sim.user('alice').id}")
    assert user["username"] == "alice"

    assert (await call(http, "GET", f"{guild}/members/1"))[2]["code"] == 10007
    assert (await call(http, "GET", "/users/1"))[2]["code"] == 10013
    assert (await call(http, "GET", "/guilds/1"))[2]["code"] == 10004
    assert (await call(http, "GET", "/channels/1"))[2]["code"] == 10003

    alice_id = str(sim.user("alice").id)
    _, _, dm = await call(http, "POST", "/users/@me/channels", json={"recipient_id": alice_id})
    assert dm["type"] == 1 and dm["recipients"][0]["id"] == alice_id


async def test_a_channels_post_limit_sends_discords_headers_and_429s(
    discord_sim: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    discord_sim.settings.channel_posts_per_window = 2
    discord_sim.settings.channel_post_window = 30.0
    general, videos = discord_sim.channel("general").id, discord_sim.channel("videos").id
    remaining = []
    for _ in range(2):
        async with http.post(f"/api/v10/channels/{general}/messages", json={"content": "x"}) as r:
            assert r.status == 200 and r.headers["X-RateLimit-Limit"] == "2"
            remaining.append(r.headers["X-RateLimit-Remaining"])
    assert remaining == ["1", "0"]
    async with http.post(f"/api/v10/channels/{general}/messages", json={"content": "x"}) as r:
        body = await r.json()
        assert r.status == 429 and r.headers["Via"] and 29 < body["retry_after"] <= 30
    assert len(discord_sim.bot_messages("general")) == 2
    # Each channel has a bucket of its own.
    status, _, _ = await call(http, "POST", f"/channels/{videos}/messages", json={"content": "x"})
    assert status == 200
