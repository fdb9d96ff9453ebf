"""Iterating: Edit & re-run (a form on a finished video), Make a video (a message's Apps menu,
with that message's picture as the reference), /help, and the times on status messages.
Each scenario drives the real bot through the fake Discord and checks what members see and
what the database holds."""

from __future__ import annotations

import json

from tests.e2e.conftest import (
    Stack,
    command_reply,
    create_params,
    finished_job,
    job_id_from,
    job_ids_of,
    job_row,
    ledger_of,
    public_bot_posts,
    rerun_status,
    user_id,
)
from tests.support.fake_discord import InteractionHandle, MessageRecord
from tests.support.images import PNG

MAKE_A_VIDEO = "Make a video"


def remix_id(job_id: int) -> str:
    return f"sora:remix:{job_id}"


def form_boxes(handle: InteractionHandle) -> dict[str, dict[str, object]]:
    """The text boxes of the form the bot answered with, by custom_id."""
    assert handle.response_type == 9 and handle.modal is not None, handle.callbacks
    boxes = [c for row in handle.modal["components"] for c in row["components"]]
    return {box["custom_id"]: box for box in boxes}


async def open_form(
    stack: Stack, message: MessageRecord, job_id: int, user: str
) -> InteractionHandle:
    click = await stack.discord.click(message, remix_id(job_id), user=user)
    await click.wait_ack(timeout=10)
    return click


async def submit(stack: Stack, opened: InteractionHandle, **values: str) -> str:
    """Send the form back and return the bot's private answer."""
    sent = await stack.discord.submit_modal(opened, values)
    await sent.wait_original(timeout=20)
    assert sent.ephemeral, "a form was answered publicly"
    return sent.original_contents[-1]


# -- Edit & re-run ----------------------------------------------------------------------------


async def test_edit_and_rerun_starts_the_edited_video_for_the_member(stack: Stack) -> None:
    source_id, result = await finished_job(
        stack, "alice", orientation="portrait", duration=15, quality="high", remove_watermark=True
    )
    assert remix_id(source_id) in result.custom_ids()
    button = result.find_component(remix_id(source_id))
    assert button is not None and button["label"] == "Edit & re-run"

    opened = await open_form(stack, result, source_id, "bob")
    assert opened.modal is not None and opened.modal["title"] == f"Edit & re-run job #{source_id}"
    boxes = form_boxes(opened)
    assert boxes["prompt"]["value"] == "a lighthouse in a storm"
    assert (boxes["orientation"]["value"], boxes["duration"]["value"]) == ("portrait", "15")
    assert boxes["prompt"]["max_length"] == 4000

    reply = await submit(
        stack,
        opened,
        prompt="a lighthouse in a storm, at dawn",
        orientation="Landscape",
        duration="10 s",
    )
    job_id, status = await rerun_status(stack, result)
    assert reply.startswith(f"Your edited re-run is accepted as job #{job_id}: ")
    assert f"/{status.channel_id}/{status.id}" in reply
    row = job_row(stack, job_id)
    assert row["user_id"] == user_id(stack, "bob") and row["parent"] == source_id
    assert row["prompt"] == "a lighthouse in a storm, at dawn" and row["reply_to"] == result.id
    options = json.loads(str(row["options"]))
    assert (options["orientation"], options["duration"], options["quality"]) == (
        "landscape",
        10,
        "high",
    )
    assert options["toggles"] == {"remove_watermark": True}

    await stack.wait_for(lambda: stack.result_of(job_id), "the edited re-run's video")
    await stack.wait_finished(job_id)
    edited = create_params(stack)[1]
    assert (edited["aspect_ratio"], edited["n_frames"], edited["size"]) == (
        "landscape",
        "10",
        "high",
    )
    assert stack.provider.created_tasks[1].prompt == "a lighthouse in a storm, at dawn"
    assert ledger_of(stack, "bob") == [(job_id, "hold"), (job_id, "charge")]
    assert ledger_of(stack, "alice") == [(source_id, "hold"), (source_id, "charge")]
    stack.assert_clean_log()


