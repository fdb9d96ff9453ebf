"""A server's queue, through the real bot and the fake Discord: over the caps on videos at the
service a job waits (its unit held, a Cancel button on its status message, nothing sent to the
service), beyond the queue's limits it is refused privately, waiting jobs start in the fair
order as slots free, and they survive a SIGKILL in that order. Two processes on PostgreSQL start
each waiting job once; with MAX_QUEUED_JOBS_PER_GUILD=0 a full server refuses as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import migrate
from tests.e2e.conftest import (
    READY_TIMEOUT,
    RIVYA_KEY,
    Stack,
    answered_with_status,
    command_reply,
    sora_request,
    submit_sora,
    user_id,
)
from tests.e2e.test_shards import start_shards
from tests.support.fake_discord import BotRunner, FakeDiscord, MessageRecord
from tests.support.fake_discord.gateway import GUILDS
from tests.support.postgres_cluster import Databases
from tests.support.sims.rivya import RivyaSimulator, RivyaTask

QUEUE = {
    "MAX_ACTIVE_JOBS_PER_MEMBER": "5",
    "MAX_ACTIVE_JOBS_PER_GUILD": "2",
    "MAX_QUEUED_JOBS_PER_MEMBER": "3",
    "MAX_QUEUED_JOBS_PER_GUILD": "5",
    "DEFAULT_QUOTA": "10",
}
FOREVER = 10**6  # status polls before a held task finishes: never, until released


def hold_the_service(stack: Stack) -> None:
    """Tasks created from now on stay in progress at the service until `release`d."""
    stack.provider.polls_until_done = FOREVER


def release(task: RivyaTask) -> None:
    task.polls_until_done = task.polls + 1


def tasks(stack: Stack) -> list[RivyaTask]:
    created = stack.provider.created_tasks
    assert all(isinstance(task, RivyaTask) for task in created)
    return created  # type: ignore[return-value]


def cancel_id(job_id: int) -> str:
    return f"sora:cancel:{job_id}"


def status(stack: Stack, job_id: int) -> MessageRecord:
    found = stack.status_message(job_id)
    assert found is not None, f"job #{job_id} has no status message"
    return found


def start_order(stack: Stack, job_ids: list[int]) -> list[int]:
    marks = ", ".join("?" for _ in job_ids)
    rows = stack.query(
        f"SELECT id FROM jobs WHERE id IN ({marks}) AND started_at IS NOT NULL "
        "ORDER BY started_at, id",
        tuple(job_ids),
    )
    return [row[0] for row in rows]


async def wait_places(stack: Stack, places: dict[int, int]) -> None:
    """Wait until each job's status message shows its place in the queue."""

    def shown() -> bool:
        return all(
            f"number {place} in line" in status(stack, job).content for job, place in places.items()
        )

    await stack.wait_for(shown, f"the queue's places {places}")


async def press(stack: Stack, job_id: int, user: str) -> str:
    """`user` presses Cancel on the job's status message; the private answer, if any."""
    handle = await stack.discord.click(status(stack, job_id), cancel_id(job_id), user=user)
    await handle.wait_ack()
    if handle.ephemeral:
        await handle.wait_original()
        return handle.original_contents[-1]
    return ""


