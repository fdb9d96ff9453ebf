"""The demo bot, run as a subprocess through the harness, against one shared simulator."""

from __future__ import annotations

import os

import aiohttp
import pytest

from tests.support.fake_discord import InvocationError, MessageRecord
from tests.support.fake_discord import permissions as perms

from .conftest import Shared

pytestmark = pytest.mark.asyncio(loop_scope="module")


def last_bot_message(shared: Shared, startswith: str) -> MessageRecord | None:
    found = [m for m in shared.sim.bot_messages("general") if m.content.startswith(startswith)]
    return found[-1] if found else None


async def test_login_ready_guild_and_sync(shared: Shared) -> None:
    sim = shared.sim
    assert sim.requests_to("GET /users/@me")
    assert sim.requests_to("GET /oauth2/applications/@me")
    sync = sim.requests_to("PUT /applications/{app}/guilds/{guild}/commands")
    assert len(sync) == 1 and sync[0].headers["Authorization"] == f"Bot {sim.token}"

    session = sim.gateway.live_sessions[0]
    assert session.events[:2] == ["READY", "GUILD_CREATE"]
    assert sim.gateway.heartbeats >= 1

    names = {c.name for c in sim.commands.all()}
    assert {"ping", "options", "echo", "nonce", "quota", "settings", "button"} <= names
    assert sim.command("options").choices("style") == [("Fast", "fast"), ("Slow", "slow")]
    assert sim.command("quota").default_member_permissions == perms.MANAGE_GUILD
    assert sim.command("quota").options(["grant"])["amount"]["type"] == 4

    # on_ready only fires once discord.py has processed GUILD_CREATE.
    await shared.bot.wait_for_log("demo bot ready", timeout=5)
    assert not sim.unknown_requests


async def test_deferred_ping_edits_original_then_follows_up(shared: Shared) -> None:
    sim = shared.sim
    handle = await sim.invoke("ping", user="alice")
    await handle.wait_followups(1)

    assert handle.response_type == 5 and handle.deferred and not handle.ephemeral
    assert handle.ack_latency is not None and handle.ack_latency < sim.settings.ack_window
    assert handle.original is not None and handle.original.versions[0].flags & 128  # thinking
    assert handle.original_contents == ["pong"]
    assert handle.followup_contents == ["second"]
    assert handle.original in sim.bot_messages("general")
    assert handle.original.webhook_id == sim.application_id

    # A second acknowledgement is refused as Discord does.
    url = f"{sim.rest_base}/interactions/{handle.id}/{handle.token}/callback"
    async with aiohttp.ClientSession() as http, http.post(url, json={"type": 6}) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == 40060
    assert handle.refused_callbacks[-1].error == "40060 Interaction has already been acknowledged."


async def test_first_followup_fills_an_ephemeral_defer(shared: Shared) -> None:
    sim = shared.sim
    handle = await sim.invoke("think", user="bob")
    followups = await handle.wait_followups(1)

    assert followups[0] is handle.original
    assert handle.ephemeral and handle.original_contents == ["thought about it"]
    assert handle.original not in sim.messages("general")
    assert handle.original in sim.messages("general", include_ephemeral=True)


async def test_every_option_type_arrives(shared: Shared) -> None:
    sim = shared.sim
    options = {
        "text": "a cat surfing",
        "count": 3,
        "flag": True,
        "who": "dana",
        "role": "Moderator",
        "style": "slow",
        "where": "videos",
    }
    handle = await sim.invoke("options", user="carol", channel="videos", options=options)
    reply = await handle.wait_original()

    dana, moderator = sim.user("dana"), sim.role("Moderator")
    limit = sim.settings.reported_limit_in(sim.channel("videos").id, sim.guild_id)
    expected = (
        f"text=a cat surfing count=3 flag=True who={dana.id}:Member "
        f"role={moderator.id}:Moderator style=slow where={sim.channel('videos').id} "
        f"locale=en-US limit={limit} "
        f"perms={sim.world.member_permissions(sim.user('carol').id)} "
        f"app={sim.world.member_permissions(sim.bot_user.id)}"
    )
    assert reply.content == expected
    assert handle.ephemeral and reply.channel_id == sim.channel("videos").id
    resolved = handle.payload["data"]["resolved"]
    assert set(resolved) == {"users", "members", "roles", "channels"}
    assert resolved["members"][str(dana.id)]["premium_since"] is not None  # the booster


