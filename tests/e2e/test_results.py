"""What members do with a finished video: re-run it (🔁 reaction or button), delete it, and
find it again (`/sora-jobs`, `/sora-show`). Each scenario checks what members see in Discord
and what the database holds afterwards."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.conftest import (
    Stack,
    command_reply,
    create_params,
    dms_to,
    finished_job,
    job_ids_of,
    job_row,
    ledger_of,
    public_bot_posts,
    rerun_status,
    submit_sora,
    user_id,
)
from tests.support.fake_discord import InteractionHandle, MessageRecord, World, default_world
from tests.support.images import PNG

RERUN = "🔁"
MODERATOR_ROLE_ID = default_world().roles["Moderator"].id  # the default world's ids are fixed


def rerun_id(job_id: int) -> str:
    return f"sora:rerun:{job_id}"


def delete_id(job_id: int) -> str:
    return f"sora:delete:{job_id}"


async def delete_video(
    stack: Stack, post: MessageRecord, job_id: int, user: str
) -> InteractionHandle:
    """Press Delete on `post`, check the private question, confirm; the confirmation's handle."""
    asked = await stack.discord.click(post, delete_id(job_id), user=user)
    await asked.wait_original()
    assert asked.ephemeral and asked.original is not None
    assert asked.original_contents[-1].startswith(f"Delete the video of job #{job_id}?")
    assert not post.deleted  # nothing is removed before the answer
    confirm = await stack.discord.click(
        asked.original, f"sora:delete-yes:{job_id}:{post.id}", user=user
    )
    await confirm.wait_original(lambda m: m.content.startswith(("Deleted the", "Discord")))
    return confirm


async def wait_dm(stack: Stack, user: str, count: int = 1) -> list[MessageRecord]:
    return await stack.wait_for(
        lambda: (dms := dms_to(stack, user)) and len(dms) >= count and dms,
        f"{count} direct message(s) to {user}",
    )


def dm_refused_to(stack: Stack, user: str) -> list[object]:
    """Failed attempts to DM `user` (403 / 50007: the member does not accept DMs)."""
    channel_id = stack.discord.dm_channel(user).id
    return [
        error
        for error in stack.discord.errors
        if error.code == 50007 and error.request.path == f"/channels/{channel_id}/messages"
    ]


# -- re-run by reaction and by button ---------------------------------------------------------


async def test_rerun_by_reaction_is_charged_to_whoever_reacted(stack: Stack) -> None:
    source_id, result = await finished_job(
        stack, "alice", orientation="portrait", duration=15, quality="high", remove_watermark=True
    )
    # The bot offers the re-run with its own 🔁, and that reaction starts nothing.
    await stack.wait_for(lambda: result.reacted(RERUN), "the bot's 🔁 on the video")
    assert result.reacted(RERUN) == [stack.discord.bot_user.id]
    await stack.discord.react("bob", "general", result.id, RERUN)
    job_id, status = await rerun_status(stack, result)

    assert job_ids_of(stack, "alice") == [source_id]  # the bot's own 🔁 started nothing
    assert job_ids_of(stack, "bob") == [job_id]
    # Same prompt and settings, asked by bob, replying to the video it re-runs.
    source, rerun = job_row(stack, source_id), job_row(stack, job_id)
    assert rerun["user_id"] == user_id(stack, "bob")
    assert (rerun["prompt"], rerun["options"]) == (source["prompt"], source["options"])
    assert rerun["parent"] == source_id and rerun["reply_to"] == result.id
    assert status.reply_to == result.id
    assert f"for <@{user_id(stack, 'bob')}>" in status.content
    assert not status.mentions.pinged_anyone

    rerun_result = await stack.wait_for(lambda: stack.result_of(job_id), "the re-run's video")
    await stack.wait_finished(job_id)
    assert rerun_result.reply_to == status.id
    assert rerun_result.mentions.user_ids == {user_id(stack, "bob")}
    first, second = create_params(stack)
    assert first == second  # the same settings both times
    assert (first["aspect_ratio"], first["n_frames"], first["size"]) == ("portrait", "15", "high")
    assert first["remove_watermark"] == "true"
    assert stack.provider.created_tasks[1].prompt == stack.provider.created_tasks[0].prompt
    # Bob paid for his video; alice's quota was not touched.
    assert ledger_of(stack, "bob") == [(job_id, "hold"), (job_id, "charge")]
    assert ledger_of(stack, "alice") == [(source_id, "hold"), (source_id, "charge")]
    assert dms_to(stack, "bob") == []
    stack.assert_clean_log()