@pytest.mark.bot_env(**QUEUE)
async def test_over_the_caps_jobs_wait_in_turn_and_cancel_gives_the_unit_back(
    stack: Stack,
) -> None:
    hold_the_service(stack)
    slots = [await submit_sora(stack, "carol", prompt=f"slot {i}") for i in (1, 2)]
    await stack.wait_for(lambda: len(tasks(stack)) == 2, "both slots at the service")
    alice = [await submit_sora(stack, "alice", prompt=f"alice {i}") for i in (1, 2, 3)]
    bob = await submit_sora(stack, "bob", prompt="bob 1")
    dana = await submit_sora(stack, "dana", prompt="dana 1")

    # Beyond the queue's limits: refused privately, nothing held.
    refused = await command_reply(stack, "sora", "alice", **sora_request(stack, prompt="alice 4"))
    assert refused.startswith("The queue is full for you: you already have 3 videos waiting")
    refused = await command_reply(stack, "sora", "owner", **sora_request(stack, prompt="owner 1"))
    assert refused.startswith("This server's queue is full: 5 videos are already waiting")
    assert stack.query("SELECT COUNT(*) FROM jobs") == [(7,)]

    # Waiting: nothing sent to the service, the unit held, a Cancel button, a place in line.
    waiting = [*alice, bob, dana]
    assert len(tasks(stack)) == 2
    for job_id in waiting:
        assert stack.job_state(job_id) == "waiting"
        assert stack.ledger(job_id) == ["hold"]
        assert cancel_id(job_id) in status(stack, job_id).custom_ids()
    for job_id in slots:
        assert not status(stack, job_id).custom_ids()
    # Taking turns: Alice's three do not all go before Bob's and Dana's one.
    await wait_places(stack, {alice[0]: 1, bob: 2, dana: 3, alice[1]: 4, alice[2]: 5})
    assert "In the queue since" in status(stack, bob).content

    # Only the member who asked, or a moderator, may cancel.
    said = await press(stack, alice[2], "bob")
    assert said == f"Only the member who asked for job #{alice[2]}, or a moderator, can cancel it."
    assert stack.job_state(alice[2]) == "waiting"
    await press(stack, alice[2], "alice")
    await stack.wait_for(
        lambda: f"Cancelled by <@{user_id(stack, 'alice')}>" in status(stack, alice[2]).content,
        "Alice's own cancel on her status message",
    )
    assert not status(stack, alice[2]).custom_ids()  # the button is gone
    assert stack.ledger(alice[2]) == ["hold", "release"]
    assert await press(stack, dana, "admin") == ""  # a moderator (Manage Server)
    await stack.wait_for(lambda: stack.job_state(dana) == "cancelled", "the moderator's cancel")
    dana_id = user_id(stack, "dana")
    await stack.wait_for(
        lambda: any(
            f"<@{dana_id}> job #{dana}" in m.content and "Cancelled by" in m.content
            for m in stack.bot_posts()
        ),
        "Dana told her job was cancelled",
    )
    assert stack.ledger(dana) == ["hold", "release"]
    await wait_places(stack, {alice[0]: 1, bob: 2, alice[1]: 3})

    # A slot frees: the first in line starts. Its create is slow, so its status message still
    # shows the Cancel button when Alice presses it: she is told why it cannot be cancelled.
    stack.provider.inject("create", "slow", delay=4.0)
    release(tasks(stack)[0])
    await stack.wait_for(lambda: stack.job_state(alice[0]) == "queued", "Alice's first to start")
    said = await press(stack, alice[0], "alice")
    assert said.startswith(f"Job #{alice[0]} has already gone to the video service")
    stack.provider.polls_until_done = 2
    release(tasks(stack)[1])
    for job_id in (alice[0], bob, alice[1]):
        await stack.wait_finished(job_id)
    assert start_order(stack, [alice[0], bob, alice[1]]) == [alice[0], bob, alice[1]]
    assert not status(stack, alice[0]).custom_ids()
    # Each sent once (Alice's first reached the service last: its create was slow).
    assert sorted(task.prompt for task in tasks(stack)[2:]) == ["alice 1", "alice 2", "bob 1"]
    assert stack.ledger(alice[0]) == ["hold", "charge"]
    stack.assert_clean_log()


@pytest.mark.bot_env(**QUEUE)
async def test_waiting_jobs_survive_a_kill_in_their_order_and_cancel_still_works(
    stack: Stack,
) -> None:
    hold_the_service(stack)
    for index in (1, 2):
        await submit_sora(stack, "carol", prompt=f"slot {index}")
    await stack.wait_for(lambda: len(tasks(stack)) == 2, "both slots at the service")
    alice = [await submit_sora(stack, "alice", prompt=f"alice {i}") for i in (1, 2, 3)]
    bob = await submit_sora(stack, "bob", prompt="bob 1")
    await wait_places(stack, {alice[0]: 1, bob: 2, alice[1]: 3, alice[2]: 4})
    assert stack.bot is not None
    await stack.bot.kill()
    await stack.start_bot()

    # The button of a message posted before the restart works.
    await press(stack, alice[1], "alice")
    await stack.wait_for(lambda: stack.job_state(alice[1]) == "cancelled", "the cancel")
    await stack.wait_for(
        lambda: "Cancelled by" in status(stack, alice[1]).content, "the cancelled status"
    )
    await wait_places(stack, {alice[0]: 1, bob: 2, alice[2]: 3})
    stack.provider.polls_until_done = 2
    for task in tasks(stack):
        release(task)
    for job_id in (alice[0], bob, alice[2]):
        await stack.wait_finished(job_id)
    assert start_order(stack, [alice[0], bob, alice[2]]) == [alice[0], bob, alice[2]]
    assert len(tasks(stack)) == 5  # each job sent once
    heads = [m for m in stack.bot_posts() if re.match(r"🎬 \*\*Video job #\d+\*\*", m.content)]
    assert len(heads) == 6  # one status message per job, none posted twice
    assert stack.ledger(alice[1]) == ["hold", "release"]


