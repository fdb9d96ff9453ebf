"""The moderators' dashboard end to end: the same rule as `/quota` decides who may open it, and
a quota change made there is the `/quota` decision itself, in `/quota log` as from the web."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import command_reply
from tests.e2e.web_stack import client, video_in, web_stack
from tests.support.fake_discord import default_world


async def test_only_moderators_open_the_dashboard_and_their_changes_are_quota_decisions(
    tmp_path: Path,
) -> None:
    async with web_stack(tmp_path) as (stack, base):
        sim = stack.discord
        await video_in(stack, "alice", "general", "a paper boat")
        guild = f"/servers/{sim.guild_id}"
        alice_id = sim.user("alice").id
        pages = (
            "dashboard",
            "quotas",
            "blocklist",
            "log",
            "language",
            "pictures",
            f"quotas/members/{alice_id}",
        )

        async with client(stack, base) as alice:
            await alice.sign_in("alice")
            for name in pages:
                refused = await alice.get(f"{guild}/{name}")
                assert refused.status == 403, name
                assert "moderators (Manage Server" in refused.text
            # Her own form token does not make her a moderator either.
            forged = await alice.post(
                f"{guild}/actions/set",
                {"target": str(alice_id), "limit": "100"},
                csrf_from="/me",
            )
            assert forged.status == 403
        assert stack.query("SELECT COUNT(*) FROM moderation_actions") == [(0,)]

        # A moderator by role (MOD_ROLE_IDS) and one by Manage Server both get in.
        for who in ("mod", "admin"):
            async with client(stack, base) as moderator:
                await moderator.sign_in(who)
                for name in pages:
                    assert (await moderator.get(f"{guild}/{name}")).status == 200, (who, name)

        async with client(stack, base) as mod:
            await mod.sign_in("mod")
            member_page = f"{guild}/quotas/members/{alice_id}"
            overview = await mod.get(f"{guild}/dashboard")
            assert "<svg" in overview.text and "Alice" in overview.text  # the top maker
            # Over the ceiling: refused with /quota's own words, nothing recorded.
            over = await mod.post(
                f"{guild}/actions/set",
                {"target": str(alice_id), "limit": "5000"},
                csrf_from=member_page,
            )
            assert over.url == f"{base}{member_page}"
            assert 'class="notice refused"' in over.text
            assert "The most a limit can be on this bot is 1000 videos" in over.text
            assert stack.query("SELECT COUNT(*) FROM moderation_actions") == [(0,)]
            done = await mod.post(
                f"{guild}/actions/set",
                {"target": str(alice_id), "limit": "7", "reason": "trusted <b>artist</b>"},
                csrf_from=member_page,
            )
            assert done.status == 200 and 'class="notice done"' in done.text
            assert "personal limit to 7" in done.text and "@Alice" in done.text
            await mod.post(
                f"{guild}/actions/grant",
                {"target": str(alice_id), "amount": "2"},
                csrf_from=member_page,
            )
            await mod.post(
                f"{guild}/actions/blocklist-add",
                {"text": "forbidden"},
                csrf_from=f"{guild}/blocklist",
            )
            await mod.post(
                f"{guild}/actions/default",
                {"limit": "4", "period": "week"},
                csrf_from=f"{guild}/quotas",
            )
            log_page = await mod.get(f"{guild}/log", params={"member": str(alice_id)})
            assert "trusted" in log_page.text and "on the web dashboard" in log_page.text
            kinds = await mod.get(f"{guild}/log", params={"kind": "grant"})
            assert "granted 2 bonus videos to @Alice" in kinds.text
            assert "trusted &lt;b&gt;artist&lt;/b&gt;" in log_page.text
            assert "personal limit" not in kinds.text

        rows = stack.query("SELECT action, via, actor_id FROM moderation_actions ORDER BY id")
        mod_id = sim.user("mod").id
        assert rows == [
            ("set_limit", "web", mod_id),
            ("grant", "web", mod_id),
            ("blocklist_add", "web", mod_id),
            ("set_default", "web", mod_id),
        ]
        # The same record /quota log reads, and the same rules /quota view applies.
        log = await command_reply(stack, "quota log", "mod")
        assert log.count("on the web dashboard") == 4, log
        view = await command_reply(stack, "quota view", "alice")
        assert "7 videos per week" in view, view
        # The blocklist entry refuses prompts as one made with /quota blocklist add would.
        handle = await sim.invoke(
            "sora",
            user="alice",
            options={
                "prompt": "something forbidden",
                "orientation": "landscape",
                "duration": 10,
            },
        )
        await handle.wait_original()
        assert handle.ephemeral and "not allowed on this server" in handle.original_contents[-1]
        stack.assert_clean_log()


async def test_a_change_on_the_web_is_posted_in_the_log_channel_as_quota_posts_it(
    tmp_path: Path,
) -> None:
    log_channel = default_world().channels["videos"].id  # the default world's ids are fixed
    async with web_stack(tmp_path, QUOTA_LOG_CHANNEL_ID=str(log_channel)) as (stack, base):
        sim = stack.discord
        guild = f"/servers/{sim.guild_id}"
        alice_id, mod_id = sim.user("alice").id, sim.user("mod").id
        # The server speaks Traditional Chinese in public; the moderator reads English.
        chosen = await command_reply(stack, "quota language", "admin", setting="zh-TW")
        assert chosen.startswith("✅"), chosen
        async with client(stack, base) as mod:
            await mod.sign_in("mod")
            await mod.post(
                f"{guild}/actions/grant",
                {"target": str(alice_id), "amount": "2", "reason": "contest"},
                csrf_from=f"{guild}/quotas/members/{alice_id}",
            )
            await mod.post(
                f"{guild}/actions/blocklist-add",
                {"text": "kraken"},
                csrf_from=f"{guild}/blocklist",
            )

        def web_lines() -> list[str] | None:
            lines = [m for m in sim.bot_messages("videos") if f"<@{mod_id}>" in m.content]
            assert not any(m.mentions.pinged_anyone for m in lines)
            return [m.content for m in lines] if len(lines) == 2 else None

        granted, listed = await stack.wait_for(web_lines, "the web's two log channel lines")
        assert granted.startswith(f"<@{mod_id}> ") and f"<@{alice_id}>" in granted
        assert "contest" in granted and "額外影片" in granted  # the server's language
        assert "#1" in listed and "kraken" not in listed.lower()  # never the blocked word
        stack.assert_clean_log()


async def test_the_dashboards_quota_forms_are_held_to_max_quota_limit(tmp_path: Path) -> None:
    async with web_stack(tmp_path, MAX_QUOTA_LIMIT="20") as (stack, base):
        sim = stack.discord
        guild = f"/servers/{sim.guild_id}"
        alice_id = sim.user("alice").id
        role_id = sim.role("Moderator").id
        member_page = f"{guild}/quotas/members/{alice_id}"
        limit = "The most a limit can be on this bot is 20 videos"
        grant = "One grant can give or take at most 20 videos"
        async with client(stack, base) as admin:
            await admin.sign_in("admin")
            # The forms say the ceiling and ask for no more.
            for path in (f"{guild}/quotas", member_page):
                shown = (await admin.get(path)).text
                assert "a limit can be at most 20 videos" in shown, path
                assert 'max="20"' in shown and 'max="1000"' not in shown, path
            asks = [
                ("set", {"target": str(alice_id), "limit": "21"}, member_page, limit),
                ("default", {"limit": "500", "period": "day"}, f"{guild}/quotas", limit),
                ("role", {"target": str(role_id), "limit": "1000"}, f"{guild}/quotas", limit),
                ("grant", {"target": str(alice_id), "amount": "25"}, member_page, grant),
                ("grant", {"target": str(alice_id), "amount": "-21"}, member_page, grant),
            ]
            for action, form, page, words in asks:
                answer = await admin.post(f"{guild}/actions/{action}", form, csrf_from=page)
                assert 'class="notice refused"' in answer.text, action
                assert words in answer.text, (action, form)
            assert stack.query("SELECT COUNT(*) FROM moderation_actions") == [(0,)]
            done = await admin.post(
                f"{guild}/actions/set",
                {"target": str(alice_id), "limit": "20"},
                csrf_from=member_page,
            )
            assert 'class="notice done"' in done.text
        rows = stack.query("SELECT action, via FROM moderation_actions")
        assert rows == [("set_limit", "web")]
        stack.assert_clean_log()


async def test_whose_pictures_make_a_video_takes_is_a_dashboard_setting_like_quota_pictures(
    tmp_path: Path,
) -> None:
    async with web_stack(tmp_path) as (stack, base):
        sim = stack.discord
        settings = f"/servers/{sim.guild_id}/pictures"
        async with client(stack, base) as mod:
            await mod.sign_in("mod")
            page = await mod.get(settings)
            assert "Now: Only members&#39; own messages." in page.text
            assert '<option value="anyone">' in page.text
            # Already so: refused with the command's words, nothing recorded.
            same = await mod.post(
                f"/servers/{sim.guild_id}/actions/pictures", {"setting": "own"}, csrf_from=settings
            )
            assert same.url == f"{base}{settings}" and 'class="notice refused"' in same.text
            assert "already uses pictures only from members" in same.text
            bogus = await mod.post(
                f"/servers/{sim.guild_id}/actions/pictures",
                {"setting": "everyone"},
                csrf_from=settings,
            )
            assert "Choose “Only members&#39; own messages” or" in bogus.text
            done = await mod.post(
                f"/servers/{sim.guild_id}/actions/pictures",
                {"setting": "anyone", "reason": "art contest"},
                csrf_from=settings,
            )
            assert 'class="notice done"' in done.text
            assert "Now: Anyone&#39;s messages." in done.text
            shown = await mod.get(f"/servers/{sim.guild_id}/log", params={"kind": "set_pictures"})
            assert "use pictures from anyone" in shown.text and "art contest" in shown.text
        rows = stack.query("SELECT action, via, reason FROM moderation_actions")
        assert rows == [("set_pictures", "web", "art contest")]
        # The bot follows it at once: /help says so, as after /quota pictures.
        help_text = await command_reply(stack, "help", "alice")
        assert "works on anyone's message with a picture here" in help_text, help_text
        stack.assert_clean_log()
