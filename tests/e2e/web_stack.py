"""The bot with its web gallery on (WEB_PORT), against the fake Discord's OAuth2 and a world
with a private channel: what the web's end-to-end tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.e2e.conftest import FLOW_TIMEOUT, RIVYA_KEY, Stack, free_port, sora_request
from tests.support.fake_discord import BotRunner, FakeDiscord, MessageRecord, default_world
from tests.support.sims.rivya import RivyaSimulator
from tests.support.web_client import WebClient, web_env

PRIVATE = "mods-only"


@asynccontextmanager
async def web_stack(tmp_path: Path, **env: str) -> AsyncIterator[tuple[Stack, str]]:
    """A started bot serving the web; yields the stack and the web's address."""
    world = default_world()
    world.add_private_channel(PRIVATE, roles=("Moderator",))
    world.add_user("mia", roles=("Moderator",))  # another moderator, by role
    world.add_user("erin")
    world.remove_member("erin")  # a Discord user who is not in the server
    async with (
        FakeDiscord(world) as discord,
        RivyaSimulator(RIVYA_KEY) as provider,
        BotRunner(tmp_path / "logs") as runner,
    ):
        stack = Stack(discord, provider, runner, tmp_path, "rivya")
        port = free_port()
        stack.env_overrides |= web_env(discord, port) | {
            "MOD_ROLE_IDS": str(discord.role("Moderator").id)
        }
        stack.env_overrides |= env
        await stack.start_bot()
        base = f"http://127.0.0.1:{port}"
        assert stack.bot is not None
        await stack.bot.wait_for_log("web gallery on", timeout=10)
        yield stack, base
        await runner.stop_all()
    assert not discord.internal_errors, "\n".join(discord.internal_errors)


async def video_in(stack: Stack, user: str, channel: str, prompt: str) -> tuple[int, MessageRecord]:
    """A delivered video made by `user` with `/sora` in `channel`: its job id and result post."""
    handle = await stack.discord.invoke(
        "sora", user=user, channel=channel, options=sora_request(stack, prompt=prompt)
    )
    await handle.wait_original(timeout=FLOW_TIMEOUT)
    assert handle.original is not None
    job_id = int(handle.original_contents[-1].split("#", 1)[1].split("*", 1)[0])

    def posted() -> MessageRecord | None:
        for message in stack.discord.bot_messages(channel):
            if f"job #{job_id} is ready" in message.content:
                return message
        return None

    result = await stack.wait_for(posted, f"the video of job #{job_id}")
    await stack.wait_for(
        lambda: stack.job_state(job_id) == "delivered", f"job #{job_id} recorded as delivered"
    )
    return job_id, result


def client(stack: Stack, base: str) -> WebClient:
    return WebClient(base, stack.discord)
