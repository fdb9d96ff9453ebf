"""`/quota`'s decisions without Discord: who may do what, what each action records, the log."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

import pytest

from bot.errors import Refusal
from bot.i18n import render
from bot.jobs.store import JobStore
from bot.models import Actor, JobState
from bot.moderation import audit
from bot.moderation.languages import Languages
from bot.moderation.permissions import NOT_A_MODERATOR, video_removal_record
from bot.moderation.service import Done, ModerationService
from bot.pages import MESSAGE_CHARS
from bot.quota import blocklist
from bot.quota.allowance import Allowance, QuotaDefaults, QuotaPolicy
from bot.storage import blocklist as blocklist_rows
from bot.storage.database import Database
from tests.support.doubles import FakeClock
from tests.support.jobs import DAY, deliver, new_job

GUILD = 1
MEMBER = 7
MOD_ROLE = 900
ROLE = 501
MOD = Actor(GUILD, 99, manage_guild=True)
ROLE_MOD = Actor(GUILD, 98, role_ids=(GUILD, MOD_ROLE))
PLAIN = Actor(GUILD, MEMBER, role_ids=(GUILD, ROLE))

Call = Callable[[ModerationService, Actor], Awaitable[object]]

# Every moderator command, with arguments that would succeed for a moderator.
MODERATOR_COMMANDS: dict[str, Call] = {
    "set": lambda s, a: s.set_limit(a, MEMBER, 3, "trusted"),
    "clear": lambda s, a: s.clear_limit(a, MEMBER),
    "grant": lambda s, a: s.grant(a, MEMBER, 2, "event winner"),
    "reset": lambda s, a: s.reset(a, MEMBER),
    "default": lambda s, a: s.set_default(a, 4, "week"),
    "role": lambda s, a: s.set_role(a, ROLE, 8),
    "role-clear": lambda s, a: s.clear_role(a, ROLE),
    "block": lambda s, a: s.block(a, 8, "spam"),
    "unblock": lambda s, a: s.unblock(a, MEMBER),
    "log": lambda s, a: s.log(a),
    "blocklist add": lambda s, a: s.blocklist_add(a, "splatter"),
    "blocklist remove": lambda s, a: s.blocklist_remove(a, "gore"),
    "blocklist list": lambda s, a: s.blocklist_list(a),
    "language": lambda s, a: s.set_language(a, "zh-TW"),
}
TABLES = (
    "quota_ledger",
    "moderation_actions",
    "quota_guild_defaults",
    "quota_role_limits",
    "quota_member_overrides",
    "quota_blocks",
    "guild_languages",
    "prompt_blocklist",
)


@pytest.fixture
def service(db: Database, clock: FakeClock, job_store: JobStore) -> ModerationService:
    policy = QuotaPolicy(db, QuotaDefaults(5, "day", ZoneInfo("UTC")))
    return ModerationService(
        db=db, clock=clock, jobs=job_store, policy=policy, mod_role_ids=(MOD_ROLE,)
    )


async def prepare(service: ModerationService) -> None:
    """State in which every moderator command has something to act on."""
    await service.set_limit(MOD, MEMBER, 2)
    await service.set_role(MOD, ROLE, 6)
    await service.block(MOD, MEMBER)
    await service.blocklist_add(MOD, "gore")
    allowance = await service.policy.allowance(GUILD, MEMBER)
    failed = await service.jobs.submit(new_job(), allowance)
    await service.jobs.finish_unsuccessfully(failed, JobState.FAILED, "x", "y")
    await deliver(service.jobs, await service.jobs.submit(new_job(), allowance))  # charged


async def row_counts(db: Database) -> dict[str, int]:
    counts = {}
    for table in TABLES:
        row = await db.fetch_one(f"SELECT COUNT(*) FROM {table}")
        assert row is not None
        counts[table] = row[0]
    return counts


# -- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODERATOR_COMMANDS))
async def test_a_member_is_refused_every_moderator_command_and_nothing_changes(
    service: ModerationService, db: Database, name: str
) -> None:
    await prepare(service)
    before = await row_counts(db)
    with pytest.raises(Refusal) as refused:
        await MODERATOR_COMMANDS[name](service, PLAIN)
    assert str(refused.value) == render(NOT_A_MODERATOR, "en")
    assert await row_counts(db) == before


@pytest.mark.parametrize("name", list(MODERATOR_COMMANDS))
@pytest.mark.parametrize("actor", [MOD, ROLE_MOD], ids=["manage-server", "mod-role"])
async def test_moderators_by_permission_or_role_may_run_every_command(
    service: ModerationService, name: str, actor: Actor
) -> None:
    await prepare(service)
    result = await MODERATOR_COMMANDS[name](service, actor)
    assert isinstance(result, Done | str)


async def test_members_see_their_own_quota_only(service: ModerationService) -> None:
    own = await service.view(PLAIN, MEMBER, PLAIN.role_ids)
    assert f"<@{MEMBER}>" in own
    with pytest.raises(Refusal, match="Only moderators can look at another member"):
        await service.view(PLAIN, 8, ())
    assert "<@8>" in await service.view(MOD, 8, ())


# -- every action is recorded once ----------------------------------------------------------


@pytest.mark.parametrize(
    "name", [n for n in MODERATOR_COMMANDS if n not in ("log", "blocklist list")]
)
async def test_every_moderator_action_leaves_exactly_one_record(
    service: ModerationService, db: Database, clock: FakeClock, name: str
) -> None:
    await prepare(service)
    clock.advance(60)
    actions_before = await row_counts(db)
    log_before = await service.log(MOD)
    done = await MODERATOR_COMMANDS[name](service, MOD)
    assert isinstance(done, Done)
    after = await row_counts(db)
    assert after["moderation_actions"] == actions_before["moderation_actions"] + 1
    row = await db.fetch_one("SELECT * FROM moderation_actions WHERE id = ?", (done.action_id,))
    assert row is not None
    assert (row["actor_id"], row["guild_id"], row["created_at"]) == (
        MOD.user_id,
        GUILD,
        clock.now(),
    )
    assert row["detail"]
    # The log grows by exactly one entry (a grant's ledger row is not shown twice).
    assert _total(await service.log(MOD)) == _total(log_before) + 1
    newest = (await service.log(MOD)).splitlines()[1]
    assert f"<@{MOD.user_id}> {row['detail']}" in newest


def _total(log_text: str) -> int:
    header = log_text.splitlines()[0]
    return int(header.rsplit("(", 1)[1].split()[0])


async def test_who_what_whom_why_and_when_are_recorded(
    service: ModerationService, db: Database, clock: FakeClock
) -> None:
    done = await service.grant(MOD, MEMBER, 3, "  won the   contest ")
    row = await db.fetch_one("SELECT * FROM moderation_actions WHERE id = ?", (done.action_id,))
    assert row is not None
    assert row["action"] == "grant"
    assert row["target_user_id"] == MEMBER
    assert row["reason"] == "won the contest"
    assert row["created_at"] == clock.now()
    ledger = await db.fetch_one("SELECT * FROM quota_ledger WHERE id = ?", (row["ledger_id"],))
    assert ledger is not None
    assert (ledger["kind"], ledger["units"], ledger["period_start"]) == ("grant", -3, None)
    assert (ledger["actor_id"], ledger["reason"]) == (MOD.user_id, "won the contest")
    assert render(done.log_line, "en") == (
        f"<@{MOD.user_id}> granted 3 bonus videos to <@{MEMBER}> — reason: won the contest"
    )
    assert "Their bonus is now 3." in render(done.reply, "en")
    # The moderator and the log channel may read other languages.
    assert render(done.reply, "zh-TW") == "✅ 你已給予 <@7> 3 部額外影片。對方目前有 3 部額外影片。"
    assert render(done.log_line, "zh-CN") == "<@99> 给予 <@7> 3 个额外视频（原因：won the contest）"


async def test_refused_no_ops_record_nothing(service: ModerationService, db: Database) -> None:
    before = await row_counts(db)
    for attempt, message in [
        (service.clear_limit(MOD, MEMBER), "has no personal limit"),
        (service.clear_role(MOD, ROLE), "has no allowance"),
        (service.unblock(MOD, MEMBER), "is not blocked"),
        (service.reset(MOD, MEMBER), "nothing to give back"),
        (service.blocklist_remove(MOD, "gore"), "not on the blocklist"),
        (service.grant(MOD, MEMBER, 0), "not 0"),
        (service.set_limit(MOD, MEMBER, 1001), "The most a limit can be on this bot is 1000"),
        (service.set_limit(MOD, MEMBER, -1), "between 0 and 1000"),
        (service.set_default(MOD, 3, "fortnight"), "one of: Day, Week, Month"),
        (service.block(MOD, MEMBER, "x" * 201), "at most 200"),
        (service.blocklist_add(MOD, "a*b"), "start or the end"),
    ]:
        with pytest.raises(Refusal, match=message):
            await attempt
    assert await row_counts(db) == before


async def test_blocking_twice_keeps_the_first_block(service: ModerationService) -> None:
    await service.block(MOD, MEMBER, "first")
    with pytest.raises(Refusal, match="already blocked"):
        await service.block(MOD, MEMBER, "second")
    status = await service.status(MOD, MEMBER, ())
    assert status.block is not None and status.block.reason == "first"


# -- reset ----------------------------------------------------------------------------------


async def test_reset_gives_back_used_videos_but_not_ones_in_progress(
    service: ModerationService, job_store: JobStore
) -> None:
    allowance = await service.policy.allowance(GUILD, MEMBER)
    await deliver(job_store, await job_store.submit(new_job(), allowance))
    in_progress = await job_store.submit(new_job(), allowance)
    done = await service.reset(MOD, MEMBER, "bad batch")
    assert "1 video given back" in render(done.reply, "en")
    with pytest.raises(Refusal, match="Their 1 video in progress is charged"):
        await service.reset(MOD, MEMBER)
    # The one in progress fails: its hold is released, and usage does not go below zero.
    await job_store.finish_unsuccessfully(in_progress, JobState.FAILED, "x", "y")
    status = await service.status(MOD, MEMBER, ())
    assert (status.balance.used, status.balance.remaining) == (0, 5)


# -- view -----------------------------------------------------------------------------------


async def test_view_shows_used_remaining_bonus_reset_and_jobs(
    service: ModerationService, job_store: JobStore, clock: FakeClock
) -> None:
    await service.set_role(MOD, ROLE, 3)
    await service.grant(MOD, MEMBER, 2)
    job = await job_store.submit(
        new_job(),
        await service.policy.allowance(GUILD, MEMBER, PLAIN.role_ids),
    )
    await job_store.record_status(job, 555, "status")
    text = await service.view(PLAIN, MEMBER, PLAIN.role_ids)
    reset = int(clock.now() + 24 * 3600)
    assert f"Allowance: 3 videos per day (from the role <@&{ROLE}>)" in text
    assert "Used today: 1 · Left: **4** (2 today + 2 bonus)" in text
    assert "Bonus videos: 2" in text
    assert f"Resets <t:{reset}:R>" in text
    assert f"[job #{job.id}](https://discord.com/channels/{GUILD}/10/555) (starting)" in text
    in_taiwan = await service.view(PLAIN, MEMBER, PLAIN.role_ids, "zh-TW")
    assert f"額度：每天 3 部影片（來自身分組 <@&{ROLE}>）" in in_taiwan
    assert "今天已用：1 · 剩餘：**4**（今天 2 部 + 額外 2 部）" in in_taiwan
    assert f"[任務 #{job.id}](https://discord.com/channels/{GUILD}/10/555)（即將開始）" in in_taiwan
    assert "今天已用：1 · 剩余：**4**" in await service.view(PLAIN, MEMBER, PLAIN.role_ids, "zh-CN")


async def test_jobs_in_progress_are_listed_as_the_reader_lists(
    service: ModerationService, job_store: JobStore
) -> None:
    allowance = await service.policy.allowance(GUILD, MEMBER)
    first = await job_store.submit(new_job(), allowance)
    second = await job_store.submit(new_job(), allowance)
    assert await job_store.record_submitted(second, "task", 0)
    english = await service.view(PLAIN, MEMBER, ())
    assert (
        f"In progress: job #{first.id} (starting), job #{second.id} (waiting at the video service)"
        in english
    )
    taiwan = await service.view(PLAIN, MEMBER, (), "zh-TW")
    assert (
        f"進行中：任務 #{first.id}（即將開始）、任務 #{second.id}（在影片服務的佇列中等候）"
        in taiwan
    )
    mainland = await service.view(PLAIN, MEMBER, (), "zh-CN")
    assert (
        f"进行中：任务 #{first.id}（即将开始）、任务 #{second.id}（在视频服务的队列中等待）"
        in mainland
    )


async def test_blocked_members_see_it_but_only_moderators_see_why(
    service: ModerationService,
) -> None:
    await service.block(MOD, MEMBER, "spam links")
    own = await service.view(PLAIN, MEMBER, ())
    assert "Blocked from making videos" in own and "spam links" not in own
    assert "reason: spam links" in await service.view(MOD, MEMBER, ())


async def test_view_shows_what_is_owed(service: ModerationService) -> None:
    await service.grant(MOD, MEMBER, -7)
    text = await service.view(PLAIN, MEMBER, ())
    assert "Left: **0**" in text
    assert "Owed: 7 videos from a moderator's deduction" in text


# -- log ------------------------------------------------------------------------------------


async def test_log_is_newest_first_and_paged(service: ModerationService, clock: FakeClock) -> None:
    for limit in range(25):
        clock.advance(1)
        await service.set_limit(MOD, MEMBER, limit)
    first = (await service.log(MOD)).splitlines()
    assert "page 1 of 3 (25 entries)" in first[0]
    assert "to 24 (was 23)" in first[1] and "to 15 (was 14)" in first[10]
    assert first[-1] == "Older entries: `/quota log page:2`."
    last = (await service.log(MOD, page=3)).splitlines()
    assert "page 3 of 3" in last[0] and len(last) == 6
    assert "to 0 (was not set)" in last[-1]
    assert (await service.log(MOD, page=99)).splitlines()[0] == last[0]


async def test_log_for_a_member_merges_jobs_and_actions(
    service: ModerationService, job_store: JobStore, clock: FakeClock
) -> None:
    await service.set_role(MOD, ROLE, 3)  # not about the member: not in their log
    clock.advance(1)
    job = await job_store.submit(
        new_job(),
        await service.policy.allowance(GUILD, MEMBER),
    )
    clock.advance(1)
    await job_store.finish_unsuccessfully(job, JobState.FAILED, "x", "y")
    clock.advance(1)
    await service.grant(MOD, MEMBER, 1, "sorry about that")
    lines = (await service.log(MOD, MEMBER)).splitlines()
    assert f"Quota log for <@{MEMBER}>" in lines[0] and "(3 entries)" in lines[0]
    assert "granted 1 bonus video to" in lines[1] and "sorry about that" in lines[1]
    assert f"job #{job.id}: 1 video given back" in lines[2]
    taiwan = (await service.log(MOD, MEMBER, locale="zh-TW")).splitlines()
    assert taiwan[2].endswith(f"任務 #{job.id}：退還 1 部影片額度給 <@{MEMBER}>（任務失敗）")
    assert f"job #{job.id}: 1 video held" in lines[3]
    assert await service.log(MOD, 8) == "Nothing in the quota log for <@8> yet."


# -- blocklist ------------------------------------------------------------------------------


async def test_blocklist_terms_stay_out_of_the_log_channel(service: ModerationService) -> None:
    added = await service.blocklist_add(MOD, "  Blood   BATH ")
    assert "blood bath" not in render(added.log_line, "en").lower()
    assert "||blood bath||" in render(added.reply, "en")  # the moderator sees what was stored
    assert "||blood bath||" in await service.blocklist_list(MOD)
    with pytest.raises(Refusal, match="already on the blocklist"):
        await service.blocklist_add(MOD, "blood bath")
    removed = await service.blocklist_remove(MOD, "BLOOD BATH")
    assert "blood" not in render(removed.log_line, "en").lower()
    assert "empty" in await service.blocklist_list(MOD)


async def test_the_blocklist_has_a_size_limit(
    service: ModerationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.quota.blocklist.MAX_ENTRIES_PER_GUILD", 2)
    await service.blocklist_add(MOD, "one")
    await service.blocklist_add(MOD, "two")
    with pytest.raises(Refusal, match="full \\(2 entries\\)"):
        await service.blocklist_add(MOD, "three")


async def test_the_requester_or_a_moderator_may_manage_a_video(
    service: ModerationService, job_store: JobStore
) -> None:
    job = await job_store.submit(new_job(), Allowance(5, DAY))
    other = Actor(GUILD, MEMBER + 1, role_ids=(GUILD, ROLE))
    assert service.may_manage_video(PLAIN, job)  # PLAIN asked for it
    assert service.may_manage_video(MOD, job) and service.may_manage_video(ROLE_MOD, job)
    assert not service.may_manage_video(other, job)
    # Only a removal by someone else (a moderator) goes in the audit log.
    assert video_removal_record(PLAIN, job) is None
    record = video_removal_record(MOD, job)
    assert record is not None and record.action == "remove_video"
    assert record.target_user_id == MEMBER and f"job #{job.id}" in render(record.detail, "en")


# -- replies fit one Discord message, whatever the data --------------------------------------

BIGGEST_ID = 2**63 - 1  # the largest snowflake: the longest mention


def pages_of(first: str) -> int:
    match = re.search(r"page 1 of (\d+)", first)
    assert match is not None, first
    return int(match.group(1))


async def test_the_longest_blocklist_pages_by_size(
    service: ModerationService, db: Database
) -> None:
    async with db.transaction() as conn:
        for n in range(blocklist.MAX_ENTRIES_PER_GUILD):
            await blocklist_rows.add(conn, GUILD, f"{n:03d}" + "w" * 97, BIGGEST_ID, 0.0)
    first = await service.blocklist_list(MOD)
    seen: list[str] = []
    for page in range(1, pages_of(first) + 1):
        reply = await service.blocklist_list(MOD, page)
        assert len(reply) <= MESSAGE_CHARS, (page, len(reply))
        seen += re.findall(r"\|\|(\d{3})w+\|\|", reply)
        if page < pages_of(first):
            assert reply.endswith(f"More with `/quota blocklist list page:{page + 1}`.")
    assert seen == [f"{n:03d}" for n in range(blocklist.MAX_ENTRIES_PER_GUILD)]


async def test_the_longest_log_lines_page_by_size(
    service: ModerationService, clock: FakeClock
) -> None:
    moderator = Actor(GUILD, BIGGEST_ID, manage_guild=True)
    for n in range(30):
        clock.advance(1)
        await service.blocklist_add(moderator, f"{n:03d}" + "t" * 97, "r" * 200)
        clock.advance(1)
        await service.grant(moderator, BIGGEST_ID - 1, 1000, "g" * 200)
    for member in (None, BIGGEST_ID - 1):
        first = await service.log(MOD, member)
        terms: list[str] = []
        for page in range(1, pages_of(first) + 1):
            reply = await service.log(MOD, member, page)
            assert len(reply) <= MESSAGE_CHARS, (member, page, len(reply))
            terms += re.findall(r"\|\|(\d{3})t+\|\|", reply)
            assert len(reply.splitlines()) <= audit.LOG_PAGE_SIZE + 2
        if member is None:
            assert terms == [f"{n:03d}" for n in reversed(range(30))]  # each once, newest first


# -- the server's language --------------------------------------------------------------------


async def test_a_moderator_sets_the_servers_language_and_it_is_recorded(
    service: ModerationService, db: Database
) -> None:
    done = await service.set_language(MOD, "zh-TW", "most of us read Chinese")
    assert render(done.reply, "en") == (
        "✅ You set the language of public messages to Traditional Chinese (繁體中文) "
        "(was Automatic (the server's community language))."
    )
    assert render(done.log_line, "zh-TW") == (
        "<@99> 將公開訊息的語言設為「繁體中文」（原為：「自動（依伺服器的社群語言）」）"
        "（原因：most of us read Chinese）"
    )
    languages = Languages(db, FakeClock())
    assert await languages.public_locale(GUILD, "en-US") == "zh-TW"
    with pytest.raises(Refusal, match="already in: Traditional Chinese"):
        await service.set_language(MOD, "zh-TW")
    with pytest.raises(Refusal, match="must be one of: Automatic") as refused:
        await service.set_language(MOD, "klingon")
    assert refused.value.text_for("zh-TW") == (
        "語言必須是以下其中之一：自動（依伺服器的社群語言）、English（英文）、"
        "簡體中文（简体中文）、繁體中文。"
    )
    await service.set_language(MOD, "auto")
    assert await languages.public_locale(GUILD, "zh-CN") == "zh-CN"
    rows = await db.fetch_all(
        "SELECT action, detail FROM moderation_actions WHERE action = 'set_language' ORDER BY id"
    )
    assert [tuple(row) for row in rows] == [
        (
            "set_language",
            "set the language of public messages to Traditional Chinese (繁體中文) "
            "(was Automatic (the server's community language))",
        ),
        (
            "set_language",
            "set the language of public messages to Automatic (the server's community "
            "language) (was Traditional Chinese (繁體中文))",
        ),
    ]


async def test_the_log_reads_in_each_moderators_language(
    service: ModerationService, db: Database, clock: FakeClock
) -> None:
    # A row written before actions kept their message: shown as it was written.
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO moderation_actions (guild_id, actor_id, action, target_user_id, "
            "detail, created_at) VALUES (?, ?, 'block', ?, ?, ?)",
            (GUILD, 99, MEMBER, f"blocked <@{MEMBER}> from making videos", clock.now()),
        )
    clock.advance(1)
    await service.grant(MOD, MEMBER, -2, "refund")
    clock.advance(1)
    english = (await service.log(MOD)).splitlines()
    taiwan = (await service.log(MOD, locale="zh-TW")).splitlines()
    mainland = (await service.log(MOD, locale="zh-CN")).splitlines()
    assert english[0].startswith("**Quota log** · newest first · page 1 of 1 (2 entries)")
    assert taiwan[0] == "**額度紀錄** · 由新到舊 · 第 1/1 頁（2 個項目）"
    assert mainland[0] == "**额度记录** · 从新到旧 · 第 1/1 页（2 个条目）"
    assert english[1].endswith(f"<@99> took 2 bonus videos from <@{MEMBER}> — refund")
    assert taiwan[1].endswith(f"<@99> 收回 <@{MEMBER}> 的 2 部額外影片（refund）")
    assert mainland[1].endswith(f"<@99> 收回 <@{MEMBER}> 的 2 个额外视频（refund）")
    for lines in (english, taiwan, mainland):
        assert lines[2].endswith(f"<@99> blocked <@{MEMBER}> from making videos")
