"""The real bot process (`python -m bot`) against the fake Discord and a provider simulator."""

from __future__ import annotations

import asyncio
import re
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from bot.storage.connection import numbered_placeholders
from tests.conftest import migrate
from tests.support.fake_discord import (
    BotProcess,
    BotRunner,
    FakeDiscord,
    InteractionHandle,
    MessageRecord,
)
from tests.support.images import PNG
from tests.support.sims.rivya import RivyaSimulator
from tests.support.sims.unified import UnifiedVideoSimulator

RIVYA_KEY = "rvya_sk_e2e_secret_key"
UNIFIED_KEY = "sk-e2e-unified-secret"
READY_TIMEOUT = 20.0
FLOW_TIMEOUT = 20.0
EXIT_TIMEOUT = 30.0  # a one-off command (check, migrate-db) to finish
STOP_TIMEOUT = 2.0  # SIGTERM to exit; past it `terminate` kills the bot (exit status -9)
PHASE_TIMEOUT = 20.0  # a start-up phase to begin


@dataclass
class Stack:
    discord: FakeDiscord
    provider: RivyaSimulator | UnifiedVideoSimulator
    runner: BotRunner
    workdir: Path
    backend: str
    env_overrides: dict[str, str] = field(default_factory=dict)
    bot: BotProcess | None = None
    database_url: str | None = None  # PostgreSQL; None: SQLite at `database`

    @property
    def database(self) -> Path:
        return self.workdir / "data" / "bot.sqlite3"

    def env(self) -> dict[str, str]:
        env = {
            **self.discord.launcher_env,
            "DISCORD_TOKEN": self.discord.token,
            "PROVIDER": self.backend,
            "DATABASE_PATH": str(self.database),
            # A killed bot's leased jobs are taken over when its lease lapses: keep that short.
            **(
                {"DATABASE_URL": self.database_url, "JOB_LEASE_SECONDS": "2"}
                if self.database_url
                else {}
            ),
            "DEV_GUILD_ID": str(self.discord.guild_id),
            "DEFAULT_QUOTA": "3",
            "STATUS_EDIT_INTERVAL_SECONDS": "0",
            "SUBMIT_COOLDOWN_SECONDS": "0",
            "LOG_LEVEL": "info",
        }
        if self.backend == "rivya":
            env |= {
                "RIVYA_API_KEY": RIVYA_KEY,
                "RIVYA_BASE_URL": self.provider.base_url,
                "RIVYA_POLL_SECONDS": "0.2",
            }
        else:
            env |= {
                "UNIFIED_API_KEY": UNIFIED_KEY,
                "UNIFIED_BASE_URL": self.provider.base_url,
                "UNIFIED_POLL_SECONDS": "0.2",
            }
        return env | self.env_overrides

    async def start_bot(self) -> BotProcess:
        identifies = self.discord.gateway.identifies + 1
        self.bot = await self.runner.start("bot", self.env(), cwd=self.workdir)
        try:
            await self.discord.wait_until_ready(timeout=READY_TIMEOUT, identifies=identifies)
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n--- bot log ---\n{self.bot.log_tail()}") from None
        return self.bot

    async def wait_for(
        self, predicate: Callable[[], Any], what: str, timeout: float = FLOW_TIMEOUT
    ) -> Any:
        try:
            return await self.discord.wait_for(predicate, timeout=timeout, what=what)
        except TimeoutError as error:
            log = self.bot.log_tail() if self.bot else ""
            raise TimeoutError(f"{error}\n--- bot log ---\n{log}") from None

    def bot_posts(self, channel: str = "general") -> list[MessageRecord]:
        return self.discord.bot_messages(channel)

    def status_message(self, job_id: int, channel: str = "general") -> MessageRecord | None:
        """The job's status message, in whichever language ('🎬 **Video job #12** …')."""
        head = re.compile(rf"🎬 \*\*[^*#]*#{job_id}\*\*")
        for message in self.bot_posts(channel):
            if head.match(message.content):
                return message
        return None

    def replies_to(self, message_id: int, channel: str = "general") -> list[MessageRecord]:
        return [m for m in self.bot_posts(channel) if m.reply_to == message_id]

    def result_of(self, job_id: int, channel: str = "general") -> MessageRecord | None:
        for message in self.bot_posts(channel):
            if f"your video for job #{job_id} is ready" in message.content:
                return message
        return None

    async def wait_finished(
        self, job_id: int, marker: str = "✅ Done", timeout: float = FLOW_TIMEOUT
    ) -> MessageRecord:
        """Wait for the status message's final edit, which the bot makes only after the
        outcome (and its quota charge or release) is committed."""

        def finished() -> MessageRecord | None:
            status = self.status_message(job_id)
            return status if status is not None and marker in status.content else None

        return await self.wait_for(finished, f"job #{job_id} status to show {marker!r}", timeout)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.database_url is not None:
            return postgres_query(self.database_url, sql, params)
        with sqlite3.connect(self.database) as conn:
            return conn.execute(sql, params).fetchall()

    def ledger(self, job_id: int) -> list[str]:
        rows = self.query("SELECT kind FROM quota_ledger WHERE job_id = ? ORDER BY id", (job_id,))
        return [row[0] for row in rows]

    def job_state(self, job_id: int) -> str:
        return self.query("SELECT state FROM jobs WHERE id = ?", (job_id,))[0][0]

    def assert_clean_log(self) -> None:
        assert self.bot is not None
        text = self.bot.log_text()
        assert "Traceback" not in text, text[-4000:]
        for secret in (RIVYA_KEY, UNIFIED_KEY, self.discord.token):
            assert secret not in text, "a secret reached the log"