async def test_the_form_speaks_the_members_language_and_bad_values_cost_nothing(
    stack: Stack,
) -> None:
    source_id, result = await finished_job(stack, "alice", orientation="portrait")
    stack.discord.user("bob").locale = "zh-TW"
    opened = await open_form(stack, result, source_id, "bob")
    assert (
        opened.modal is not None and opened.modal["title"] == f"編輯並重新產生：任務 #{source_id}"
    )
    boxes = form_boxes(opened)
    assert boxes["orientation"]["value"] == "直式" and boxes["orientation"]["label"] == "畫面方向"

    reply = await submit(stack, opened, orientation="方形")
    assert reply == "我看不懂「方形」是哪種畫面方向，請填寫橫式或直式。沒有扣除任何額度。"
    again = await open_form(stack, result, source_id, "bob")
    reply = await submit(stack, again, duration="12")
    assert "Sora 2 Pro 只能製作 10 或 15 秒的影片" in reply
    assert job_ids_of(stack, "bob") == [] and ledger_of(stack, "bob") == []

    # Written in Chinese, the words are understood: the job starts.
    third = await open_form(stack, result, source_id, "bob")
    reply = await submit(stack, third, orientation="橫式", duration="10 秒")
    (job_id,) = job_ids_of(stack, "bob")
    assert f"#{job_id}" in reply and reply.startswith("已受理你編輯後的重新產生")
    assert json.loads(str(job_row(stack, job_id)["options"]))["orientation"] == "landscape"
    await stack.wait_finished(job_id)
    stack.assert_clean_log()


async def test_edit_and_rerun_works_across_a_restart(stack: Stack) -> None:
    source_id, result = await finished_job(stack, "alice")
    opened = await open_form(stack, result, source_id, "carol")  # the form is open...
    assert stack.bot is not None
    await stack.bot.kill()
    await stack.start_bot()  # ...while the bot restarts: nothing of it is kept in memory

    reply = await submit(stack, opened, prompt="a lighthouse in fog")
    (job_id,) = job_ids_of(stack, "carol")
    assert f"job #{job_id}" in reply
    await stack.wait_finished(job_id)
    # The button still opens a form after the restart.
    later = await open_form(stack, result, source_id, "bob")
    assert form_boxes(later)["prompt"]["value"] == "a lighthouse in a storm"
    stack.assert_clean_log()


async def test_a_prompt_too_long_for_a_form_is_offered_the_plain_rerun(stack: Stack) -> None:
    long_prompt = "a slow pan over a lantern festival, " * 125  # 4,500 characters
    source_id, result = await finished_job(stack, "alice", prompt=long_prompt.strip())
    click = await stack.discord.click(result, remix_id(source_id), user="bob")
    offer = await click.wait_original(timeout=10)
    assert click.response_type == 4 and click.ephemeral and click.modal is None
    assert offer.content.startswith(
        "This prompt is 4,499 characters long, and an edit box holds at most 4,000, so it "
        "can't be edited here."
    )
    assert offer.custom_ids() == [f"sora:rerun:{source_id}"]

    rerun = await stack.discord.click(offer, f"sora:rerun:{source_id}", user="bob")
    await rerun.wait_original(timeout=10)
    assert "Re-run accepted" in rerun.original_contents[-1]
    (job_id,) = job_ids_of(stack, "bob")
    assert job_row(stack, job_id)["prompt"] == long_prompt.strip()
    await stack.wait_finished(job_id)
    stack.assert_clean_log()


# -- Make a video (Apps menu on a message with a picture) -------------------------------------


async def test_make_a_video_from_a_posted_picture(stack: Stack) -> None:
    command = stack.discord.commands.find(MAKE_A_VIDEO, stack.discord.guild_id, 3)
    assert command is not None and command.payload["dm_permission"] is False
    # His own picture: another member's is used only where the moderators allow it.
    picture = await stack.discord.user_message(
        "bob", "general", "my cat", attachments=[("cat.png", PNG, "image/png")]
    )
    menu = await stack.discord.invoke_message_command(MAKE_A_VIDEO, picture, user="bob")
    await menu.wait_ack(timeout=10)
    boxes = form_boxes(menu)
    assert menu.modal is not None and menu.modal["title"] == "Make a video from this image"
    assert menu.modal["custom_id"] == f"sora:animate-form:{picture.id}:{picture.attachments[0].id}"
    assert "value" not in boxes["prompt"] and boxes["duration"]["value"] == "10"
    assert public_bot_posts(stack) == []  # nothing public yet

    reply = await submit(stack, menu, prompt="the cat yawns and stretches", orientation="landscape")
    job_id = job_id_from(reply)
    assert reply.startswith(f"Job #{job_id} accepted")
    status = stack.status_message(job_id)
    assert status is not None and status.reply_to == picture.id
    assert "with reference image" in status.content
    row = job_row(stack, job_id)
    assert row["user_id"] == user_id(stack, "bob") and row["image_path"]
    assert row["parent"] is None and row["reply_to"] == picture.id

    await stack.wait_finished(job_id)
    assert stack.provider.uploads[0].data == PNG
    assert stack.provider.created_tasks[0].prompt == "the cat yawns and stretches"
    assert ledger_of(stack, "bob") == [(job_id, "hold"), (job_id, "charge")]
    stack.assert_clean_log()