async def test_client_side_rules_are_enforced(shared: Shared) -> None:
    sim = shared.sim
    before = len(sim.interactions)
    base = {"text": "x", "count": 1, "flag": False, "who": "bob", "role": "Booster"}
    with pytest.raises(InvocationError, match="not a choice"):
        await sim.invoke("options", user="alice", options=base | {"style": "medium"})
    with pytest.raises(InvocationError, match="within"):
        await sim.invoke("options", user="alice", options=base | {"style": "fast", "count": 11})
    with pytest.raises(InvocationError, match="missing"):
        await sim.invoke("options", user="alice", options={"text": "x"})
    with pytest.raises(InvocationError, match="unknown options"):
        await sim.invoke("ping", user="alice", options={"loud": True})
    with pytest.raises(InvocationError, match="hidden"):
        await sim.invoke("quota grant", user="alice", options={"member": "bob", "amount": 1})
    assert len(sim.interactions) == before


async def test_subcommands_groups_and_granted_permissions(shared: Shared) -> None:
    sim = shared.sim
    alice = sim.user("alice")
    granted = await sim.invoke("quota grant", user="admin", options={"member": alice, "amount": 5})
    assert (await granted.wait_original()).content == f"granted 5 to {alice.id}"

    # An admin re-granted the command to everyone in Server Settings -> Integrations.
    regranted = await sim.invoke(
        "quota grant",
        user="bob",
        options={"member": alice.id, "amount": 2},
        ignore_default_permissions=True,
    )
    assert (await regranted.wait_original()).content == f"granted 2 to {alice.id}"

    nested = await sim.invoke("settings limits set", user="bob", options={"value": 7})
    assert (await nested.wait_original()).content == "limit=7"
    group = nested.payload["data"]["options"][0]
    assert group["type"] == 2 and group["options"][0]["type"] == 1


async def test_attachment_round_trip_as_multipart(shared: Shared) -> None:
    sim = shared.sim
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(4096)
    handle = await sim.invoke(
        "echo", user="alice", options={"caption": "look"}, attachments=[("cat.png", png)]
    )
    followups = await handle.wait_followups(1)
    assert followups[0].content == f"echoed cat.png {len(png)} bytes"

    uploaded = handle.user_attachments[0]
    resolved = handle.payload["data"]["resolved"]["attachments"][str(uploaded.id)]
    assert resolved["size"] == len(png) and resolved["content_type"] == "image/png"
    assert any(str(uploaded.id) in path for path in sim.cdn_requests)

    posted = last_bot_message(shared, "look")
    assert posted is not None and len(posted.attachments) == 1
    attachment = posted.attachments[0]
    assert (attachment.filename, attachment.content_type, attachment.data) == (
        "cat.png",
        "image/png",
        png,
    )
    request = sim.requests_to("POST /channels/{channel_id}/messages")[-1]
    assert request.multipart and request.files[0].data == png
    assert request.json["attachments"] == [{"id": 0, "filename": "cat.png"}]


async def test_upload_above_the_limit_gets_413(shared: Shared) -> None:
    sim = shared.sim
    sim.settings.upload_limit = 4096
    try:
        handle = await sim.invoke("echo", user="bob", attachments=[("big.mp4", b"\0" * 8192)])
        followups = await handle.wait_followups(1)
    finally:
        sim.settings.upload_limit = 10 * 1024 * 1024
    assert followups[0].content == "upload failed: 413 40005"
    assert (sim.errors[-1].status, sim.errors[-1].code) == (413, 40005)


