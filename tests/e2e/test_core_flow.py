"""A member's `/sora`, as Discord drives it, on each backend."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage.database import ENGINES
from tests.e2e.conftest import (
    RIVYA_KEY,
    Stack,
    answered_with_status,
    job_id_from,
    slow_sora,
    sora_request,
)
from tests.support.images import PNG

BACKENDS = pytest.mark.parametrize("stack", ["rivya", "unified"], indirect=True)
# The bot on each database engine (see tests/e2e/conftest.py).
ENGINES_TOO = pytest.mark.parametrize("database_engine", ENGINES)


def sora_options(stack: Stack, **overrides: object) -> dict[str, object]:
    """A portrait `/sora` whose prompt tries to ping everyone."""
    return sora_request(
        stack,
        **{"prompt": "a red fox in fresh snow @everyone", "orientation": "portrait", **overrides},
    )


async def accept(stack: Stack, user: str = "alice", **options: object) -> int:
    handle = await stack.discord.invoke("sora", user=user, options=sora_options(stack, **options))
    await handle.wait_original()
    return answered_with_status(stack, handle)


@BACKENDS
@ENGINES_TOO
async def test_sora_text_only_happy_path(stack: Stack) -> None:
    alice = stack.discord.user("alice")
    job_id = await accept(stack)
    result = await stack.wait_for(lambda: stack.result_of(job_id), "the video reply")
    status = stack.status_message(job_id)
    assert status is not None
    # The video is a reply to the status message and pings the requester only.
    assert result.reply_to == status.id
    assert result.mentions.user_ids == {alice.id}
    assert not result.mentions.everyone and not result.mentions.role_ids
    task = stack.provider.created_tasks[0]
    assert result.attachments[0].data == stack.provider.media_bytes(task.id)
    # The status message went through its states; the prompt's @everyone pinged nobody.
    assert not status.mentions.pinged_anyone
    await stack.wait_finished(job_id)
    assert any("Generating" in text or "Waiting" in text for text in status.contents)
    assert stack.ledger(job_id) == ["hold", "charge"]
    assert stack.job_state(job_id) == "delivered"
    stack.assert_clean_log()


@BACKENDS
async def test_sora_with_an_image(stack: Stack) -> None:
    job_id = await accept(stack, image=("holiday.gif", PNG, "image/gif"))
    await stack.wait_for(lambda: stack.result_of(job_id), "the video reply")
    if stack.backend == "rivya":
        assert stack.provider.uploads[0].data == PNG
        params = stack.provider.requests_to("create")[0].json["params"]
        assert params["referenceMediaItems"][0]["url"] == stack.provider.uploads[0].url
    else:
        assert len(stack.provider.image_urls) == 1
        assert stack.provider.image_urls[0].startswith(stack.discord.rest_base.split("/api")[0])
    await stack.wait_finished(job_id)
    assert stack.ledger(job_id) == ["hold", "charge"]


@BACKENDS
async def test_mentions_in_a_prompt_show_as_names_and_ping_nobody(stack: Stack) -> None:
    world = stack.discord
    prompt = (
        f"<@{world.user('bob').id}> and <@!{world.user('carol').id}> waltz with "
        f"<@&{world.role('Moderator').id}> in <#{world.channel('general').id}>, "
        "<@123456789012345678> watches @everyone @here"
    )
    job_id = await accept(stack, prompt=prompt)
    status = await stack.wait_finished(job_id)
    written = (
        "@Bob and @Carol waltz with @Moderator in #general, @unknown member watches @everyone @here"
    )
    assert stack.provider.created_tasks[0].prompt == written
    assert stack.query("SELECT prompt FROM jobs WHERE id = ?", (job_id,)) == [(written,)]
    preview = status.content.splitlines()[1]
    assert preview.startswith("> @Bob and @Carol waltz with @Moderator in \\#general")
    assert "<@" not in status.content.replace(f"<@{world.user('alice').id}>", "")
    assert "<#" not in status.content
    assert not status.mentions.pinged_anyone
    stack.assert_clean_log()


async def test_a_rejected_image_costs_nothing(stack: Stack) -> None:
    handle = await stack.discord.invoke(
        "sora",
        user="bob",
        options=sora_options(stack),
        attachments=[("cat.png", b"just some text, not a picture", "image/png")],
    )
    await handle.wait_original()
    assert handle.ephemeral
    assert "not a JPEG, PNG or WebP image" in handle.original_contents[-1]
    assert stack.provider.requests_to("create") == []
    assert stack.query("SELECT COUNT(*) FROM quota_ledger")[0][0] == 0
    assert stack.bot_posts() == []


async def test_an_image_over_the_providers_10_mb_is_refused_before_anything_public(
    stack: Stack,
) -> None:
    # Rivya states "10 MB" (10,000,000 bytes); one byte more is refused privately at once.
    too_big = PNG + b"\0" * (10_000_001 - len(PNG))
    handle = await stack.discord.invoke(
        "sora", user="bob", options=sora_options(stack), attachments=[("big.png", too_big)]
    )
    await handle.wait_original()
    assert handle.ephemeral
    assert handle.original_contents[-1] == (
        "Your image is 10.000001 MB; the limit is 10 MB. Please send a smaller one."
    )
    assert stack.provider.requests_to("upload") == []
    assert stack.provider.requests_to("create") == []
    assert stack.query("SELECT COUNT(*) FROM jobs")[0][0] == 0
    assert stack.query("SELECT COUNT(*) FROM quota_ledger")[0][0] == 0
    assert stack.bot_posts() == []


@ENGINES_TOO
async def test_provider_failure_is_explained_and_released(stack: Stack) -> None:
    stack.provider.fail_next("The fox could not be drawn.")
    job_id = await accept(stack)
    await stack.wait_for(
        lambda: (
            stack.status_message(job_id)
            and "The fox could not be drawn." in stack.status_message(job_id).content
        ),
        "the failure on the status message",
    )
    status = stack.status_message(job_id)
    assert status is not None and "did not count against your quota" in status.content
    notice = await stack.wait_for(lambda: stack.replies_to(status.id), "the failure notice")
    assert notice[0].mentions.user_ids == {stack.discord.user("alice").id}
    assert stack.ledger(job_id) == ["hold", "release"]


async def test_a_failure_reason_quoting_the_api_key_is_scrubbed(stack: Stack) -> None:
    stack.provider.fail_next(f"Request with key {RIVYA_KEY} could not be rendered.")
    job_id = await accept(stack)
    status = await stack.wait_finished(job_id, marker="❌ Failed")
    notice = await stack.wait_for(lambda: stack.replies_to(status.id), "the failure notice")
    for text in (*status.contents, notice[0].content):
        assert RIVYA_KEY not in text
    assert "Request with key [redacted] could not be rendered." in status.content
    assert RIVYA_KEY not in str(stack.query("SELECT error_message FROM jobs"))
    stack.assert_clean_log()


async def test_a_burst_of_429s_still_completes(stack: Stack) -> None:
    stack.provider.inject("status", "rate_limited", times=5, retry_after=0.3)
    job_id = await accept(stack)
    await stack.wait_for(lambda: stack.result_of(job_id), "the video reply")
    await stack.wait_finished(job_id)
    assert stack.ledger(job_id) == ["hold", "charge"]


@pytest.mark.discord(upload_limit=200_000)
async def test_a_video_over_the_upload_limit_is_posted_as_a_link(stack: Stack) -> None:
    job_id = await accept(stack)  # the simulator's videos are 300 KB
    result = await stack.wait_for(lambda: stack.result_of(job_id), "the link reply")
    assert not result.attachments
    task = stack.provider.created_tasks[0]
    assert stack.provider.media_url(task.id) in result.content
    assert "expires" in result.content
    await stack.wait_finished(job_id)
    assert stack.query("SELECT delivery FROM jobs WHERE id = ?", (job_id,)) == [("link",)]
    assert stack.ledger(job_id) == ["hold", "charge"]


@ENGINES_TOO
async def test_sigkill_mid_job_posts_once_and_charges_once(stack: Stack) -> None:
    # Keep the task running long enough to kill the bot while it waits.
    stack.provider.next_task(polls_until_done=12)
    job_id = await accept(stack)
    await stack.wait_for(lambda: stack.provider.created_tasks, "the provider task")
    await stack.wait_for(
        lambda: stack.provider.polls(stack.provider.created_tasks[0].id) >= 2, "a few polls"
    )
    assert stack.bot is not None
    await stack.bot.kill()
    await stack.start_bot()
    await stack.wait_for(lambda: stack.result_of(job_id), "the video after the restart")
    await stack.wait_finished(job_id)
    results = [m for m in stack.bot_posts() if f"job #{job_id} is ready" in m.content]
    assert len(results) == 1
    assert len(stack.provider.created_tasks) == 1
    assert stack.ledger(job_id) == ["hold", "charge"]


# Discord's nonce de-duplication lasts only minutes; model a restart that took longer, so the
# bot must find its earlier post in the channel's history.
@pytest.mark.discord(nonce_window=0.01)
@ENGINES_TOO
async def test_crash_between_posting_and_recording_is_not_posted_twice(stack: Stack) -> None:
    stack.provider.next_task(polls_until_done=8)
    job_id = await accept(stack)
    await stack.wait_for(lambda: stack.provider.created_tasks, "the provider task")
    # A busy channel: plenty of chatter between the status message and the result.
    for i in range(60):
        await stack.discord.user_message("bob", "general", f"chatter {i}", dispatch=False)
    await stack.wait_finished(job_id)
    assert stack.bot is not None
    await stack.bot.kill()
    # Put the database back to the moment after the post and before it was recorded.
    stack.query(
        "UPDATE jobs SET state = 'succeeded', result_message_id = NULL, delivery = NULL, "
        "finished_at = NULL WHERE id = ?",
        (job_id,),
    )
    stack.query("DELETE FROM quota_ledger WHERE job_id = ? AND kind = 'charge'", (job_id,))
    bot = await stack.start_bot()
    # Nothing changes in Discord when recovery works, so follow the bot's own account of it.
    await bot.wait_for_log(f"job {job_id} delivered as file", timeout=20)
    results = [m for m in stack.bot_posts() if f"job #{job_id} is ready" in m.content]
    assert len(results) == 1
    assert stack.query("SELECT result_message_id, delivery FROM jobs WHERE id = ?", (job_id,)) == [
        (results[0].id, "file")
    ]
    assert stack.ledger(job_id) == ["hold", "charge"]


async def test_a_restart_between_answering_and_recording_keeps_one_status_message(
    stack: Stack,
) -> None:
    stack.provider.next_task(polls_until_done=6)
    handle = await stack.discord.invoke("sora", user="alice", options=sora_options(stack))
    await handle.wait_original()
    job_id = answered_with_status(stack, handle)
    await stack.wait_for(lambda: stack.provider.created_tasks, "the provider task")
    # Busy chatter after the answer, so it is not simply the channel's latest message.
    for i in range(30):
        await stack.discord.user_message("bob", "general", f"chatter {i}", dispatch=False)
    assert stack.bot is not None
    await stack.bot.kill()
    # Back to the moment after the answer and before the bot recorded it.
    stack.query(
        "UPDATE jobs SET status_message_id = NULL, status_text = NULL, status_edited_at = NULL "
        "WHERE id = ?",
        (job_id,),
    )
    bot = await stack.start_bot()
    await bot.wait_for_log(f"job {job_id}: found its status message", timeout=20)
    await stack.wait_finished(job_id)
    status = stack.status_message(job_id)
    assert handle.original is not None and status is not None
    assert status.id == handle.original.id and "✅ Done" in status.content
    assert len([m for m in stack.bot_posts() if f"#{job_id}**" in m.content]) == 1
    assert stack.query("SELECT status_message_id FROM jobs WHERE id = ?", (job_id,)) == [
        (handle.original.id,)
    ]
    assert stack.ledger(job_id) == ["hold", "charge"]


async def test_discord_rate_limits_are_ridden_out(stack: Stack) -> None:
    # Discord answers 429 to the first posts and edits; discord.py waits and retries.
    stack.discord.rate_limit("POST /channels/{channel_id}/messages", times=2, retry_after=0.3)
    stack.discord.rate_limit(
        "PATCH /channels/{channel_id}/messages/{message_id}", times=2, retry_after=0.3
    )
    job_id = await accept(stack)
    await stack.wait_for(lambda: stack.result_of(job_id), "the video reply")
    await stack.wait_finished(job_id)
    assert sum(1 for e in stack.discord.errors if e.status == 429) >= 4
    assert stack.ledger(job_id) == ["hold", "charge"]
    stack.assert_clean_log()


async def test_an_unavailable_model_is_refused_clearly_and_the_bot_keeps_running(
    stack: Stack,
) -> None:
    stack.provider.set_model_status("sora-2-pro", "coming_soon")
    assert stack.bot is not None
    await stack.bot.kill()
    bot = await stack.start_bot()  # the start-up check sees the model unavailable
    await bot.wait_for_log("is coming_soon", timeout=10)
    handle = await stack.discord.invoke("sora", user="alice", options=sora_options(stack))
    await handle.wait_original()
    assert handle.ephemeral
    assert "not available from the video service" in handle.original_contents[-1]
    assert stack.provider.requests_to("create") == []
    assert stack.query("SELECT COUNT(*) FROM jobs") == [(0,)]
    assert bot.running


async def test_a_slow_sora_is_acknowledged_in_time_and_confirmed_privately(stack: Stack) -> None:
    # The image takes longer to download than Discord waits for a first answer: the bot
    # acknowledges privately, posts the status message in the channel, then says where.
    handle = await slow_sora(stack, "alice", sora_options(stack))
    assert handle.deferred and handle.ephemeral and handle.ack_latency < 3
    assert handle.original is not None
    reply = handle.original_contents[-1]
    job_id = job_id_from(reply)
    status = stack.status_message(job_id)
    assert status is not None and status.id != handle.original.id
    assert reply.startswith(f"Job #{job_id} accepted") and str(status.id) in reply
    await stack.wait_for(lambda: stack.result_of(job_id), "the video reply")
    await stack.wait_finished(job_id)
    assert stack.ledger(job_id) == ["hold", "charge"]
    assert len([m for m in stack.bot_posts() if f"**Video job #{job_id}**" in m.content]) == 1


async def test_no_access_to_the_channel_withdraws_the_job(stack: Stack) -> None:
    stack.discord.fail(
        "POST /channels/{channel_id}/messages",
        status=403,
        code=50013,
        message="Missing Permissions",
    )
    # A slow /sora posts its status message in the channel (a quick one answers with it).
    handle = await slow_sora(stack, "alice", sora_options(stack))
    assert handle.ephemeral
    assert "I can't post messages in this channel" in handle.original_contents[-1]
    assert stack.query("SELECT state FROM jobs") == [("failed",)]
    assert stack.ledger(1) == ["hold", "release"]
    assert stack.provider.requests_to("create") == []


@pytest.mark.bot_env(
    DEFAULT_QUOTA="10", MAX_ACTIVE_JOBS_PER_MEMBER="10", MAX_ACTIVE_JOBS_PER_GUILD="20"
)
async def test_a_burst_in_one_channel_is_answered_at_once_despite_its_post_limit(
    stack: Stack,
) -> None:
    # Discord lets a bot post about 5 messages per 5 s in a channel. Twelve /sora at once are
    # still all answered within the 3-second window: each answer is the job's status message,
    # which goes through the interaction, not the channel's bucket (posting them in the
    # channel would take over 10 s).
    stack.discord.settings.channel_posts_per_window = 5
    stack.discord.settings.channel_post_window = 5.0
    members = ["alice", "bob", "carol", "dana"] * 3
    started = asyncio.get_running_loop().time()
    handles = await asyncio.gather(
        *(stack.discord.invoke("sora", user=user, options=sora_options(stack)) for user in members)
    )
    for handle in handles:
        await handle.wait_original(timeout=5)
    answered_after = asyncio.get_running_loop().time() - started
    job_ids = [answered_with_status(stack, handle) for handle in handles]
    assert len(set(job_ids)) == 12 and answered_after < 3


async def test_an_answer_discord_refuses_still_gets_its_status_message_posted(
    stack: Stack,
) -> None:
    # The interaction is gone by the time the bot answers (Discord: "Unknown interaction"):
    # the job is accepted all the same, so its status message goes to the channel.
    stack.discord.fail(
        "POST /interactions/{interaction_id}/{token}/callback",
        status=404,
        code=10062,
        message="Unknown interaction",
    )
    handle = await stack.discord.invoke("sora", user="alice", options=sora_options(stack))
    status = await stack.wait_for(lambda: stack.status_message(1), "the status message")
    assert handle.ack is None and status.interaction_id is None
    await stack.wait_for(lambda: stack.result_of(1), "the video reply")
    await stack.wait_finished(1)
    assert stack.ledger(1) == ["hold", "charge"]
