"""Every `/quota` action on the dashboard's forms, posted as a moderator's browser posts them:
each makes the change `/quota` makes, is refused in its words when there is nothing to do, and
is one audit row marked as taken on the web. Blocking a member there also takes their waiting
videos out of the server's queue, their units given back, as `/quota block` does."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import command_reply, submit_sora
from tests.e2e.test_queue import QUEUE, hold_the_service, release, status, tasks, wait_places
from tests.e2e.web_stack import client, video_in, web_stack
from tests.support.web_client import Answer

DONE, REFUSED = 'class="notice done"', 'class="notice refused"'
NOTICE = re.compile(r'class="notice [^"]*".*?</', re.S)


def notice(answer: Answer) -> str:
    """The line the page after a form says what was done or why not."""
    found = NOTICE.search(answer.text)
    assert found is not None, f"no notice on {answer.url}"
    return found[0]


def done(answer: Answer, *words: str) -> None:
    said = notice(answer)
    assert said.startswith(DONE), said
    for word in words:
        assert word in said, (word, said)


def refused(answer: Answer, words: str) -> None:
    said = notice(answer)
    assert said.startswith(REFUSED) and words in said, said


async def test_each_quota_action_on_the_web_changes_what_quota_changes_and_is_recorded(
    tmp_path: Path,
) -> None:
    async with web_stack(tmp_path) as (stack, base):
        sim = stack.discord
        guild = f"/servers/{sim.guild_id}"
        alice_id, mod_id = sim.user("alice").id, sim.user("mod").id
        role_id = sim.role("Moderator").id
        member_page = f"{guild}/quotas/members/{alice_id}"
        await video_in(stack, "alice", "general", "a paper boat")  # one video used this week

        def rows(sql: str) -> list[tuple]:
            return stack.query(sql, (sim.guild_id,))

        async with client(stack, base) as mod:
            await mod.sign_in("mod")

            async def post(action: str, form: dict[str, str], page: str = member_page) -> Answer:
                return await mod.post(f"{guild}/actions/{action}", form, csrf_from=page)

            alice = {"target": str(alice_id)}
            # clear: the personal limit goes; with none, nothing to clear.
            done(await post("set", alice | {"limit": "7"}))
            cleared = await post("clear", alice | {"reason": "back to normal"})
            done(cleared, "cleared @Alice&#39;s personal limit (was 7)")
            assert cleared.url == f"{base}{member_page}"  # back on the member's page
            assert rows("SELECT user_id FROM quota_member_overrides WHERE guild_id = ?") == []
            refused(await post("clear", alice), "@Alice has no personal limit to clear.")

            # reset: the video she used is given back, in the ledger as the moderator's.
            reset = await post("reset", alice | {"reason": "a failed upload"})
            done(reset, "reset @Alice&#39;s usage for today (1 video given back)")
            adjustments = rows(
                "SELECT user_id, units, actor_id, reason FROM quota_ledger "
                "WHERE guild_id = ? AND kind = 'adjustment'"
            )
            assert adjustments == [(alice_id, -1, mod_id, "a failed upload")]
            refused(await post("reset", alice), "@Alice has nothing to give back for today.")

            # block and unblock: /sora refuses her while she is blocked, and not after.
            done(await post("block", alice | {"reason": "spam"}), "blocked @Alice from making")
            blocks = rows("SELECT user_id, reason, blocked_by FROM quota_blocks WHERE guild_id = ?")
            assert blocks == [(alice_id, "spam", mod_id)]
            refused(await post("block", alice), "@Alice is already blocked.")
            said = await command_reply(
                stack, "sora", "alice", prompt="a kite", orientation="landscape", duration=10
            )
            assert "blocked" in said and "accepted" not in said, said
            done(await post("unblock", alice), "unblocked @Alice")
            assert rows("SELECT user_id FROM quota_blocks WHERE guild_id = ?") == []
            refused(await post("unblock", alice), "@Alice is not blocked.")

            # role and role-clear: the role's allowance, set and removed from the quotas page.
            quotas = f"{guild}/quotas"
            role = {"target": str(role_id)}
            assert "actions/role-clear" not in (await mod.get(quotas)).text  # nothing to clear
            set_role = await post("role", role | {"limit": "3"}, quotas)
            done(set_role, "set the allowance of @Moderator to 3")
            assert set_role.url == f"{base}{quotas}"
            limits = "SELECT role_id, quota_limit FROM quota_role_limits WHERE guild_id = ?"
            assert rows(limits) == [(role_id, 3)]
            assert "actions/role-clear" in (await mod.get(quotas)).text
            done(await post("role-clear", role, quotas), "removed the allowance of @Moderator")
            assert rows(limits) == []
            refused(await post("role-clear", role, quotas), "@Moderator has no allowance")

            # blocklist-remove: the entry goes, and the prompt is allowed again.
            blocklist = f"{guild}/blocklist"
            done(await post("blocklist-add", {"text": "kraken"}, blocklist))
            shown = await mod.get(blocklist)
            assert 'name="text" value="kraken"' in shown.text  # the entry's remove form
            removed = await post("blocklist-remove", {"text": "  KRAKEN "}, blocklist)
            done(removed, "removed entry #1 from the prompt blocklist")
            assert removed.url == f"{base}{blocklist}"
            assert rows("SELECT term FROM prompt_blocklist WHERE guild_id = ?") == []
            refused(
                await post("blocklist-remove", {"text": "kraken"}, blocklist),
                "That is not on the blocklist.",
            )
            await submit_sora(stack, "alice", prompt="a kraken at sea")  # accepted again

            # language: the server's public messages follow it.
            language = f"{guild}/language"
            chosen = await post("language", {"setting": "zh-TW"}, language)
            done(chosen, "set the language of public messages to Traditional Chinese")
            assert chosen.url == f"{base}{language}"
            stored = rows("SELECT language, updated_by FROM guild_languages WHERE guild_id = ?")
            assert stored == [("zh-TW", mod_id)]
            refused(await post("language", {"setting": "zh-TW"}, language), "already in")
            unknown = await post("language", {"setting": "klingon"}, language)
            refused(unknown, "The language must be one of")

        actions = stack.query(
            "SELECT action, via, actor_id, target_user_id, target_role_id, reason "
            "FROM moderation_actions ORDER BY id"
        )
        assert actions == [
            ("set_limit", "web", mod_id, alice_id, None, None),
            ("clear_limit", "web", mod_id, alice_id, None, "back to normal"),
            ("reset", "web", mod_id, alice_id, None, "a failed upload"),
            ("block", "web", mod_id, alice_id, None, "spam"),
            ("unblock", "web", mod_id, alice_id, None, None),
            ("set_role", "web", mod_id, None, role_id, None),
            ("clear_role", "web", mod_id, None, role_id, None),
            ("blocklist_add", "web", mod_id, None, None, None),
            ("blocklist_remove", "web", mod_id, None, None, None),
            ("set_language", "web", mod_id, None, None, None),
        ]
        # The reset's row points at its ledger entry, as /quota reset's does.
        linked = stack.query(
            "SELECT quota_ledger.units FROM moderation_actions "
            "JOIN quota_ledger ON quota_ledger.id = moderation_actions.ledger_id "
            "WHERE moderation_actions.action = 'reset'"
        )
        assert linked == [(-1,)]
        # /quota log reads them as taken on the web (its first page: the newest).
        log = await command_reply(stack, "quota log", "mod")
        by_mod = [line for line in log.splitlines() if f"> <@{mod_id}> " in line]
        assert len(by_mod) >= 5 and all(line.endswith(" on the web dashboard") for line in by_mod)
        stack.assert_clean_log()


async def test_blocking_on_the_web_takes_the_members_waiting_videos_out_of_the_queue(
    tmp_path: Path,
) -> None:
    queue = QUEUE | {"MAX_ACTIVE_JOBS_PER_GUILD": "1"}
    async with web_stack(tmp_path, **queue) as (stack, base):
        sim = stack.discord
        guild = f"/servers/{sim.guild_id}"
        bob_id, mod_id = sim.user("bob").id, sim.user("mod").id
        hold_the_service(stack)
        await submit_sora(stack, "carol", prompt="the one slot")
        await stack.wait_for(lambda: len(tasks(stack)) == 1, "the slot at the service")
        bobs = [await submit_sora(stack, "bob", prompt=f"bob {index}") for index in (1, 2)]
        alice = await submit_sora(stack, "alice", prompt="alice 1")
        await wait_places(stack, {bobs[0]: 1, alice: 2, bobs[1]: 3})

        async with client(stack, base) as mod:
            await mod.sign_in("mod")
            blocked = await mod.post(
                f"{guild}/actions/block",
                {"target": str(bob_id), "reason": "spam"},
                csrf_from=f"{guild}/quotas/members/{bob_id}",
            )
        done(blocked, "blocked @Bob from making videos")
        assert "Their 2 videos waiting in this server&#39;s queue were cancelled" in blocked.text
        for job_id in bobs:
            assert stack.job_state(job_id) == "cancelled"
            assert stack.ledger(job_id) == ["hold", "release"]  # the unit given back
            await stack.wait_for(
                lambda job_id=job_id: f"Cancelled by <@{mod_id}>" in status(stack, job_id).content,
                f"job #{job_id}'s status message saying it was cancelled",
            )
            assert not status(stack, job_id).custom_ids()  # no Cancel button left
        marks = ", ".join("?" for _ in bobs)
        cancelled_by = stack.query(f"SELECT cancelled_by FROM jobs WHERE id IN ({marks})", (*bobs,))
        assert cancelled_by == [(mod_id,), (mod_id,)]
        recorded = stack.query("SELECT action, via, target_user_id, reason FROM moderation_actions")
        assert recorded == [("block", "web", bob_id, "spam")]
        # Alice moves up, and takes the slot when it frees; bob's never reach the service.
        await wait_places(stack, {alice: 1})
        release(tasks(stack)[0])
        await stack.wait_for(lambda: len(tasks(stack)) == 2, "alice's video at the service")
        assert tasks(stack)[1].prompt == "alice 1"
        stack.assert_clean_log()