@pytest.mark.bot_env(MAX_ACTIVE_JOBS_PER_GUILD="1", MAX_QUEUED_JOBS_PER_GUILD="0")
async def test_without_a_queue_a_full_server_is_refused_as_before(stack: Stack) -> None:
    hold_the_service(stack)
    first = await submit_sora(stack, "carol")
    refused = await command_reply(stack, "sora", "alice", **sora_request(stack))
    assert refused.startswith("The server has 1 video in progress, the most it allows at once.")
    assert stack.query("SELECT id FROM jobs") == [(first,)]  # nothing waits, nothing held
    assert stack.job_state(first) in ("queued", "submitted", "running")
    assert not status(stack, first).custom_ids()


@pytest.mark.timeout(180)
async def test_two_processes_on_postgresql_start_each_waiting_job_once_in_turn(
    tmp_path: Path, postgres: Databases
) -> None:
    async with (
        FakeDiscord() as discord,
        RivyaSimulator(RIVYA_KEY) as provider,
        BotRunner(tmp_path / "logs") as runner,
    ):
        stack = Stack(discord, provider, runner, tmp_path, "rivya")
        stack.database_url = postgres.migrated(migrate)
        stack.env_overrides.update(QUEUE | {"MAX_QUEUED_JOBS_PER_GUILD": "20"})
        processes = await start_shards(stack, runner)
        stack.bot = processes[(discord.guild_id >> 22) % 2]
        await discord.wait_until_ready(timeout=READY_TIMEOUT, identifies=2)
        hold_the_service(stack)
        for index in (1, 2):
            await submit_sora(stack, "carol", prompt=f"slot {index}")
        await stack.wait_for(lambda: len(tasks(stack)) == 2, "both slots at the service")
        asked = [("alice", 1), ("alice", 2), ("alice", 3), ("bob", 1), ("dana", 1), ("bob", 2)]
        jobs = {}
        for member, index in asked:
            handle = await discord.invoke(
                "sora", user=member, options=sora_request(stack, prompt=f"{member} {index}")
            )
            await handle.wait_original(timeout=20)
            jobs[(member, index)] = answered_with_status(stack, handle)
        provider.polls_until_done = 3
        for task in tasks(stack):
            release(task)
        for job_id in jobs.values():
            await stack.wait_finished(job_id)
        prompts = [task.prompt for task in tasks(stack)]
        assert len(prompts) == len(set(prompts)) == 8  # each job sent once
        expected = [("alice", 1), ("bob", 1), ("dana", 1), ("alice", 2), ("bob", 2), ("alice", 3)]
        order = start_order(stack, list(jobs.values()))
        assert order == [jobs[key] for key in expected]
        # Never more than the server's two slots at the service at once, across both.
        spans = sorted(
            (task.created_at, task.finish_seen_at or task.created_at) for task in tasks(stack)
        )
        for start, _ in spans:
            assert sum(1 for s, e in spans if s <= start < e) <= 2
        for job_id in jobs.values():
            assert stack.ledger(job_id) == ["hold", "charge"]
        await runner.stop_all()
    assert not discord.internal_errors, "\n".join(discord.internal_errors)


async def queue_of_two(stack: Stack) -> tuple[int, list[int]]:
    """Carol's job at the service (the server's one slot), and two jobs waiting behind it."""
    hold_the_service(stack)
    at_service = await submit_sora(stack, "carol", prompt="the one slot")
    await stack.wait_for(lambda: len(tasks(stack)) == 1, "the slot at the service")
    waiting = [await submit_sora(stack, user, prompt=f"{user} 1") for user in ("alice", "bob")]
    await wait_places(stack, {waiting[0]: 1, waiting[1]: 2})
    return at_service, waiting


def assert_withdrawn(stack: Stack, waiting: list[int]) -> None:
    for job_id in waiting:
        assert stack.job_state(job_id) == "cancelled"
        assert stack.ledger(job_id) == ["hold", "release"]
    rows = stack.query(
        f"SELECT cancelled_by FROM jobs WHERE id IN ({', '.join('?' for _ in waiting)})",
        tuple(waiting),
    )
    assert rows == [(None,)] * len(waiting)  # the bot's own cancel: nobody pressed Cancel


