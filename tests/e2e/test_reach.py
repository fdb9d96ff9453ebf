"""What one member can reach of another's, with the real bot process: the pictures and videos
they keep, where buttons on a repost act, and what the bot reads while refusing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    Stack,
    command_reply,
    finished_job,
    job_id_from,
    job_ids_of,
    public_bot_posts,
    sora_request,
    user_id,
)
from tests.e2e.test_iterate import MAKE_A_VIDEO, open_form, submit
from tests.e2e.test_results import delete_video, rerun_id, rerun_status
from tests.support.fake_discord import MessageRecord, World, default_world
from tests.support.images import PNG

NOT_YOUR_PICTURE = "Here you can use “Make a video” only on your own messages"
MEMBER_LOOKUP = "GET /guilds/{guild_id}/members/{user_id}"


def image_of(stack: Stack, job_id: int) -> Path:
    ((path,),) = stack.query("SELECT image_path FROM jobs WHERE id = ?", (job_id,))
    return stack.workdir / path if not Path(path).is_absolute() else Path(path)


async def test_deleting_a_video_deletes_its_picture_unless_a_re_run_still_needs_it(
    stack: Stack,
) -> None:
    picture = [("holiday.png", PNG, "image/png")]
    alone, alone_post = await finished_job(stack, "alice", attachments=picture)
    assert image_of(stack, alone).is_file()
    await delete_video(stack, alone_post, alone, "alice")
    assert not image_of(stack, alone).exists()

    original, original_post = await finished_job(stack, "alice", attachments=picture)
    press = await stack.discord.click(original_post, rerun_id(original), user="bob")
    await press.wait_original(timeout=20)
    rerun, _ = await rerun_status(stack, original_post)
    await stack.wait_finished(rerun)
    kept = image_of(stack, original)
    assert image_of(stack, rerun) == kept  # the re-run reuses the kept picture
    await delete_video(stack, original_post, original, "alice")
    assert kept.is_file()  # bob's re-run may be re-run in turn
    rerun_post = stack.result_of(rerun)
    assert rerun_post is not None
    await delete_video(stack, rerun_post, rerun, "bob")
    await asyncio.sleep(0)
    assert not kept.exists()
    stack.assert_clean_log()


async def test_delete_removes_only_the_job_s_own_posts_whatever_the_button_names(
    stack: Stack,
) -> None:
    job_id, post = await finished_job(stack, "alice")
    other_job, other_post = await finished_job(stack, "bob", prompt="a harbour at dawn")
    asked = await stack.discord.click(post, f"sora:delete:{job_id}", user="alice")
    await asked.wait_original()
    assert asked.original is not None
    # A modified client names bob's video as "the post whose Delete was pressed".
    forged = await stack.discord.click(
        asked.original, f"sora:delete-yes:{job_id}:{other_post.id}", user="alice", forged=True
    )
    await forged.wait_original(lambda m: m.content.startswith("Deleted the"))
    assert post.deleted
    assert not other_post.deleted
    assert stack.query("SELECT result_deleted_at IS NULL FROM jobs WHERE id = ?", (other_job,)) == [
        (1,)
    ]
    stack.assert_clean_log()


async def test_make_a_video_on_another_member_s_message_needs_the_server_s_leave(
    stack: Stack,
) -> None:
    picture = await stack.discord.user_message(
        "alice", "general", "my cat", attachments=[("cat.png", PNG, "image/png")]
    )
    menu = await stack.discord.invoke_message_command(MAKE_A_VIDEO, picture, user="bob")
    answer = await menu.wait_original(timeout=10)
    assert menu.ephemeral and menu.modal is None
    assert answer.content.startswith(NOT_YOUR_PICTURE), answer.content
    assert stack.discord.cdn_requests == [] and job_ids_of(stack, "bob") == []

    # A moderator allows it, audited like any other setting.
    allowed = await command_reply(stack, "quota pictures", "admin", whose="anyone")
    assert "anyone's messages" in allowed, allowed
    assert stack.query("SELECT action FROM moderation_actions") == [("set_pictures",)]
    menu = await stack.discord.invoke_message_command(MAKE_A_VIDEO, picture, user="bob")
    await menu.wait_ack(timeout=10)
    reply = await submit(stack, menu, prompt="the cat yawns")
    job_id = job_id_from(reply)
    assert reply.startswith(f"Job #{job_id} accepted"), reply
    await stack.wait_finished(job_id)

    # Taken back while a form was open: the form is refused when sent.
    menu = await stack.discord.invoke_message_command(MAKE_A_VIDEO, picture, user="bob")
    await menu.wait_ack(timeout=10)
    await command_reply(stack, "quota pictures", "admin", whose="own")
    reply = await submit(stack, menu, prompt="the cat sneezes")
    assert reply.startswith(NOT_YOUR_PICTURE), reply
    assert job_ids_of(stack, "bob") == [job_id]
    log = await command_reply(stack, "quota log", "admin")
    assert "“Make a video” use pictures from anyone's messages" in log
    stack.assert_clean_log()


async def test_mentions_typed_in_either_form_are_written_out_as_names(stack: Stack) -> None:
    alice, general = user_id(stack, "alice"), stack.discord.channel("general").id
    typed = f"<@{alice}> waves from <#{general}>"
    picture = await stack.discord.user_message(
        "bob", "general", "my dog", attachments=[("dog.png", PNG, "image/png")]
    )
    menu = await stack.discord.invoke_message_command(MAKE_A_VIDEO, picture, user="bob")
    await menu.wait_ack(timeout=10)
    made = job_id_from(await submit(stack, menu, prompt=typed))
    source, post = await finished_job(stack, "bob")
    opened = await open_form(stack, post, source, "bob")
    remixed = job_id_from(await submit(stack, opened, prompt=typed))
    for job_id in (made, remixed):
        ((prompt,),) = stack.query("SELECT prompt FROM jobs WHERE id = ?", (job_id,))
        assert prompt == "@Alice waves from #general", prompt
        await stack.wait_finished(job_id)
    assert all(f"<@{alice}>" not in task.prompt for task in stack.provider.created_tasks)
    stack.assert_clean_log()


async def test_a_refused_member_makes_the_bot_download_nothing_and_look_up_no_one(
    stack: Stack,
) -> None:
    await command_reply(stack, "quota block", "admin", member="bob")
    carol = user_id(stack, "carol")
    asked = sora_request(stack, prompt=f"<@{carol}> dances")
    handle = await stack.discord.invoke(
        "sora", user="bob", options=asked, attachments=[("holiday.png", PNG, "image/png")]
    )
    await handle.wait_original(timeout=10)
    assert handle.ephemeral
    assert handle.original_contents[-1].startswith("A moderator has blocked you")
    picture = await stack.discord.user_message(
        "bob", "general", "my dog", attachments=[("dog.png", PNG, "image/png")]
    )
    menu = await stack.discord.invoke_message_command(MAKE_A_VIDEO, picture, user="bob")
    answer = await menu.wait_original(timeout=10)
    assert menu.modal is None and answer.content.startswith("A moderator has blocked you")
    assert stack.discord.cdn_requests == []  # no picture was downloaded
    assert stack.discord.requests_to(MEMBER_LOOKUP) == []  # nobody was looked up
    assert public_bot_posts(stack) == [] and job_ids_of(stack, "bob") == []
    stack.assert_clean_log()


def with_a_staff_channel() -> World:
    world = default_world()
    world.add_text_channel("staff")
    world.hide_channel("staff", seen_by=("Moderator", "Admin"))
    return world


async def finished_in(stack: Stack, user: str, channel: str) -> int:
    handle = await stack.discord.invoke(
        "sora", user=user, channel=channel, options=sora_request(stack)
    )
    job_id = job_id_from((await handle.wait_original()).content)

    def done() -> MessageRecord | None:
        status = stack.status_message(job_id, channel)
        return status if status is not None and "✅ Done" in status.content else None

    await stack.wait_for(done, f"job #{job_id} done in #{channel}")
    return job_id


@pytest.mark.discord(world=with_a_staff_channel())
async def test_a_repost_s_buttons_act_where_pressed_for_those_who_see_the_original(
    stack: Stack,
) -> None:
    staff_job = await finished_in(stack, "mod", "staff")
    shown = await command_reply(stack, "sora-show", "mod", job=staff_job)
    assert shown.startswith("Posted"), shown
    repost = next(m for m in stack.bot_posts() if rerun_id(staff_job) in m.custom_ids())

    # Alice cannot see #staff: the repost's buttons would carry its prompt and picture here.
    for custom_id in (rerun_id(staff_job), f"sora:remix:{staff_job}"):
        press = await stack.discord.click(repost, custom_id, user="alice")
        answer = await press.wait_original(timeout=10)
        assert press.ephemeral and press.modal is None
        assert answer.content.startswith("This video was made in a channel you can't see")
    assert job_ids_of(stack, "alice") == []

    # A moderator can: the re-run's status message goes where the button was pressed.
    press = await stack.discord.click(repost, rerun_id(staff_job), user="admin")
    await press.wait_original(timeout=20)
    rerun, status = await rerun_status(stack, repost)
    assert status.channel_id == stack.discord.channel("general").id
    ((channel_id,),) = stack.query("SELECT channel_id FROM jobs WHERE id = ?", (rerun,))
    assert channel_id == stack.discord.channel("general").id
    await stack.wait_finished(rerun)
    result = stack.result_of(rerun)
    assert result is not None and result.reply_to == status.id
    stack.assert_clean_log()