async def test_a_boosted_guilds_limit_is_reported_and_enforced_per_place(shared: Shared) -> None:
    sim = shared.sim
    options = {
        "text": "t",
        "count": 1,
        "flag": False,
        "who": sim.user("dana").id,
        "role": sim.role("Moderator").id,
        "style": "fast",
    }
    sim.settings.upload_limits[sim.guild_id] = 50 * 1024 * 1024
    sim.settings.upload_limits[sim.channel("general").id] = 4096  # a channel held lower
    try:
        asked = await sim.invoke("options", user="bob", channel="videos", options=options)
        assert f"limit={50 * 1024 * 1024} " in (await asked.wait_original()).content
        small = await sim.invoke("options", user="bob", channel="general", options=options)
        assert "limit=4096 " in (await small.wait_original()).content
        big = [("big.mp4", b"\0" * 8192)]
        refused = await sim.invoke("echo", user="bob", channel="general", attachments=big)
        assert (await refused.wait_followups(1))[0].content == "upload failed: 413 40005"
        taken = await sim.invoke("echo", user="bob", channel="videos", attachments=big)
        assert (await taken.wait_followups(1))[0].content == "echoed big.mp4 8192 bytes"
        sim.settings.attachment_size_limit = 123  # Discord reporting a wrong limit
        wrong = await sim.invoke("options", user="bob", channel="videos", options=options)
        assert "limit=123 " in (await wrong.wait_original()).content
    finally:
        sim.settings.upload_limits.clear()
        sim.settings.attachment_size_limit = None


async def test_nonce_deduplicates_and_every_edit_is_kept(shared: Shared) -> None:
    sim = shared.sim
    handle = await sim.invoke("nonce", user="alice")
    followups = await handle.wait_followups(1)
    _, first_id, again_id = followups[0].content.split()
    assert first_id == again_id

    message = sim.message(int(first_id))
    assert message.contents == ["job started", "job finished"]
    assert message.nonce == f"job{handle.id}" and message.nonce_replays == 1
    sends = sim.requests_to("POST /channels/{channel_id}/messages")[-2:]
    assert all(r.json["enforce_nonce"] is True for r in sends)
    assert "MESSAGE_UPDATE" in sim.gateway.live_sessions[0].events


async def test_late_ack_is_refused(shared: Shared) -> None:
    sim = shared.sim  # this module's simulator allows 1 s to acknowledge
    handle = await sim.invoke("slow", user="bob", options={"delay": 1.3})
    notice = await sim.wait_for(lambda: last_bot_message(shared, "late ack refused"), timeout=5)

    assert notice.content == "late ack refused: 10062"
    assert not handle.acknowledged
    refused = handle.refused_callbacks[0]
    assert refused.error == "10062 Unknown interaction" and refused.latency > 1.0


async def test_webhook_token_expires(shared: Shared) -> None:
    sim = shared.sim
    sim.settings.token_lifetime = 0.5
    try:
        handle = await sim.invoke("later", user="alice", options={"delay": 0.8})
    finally:
        sim.settings.token_lifetime = 900.0
    notice = await sim.wait_for(lambda: last_bot_message(shared, "done via channel"), timeout=5)

    assert notice.content == "done via channel after 401 50027"
    assert handle.original_contents == ["working"] and handle.followups == []
    assert handle.token_expired
    assert any(e.code == 50027 for e in sim.errors)


async def test_dms_open_and_closed(shared: Shared) -> None:
    sim = shared.sim
    sent = await sim.invoke("dm", user="alice", options={"who": "bob"})
    assert (await sent.wait_original()).content == "dm sent"
    assert [m.content for m in sim.messages(sim.dm_channel("bob"))] == ["hello from the demo bot"]

    sim.set_dms_open("carol", False)
    refused = await sim.invoke("dm", user="alice", options={"who": "carol"})
    assert (await refused.wait_original()).content == "dm failed: 50007"
    assert sim.messages(sim.dm_channel("carol")) == []


