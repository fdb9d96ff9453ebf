"""`sora-bot web` as the operator's container runs it: its own liveness report for the image's
health check, and SIGTERM ending it cleanly, while it serves as during its start."""

from __future__ import annotations

from pathlib import Path

from bot.ops.liveness_file import read_record
from tests.e2e.conftest import (
    EXIT_TIMEOUT,
    PHASE_TIMEOUT,
    STOP_TIMEOUT,
    Stack,
    free_port,
    health_check,
    health_check_until,
)
from tests.support.fake_discord import BotProcess
from tests.support.web_client import WebClient, web_env


def serve_web(stack: Stack, liveness: Path) -> tuple[dict[str, str], str]:
    """The environment of a web process with its own liveness file, and its address."""
    port = free_port()
    stack.env_overrides |= web_env(stack.discord, port) | {"LIVENESS_FILE": str(liveness)}
    return stack.env(), f"http://127.0.0.1:{port}"


async def start_web(stack: Stack, env: dict[str, str]) -> BotProcess:
    return await stack.runner.start("bot", env, cwd=stack.workdir, args=("web",))


async def test_the_web_process_reports_its_liveness_and_stops_on_sigterm(
    idle_stack: Stack,
) -> None:
    stack = idle_stack
    liveness = stack.workdir / "data" / "liveness-web.json"
    env, base = serve_web(stack, liveness)
    web = await start_web(stack, env)
    await web.wait_for_log("web gallery on", timeout=PHASE_TIMEOUT)
    line = await health_check_until(stack, 0, "health    ok: ", PHASE_TIMEOUT)
    assert line.startswith("health    ok: web ok, database ok (reported "), line
    async with WebClient(base, stack.discord) as member:
        await member.sign_in("alice")
        assert (await member.get("/me")).status == 200

    assert await web.terminate(timeout=STOP_TIMEOUT) == 0, web.log_text()
    output = web.log_text()
    assert "SIGTERM received while running: stopping" in output, output
    assert "ERROR" not in output and "Traceback" not in output, output
    record = read_record(liveness)
    assert record is not None and record.status == "stopped"
    code, line = await health_check(stack)
    assert code == 1 and line.startswith("health    FAILED: the bot stopped at "), line
    # It wrote only its own report: no bot's report beside it.
    assert not (stack.workdir / "data" / "liveness.json").exists()


async def test_sigterm_while_the_web_process_starts_ends_it_cleanly(idle_stack: Stack) -> None:
    stack = idle_stack
    liveness = stack.workdir / "data" / "liveness-web.json"
    env, _ = serve_web(stack, liveness)
    stack.provider.inject("models", "timeout", times=None)  # the model's profile never comes
    web = await start_web(stack, env)
    await stack.provider.wait_for_requests("models", 1, timeout=PHASE_TIMEOUT)
    assert web.running, web.log_text()
    assert await web.terminate(timeout=STOP_TIMEOUT) == 0, web.log_text()
    output = web.log_text()
    assert "SIGTERM received while opening the database and reading the model's profile" in output
    assert "ERROR" not in output and "Traceback" not in output, output
    record = read_record(liveness)
    assert record is not None and record.status == "stopped", record
    assert await web.wait_exit(EXIT_TIMEOUT) == 0
