"""Members of a Taiwanese server read the bot in their own language: private answers in each
member's client language, the server's public messages in its community language, commands
described in Chinese, and a blocklist that works on Chinese prompts."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import (
    Stack,
    answered_with_status,
    command_reply,
    dms_to,
    job_id_from,
    job_ids_of,
    slow_sora,
    sora_request,
    submit_sora,
    user_id,
)
from tests.support.fake_discord import MessageRecord, default_world
from tests.support.fake_discord import permissions as perms


def taiwanese_server() -> object:
    """The default world, its community language Traditional Chinese; alice reads Traditional
    Chinese, bob Simplified Chinese, carol English."""
    world = default_world()
    world.preferred_locale = "zh-TW"
    world.users["alice"].locale = "zh-TW"
    world.users["bob"].locale = "zh-CN"
    world.users["carol"].locale = "en-US"
    return world


TAIWANESE = pytest.mark.discord(world=taiwanese_server())


def server_without_files_or_history() -> object:
    """The Taiwanese server, where nobody, the bot included, may attach files or read the
    channel's history."""
    world = taiwanese_server()
    for role in ("@everyone", "SoraBot"):
        world.roles[role].permissions &= ~(perms.ATTACH_FILES | perms.READ_MESSAGE_HISTORY)
    return world


def status_of(stack: Stack, job_id: int) -> MessageRecord | None:
    """The job's status message, whatever its language."""
    for message in stack.bot_posts():
        if f"#{job_id}**" in message.content and message.content.startswith("🎬"):
            return message
    return None


async def sora_reply(stack: Stack, user: str, **options: object) -> str:
    handle = await stack.discord.invoke("sora", user=user, options=sora_request(stack, **options))
    await handle.wait_original()
    assert handle.ephemeral
    return handle.original_contents[-1]


@TAIWANESE
async def test_each_member_reads_their_language_and_the_server_its_own(stack: Stack) -> None:
    jobs = {}
    # A quick /sora is answered with the public status message, in the server's language.
    for user in ("alice", "carol"):
        handle = await stack.discord.invoke("sora", user=user, options=sora_request(stack))
        await handle.wait_original()
        jobs[user] = answered_with_status(stack, handle)
        assert handle.original_contents[-1].startswith("🎬 **影片任務 #")
    # A slow one (its image downloads slowly) is confirmed privately, in bob's language.
    handle = await slow_sora(stack, "bob", sora_request(stack))
    assert handle.ephemeral and handle.original_contents[-1].startswith("已受理任务 #")
    jobs["bob"] = job_id_from(handle.original_contents[-1])

    # Private refusals: each member's own language, with each region's own words.
    missing = {
        "alice": "這個伺服器沒有任務 #999。",
        "bob": "这个服务器没有任务 #999。",
        "carol": "There is no job #999 on this server.",
    }
    for user, refusal in missing.items():
        assert await command_reply(stack, "sora-show", user, job=999) == refusal

    # The public status message and the video's caption: the server's language for everyone,
    # whichever language the requester reads.
    for user, job_id in jobs.items():
        status = await stack.wait_for(
            lambda job_id=job_id: status_of(stack, job_id), f"the status of job #{job_id}"
        )
        assert status.content.startswith(f"🎬 **影片任務 #{job_id}**：<@{user_id(stack, user)}>")
        assert "**狀態：**" in status.content and "Status" not in status.content
        await stack.wait_for(
            lambda job_id=job_id: "✅ 完成" in getattr(status_of(stack, job_id), "content", ""),
            f"job #{job_id} to finish",
        )
        caption = f"你的影片（任務 #{job_id}）完成了。"
        result = await stack.wait_for(
            lambda caption=caption: [m for m in stack.bot_posts() if caption in m.content],
            f"the video of job #{job_id}",
        )
        buttons = [c["label"] for row in result[0].components for c in row["components"]]
        assert buttons == ["重新產生", "編輯並重新產生", "刪除"]
    stack.assert_clean_log()