def postgres_query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """One statement on PostgreSQL, from synchronous test code (on a thread of its own, since
    the test's event loop is running)."""

    async def run() -> list[tuple]:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return [tuple(row) for row in await conn.fetch(numbered_placeholders(sql), *params)]
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, run()).result(timeout=30)


@pytest.fixture
def database_engine() -> str:
    """The engine an end-to-end test's bot runs on; a module overrides it to run on both."""
    return "sqlite"


def free_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest_asyncio.fixture
async def idle_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The fake Discord and Rivya, with no bot started yet."""
    async with (
        FakeDiscord() as discord,
        RivyaSimulator(RIVYA_KEY) as provider,
        BotRunner(tmp_path / "logs") as runner,
    ):
        yield Stack(discord, provider, runner, tmp_path, "rivya")
        await runner.stop_all()


@pytest_asyncio.fixture(params=["rivya"])
async def stack(
    request: pytest.FixtureRequest, tmp_path: Path, database_engine: str
) -> AsyncIterator[Stack]:
    """A started stack on the given backend (parametrise with `indirect` for others)."""
    backend = request.param
    sim_class = RivyaSimulator if backend == "rivya" else UnifiedVideoSimulator
    key = RIVYA_KEY if backend == "rivya" else UNIFIED_KEY
    marker = request.node.get_closest_marker("discord")
    discord_options = marker.kwargs if marker else {}
    host_marker = request.node.get_closest_marker("provider_host")
    provider_host = host_marker.args[0] if host_marker else "127.0.0.1"
    async with (
        FakeDiscord(**discord_options) as discord,
        sim_class(key, host=provider_host) as provider,
        BotRunner(tmp_path / "logs") as runner,
    ):
        stack = Stack(discord, provider, runner, tmp_path, backend)
        if database_engine == "postgresql":
            stack.database_url = request.getfixturevalue("postgres").migrated(migrate)
        env_marker = request.node.get_closest_marker("bot_env")
        if env_marker:
            stack.env_overrides.update(env_marker.kwargs)
        await stack.start_bot()
        yield stack
        await runner.stop_all()
    assert not discord.internal_errors, "\n".join(discord.internal_errors)
    assert not discord.unknown_requests, discord.unknown_requests


def job_id_from(text: str) -> int:
    """The job number in a status message ('🎬 **Video job #12** …') or a private
    acceptance ('Job #12 accepted: …')."""
    digits = re.match(r"\d*", text.split("#", 1)[1])
    return int(digits.group() if digits and digits.group() else "0")


def answered_with_status(stack: Stack, handle: InteractionHandle) -> int:
    """The job a quick `/sora` accepted: its one answer, within Discord's 3 seconds, is the
    job's public status message."""
    assert handle.ack is not None and handle.ack_latency is not None and handle.ack_latency < 3
    assert not handle.deferred and not handle.ephemeral, handle.original_contents
    assert handle.original is not None
    job_id = job_id_from(handle.original_contents[-1])
    status = stack.status_message(job_id)
    assert status is not None and status.id == handle.original.id, handle.original_contents
    return job_id


# -- shared helpers for scenario files (added; nothing above depends on them) -----------------


def user_id(stack: Stack, user: str) -> int:
    return stack.discord.user(user).id


def sora_request(stack: Stack, **overrides: object) -> dict[str, object]:
    """Valid `/sora` options for the stack's backend, with `overrides` applied."""
    duration = 10 if stack.backend == "rivya" else 15
    return {
        "prompt": "a lighthouse in a storm",
        "orientation": "landscape",
        "duration": duration,
        **overrides,
    }


async def submit_sora(stack: Stack, user: str = "alice", **options: object) -> int:
    """Run `/sora` as `user` and return the accepted job's id (fails if it was refused)."""
    attachments = options.pop("attachments", ())
    handle = await stack.discord.invoke(
        "sora",
        user=user,
        options=sora_request(stack, **options),
        attachments=attachments,  # type: ignore[arg-type]
    )
    await handle.wait_original()
    return answered_with_status(stack, handle)