async def test_rerun_button_is_charged_to_the_clicker(stack: Stack) -> None:
    source_id, result = await finished_job(stack, "alice", orientation="portrait")
    assert result.custom_ids() == [
        rerun_id(source_id),
        f"sora:remix:{source_id}",
        delete_id(source_id),
    ]
    click = await stack.discord.click(result, rerun_id(source_id), user="carol")
    await click.wait_original(timeout=10)
    job_id, status = await rerun_status(stack, result)
    # Carol is told privately where her re-run is; the channel gets only the status message.
    assert click.deferred and click.ephemeral
    reply = click.original_contents[-1]
    assert f"Re-run accepted as job #{job_id}" in reply
    assert f"/{status.channel_id}/{status.id}" in reply

    await stack.wait_for(lambda: stack.result_of(job_id), "the re-run's video")
    await stack.wait_finished(job_id)
    rerun, source = job_row(stack, job_id), job_row(stack, source_id)
    assert rerun["user_id"] == user_id(stack, "carol") and rerun["parent"] == source_id
    assert (rerun["prompt"], rerun["options"]) == (source["prompt"], source["options"])
    assert ledger_of(stack, "carol") == [(job_id, "hold"), (job_id, "charge")]
    assert ledger_of(stack, "alice") == [(source_id, "hold"), (source_id, "charge")]
    first, second = create_params(stack)
    assert first == second
    stack.assert_clean_log()


async def test_rerun_of_a_message_posted_before_a_restart(stack: Stack) -> None:
    source_id, result = await finished_job(stack, "alice")
    assert stack.bot is not None
    await stack.bot.kill()
    await stack.start_bot()  # no message cache: the job is found through the database

    await stack.discord.react("bob", "general", result.id, RERUN)
    bob_job, _ = await rerun_status(stack, result)
    await stack.wait_finished(bob_job)

    click = await stack.discord.click(result, rerun_id(source_id), user="carol")
    await click.wait_original(timeout=10)
    assert click.ephemeral and "Re-run accepted" in click.original_contents[-1]
    (carol_job,) = job_ids_of(stack, "carol")
    await stack.wait_finished(carol_job)

    for user, job_id in (("bob", bob_job), ("carol", carol_job)):
        assert job_row(stack, job_id)["parent"] == source_id
        assert stack.status_message(job_id).reply_to == result.id
        assert ledger_of(stack, user) == [(job_id, "hold"), (job_id, "charge")]
    assert ledger_of(stack, "alice") == [(source_id, "hold"), (source_id, "charge")]
    stack.assert_clean_log()


async def test_rerun_while_discord_holds_back_the_bots_reaction(stack: Stack) -> None:
    # Reactions are tightly rate-limited: the bot's own 🔁 may wait for seconds. The video is
    # already posted with its buttons, so it must count as delivered without waiting for it.
    held = stack.discord.rate_limit(
        "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", retry_after=1.5
    )
    source_id = await submit_sora(stack, "alice")
    result = await stack.wait_for(lambda: stack.result_of(source_id), "the video")
    await stack.wait_finished(source_id)
    assert held.hits and not result.reacted(RERUN), "the video waited for the bot's 🔁"
    click = await stack.discord.click(result, rerun_id(source_id), user="bob")
    await click.wait_original(timeout=10)
    assert click.original_contents[-1].startswith("Re-run accepted as job #")
    await stack.discord.react("carol", "general", result.id, RERUN)
    await stack.wait_for(lambda: len(stack.replies_to(result.id)) == 2, "both re-runs")

    await stack.wait_for(lambda: stack.discord.bot_user.id in result.reacted(RERUN), "the 🔁")
    (bob_job,) = job_ids_of(stack, "bob")
    (carol_job,) = job_ids_of(stack, "carol")
    for user, job_id in (("bob", bob_job), ("carol", carol_job)):
        await stack.wait_finished(job_id)
        assert ledger_of(stack, user) == [(job_id, "hold"), (job_id, "charge")]
    assert ledger_of(stack, "alice") == [(source_id, "hold"), (source_id, "charge")]
    stack.assert_clean_log()