@pytest.mark.bot_env(**(QUEUE | {"MAX_ACTIVE_JOBS_PER_GUILD": "1"}))
async def test_a_server_that_removes_the_bot_has_its_waiting_jobs_cancelled(
    stack: Stack,
) -> None:
    at_service, waiting = await queue_of_two(stack)
    # The server removes the bot (a kick): Discord tells it the server is gone.
    stack.discord.world.bot_in_guild = False
    guild_id = stack.discord.guild_id
    await stack.discord.gateway.dispatch(
        "GUILD_DELETE", {"id": str(guild_id)}, intent=GUILDS, guild_id=guild_id
    )
    await stack.wait_for(
        lambda: all(stack.job_state(job) == "cancelled" for job in waiting),
        "the waiting jobs cancelled",
    )
    assert_withdrawn(stack, waiting)
    release(tasks(stack)[0])  # the slot frees: nothing is left to start there
    await stack.wait_for(lambda: stack.job_state(at_service) != "running", "the slot's job ending")
    assert len(tasks(stack)) == 1  # nothing else reached the video service
    stack.assert_clean_log()


@pytest.mark.bot_env(**(QUEUE | {"MAX_ACTIVE_JOBS_PER_GUILD": "1"}))
async def test_waiting_jobs_of_a_server_no_longer_allowed_never_start(stack: Stack) -> None:
    _, waiting = await queue_of_two(stack)
    assert stack.bot is not None
    await stack.bot.kill()
    # The operator narrows ALLOWED_GUILD_IDS to another server, and starts the bot again: it
    # leaves this one, and what waited there is cancelled, its units given back.
    stack.env_overrides |= {"ALLOWED_GUILD_IDS": "123456789012345678", "DEV_GUILD_ID": ""}
    release(tasks(stack)[0])  # the slot frees meanwhile
    await stack.start_bot()
    await stack.bot.wait_for_log("it is not in ALLOWED_GUILD_IDS")
    await stack.wait_for(
        lambda: all(stack.job_state(job) == "cancelled" for job in waiting),
        "the waiting jobs cancelled",
    )
    assert_withdrawn(stack, waiting)
    assert len(tasks(stack)) == 1  # neither was sent to the video service
    stack.assert_clean_log()


@pytest.mark.bot_env(**(QUEUE | {"MAX_ACTIVE_JOBS_PER_GUILD": "1"}))
async def test_a_server_that_removed_the_bot_while_it_was_offline_starts_nothing(
    stack: Stack,
) -> None:
    _, waiting = await queue_of_two(stack)
    assert stack.bot is not None
    await stack.bot.kill()
    # The server removes the bot while it is down: nobody tells it; the server is simply not
    # among those Discord lists when it connects again.
    stack.discord.world.bot_in_guild = False
    release(tasks(stack)[0])  # the slot frees meanwhile
    # Not `start_bot`: that waits for the server to be sent to the bot, which it never is.
    stack.bot = await stack.runner.start("bot", stack.env(), cwd=stack.workdir)
    await stack.bot.wait_for_log("removed the bot while it was offline")
    assert_withdrawn(stack, waiting)
    assert len(tasks(stack)) == 1  # neither was sent to the video service
    stack.assert_clean_log()


@pytest.mark.bot_env(**(QUEUE | {"MAX_ACTIVE_JOBS_PER_GUILD": "1"}))
async def test_blocking_a_member_takes_their_waiting_videos_out_of_the_queue(
    stack: Stack,
) -> None:
    hold_the_service(stack)
    await submit_sora(stack, "carol", prompt="the one slot")
    await stack.wait_for(lambda: len(tasks(stack)) == 1, "the slot at the service")
    bobs = [await submit_sora(stack, "bob", prompt=f"bob {index}") for index in (1, 2)]
    alice = await submit_sora(stack, "alice", prompt="alice 1")
    await wait_places(stack, {bobs[0]: 1, alice: 2, bobs[1]: 3})

    said = await command_reply(stack, "quota block", "admin", member="bob", reason="spam")
    assert "Their 2 videos waiting in this server's queue were cancelled" in said
    admin = f"<@{user_id(stack, 'admin')}>"
    for job_id in bobs:
        assert stack.job_state(job_id) == "cancelled"
        assert stack.ledger(job_id) == ["hold", "release"]
        await stack.wait_for(
            lambda job_id=job_id: f"Cancelled by {admin}" in status(stack, job_id).content,
            f"job #{job_id}'s status message saying it was cancelled",
        )
        assert not status(stack, job_id).custom_ids()  # no Cancel button left
    await wait_places(stack, {alice: 1})
    release(tasks(stack)[0])
    await stack.wait_for(lambda: len(tasks(stack)) == 2, "alice's video at the service")
    assert tasks(stack)[1].prompt == "alice 1"  # bob's never reached it
    stack.assert_clean_log()