async def test_persistent_button_click_updates_the_message(shared: Shared) -> None:
    sim = shared.sim
    posted = await (await sim.invoke("button", user="alice", options={"job": 7})).wait_original()
    assert posted.custom_ids() == ["demo:retry:7"]

    click = await sim.click(posted, "demo:retry:7", user="bob")
    await click.wait_ack()
    assert click.response_type == 7
    assert posted.contents == ["job 7 failed", "retrying job 7"] and posted.components == []
    with pytest.raises(InvocationError):
        await sim.click(posted, "demo:retry:7", user="bob")  # the button is gone


async def test_reaction_on_a_message_the_bot_never_saw(shared: Shared) -> None:
    sim = shared.sim
    carol = sim.user("carol")
    seeded = await sim.user_message(carol, "general", "make me a cat video", dispatch=False)
    await sim.react(carol, "general", seeded, "🔁")

    reply = await sim.wait_for(
        lambda: next((m for m in sim.bot_messages("general") if m.reply_to == seeded.id), None)
    )
    assert reply.content == f"retry requested by <@{carol.id}>"
    assert not reply.mentions.pinged_anyone  # AllowedMentions.none()
    assert seeded.reacted("🔁") == [carol.id]


async def test_injected_429s_are_survived(shared: Shared) -> None:
    sim = shared.sim
    on_send = sim.rate_limit("POST /channels/{channel_id}/messages", retry_after=0.3)
    on_ack = sim.rate_limit("POST /interactions/{id}/{token}/callback", retry_after=0.2)
    handle = await sim.invoke("echo", user="dana", attachments=[("a.txt", b"hello")])
    followups = await handle.wait_followups(1, timeout=5)

    assert followups[0].content == "echoed a.txt 5 bytes"
    assert len(on_send.hits) == 1 and len(on_ack.hits) == 1
    assert handle.acknowledged and handle.ack_latency is not None and handle.ack_latency >= 0.2
    retried = [r for r in sim.requests_to("POST /channels/{channel_id}/messages") if r.files]
    assert [r.status for r in retried[-2:]] == [429, 200]
    assert retried[-2].files[0].data == retried[-1].files[0].data == b"hello"


async def test_autocomplete_gets_choices(shared: Shared) -> None:
    sim = shared.sim
    handle = await sim.autocomplete("pick", user="alice", focused="fruit", options={"fruit": "ap"})
    await handle.wait_ack()
    assert handle.response_type == 8
    assert handle.choices == [
        {"name": "apple", "value": "apple"},
        {"name": "apricot", "value": "apricot"},
    ]


async def test_commands_run_in_a_thread(shared: Shared) -> None:
    sim = shared.sim
    thread = sim.channel("sora-thread")
    handle = await sim.invoke("ping", user="alice", channel=thread)
    await handle.wait_followups(1)
    assert handle.original is not None and handle.original.channel_id == thread.id
    assert [m.content for m in sim.bot_messages(thread)] == ["pong", "second"]


async def test_webhook_message_routes(shared: Shared) -> None:
    sim = shared.sim
    handle = await sim.invoke("ping", user="bob")
    (followup,) = [m for m in await handle.wait_followups(1) if m is not handle.original]
    base = f"{sim.rest_base}/webhooks/{sim.application_id}/{handle.token}/messages"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/@original") as resp:
            assert resp.status == 200 and (await resp.json())["content"] == "pong"
        async with http.patch(f"{base}/{followup.id}", json={"content": "2nd"}) as resp:
            assert resp.status == 200
        async with http.delete(f"{base}/{followup.id}") as resp:
            assert resp.status == 204
        async with http.get(f"{base}/{followup.id}") as resp:
            assert resp.status == 404 and (await resp.json())["code"] == 10008
        async with http.get(
            f"{sim.rest_base}/webhooks/{sim.application_id}/nope/messages/1"
        ) as resp:
            assert resp.status == 404 and (await resp.json())["code"] == 10015
    assert followup.contents == ["second", "2nd"] and followup.deleted
    assert "MESSAGE_DELETE" in sim.gateway.live_sessions[0].events