# -- refusals: told privately, nothing public, nothing held -----------------------------------


@pytest.mark.bot_env(DEFAULT_QUOTA="1")
async def test_rerun_without_quota_left_is_refused_privately(stack: Stack) -> None:
    source_id, result = await finished_job(stack, "alice")
    posts = len(public_bot_posts(stack))
    await stack.discord.react("alice", "general", result.id, RERUN)
    (dm,) = await wait_dm(stack, "alice")
    assert f"Re-run of job #{source_id}" in dm.content
    assert "used all 1 of your videos" in dm.content and "resets <t:" in dm.content
    assert not dm.mentions.pinged_anyone

    click = await stack.discord.click(result, rerun_id(source_id), user="alice")
    await click.wait_original(timeout=10)
    assert click.ephemeral and "used all 1 of your videos" in click.original_contents[-1]

    assert len(public_bot_posts(stack)) == posts
    assert job_ids_of(stack, "alice") == [source_id]
    assert ledger_of(stack, "alice") == [(source_id, "hold"), (source_id, "charge")]
    assert len(stack.provider.created_tasks) == 1
    stack.assert_clean_log()


async def test_rerun_by_a_blocked_member_is_refused_even_with_dms_closed(stack: Stack) -> None:
    source_id, result = await finished_job(stack, "alice")
    blocked = await command_reply(stack, "quota block", "admin", member="bob", reason="spam bot")
    assert "blocked" in blocked
    posts = len(public_bot_posts(stack))

    await stack.discord.react("bob", "general", result.id, RERUN)
    (dm,) = await wait_dm(stack, "bob")
    assert f"Re-run of job #{source_id}" in dm.content and "blocked you" in dm.content
    assert "spam bot" not in dm.content  # only moderators see the reason
    click = await stack.discord.click(result, rerun_id(source_id), user="bob")
    await click.wait_original(timeout=10)
    assert click.ephemeral and "blocked you" in click.original_contents[-1]

    # With DMs closed the refusal cannot reach bob: it is dropped, never posted in the channel.
    stack.discord.set_dms_open("bob", False)
    await stack.discord.unreact("bob", "general", result.id, RERUN)
    await stack.discord.react("bob", "general", result.id, RERUN)
    await stack.wait_for(lambda: dm_refused_to(stack, "bob"), "the refused DM to bob")
    assert len(dms_to(stack, "bob")) == 1
    assert len(public_bot_posts(stack)) == posts
    assert job_ids_of(stack, "bob") == [] and ledger_of(stack, "bob") == []

    # Nothing broke: another member's re-run of the same video still works.
    await stack.discord.react("carol", "general", result.id, RERUN)
    carol_job, _ = await rerun_status(stack, result)
    await stack.wait_finished(carol_job)
    assert ledger_of(stack, "carol") == [(carol_job, "hold"), (carol_job, "charge")]
    stack.assert_clean_log()


async def test_only_one_rerun_per_member_and_video_at_a_time(stack: Stack) -> None:
    source_id, result = await finished_job(stack, "alice")
    for _ in range(2):
        stack.provider.next_task(polls_until_done=1_000_000)  # a re-run keeps running
    # A double click: both clicks reach the bot before either is answered; one re-run starts.
    clicks = await asyncio.gather(
        *(stack.discord.click(result, rerun_id(source_id), user="bob") for _ in range(2))
    )
    for click in clicks:
        await click.wait_original(timeout=10)
    answers = sorted(click.original_contents[-1] for click in clicks)
    assert all(click.ephemeral for click in clicks)
    assert answers[0].startswith("Re-run accepted as job #"), answers
    assert (
        answers[1]
        == f"Your re-run of job #{source_id} is still in progress; wait for it to finish."
    )
    bob_job, status = await rerun_status(stack, result)
    await stack.wait_for(
        lambda: "Generating" in status.content or "Waiting" in status.content,
        "bob's re-run to be at the provider",
    )
    posts = len(public_bot_posts(stack))

    # While it runs, bob's 🔁 on the same video is refused privately.
    await stack.discord.react("bob", "general", result.id, RERUN)
    (dm,) = await wait_dm(stack, "bob")
    assert f"re-run of job #{source_id} is still in progress" in dm.content

    assert len(public_bot_posts(stack)) == posts
    assert job_ids_of(stack, "bob") == [bob_job]
    assert ledger_of(stack, "bob") == [(bob_job, "hold")]
    assert len(stack.provider.created_tasks) == 2
    stack.assert_clean_log()


