"""ALLOWED_GUILD_IDS bounds the web as it bounds the bot: a server the operator did not choose
shows nothing on the web, to its members or its moderators, even when Discord would still say
who is in it (a web process of another deployment on the same database)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import PHASE_TIMEOUT, STOP_TIMEOUT, free_port
from tests.e2e.web_stack import client, video_in, web_stack
from tests.support.web_client import WebClient, web_env


async def test_a_server_not_in_allowed_guild_ids_shows_nothing_on_the_web(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as (stack, base):
        sim = stack.discord
        job, _ = await video_in(stack, "mod", "general", "a kite over the dunes")
        guild = f"/servers/{sim.guild_id}"
        pages = ("", "/dashboard", "/quotas", "/blocklist", "/log", "/language")

        # `sora-bot web` on the same database, for a deployment that serves another server.
        port = free_port()
        env = stack.env() | web_env(sim, port) | {"ALLOWED_GUILD_IDS": str(sim.guild_id + 1)}
        env["LIVENESS_FILE"] = str(stack.workdir / "data" / "liveness-web.json")
        del env["DEV_GUILD_ID"]  # it would have to be one of ALLOWED_GUILD_IDS
        sim.oauth.redirect_uris.append(f"{base}/auth/callback")  # the bot's own web too
        web = await stack.runner.start("bot", env, cwd=stack.workdir, args=("web",))
        await web.wait_for_log("web gallery on", timeout=PHASE_TIMEOUT)

        # The bot's own web, which serves the server: the moderator sees it all.
        async with client(stack, base) as mod:
            home = await mod.sign_in("mod", next_path="/")
            assert f'href="{guild}"' in home.text
            for path in pages:
                assert (await mod.get(guild + path)).status == 200, path
            assert f"/videos/{job}/file" in (await mod.get("/me")).text

        async with WebClient(f"http://127.0.0.1:{port}", sim) as mod:
            home = await mod.sign_in("mod", next_path="/")
            assert home.status == 200 and guild not in home.text
            for path in pages:
                answer = await mod.get(guild + path)
                assert answer.status == 404 and "kite" not in answer.text, path
            # Not even the member's own video of that server, nor its file.
            mine = await mod.get("/me")
            assert "kite" not in mine.text and f"/videos/{job}" not in mine.text
            status, body, _ = await mod.get_bytes(f"/videos/{job}/file")
            assert status == 404 and b"ftyp" not in body
            assert (await mod.get(f"/videos/{job}/remove")).status == 404
            removal = await mod.post(f"/videos/{job}/remove", {}, csrf_from="/me")
            assert removal.status == 404
            change = await mod.post(
                f"{guild}/actions/set",
                {"target": str(sim.user("alice").id), "limit": "9"},
                csrf_from="/me",
            )
            assert change.status == 404
        assert stack.query("SELECT COUNT(*) FROM moderation_actions") == [(0,)]
        assert stack.query("SELECT result_deleted_at FROM jobs WHERE id = ?", (job,)) == [(None,)]
        assert await web.terminate(timeout=STOP_TIMEOUT) == 0, web.log_text()