async def test_a_form_is_shown_filled_in_and_submitted(shared: Shared) -> None:
    sim = shared.sim
    opened = await sim.invoke("form", user="carol")
    await opened.wait_ack()
    assert opened.response_type == 9 and opened.modal is not None
    assert opened.modal["custom_id"] == "demo:note" and opened.modal["title"] == "Write a note"

    with pytest.raises(InvocationError, match="no text box"):
        await sim.submit_modal(opened, {"nope": "x"})
    with pytest.raises(InvocationError, match="at most 20"):
        await sim.submit_modal(opened, {"topic": "x" * 21})
    with pytest.raises(InvocationError, match="required"):
        await sim.submit_modal(opened, {"topic": ""})

    # A box left alone keeps its prefilled value; an optional one may stay empty.
    sent = await sim.submit_modal(opened)
    answer = await sent.wait_original()
    assert sent.type == 5 and sent.payload["data"]["custom_id"] == "demo:note"
    rows = sent.payload["data"]["components"]
    assert rows[0] == {
        "type": 1,
        "components": [{"type": 4, "custom_id": "topic", "value": "cats"}],
    }
    assert sent.ephemeral and answer.content == "note topic=cats body='' from=None"

    # discord.py forgets a form once it was submitted: open it again.
    again = await sim.invoke("form", user="carol")
    await again.wait_ack()
    typed = await sim.submit_modal(again, {"topic": "dogs", "body": "two\nlines"})
    assert (await typed.wait_original()).content == "note topic=dogs body='two\\nlines' from=None"

    # A form's submission cannot be answered with another form. (The bot ignores this one:
    # discord.py forgot the first form once it was submitted.)
    stale = await sim.submit_modal(opened, {"topic": "late"})
    url = f"{sim.rest_base}/interactions/{stale.id}/{stale.token}/callback"
    async with aiohttp.ClientSession() as http:
        modal = {"type": 9, "data": {"custom_id": "x", "title": "t", "components": []}}
        async with http.post(url, json=modal) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == 50035
        async with http.post(url, json={"type": 4, "data": {"content": "ok"}}) as resp:
            assert resp.status == 204
    assert stale.response_type == 4


async def test_a_form_discord_would_refuse_is_refused(shared: Shared) -> None:
    sim = shared.sim
    opened = await sim.invoke("form", user="carol", options={"title": "t" * 46})
    refusal = await sim.wait_for(
        lambda: last_bot_message(shared, "form refused"), what="the bot's report"
    )
    assert refusal.content == "form refused: 400 50035"
    assert not opened.acknowledged and "50035" in (opened.refused_callbacks[-1].error or "")


async def test_a_message_command_gets_the_message_resolved(shared: Shared) -> None:
    sim = shared.sim
    command = sim.commands.find("Describe message", sim.guild_id, 3)
    assert command is not None and command.payload["description"] == ""
    posted = await sim.user_message(
        "alice", "general", "look", attachments=[("cat.png", b"\x89PNG\r\n\x1a\nxx")]
    )
    assert [(a.filename, a.content_type, a.size) for a in posted.attachments] == [
        ("cat.png", "image/png", 10)
    ]
    handle = await sim.invoke_message_command("Describe message", posted, user="bob")
    answer = await handle.wait_original()
    data = handle.payload["data"]
    assert handle.type == 2 and data["type"] == 3 and data["target_id"] == str(posted.id)
    assert data["resolved"]["messages"][str(posted.id)]["content"] == "look"
    alice = sim.user("alice").id
    assert answer.content == f"message {posted.id} by {alice}: 'look' files=[cat.png:image/png:10]"
    with pytest.raises(InvocationError, match="no message command"):
        await sim.invoke_message_command("Nope", posted, user="bob")


async def test_bot_logged_no_errors(shared: Shared) -> None:
    # Runs last: discord.py logs payloads it cannot parse and handler exceptions as errors.
    log = shared.bot.log_text()
    assert "Traceback" not in log and "ERROR" not in log, log
    assert not shared.sim.internal_errors and not shared.sim.unknown_requests