async def test_other_reactions_are_ignored(stack: Stack) -> None:
    _, result = await finished_job(stack, "alice")
    chatter = await stack.discord.user_message("bob", "general", "nice one!")
    await stack.discord.react("bob", "general", chatter.id, RERUN)
    await stack.discord.react("bob", "general", result.id, "👍")
    await stack.discord.react("bob", "general", result.id, "🔄")  # looks alike, is not 🔁
    # Reactions are handled in order, so once carol's re-run is posted, bob's have been seen.
    await stack.discord.react("carol", "general", result.id, RERUN)
    carol_job, _ = await rerun_status(stack, result)
    await stack.wait_finished(carol_job)

    assert job_ids_of(stack, "bob") == [] and ledger_of(stack, "bob") == []
    assert dms_to(stack, "bob") == []
    assert stack.replies_to(chatter.id) == []
    assert job_ids_of(stack, "carol") == [carol_job]
    assert len(stack.provider.created_tasks) == 2
    stack.assert_clean_log()


def world_with_another_bot() -> World:
    world = default_world()
    world.add_user("otherbot", bot=True)
    return world


@pytest.mark.discord(world=world_with_another_bot())
async def test_another_bot_accounts_reactions_and_buttons_start_and_remove_nothing(
    stack: Stack,
) -> None:
    source_id, result = await finished_job(stack, "alice")
    await stack.discord.react("otherbot", "general", result.id, RERUN)
    for custom_id in (rerun_id(source_id), delete_id(source_id)):
        press = await stack.discord.click(result, custom_id, user="otherbot")
        await press.wait_original()
        assert press.ephemeral
        assert press.original_contents[-1] == (
            "Only people can use these buttons, not bot accounts or webhooks."
        )
    # Reactions are handled in order: once carol's re-run is posted, the bot's was seen.
    await stack.discord.react("carol", "general", result.id, RERUN)
    carol_job, _ = await rerun_status(stack, result)
    await stack.wait_finished(carol_job)

    assert job_ids_of(stack, "otherbot") == [] and ledger_of(stack, "otherbot") == []
    assert dms_to(stack, "otherbot") == []
    assert not result.deleted
    assert stack.query("SELECT COUNT(*) FROM jobs WHERE result_deleted_at IS NOT NULL") == [(0,)]
    assert len(stack.provider.created_tasks) == 2  # alice's and carol's only
    stack.assert_clean_log()


# -- delete -----------------------------------------------------------------------------------


@pytest.mark.bot_env(MOD_ROLE_IDS=str(MODERATOR_ROLE_ID))
async def test_delete_button_for_the_requester_and_moderators_only(stack: Stack) -> None:
    jobs = [await finished_job(stack, "alice", prompt=f"take {n}") for n in (1, 2, 3)]
    (first, first_post), (second, second_post), (third, third_post) = jobs

    refused = await stack.discord.click(first_post, delete_id(first), user="bob")
    await refused.wait_original()
    refusal = refused.original_contents[-1]
    assert refused.ephemeral and refusal.startswith("Only the member who asked for this video")
    assert not first_post.deleted

    for user, job_id, post in (
        ("alice", first, first_post),  # the requester
        ("admin", second, second_post),  # Manage Server
        ("mod", third, third_post),  # a role in MOD_ROLE_IDS
    ):
        click = await delete_video(stack, post, job_id, user)
        assert click.original is not None and click.original.ephemeral, user
        assert click.original.content == f"Deleted the video of job #{job_id}.", user
        assert click.original.custom_ids() == []
        assert post.deleted, user
        # Only the video goes; the status message and the charge stay.
        assert stack.status_message(job_id) is not None
        assert stack.ledger(job_id) == ["hold", "charge"]
    assert [stack.result_of(job_id) for job_id, _ in jobs] == [None, None, None]
    # A moderator's removal is audited; the requester's own is only noted on the job.
    removals = stack.query(
        "SELECT actor_id, target_user_id FROM moderation_actions WHERE action = 'remove_video'"
    )
    alice = user_id(stack, "alice")
    assert removals == [(user_id(stack, "admin"), alice), (user_id(stack, "mod"), alice)]
    assert stack.query("SELECT COUNT(*) FROM jobs WHERE result_deleted_at IS NOT NULL") == [(3,)]
    # A removed video cannot be brought back by a re-run of its status message.
    status = stack.status_message(first)
    assert status is not None
    await stack.discord.react("bob", "general", status.id, RERUN)
    (dm,) = await wait_dm(stack, "bob")
    assert (
        dm.content
        == f"Re-run of job #{first}: The video of job #{first} was removed, so it cannot be re-run."
    )
    stack.assert_clean_log()


