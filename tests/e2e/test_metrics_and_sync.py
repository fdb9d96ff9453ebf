"""The operator's view of a running bot: /metrics and /healthz, and slash commands synced only
when they changed, each with the real bot process."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from tests.e2e.conftest import Stack, command_reply, finished_job, free_port
from tests.support.sims.rivya import select_param, sora_2_pro_model

HEALTH_TIMEOUT = 30.0
EXIT_TIMEOUT = 30.0
GUILD_SYNC = "PUT /applications/{app}/guilds/{guild}/commands"
GLOBAL_SYNC = "PUT /applications/{app}/commands"


async def get(url: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
        http.get(url) as response,
    ):
        return response.status, await response.text()


async def health_becomes(url: str, status: int) -> dict[str, object]:
    """Ask /healthz until it answers `status` (bounded); its JSON body."""
    async with asyncio.timeout(HEALTH_TIMEOUT):
        while True:
            answer, body = await get(url)
            if answer == status:
                return json.loads(body)
            await asyncio.sleep(0.1)


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format, or None if absent."""
    for line in exposition.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        found_name, _, label_text = metric.partition("{")
        found = dict(
            part.split("=", 1) for part in label_text.rstrip("}").split(",") if "=" in part
        )
        if found_name == name and {k: v.strip('"') for k, v in found.items()} == labels:
            return float(value)
    return None


async def test_metrics_after_a_job_and_health_follows_the_gateway(idle_stack: Stack) -> None:
    stack = idle_stack
    port = free_port()
    stack.env_overrides |= {"METRICS_PORT": str(port), "DEFAULT_QUOTA": "1"}
    credits_at_start = stack.provider.credits
    await stack.start_bot()
    base = f"http://127.0.0.1:{port}"

    await finished_job(stack)
    refusal = await command_reply(
        stack, "sora", "alice", prompt="one more", orientation="landscape", duration=10
    )
    assert "accepted" not in refusal
    # The refusal is read without waiting for the worker's last writes about the job (its
    # final status edit is recorded just after it is made): let that step end first.
    for _ in range(100):
        answer, text = await get(f"{base}/metrics")
        if sample(text, "sora_worker_queue_depth", stage="in_flight") == 0:
            break
        await asyncio.sleep(0.05)
    assert answer == 200
    assert sample(text, "sora_submits_total") == 1
    assert sample(text, "sora_refusals_total", reason="quota_exhausted") == 1
    assert sample(text, "sora_jobs", state="delivered") == 1
    assert sample(text, "sora_jobs", state="queued") == 0
    assert sample(text, "sora_deliveries_total", kind="upload") == 1
    assert sample(text, "sora_worker_queue_depth", stage="waiting") == 0
    assert sample(text, "sora_worker_queue_depth", stage="in_flight") == 0
    assert sample(text, "sora_provider_credits", provider="rivya") == credits_at_start  # last check
    # No DAILY_VIDEO_BUDGET: no budget gauges (tests/unit/ops/test_metrics_server.py has them).
    assert sample(text, "sora_daily_budget") is None
    assert sample(text, "sora_daily_budget_used") is None
    ok_creates = sample(
        text,
        "sora_provider_request_seconds_count",
        provider="rivya",
        operation="create",
        outcome="ok",
    )
    assert ok_creates == 1
    polls = sample(
        text,
        "sora_provider_request_seconds_count",
        provider="rivya",
        operation="status",
        outcome="ok",
    )
    assert polls is not None and polls >= 1

    assert await health_becomes(f"{base}/healthz", 200) == {
        "status": "ok",
        "failing": [],
        "gateway": "ok",
        "worker": "ok",
        "database": "ok",
    }
    await stack.discord.gateway.cut()
    body = await health_becomes(f"{base}/healthz", 503)
    assert body["failing"] == ["gateway"] and body["worker"] == "ok"
    stack.discord.gateway.restore()
    await health_becomes(f"{base}/healthz", 200)
    stack.assert_clean_log()


async def restart(stack: Stack, **env: str) -> None:
    assert stack.bot is not None
    await stack.bot.terminate()
    stack.env_overrides.update(env)
    await stack.start_bot()


async def test_commands_are_synced_only_when_they_changed(idle_stack: Stack) -> None:
    stack = idle_stack
    await stack.start_bot()
    assert len(stack.discord.requests_to(GUILD_SYNC)) == 1

    await restart(stack)  # the same tree: nothing to send
    assert len(stack.discord.requests_to(GUILD_SYNC)) == 1
    assert stack.bot is not None
    assert "commands unchanged since their last sync (guild:" in stack.bot.log_text()

    # A model the bot learns from the catalogue, with other durations: other choices.
    learned = sora_2_pro_model() | {"id": "sora-2-short"}
    learned["params"] = [select_param("n_frames", ["5"], "5", "Duration")]
    stack.provider.catalogue.append(learned)
    await restart(stack, MODEL="sora-2-short")
    assert len(stack.discord.requests_to(GUILD_SYNC)) == 2

    await restart(stack, DEV_GUILD_ID="")  # another target: global
    assert len(stack.discord.requests_to(GLOBAL_SYNC)) == 1
    assert len(stack.discord.requests_to(GUILD_SYNC)) == 2

    await stack.bot.terminate()
    forget = await stack.runner.start("bot", stack.env(), cwd=stack.workdir, args=("sync",))
    assert await forget.wait_exit(EXIT_TIMEOUT) == 0, forget.log_text()
    assert "forgot 2 recorded command sync(s)" in forget.log_text()
    await stack.start_bot()
    assert len(stack.discord.requests_to(GLOBAL_SYNC)) == 2
