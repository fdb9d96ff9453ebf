"""What the operator's container meets, with the real bot process: the compose files' way of
passing a PostgreSQL password, stopping during each phase of start-up, and the default health
check."""

from __future__ import annotations

import asyncio
import sqlite3
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.ops.liveness_file import read_record
from bot.storage.database import bundled_migration_versions
from tests.conftest import migrate
from tests.e2e.conftest import (
    EXIT_TIMEOUT,
    PHASE_TIMEOUT,
    READY_TIMEOUT,
    STOP_TIMEOUT,
    Stack,
    health_check,
    health_check_until,
)
from tests.support import compose
from tests.support.postgres_cluster import Databases
from tests.support.silent_server import SilentServer

# Every character that breaks a password written inside a URL.
AWKWARD_PASSWORD = "p@ss:w/rd#1%"


async def refused_without_password(url: str) -> None:
    """Wait (bounded) until the server asks `url`'s role for its password."""
    async with asyncio.timeout(10):
        while True:
            try:
                conn = await asyncpg.connect(url, timeout=5)
            except asyncpg.InvalidPasswordError:
                return
            await conn.close()  # the new rule is not loaded yet
            await asyncio.sleep(0.05)


async def test_a_postgresql_password_with_url_characters_works_as_compose_passes_it(
    idle_stack: Stack, postgres: Databases
) -> None:
    stack = idle_stack
    dotenv = {"POSTGRES_PASSWORD": AWKWARD_PASSWORD}
    config = compose.merged("compose.yaml", "compose.postgres.yaml")
    environment = compose.service_environment(config, "bot", dotenv)
    # The compose file names the server and user in the URL and passes the password apart.
    given = urlsplit(environment["DATABASE_URL"])
    assert (given.hostname, given.username, given.password) == ("postgres", "sora", None)
    assert environment["DATABASE_PASSWORD"] == AWKWARD_PASSWORD
    postgres_env = compose.service_environment(config, "postgres", dotenv)
    assert postgres_env["POSTGRES_PASSWORD"] == AWKWARD_PASSWORD

    # The same form pointed at this test's server: a role that must give that password.
    server = postgres.owned_by_password_role("sora_awkward", AWKWARD_PASSWORD)
    await refused_without_password(server)
    stack.env_overrides |= {
        "DATABASE_URL": server,
        "DATABASE_PASSWORD": environment["DATABASE_PASSWORD"],
    }

    # As the README moves an existing installation: migrate-db to the configured database.
    await asyncio.to_thread(migrate, f"sqlite:///{stack.database}")
    mover = await stack.runner.start("bot", stack.env(), cwd=stack.workdir, args=("migrate-db",))
    assert await mover.wait_exit(EXIT_TIMEOUT) == 0, mover.log_text()
    assert "every table checked" in mover.log_text()

    await stack.start_bot()
    checker = await stack.runner.start(
        "bot", stack.env(), cwd=stack.workdir, args=("check", "--local")
    )
    assert await checker.wait_exit(EXIT_TIMEOUT) == 0, checker.log_text()
    assert "postgresql://sora_awkward:***@127.0.0.1:" in checker.log_text()
    assert stack.bot is not None
    for output in (mover.log_text(), checker.log_text(), stack.bot.log_text()):
        assert AWKWARD_PASSWORD not in output and "p%40ss" not in output
    stack.assert_clean_log()


# -- docker stop during start-up ----------------------------------------------------------------


async def hold_database(stack: Stack, server: SilentServer) -> None:
    stack.env_overrides["DATABASE_URL"] = f"postgresql://sora@127.0.0.1:{server.port}/sora"
    await stack.runner.start("bot", stack.env(), cwd=stack.workdir)
    await server.wait_for_connection(PHASE_TIMEOUT)


async def hold_model_profile(stack: Stack, server: SilentServer) -> None:
    stack.provider.inject("models", "timeout", times=None)
    await stack.runner.start("bot", stack.env(), cwd=stack.workdir)
    await stack.provider.wait_for_requests("models", 1, timeout=PHASE_TIMEOUT)


async def hold_provider_check(stack: Stack, server: SilentServer) -> None:
    stack.provider.inject("credits", "timeout", times=None)
    await stack.runner.start("bot", stack.env(), cwd=stack.workdir)
    await stack.provider.wait_for_requests("credits", 1, timeout=PHASE_TIMEOUT)


async def hold_discord_login(stack: Stack, server: SilentServer) -> None:
    stack.env_overrides["FAKE_DISCORD_REST"] = f"http://127.0.0.1:{server.port}/api/v10"
    await stack.runner.start("bot", stack.env(), cwd=stack.workdir)
    await server.wait_for_connection(PHASE_TIMEOUT)