async def test_delete_asks_privately_first_and_keep_it_removes_nothing(stack: Stack) -> None:
    job_id, post = await finished_job(stack, "alice")
    asked = await stack.discord.click(post, delete_id(job_id), user="alice")
    await asked.wait_original()
    assert asked.ephemeral and asked.original is not None
    assert asked.original_contents[-1] == (
        f"Delete the video of job #{job_id}? It goes for everyone, with every repost of it, and "
        "cannot be brought back; it was paid for, and making it again costs a new video."
    )
    assert asked.original.custom_ids() == [
        f"sora:delete-yes:{job_id}:{post.id}",
        f"sora:delete-no:{job_id}",
    ]
    # The question's button checks again who presses it.
    stranger = await stack.discord.click(
        asked.original, f"sora:delete-yes:{job_id}:{post.id}", user="bob"
    )
    await stranger.wait_original()
    assert stranger.ephemeral
    assert stranger.original_contents[-1].startswith("Only the member who asked for this video")
    assert not post.deleted
    kept = await stack.discord.click(asked.original, f"sora:delete-no:{job_id}", user="alice")
    await kept.wait_original(lambda m: m.content.startswith("Kept"))
    assert kept.original is not None
    assert kept.original.content == f"Kept the video of job #{job_id}."
    assert kept.original.custom_ids() == []
    assert not post.deleted
    assert stack.query("SELECT result_deleted_at FROM jobs WHERE id = ?", (job_id,)) == [(None,)]
    stack.assert_clean_log()


# -- reference images -------------------------------------------------------------------------


def forget_attachment(stack: Stack, url: str) -> None:
    """Make a Discord attachment link dead, as an expired CDN link is (the CDN answers 404)."""
    blobs = stack.discord.store.blobs
    (attachment_id,) = [key for key, blob in blobs.items() if blob.url == url]
    del blobs[attachment_id]


@pytest.mark.parametrize("stack", ["rivya", "unified"], indirect=True)
async def test_rerun_reuses_the_kept_reference_image(stack: Stack) -> None:
    source_id, result = await finished_job(stack, "alice", image=("holiday.png", PNG, "image/png"))
    original_url = job_row(stack, source_id)["image_source_url"]
    assert isinstance(original_url, str)
    forget_attachment(stack, original_url)  # the member's upload link no longer works
    cdn_before = len(stack.discord.cdn_requests)

    await stack.discord.react("bob", "general", result.id, RERUN)
    job_id, status = await rerun_status(stack, result)
    await stack.wait_for(lambda: stack.result_of(job_id), "the re-run's video")
    await stack.wait_finished(job_id)

    # The status message carries the kept copy, and that fresh link is the image's new home.
    (attached,) = status.attachments
    assert attached.data == PNG and attached.filename == "holiday.png"
    assert job_row(stack, job_id)["image_source_url"] == attached.url != original_url
    dead_path = original_url.split("/cdn", 1)[1]
    assert all(dead_path not in path for path in stack.discord.cdn_requests[cdn_before:])
    if stack.backend == "rivya":
        first_upload, rerun_upload = stack.provider.uploads
        assert rerun_upload.data == PNG == first_upload.data
        (reference,) = create_params(stack)[1]["referenceMediaItems"]
        assert reference["url"] == rerun_upload.url
    else:
        assert stack.provider.image_urls == [original_url, attached.url]
    assert "with reference image" in status.content
    assert ledger_of(stack, "bob") == [(job_id, "hold"), (job_id, "charge")]
    stack.assert_clean_log()