# Longer than the bot may wait before its first answer (1.5 s; Discord waits 3 s): the bot
# must acknowledge before it knows the answer.
SLOW_IMAGE_SECONDS = 2.6


async def slow_sora(stack: Stack, user: str, options: dict[str, object]) -> InteractionHandle:
    """Run `/sora` with an image the CDN is slow to serve, and wait for its answer."""
    stack.discord.settings.cdn_delay = SLOW_IMAGE_SECONDS
    try:
        handle = await stack.discord.invoke(
            "sora", user=user, options=options, attachments=[("holiday.png", PNG, "image/png")]
        )
        await handle.wait_original(timeout=SLOW_IMAGE_SECONDS + 5)
    finally:
        stack.discord.settings.cdn_delay = 0.0
    return handle


async def finished_job(
    stack: Stack, user: str = "alice", **options: object
) -> tuple[int, MessageRecord]:
    """Run `/sora` to the end: the job id and its result message (after the final edit)."""
    job_id = await submit_sora(stack, user, **options)
    result = await stack.wait_for(lambda: stack.result_of(job_id), f"the video of job #{job_id}")
    await stack.wait_finished(job_id)
    return job_id, result


async def command_reply(
    stack: Stack, command: str, user: str, channel: str = "general", **options: object
) -> str:
    """Run a slash command, assert its answer is private, and return the answer's text."""
    handle = await stack.discord.invoke(command, user=user, channel=channel, options=options)
    await handle.wait_original(timeout=FLOW_TIMEOUT)
    assert handle.ephemeral, f"/{command} answered publicly"
    return handle.original_contents[-1]


def job_ids_of(stack: Stack, user: str) -> list[int]:
    rows = stack.query("SELECT id FROM jobs WHERE user_id = ? ORDER BY id", (user_id(stack, user),))
    return [row[0] for row in rows]


def ledger_of(stack: Stack, user: str) -> list[tuple[int | None, str]]:
    """(job id, kind) of every ledger row of `user`, oldest first."""
    rows = stack.query(
        "SELECT job_id, kind FROM quota_ledger WHERE user_id = ? ORDER BY id",
        (user_id(stack, user),),
    )
    return [(row[0], row[1]) for row in rows]


def dms_to(stack: Stack, user: str) -> list[MessageRecord]:
    """What the bot sent `user` privately (direct messages), oldest first."""
    return stack.discord.bot_messages(stack.discord.dm_channel(user))


def public_bot_posts(stack: Stack) -> list[MessageRecord]:
    """Every non-ephemeral bot message in every guild channel."""
    posts: list[MessageRecord] = []
    for channel in stack.discord.world.channels.values():
        if channel.guild_id is not None:
            posts += stack.discord.bot_messages(channel)
    return posts


JOB_NUMBER = re.compile(r"\*\*Video job #(\d+)\*\*")


async def rerun_status(stack: Stack, source: MessageRecord) -> tuple[int, MessageRecord]:
    """The status message of the re-run started from `source` (it replies to it), and its job."""

    def posted() -> MessageRecord | None:
        return next((m for m in stack.replies_to(source.id) if JOB_NUMBER.search(m.content)), None)

    status = await stack.wait_for(posted, f"a re-run's status message replying to {source.id}")
    match = JOB_NUMBER.search(status.content)
    assert match is not None
    return int(match.group(1)), status


def job_row(stack: Stack, job_id: int) -> dict[str, object]:
    rows = stack.query(
        "SELECT user_id, prompt, options_json, parent_job_id, reply_to_message_id, state, "
        "image_path, image_source_url, result_message_id FROM jobs WHERE id = ?",
        (job_id,),
    )
    keys = "user_id prompt options parent reply_to state image_path image_source_url result_message"
    return dict(zip(keys.split(), rows[0], strict=True))


def create_params(stack: Stack) -> list[dict[str, object]]:
    """What each create request asked the provider for (rivya)."""
    return [request.json["params"] for request in stack.provider.requests_to("create")]


async def health_check(stack: Stack) -> tuple[int, str]:
    """`sora-bot check --health`, as the image's health check runs it (no METRICS_PORT)."""
    checker = await stack.runner.start(
        "bot", stack.env(), cwd=stack.workdir, args=("check", "--health")
    )
    code = await checker.wait_exit(EXIT_TIMEOUT)
    (line,) = checker.log_text().strip().splitlines()
    return code, line


async def health_check_until(stack: Stack, code: int, text: str, timeout: float) -> str:
    """Run the health check until it exits with `code` and says `text` (bounded)."""
    line = ""
    try:
        async with asyncio.timeout(timeout):
            while True:
                found, line = await health_check(stack)
                if found == code and text in line:
                    return line
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise AssertionError(f"health check never said {text!r}; last: {line}") from None