async def test_make_a_video_refuses_privately_before_anything_public(stack: Stack) -> None:
    plain = await stack.discord.user_message("alice", "general", "no picture here")
    notes = await stack.discord.user_message(
        "alice", "general", "notes", attachments=[("notes.txt", b"hello", "text/plain")]
    )
    gif = await stack.discord.user_message(
        "alice", "general", "a gif", attachments=[("dance.gif", b"GIF89a....", "image/gif")]
    )
    huge = await stack.discord.user_message(
        "alice",
        "general",
        "huge",
        attachments=[("huge.png", PNG + b"\0" * (11 * 1024 * 1024), "image/png")],
    )
    stack.discord.user("carol").locale = "zh-CN"
    expected = {
        ("bob", plain.id): "That message has no picture I can use.",
        ("bob", notes.id): "That message has no picture I can use.",
        ("bob", gif.id): "The picture in that message is not a JPEG, PNG or WebP image",
        ("bob", huge.id): "the limit is 10 MB",
        ("carol", plain.id): "这条消息里没有我能用的图片。",
    }
    for (user, message_id), words in expected.items():
        menu = await stack.discord.invoke_message_command(MAKE_A_VIDEO, message_id, user=user)
        answer = await menu.wait_original(timeout=10)
        assert menu.ephemeral and menu.modal is None
        assert words in answer.content, answer.content

    # A file that only claims to be a picture is refused once its bytes are read.
    fake = await stack.discord.user_message(
        "bob", "general", "fake", attachments=[("cat.png", b"not a picture at all", "image/png")]
    )
    menu = await stack.discord.invoke_message_command(MAKE_A_VIDEO, fake, user="bob")
    await menu.wait_ack(timeout=10)
    reply = await submit(stack, menu, prompt="the cat waves")
    assert "not a JPEG, PNG or WebP image" in reply

    assert public_bot_posts(stack) == []
    assert job_ids_of(stack, "bob") == [] and ledger_of(stack, "bob") == []
    stack.assert_clean_log()


async def test_make_a_video_when_the_picture_is_gone(stack: Stack) -> None:
    picture = await stack.discord.user_message(
        "bob", "general", "my cat", attachments=[("cat.png", PNG, "image/png")]
    )
    menu = await stack.discord.invoke_message_command(MAKE_A_VIDEO, picture, user="bob")
    await menu.wait_ack(timeout=10)
    # Discord fails to give the message back: the member is told to try again.
    stack.discord.fail("GET /channels/{channel_id}/messages/{message_id}", status=400, code=0)
    reply = await submit(stack, menu, prompt="the cat waves")
    assert reply.startswith("I could not read that message from Discord just now")
    stack.discord.store.delete(picture)  # deleted while the form was open
    reply = await submit(stack, menu, prompt="the cat waves")
    assert reply.startswith("That message or its picture is no longer there")
    assert public_bot_posts(stack) == [] and job_ids_of(stack, "bob") == []
    stack.assert_clean_log()


# -- /help and status times -------------------------------------------------------------------


async def test_help_is_private_and_shows_the_members_quota_and_the_rules(stack: Stack) -> None:
    await finished_job(stack, "alice")
    text = await command_reply(stack, "help", "alice")
    assert "`/sora`" in text and "Apps → Make a video" in text
    assert f"**Video quota for <@{user_id(stack, 'alice')}>**" in text
    assert "Used today: 1 · Left: **2**" in text
    assert "Allowances start again every day, at midnight." in text
    assert "not allowed in prompts" not in text and "**Moderators**" not in text

    added = await command_reply(stack, "quota blocklist add", "admin", text="splatter")
    assert "splatter" in added
    stack.discord.user("bob").locale = "zh-TW"
    text = await command_reply(stack, "help", "bob")
    assert "**你的額度**" in text and "本伺服器不允許提示詞中出現某些字詞" in text
    assert "splatter" not in text
    moderator = await command_reply(stack, "help", "admin")
    assert "**Moderators**" in moderator
    stack.assert_clean_log()


async def test_the_status_message_shows_when_the_job_started(stack: Stack) -> None:
    job_id, _ = await finished_job(stack, "alice")
    ((created_at,),) = stack.query("SELECT created_at FROM jobs WHERE id = ?", (job_id,))
    status = stack.status_message(job_id)
    assert status is not None
    started = int(created_at)
    assert f"-# Started <t:{started}:R> (<t:{started}:f>)" in status.versions[0].content
    assert f"<t:{started}:R>" in status.content