async def hold_discord_gateway(stack: Stack, server: SilentServer) -> None:
    stack.env_overrides["FAKE_DISCORD_GATEWAY"] = f"ws://127.0.0.1:{server.port}"
    await stack.runner.start("bot", stack.env(), cwd=stack.workdir)
    await server.wait_for_connection(PHASE_TIMEOUT)


PHASES = {
    "database": (hold_database, "opening the database"),
    "model profile": (hold_model_profile, "reading the model's profile from the video service"),
    "provider check": (hold_provider_check, "checking the video service"),
    "discord login": (hold_discord_login, "connecting to Discord"),
    "discord gateway": (hold_discord_gateway, "connecting to Discord"),
}


@pytest.mark.parametrize("phase", list(PHASES))
async def test_sigterm_during_each_start_up_phase_ends_the_bot_cleanly_at_once(
    idle_stack: Stack, phase: str
) -> None:
    stack = idle_stack
    hold, moment = PHASES[phase]
    async with SilentServer() as server:
        await hold(stack, server)  # the bot now waits for an answer that does not come
        (bot,) = stack.runner.processes
        stack.bot = bot
        assert bot.running, bot.log_text()
        assert await bot.terminate(timeout=STOP_TIMEOUT) == 0, bot.log_text()

    output = bot.log_text()
    (stopping,) = [line for line in output.splitlines() if "SIGTERM received" in line]
    assert "SIGTERM received while " in stopping and moment in stopping, output
    assert "ERROR" not in output and "Traceback" not in output, output
    assert stack.discord.gateway.identifies == 0  # it never got as far as logging in

    # Nothing is left half-written: the database was migrated whole or not opened, and
    # closed (no write-ahead log left over); the liveness report says it stopped.
    data = stack.database.parent
    if phase == "database":
        assert not stack.database.exists()
    else:
        with sqlite3.connect(stack.database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            applied = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
        db.close()
        assert applied == set(bundled_migration_versions())
        assert not stack.database.with_name(stack.database.name + "-wal").exists()
    assert [p.name for p in data.rglob("*") if p.name.endswith(".tmp")] == []
    record = read_record(data / "liveness.json")
    assert record is not None and record.status == "stopped", record


# -- the default health check -------------------------------------------------------------------

# Docker marks the container unhealthy within a minute of the bot losing Discord (test_packaging
# checks the image's interval and retries against this); the report itself must show it sooner.
GATEWAY_LOSS_SHOWN_WITHIN = 60.0


async def test_the_default_health_check_follows_the_gateway(idle_stack: Stack) -> None:
    stack = idle_stack
    assert "METRICS_PORT" not in stack.env()
    code, line = await health_check(stack)
    assert code == 1 and line.startswith("health    FAILED: no liveness report at "), line

    await stack.start_bot()
    line = await health_check_until(stack, 0, "health    ok: ", READY_TIMEOUT)
    assert line.startswith("health    ok: gateway ok, worker ok, database ok (reported "), line

    await stack.discord.gateway.cut()
    line = await health_check_until(stack, 1, "gateway failing", GATEWAY_LOSS_SHOWN_WITHIN)
    assert line.startswith("health    FAILED: gateway failing for "), line
    assert "worker ok, database ok" in line

    assert stack.bot is not None
    assert await stack.bot.terminate() == 0
    code, line = await health_check(stack)
    assert code == 1 and line.startswith("health    FAILED: the bot stopped at "), line
    stack.assert_clean_log()


async def test_the_health_check_says_why_the_last_start_failed(idle_stack: Stack) -> None:
    stack = idle_stack
    failed = await stack.runner.start(
        "bot", stack.env() | {"DISCORD_TOKEN": "not-the-bot-token"}, cwd=stack.workdir
    )
    assert await failed.wait_exit(EXIT_TIMEOUT) == 3, failed.log_text()
    code, line = await health_check(stack)
    assert code == 1, line
    assert line.startswith("health    FAILED: the last start failed at "), line
    assert line.endswith(
        "Discord refused DISCORD_TOKEN: copy the bot's token again from the developer portal "
        "(Bot -> Reset Token), put it in .env and start again."
    )

    # Restarted (as Docker's restart policy does): while it starts, the failure is still said.
    stack.provider.inject("credits", "slow", delay=5.0)
    await stack.runner.start("bot", stack.env(), cwd=stack.workdir)
    await stack.provider.wait_for_requests("credits", 2, timeout=PHASE_TIMEOUT)  # 1: the first
    code, line = await health_check(stack)
    assert code == 1 and line.startswith("health    FAILED: starting for "), line
    assert "checking the video service" in line
    assert "; the last start failed at " in line and "Discord refused DISCORD_TOKEN" in line
    # Healthy at last: the old failure is no longer mentioned.
    line = await health_check_until(stack, 0, "health    ok: ", PHASE_TIMEOUT)
    assert "failed" not in line