@TAIWANESE
@pytest.mark.bot_env(DEFAULT_QUOTA="1")
async def test_a_refused_rerun_is_explained_by_direct_message_in_the_members_language(
    stack: Stack,
) -> None:
    carols = await submit_sora(stack, "carol")
    # bob (Simplified Chinese) spends his one video; the bot now knows his language.
    await submit_sora(stack, "bob")
    caption = f"你的影片（任務 #{carols}）完成了。"
    (result,) = await stack.wait_for(
        lambda: [m for m in stack.bot_posts() if caption in m.content], "carol's video"
    )
    # The final edit comes after the delivery is recorded: from then on 🔁 finds the video.
    await stack.wait_for(
        lambda: "✅ 完成" in getattr(status_of(stack, carols), "content", ""), "the final status"
    )
    # A reaction has no private reply: the refusal goes by DM, in bob's language.
    await stack.discord.react("bob", "general", result.id, "🔁")
    (dm,) = await stack.wait_for(lambda: dms_to(stack, "bob"), "the DM to bob")
    assert dm.content.startswith(f"无法重新生成任务 #{carols}：你今天的 1 个视频额度都用完了"), (
        dm.content
    )
    assert "<t:" in dm.content  # when it resets: a timestamp each client shows in its own way


@TAIWANESE
async def test_the_chinese_blocklist_refuses_across_scripts_and_lets_the_rest_through(
    stack: Stack,
) -> None:
    await command_reply(stack, "quota blocklist add", "admin", text="裸体")

    refusal = await sora_reply(stack, "alice", prompt="一個裸體女孩")
    assert refusal.startswith("你的提示詞含有這個伺服器不允許的字詞"), refusal
    assert "裸" not in refusal  # the matched term is never echoed
    assert job_ids_of(stack, "alice") == []

    accepted = await submit_sora(stack, "alice", prompt="一個女孩在海邊散步，夕陽西下")
    assert job_ids_of(stack, "alice") == [accepted]


@TAIWANESE
async def test_synced_commands_are_described_in_traditional_and_simplified_chinese(
    stack: Stack,
) -> None:
    sora = stack.discord.command("sora").payload
    assert sora["description"].startswith("Make a video with ")
    assert sora["description_localizations"]["zh-TW"].endswith("製作影片")
    assert sora["description_localizations"]["zh-CN"].endswith("生成视频")
    options = {option["name"]: option for option in sora["options"]}
    assert options["prompt"]["name_localizations"] == {"zh-TW": "提示詞", "zh-CN": "提示词"}
    assert options["duration"]["description_localizations"]["zh-TW"] == "影片長度"
    orientation = {c["value"]: c for c in options["orientation"]["choices"]}
    assert orientation["portrait"]["name"] == "Portrait"
    assert orientation["portrait"]["name_localizations"] == {"zh-TW": "直式", "zh-CN": "竖屏"}
    jobs = stack.discord.command("sora-jobs").payload
    assert jobs["description_localizations"] == {
        "zh-TW": "你在這個伺服器最近的影片任務",
        "zh-CN": "你在这个服务器最近的视频任务",
    }
    help_command = stack.discord.command("help").payload
    assert set(help_command["description_localizations"]) == {"zh-TW", "zh-CN"}


@pytest.mark.discord(world=server_without_files_or_history())
async def test_missing_permissions_are_named_as_each_members_discord_names_them(
    stack: Stack,
) -> None:
    refusals = {
        "alice": "我在這個頻道缺少這些權限：附加檔案、讀取訊息歷史。請管理員開放給我。",
        "bob": "我在这个频道缺少这些权限：附加文件、阅读消息历史记录。请管理员授予我。",
        "carol": (
            "I'm missing permissions in this channel: Attach Files, Read Message History. "
            "Ask a moderator to grant them."
        ),
    }
    for user, refusal in refusals.items():
        assert await sora_reply(stack, user) == refusal
        assert job_ids_of(stack, user) == []
