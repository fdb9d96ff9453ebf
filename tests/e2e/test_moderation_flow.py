"""Quotas and moderation as members and moderators live them: running out, a moderator's grant
and its record, the prompt blocklist, and a video that outlasts the interaction token."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest

from tests.e2e.conftest import (
    Stack,
    command_reply,
    dms_to,
    finished_job,
    job_id_from,
    job_ids_of,
    ledger_of,
    public_bot_posts,
    sora_request,
    submit_sora,
    user_id,
)
from tests.support.fake_discord import default_world

VIDEOS_CHANNEL_ID = default_world().channels["videos"].id  # the default world's ids are fixed
NOT_A_MODERATOR = "Only moderators can do that"


def is_next_utc_midnight(timestamp: int) -> bool:
    """Whether `timestamp` is the coming midnight in UTC (QUOTA_TIMEZONE's default)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.time() == time() and timedelta(0) < moment - datetime.now(UTC) <= timedelta(1)


def moderation_actions(stack: Stack) -> list[tuple]:
    return stack.query(
        "SELECT actor_id, action, target_user_id, reason, ledger_id FROM moderation_actions "
        "ORDER BY id"
    )


@pytest.mark.bot_env(DEFAULT_QUOTA="1")
async def test_quota_runs_out_and_a_moderator_grants_more(stack: Stack) -> None:
    first, _ = await finished_job(stack, "alice")
    posts = len(public_bot_posts(stack))

    # Out of quota: told privately, with when it resets; nothing held, nothing posted.
    handle = await stack.discord.invoke("sora", user="alice", options=sora_request(stack))
    await handle.wait_original()
    assert handle.ephemeral
    refusal = handle.original_contents[-1]
    assert refusal.startswith("You have used all 1 of your videos for today.")
    reset = re.search(r"resets <t:(\d+):R>", refusal)
    assert reset is not None and is_next_utc_midnight(int(reset.group(1))), refusal
    assert job_ids_of(stack, "alice") == [first]
    assert ledger_of(stack, "alice") == [(first, "hold"), (first, "charge")]

    # A member who is not a moderator cannot grant; nothing is written.
    denied = await command_reply(stack, "quota grant", "bob", member="alice", amount=1)
    assert denied.startswith(NOT_A_MODERATOR)
    assert (await command_reply(stack, "quota log", "bob")).startswith(NOT_A_MODERATOR)
    assert moderation_actions(stack) == []
    assert ledger_of(stack, "alice") == [(first, "hold"), (first, "charge")]

    granted = await command_reply(
        stack, "quota grant", "admin", member="alice", amount=1, reason="won the contest"
    )
    alice = user_id(stack, "alice")
    assert granted == f"✅ You granted 1 bonus video to <@{alice}>. Their bonus is now 1."
    ((actor, action, target, reason, ledger_id),) = moderation_actions(stack)
    assert (actor, action, target, reason) == (
        user_id(stack, "admin"),
        "grant",
        alice,
        "won the contest",
    )
    assert stack.query(
        "SELECT kind, units, period_start FROM quota_ledger WHERE id = ?", (ledger_id,)
    ) == [("grant", -1, None)]
    view = await command_reply(stack, "quota view", "alice")
    assert "Left: **1**" in view and "Bonus videos: 1" in view

    # Alice can make a video again, paid from the bonus.
    second, _ = await finished_job(stack, "alice", prompt="a victory lap")
    assert stack.ledger(second) == ["hold", "charge"]
    assert stack.query("SELECT period_start FROM quota_ledger WHERE job_id = ?", (second,)) == [
        (None,),
        (None,),
    ]
    assert len(public_bot_posts(stack)) == posts + 2  # the second job's status and video

    # The moderators' log shows the grant once, with who, whom and why.
    log = await command_reply(stack, "quota log", "admin", member="alice")
    grant_lines = [line for line in log.splitlines() if "granted" in line]
    assert len(grant_lines) == 1
    assert (
        f"<@{user_id(stack, 'admin')}> granted 1 bonus video to <@{alice}> — won the contest"
        in grant_lines[0]
    )
    assert f"job #{second}: charged to <@{alice}>" in log
    stack.assert_clean_log()


@pytest.mark.discord(token_lifetime=1.0)
async def test_status_and_video_outlive_the_interaction_token(stack: Stack) -> None:
    stack.provider.report_progress = True
    stack.provider.next_task(polls_until_done=1_000_000)  # finishes when the test says so
    handle = await stack.discord.invoke("sora", user="alice", options=sora_request(stack))
    job_id = job_id_from((await handle.wait_original()).content)
    (task,) = await stack.wait_for(lambda: stack.provider.created_tasks, "the provider task")

    # Polls keep arriving (every 0.2 s) while the 1-second token runs out.
    await stack.provider.wait_for(
        lambda: handle.token_expired and stack.provider.polls(task.id) >= 3, timeout=10
    )
    expired_at = handle.token_expires_at
    status = stack.status_message(job_id)
    # The answer to /sora, from now on edited as an ordinary message of the bot.
    assert status is not None and handle.original is not None and status.id == handle.original.id
    edits_before = status.edit_count
    # From now on the progress moves at every poll, and the video is ready after a few.
    task.polls_until_done = task.polls + 4

    result = await stack.wait_for(lambda: stack.result_of(job_id), "the video after expiry")
    await stack.wait_finished(job_id)
    later = status.contents[edits_before + 1 :]
    progress = [text for text in later if re.search(r"Generating… [1-9]\d?%", text)]
    assert len(progress) >= 2, later  # the status kept moving after the token expired
    assert "✅ Done" in later[-1]
    assert result.attachments and result.webhook_id is None
    assert stack.ledger(job_id) == ["hold", "charge"]
    # Nothing after the expiry went through the interaction webhook, and nothing was refused.
    late = [r for r in stack.discord.requests if r.at > expired_at]
    assert late and not [r for r in late if r.path.startswith("/webhooks/")]
    assert not [e for e in stack.discord.errors if e.code == 50027]
    stack.assert_clean_log()


@pytest.mark.bot_env(QUOTA_LOG_CHANNEL_ID=str(VIDEOS_CHANNEL_ID))
async def test_a_blocklisted_prompt_is_refused_without_echoing_the_word(stack: Stack) -> None:
    # A video made before the word was listed.
    _, older_video = await finished_job(stack, "carol", prompt="a friendly kraken waves")
    added = await command_reply(
        stack, "quota blocklist add", "admin", text="Kraken", reason="sea monsters upset people"
    )
    assert added.startswith("✅ You added entry #1 to the prompt blocklist")
    # The moderator's log channel hears of it, without the word.
    line = await stack.wait_for(
        lambda: stack.discord.bot_messages("videos"), "the log channel line"
    )
    assert "entry #1" in line[0].content and "kraken" not in line[0].content.lower()
    assert not line[0].mentions.pinged_anyone

    handle = await stack.discord.invoke(
        "sora", user="alice", options=sora_request(stack, prompt="A KRAKEN! rises from the bay")
    )
    await handle.wait_original()
    assert handle.ephemeral
    refusal = handle.original_contents[-1]
    assert "not allowed on this server" in refusal and "Nothing was charged" in refusal
    assert "kraken" not in refusal.lower()
    # Re-running the older video is refused the same way (privately, without the word).
    await stack.discord.react("bob", "general", older_video.id, "🔁")
    (dm,) = await stack.wait_for(lambda: dms_to(stack, "bob"), "the refusal sent to bob")
    assert "not allowed on this server" in dm.content and "kraken" not in dm.content.lower()
    # Nothing new and public repeats it, nothing was held or sent to the provider.
    new_posts = [m for m in public_bot_posts(stack) if m.id > older_video.id]
    assert [m for m in new_posts if "kraken" in m.content.lower()] == []
    assert job_ids_of(stack, "alice") == [] and ledger_of(stack, "alice") == []
    assert job_ids_of(stack, "bob") == [] and ledger_of(stack, "bob") == []
    assert len(stack.provider.requests_to("create")) == 1  # carol's older video only
    assert stack.bot is not None
    assert "kraken" not in stack.bot.log_text().lower()
    # A prompt that only contains the letters is fine ("krakens" is another word).
    job_id = await submit_sora(stack, "alice", prompt="two krakens play chess")
    await stack.wait_finished(job_id)
    assert stack.ledger(job_id) == ["hold", "charge"]
    stack.assert_clean_log()


@pytest.mark.bot_env(QUOTA_LOG_CHANNEL_ID=str(VIDEOS_CHANNEL_ID))
async def test_moderators_read_their_language_and_the_log_channel_the_servers(
    stack: Stack,
) -> None:
    stack.discord.world.users["admin"].locale = "zh-TW"
    stack.discord.world.users["bob"].locale = "zh-CN"
    bob = user_id(stack, "bob")
    # Private answers follow the moderator's client language...
    chosen = await command_reply(stack, "quota language", "admin", setting="zh-CN")
    assert chosen == (
        "✅ 你已將公開訊息的語言設為「簡體中文（简体中文）」"
        "（原為：「自動（依伺服器的社群語言）」）。"
    )
    assert await command_reply(stack, "quota language", "admin", setting="zh-CN") == (
        "這裡的公開訊息已經是「簡體中文（简体中文）」。"
    )
    granted = await command_reply(stack, "quota grant", "admin", member="bob", amount=2)
    assert granted == f"✅ 你已給予 <@{bob}> 2 部額外影片。對方目前有 2 部額外影片。"
    # ...and so do refusals, for a member who is not a moderator.
    denied = await command_reply(stack, "quota log", "bob")
    assert denied.startswith("只有管理员可以这样做")
    view = await command_reply(stack, "quota view", "bob")
    assert "额外视频：2 个（额度重置时保留）" in view
    # The log channel speaks the server's language, set to Simplified Chinese above.
    lines = await stack.wait_for(
        lambda: [m for m in stack.discord.bot_messages("videos") if "<@" in m.content][:2] or None,
        "the log channel lines",
    )
    admin = user_id(stack, "admin")
    assert lines[0].content.startswith(f"<@{admin}> 将公开消息的语言设为“简体中文”")
    # The quota log shows every entry in the reader's language, older English ones included.
    stack.discord.world.users["admin"].locale = "en-US"
    log = await command_reply(stack, "quota log", "admin")
    assert "set the language of public messages to Simplified Chinese (简体中文)" in log
    assert f"granted 2 bonus videos to <@{bob}>" in log
    stack.assert_clean_log()
