"""What an operator meets: start-up failures in one line, `sora-bot check`, `sora-bot backup`,
JSON logs and the low-credit alert, each with the real bot process."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.e2e.conftest import RIVYA_KEY, Stack, finished_job, free_port
from tests.support.fake_discord import default_world

EXIT_TIMEOUT = 30.0
VIDEOS_CHANNEL_ID = default_world().channels["videos"].id  # the default world's ids are fixed
WRONG_TOKEN = "wrong-token.not-the-bot-one"


def closed_port_url() -> str:
    """A local address nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


async def run_to_exit(stack: Stack, *args: str, **env: str) -> tuple[int, str]:
    """Run `python -m bot ARGS` to its end: its exit status and its output."""
    bot = await stack.runner.start("bot", stack.env() | env, cwd=stack.workdir, args=args)
    code = await bot.wait_exit(EXIT_TIMEOUT)
    return code, bot.log_text()


def assert_one_plain_line(output: str, *expected: str) -> str:
    lines = output.strip().splitlines()
    failure = [line for line in lines if "ERROR" in line]
    assert len(failure) == 1, output
    assert all(text in failure[0] for text in expected), failure[0]
    assert "Traceback" not in output
    for secret in (RIVYA_KEY, WRONG_TOKEN, "fake-bot-token"):
        assert secret not in output
    return failure[0]


async def test_a_refused_token_ends_the_start_with_one_line(idle_stack: Stack) -> None:
    code, output = await run_to_exit(idle_stack, DISCORD_TOKEN=WRONG_TOKEN)
    assert code == 3, output
    assert_one_plain_line(output, "Discord refused DISCORD_TOKEN", "Reset Token")


async def test_an_unreachable_discord_ends_the_start_with_one_line(idle_stack: Stack) -> None:
    closed = closed_port_url()
    code, output = await run_to_exit(idle_stack, FAKE_DISCORD_REST=f"{closed}/api/v10")
    assert code == 4, output
    assert_one_plain_line(output, "Could not reach Discord", "firewall")


async def test_an_unreachable_gateway_ends_the_start_with_one_line(idle_stack: Stack) -> None:
    closed = closed_port_url().replace("http://", "ws://")
    code, output = await run_to_exit(idle_stack, FAKE_DISCORD_GATEWAY=closed)
    assert code == 4, output
    assert_one_plain_line(output, "Could not reach Discord (ClientConnectorError)")
    # discord.py's retry before it gave up is one line too, with its cause.
    assert "WARNING discord.client: Discord connection failed (ClientConnectorError)" in output


async def test_an_unreachable_provider_ends_the_start_with_one_line(idle_stack: Stack) -> None:
    closed = closed_port_url()
    code, output = await run_to_exit(idle_stack, RIVYA_BASE_URL=closed)
    assert code == 5, output
    assert_one_plain_line(output, f"No answer from the video service at {closed}", "RIVYA_BASE_URL")
    assert idle_stack.discord.gateway.identifies == 0  # it stopped before logging in


async def test_json_logs_carry_the_failure_as_one_object(idle_stack: Stack) -> None:
    code, output = await run_to_exit(idle_stack, DISCORD_TOKEN=WRONG_TOKEN, LOG_FORMAT="json")
    assert code == 3, output
    entries = [json.loads(line) for line in output.strip().splitlines()]
    assert {"time", "level", "logger", "message"} <= entries[0].keys()
    errors = [entry for entry in entries if entry["level"] == "ERROR"]
    assert len(errors) == 1 and "Discord refused DISCORD_TOKEN" in errors[0]["message"]
    assert WRONG_TOKEN not in output


async def test_a_quoted_value_says_to_remove_the_quotes(idle_stack: Stack) -> None:
    # `docker run --env-file` passes `QUOTA_TIMEZONE="Europe/Paris"` with its quotes.
    code, output = await run_to_exit(idle_stack, QUOTA_TIMEZONE='"Europe/Paris"')
    assert code == 2, output
    assert output.strip() == (
        "config error: QUOTA_TIMEZONE is wrapped in quotes: remove the quotes around the value "
        "in .env (`docker run --env-file` keeps them as part of the value)."
    )
    assert idle_stack.discord.gateway.identifies == 0