# -- history: /sora-jobs and /sora-show -------------------------------------------------------


async def test_sora_jobs_and_sora_show(stack: Stack) -> None:
    delivered, result = await finished_job(stack, "alice", prompt="a paper boat @everyone")
    stack.provider.fail_next("The boat sank.")
    failed = await submit_sora(stack, "alice", prompt="a second boat")
    await stack.wait_finished(failed, "❌ Failed")
    bob_job, _ = await finished_job(stack, "bob", prompt="bob's own video")

    listing = await command_reply(stack, "sora-jobs", "alice")
    lines = listing.splitlines()
    assert lines[0] == "**Your last 2 jobs**"
    assert lines[1].startswith(f"❌ **#{failed}** failed")
    assert lines[3].startswith(f"✅ **#{delivered}** delivered")
    assert f"#{bob_job}" not in listing and "bob's own video" not in listing
    assert "@everyone" not in listing.replace("@\u200beveryone", "")
    assert "You have no video jobs here yet" in await command_reply(stack, "sora-jobs", "carol")

    # /sora-show is for the requester (or a moderator): it posts the finished video again,
    # with its buttons, without pinging anyone.
    posts = len(stack.bot_posts())
    refused = await command_reply(stack, "sora-show", "carol", job=delivered)
    assert refused == (
        f"Only the member who asked for job #{delivered}, or a moderator, can show it again."
    )
    shown = await command_reply(stack, "sora-show", "alice", job=delivered)
    repost = stack.bot_posts()[-1]
    assert len(stack.bot_posts()) == posts + 1
    assert shown == f"Posted: https://discord.com/channels/{stack.discord.guild_id}/" + (
        f"{repost.channel_id}/{repost.id}"
    )
    assert repost.content.startswith(f"Job #{delivered} by <@{user_id(stack, 'alice')}>")
    assert not repost.mentions.pinged_anyone
    assert repost.attachments[0].data == result.attachments[0].data
    assert repost.custom_ids() == [
        rerun_id(delivered),
        f"sora:remix:{delivered}",
        delete_id(delivered),
    ]
    # Once a minute per member, video and channel (SHOW_COOLDOWN_SECONDS): refused privately.
    again = await command_reply(stack, "sora-show", "alice", job=delivered)
    assert again.startswith(
        f"You just showed the video of job #{delivered} in this channel. "
        "You can show it here again <t:"
    )
    assert len(stack.bot_posts()) == posts + 1

    # A job without a video, or no job at all, is refused with the reason; nothing is posted.
    refusal = await command_reply(stack, "sora-show", "alice", job=failed)
    assert refusal == f"Job #{failed} has no video to show (it is failed)."
    assert await command_reply(stack, "sora-show", "alice", job=9999) == (
        "There is no job #9999 on this server."
    )
    assert len(stack.bot_posts()) == posts + 1

    # The original post gone by other means (a Discord admin removed it) and the provider's
    # link expired: the bot's own copy serves; once that is gone too (the retention sweep),
    # the member is told the video is gone.
    stack.discord.store.delete(result)
    stack.provider.expire_media(stack.provider.created_tasks[0].id)
    await command_reply(stack, "sora-show", "admin", job=delivered)  # a moderator may
    second_repost = stack.bot_posts()[-1]
    assert second_repost.attachments[0].data == result.attachments[0].data
    (stack.workdir / "data" / "media" / "videos" / f"job-{delivered}.mp4").unlink()
    gone = await command_reply(stack, "sora-show", "alice", channel="videos", job=delivered)
    assert gone.startswith(f"The video of job #{delivered} is no longer available")
    assert len(stack.bot_posts()) == posts + 1  # the original gone, a second repost

    # Removed with the Delete button: every post of it goes, and it is not shown again.
    await delete_video(stack, repost, delivered, "alice")
    assert repost.deleted and second_repost.deleted
    removed = await command_reply(stack, "sora-show", "alice", job=delivered)
    assert removed == f"The video of job #{delivered} was removed, so it is not shown again."
    listing = await command_reply(stack, "sora-jobs", "alice")
    assert f"**#{delivered}** delivered" in listing and "video removed" in listing
    stack.assert_clean_log()