async def test_check_catches_a_quoted_token_before_discord_refuses_it(idle_stack: Stack) -> None:
    token = idle_stack.discord.token
    code, output = await run_to_exit(idle_stack, "check", DISCORD_TOKEN=f"'{token}'")
    assert code == 2, output
    assert "config error: DISCORD_TOKEN is wrapped in quotes: remove the quotes" in output
    assert token not in output
    assert not idle_stack.discord.requests_to("GET /users/@me")  # Discord was not asked


async def test_check_passes_against_working_services(idle_stack: Stack) -> None:
    guild = str(idle_stack.discord.guild_id)
    code, output = await run_to_exit(idle_stack, "check", ALLOWED_GUILD_IDS=guild)
    assert code == 0, output
    verdicts = dict(line.split(" ", 1) for line in output.strip().splitlines())
    assert set(verdicts) == {"settings", "servers", "database", "media", "discord", "provider"}
    assert all(verdict.strip().startswith("ok:") for verdict in verdicts.values()), output
    assert "only 1 server(s) in ALLOWED_GUILD_IDS" in verdicts["servers"]
    assert "logged in as" in verdicts["discord"]
    assert "1000 credits left" in verdicts["provider"]
    assert not idle_stack.database.exists()  # checking creates nothing


async def test_check_says_which_service_failed_in_line_and_status(idle_stack: Stack) -> None:
    code, output = await run_to_exit(
        idle_stack, "check", DISCORD_TOKEN=WRONG_TOKEN, RIVYA_BASE_URL=closed_port_url()
    )
    assert code == 4 + 8, output
    lines = {line.split(" ", 1)[0]: line for line in output.strip().splitlines()}
    assert "FAILED: Discord refused DISCORD_TOKEN" in lines["discord"]
    assert "FAILED: No answer from the video service" in lines["provider"]
    assert "ok:" in lines["database"] and "ok:" in lines["settings"]
    # Not a failure, but the operator is told that any server can spend the credits.
    assert "WARNING: ALLOWED_GUILD_IDS is not set: any server" in lines["servers"]
    assert WRONG_TOKEN not in output and RIVYA_KEY not in output


async def test_backup_while_the_bot_runs_holds_every_finished_job(idle_stack: Stack) -> None:
    stack = idle_stack
    await stack.start_bot()
    job_id, _ = await finished_job(stack)
    target = stack.workdir / "backups" / "sora.sqlite3"

    code, output = await run_to_exit(stack, "backup", str(target))
    assert code == 0, output
    assert "integrity check ok" in output
    with sqlite3.connect(target) as copy:
        for table in ("jobs", "quota_ledger"):
            rows = copy.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            assert rows == stack.query(f"SELECT * FROM {table} ORDER BY id"), table
        assert copy.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone() == (
            "delivered",
        )
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)

    code, output = await run_to_exit(stack, "backup", str(target))
    assert code == 1 and "already exists; pass --force" in output
    code, output = await run_to_exit(stack, "backup", str(target), "--force")
    assert code == 0, output
    assert stack.bot is not None and stack.bot.running  # the bot never noticed


@pytest.mark.parametrize("warning", ["2000"])
async def test_low_credits_at_start_alert_the_moderators_once(
    idle_stack: Stack, warning: str
) -> None:
    stack = idle_stack
    stack.env_overrides |= {
        "CREDIT_WARNING": warning,
        "QUOTA_LOG_CHANNEL_ID": str(VIDEOS_CHANNEL_ID),
    }
    await stack.start_bot()
    (alert,) = await stack.wait_for(
        lambda: stack.discord.bot_messages("videos"), "the low-credit alert"
    )
    assert "1000 credits left, below CREDIT_WARNING=2000" in alert.content
    assert not alert.mentions.pinged_anyone
    assert stack.bot is not None
    await stack.bot.wait_for_log("below CREDIT_WARNING=2000")
    stack.assert_clean_log()
