"""The web gallery end to end: the real bot serving its web pages, signing members in through
the fake Discord's OAuth2, and checking with Discord who may see what."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import submit_sora
from tests.e2e.test_queue import hold_the_service, press, tasks
from tests.e2e.web_stack import PRIVATE, client, video_in, web_stack

XSS_PROMPT = '<script>alert("x")</script> a fox & a "hound" 狐狸'


async def test_members_see_their_videos_and_only_the_channels_they_can_read(
    tmp_path: Path,
) -> None:
    async with web_stack(tmp_path) as (stack, base):
        sim = stack.discord
        alice_job, _ = await video_in(stack, "alice", "general", XSS_PROMPT)
        bob_job, _ = await video_in(stack, "bob", "videos", "a lighthouse in a storm")
        secret_job, _ = await video_in(stack, "mod", PRIVATE, "the moderators' secret plan")
        guild = f"/servers/{sim.guild_id}"

        async with client(stack, base) as alice:
            landed = await alice.sign_in("alice")
            assert landed.status == 200 and landed.url == f"{base}/me", landed.text[:500]
            # Her own video, with its prompt shown as text (escaped), playable from the copy.
            assert f'src="/videos/{alice_job}/file"' in landed.text
            assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in landed.text
            assert "<script>" not in landed.text
            assert "lighthouse" not in landed.text  # not hers
            # Search, Chinese included (and in the other script: 狐狸 is the same in both).
            found = await alice.get("/me", params={"q": "狐狸"})
            assert f"/videos/{alice_job}/file" in found.text
            missing = await alice.get("/me", params={"q": "lighthouse"})
            assert f"/videos/{alice_job}/file" not in missing.text

            # The server's gallery: the videos of the channels she can read, not the private one.
            gallery = await alice.get(guild)
            assert gallery.status == 200
            assert f"/videos/{alice_job}/file" in gallery.text
            assert f"/videos/{bob_job}/file" in gallery.text
            assert "secret plan" not in gallery.text
            assert f"/videos/{secret_job}" not in gallery.text
            # Asking for the private video directly: nothing there, as for one that is not.
            status, body, _ = await alice.get_bytes(f"/videos/{secret_job}/file")
            assert status == 404 and b"secret" not in body
            assert (await alice.get(f"/videos/{secret_job}/remove")).status == 404
            # Filtered by member.
            bobs = await alice.get(guild, params={"member": str(sim.user("bob").id)})
            assert f"/videos/{bob_job}/file" in bobs.text
            assert f"/videos/{alice_job}/file" not in bobs.text

        async with client(stack, base) as mod:
            await mod.sign_in("mod")
            seen = await mod.get(guild)
            assert f"/videos/{secret_job}/file" in seen.text
            status, _, headers = await mod.get_bytes(f"/videos/{secret_job}/file")
            assert status == 200 and headers["Content-Type"] == "video/mp4"

        # Someone who is not in the server sees nothing of it.
        async with client(stack, base) as erin:
            await erin.sign_in("erin")
            assert (await erin.get(guild)).status == 404
            status, _, _ = await erin.get_bytes(f"/videos/{alice_job}/file")
            assert status == 404
            assert (await erin.get(f"{guild}/dashboard")).status == 404

        # Another moderator sees it; losing the role (checked at each request) loses it at once.
        async with client(stack, base) as mia:
            await mia.sign_in("mia")
            assert f"/videos/{secret_job}/file" in (await mia.get(guild)).text
            sim.world.members[sim.user("mia").id].role_ids.clear()
            assert f"/videos/{secret_job}/file" not in (await mia.get(guild)).text
            assert (await mia.get_bytes(f"/videos/{secret_job}/file"))[0] == 404
        stack.assert_clean_log()


async def test_videos_answer_range_requests(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as (stack, base):
        job, _ = await video_in(stack, "alice", "general", "a cat on a skateboard")
        kept = Path(stack.query("SELECT video_path FROM jobs WHERE id = ?", (job,))[0][0])
        whole = kept.read_bytes()
        path = f"/videos/{job}/file"
        async with client(stack, base) as alice:
            await alice.sign_in("alice")
            status, body, headers = await alice.get_bytes(path)
            assert status == 200 and body == whole and headers["Accept-Ranges"] == "bytes"
            assert headers["Content-Type"] == "video/mp4"
            status, body, headers = await alice.get_bytes(path, {"Range": "bytes=100-199"})
            assert status == 206 and body == whole[100:200]
            assert headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
            status, body, _ = await alice.get_bytes(path, {"Range": "bytes=-50"})
            assert status == 206 and body == whole[-50:]
            # Past the end, or not a range at all: 416 with the real length, nothing else.
            status, _, headers = await alice.get_bytes(path, {"Range": f"bytes={len(whole)}-"})
            assert status == 416 and headers["Content-Range"] == f"bytes */{len(whole)}"
            status, _, _ = await alice.get_bytes(path, {"Range": "bytes=oops"})
            assert status == 416
        async with client(stack, base) as stranger:
            status, _, _ = await stranger.get_bytes(path)  # not signed in: sent to sign in
            assert status == 200
            assert (await stranger.get(path, follow=False)).status == 302


async def test_a_member_deletes_a_video_as_with_the_delete_button(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as (stack, base):
        sim = stack.discord
        mine, my_post = await video_in(stack, "alice", "general", "a red kite")
        bobs, bob_post = await video_in(stack, "bob", "general", "a blue kite")
        async with client(stack, base) as alice:
            await alice.sign_in("alice")
            # Not hers: refused, and nothing changes.
            refused = await alice.post(
                f"/videos/{bobs}/remove", {}, csrf_from=f"/videos/{mine}/remove"
            )
            assert refused.status == 403
            assert not sim.message(bob_post.id).deleted
            done = await alice.post(
                f"/videos/{mine}/remove", {"back": "/me"}, csrf_from=f"/videos/{mine}/remove"
            )
            assert done.status == 200 and done.url == f"{base}/me"
            assert sim.message(my_post.id).deleted
            assert stack.query("SELECT result_deleted_by FROM jobs WHERE id = ?", (mine,)) == [
                (sim.user("alice").id,)
            ]
            assert (await alice.get_bytes(f"/videos/{mine}/file"))[0] == 404
        async with client(stack, base) as mod:
            await mod.sign_in("mod")
            await mod.post(
                f"/videos/{bobs}/remove",
                {"back": f"/servers/{sim.guild_id}"},
                csrf_from=f"/videos/{bobs}/remove",
            )
            assert sim.message(bob_post.id).deleted
        rows = stack.query("SELECT action, via, target_user_id FROM moderation_actions")
        # A member removing their own video is not audited; a moderator's removal is.
        assert rows == [("remove_video", "web", sim.user("bob").id)]
        kept = stack.query("SELECT video_path FROM jobs WHERE id IN (?, ?)", (mine, bobs))
        assert all(not Path(row[0]).exists() for row in kept if row[0])


def card_of(page: str, job_id: int) -> str:
    """The card of job `job_id` on a page of cards."""
    start = page.index(f'id="job-{job_id}"')
    return page[start : page.index("</article>", start)]


@pytest.mark.timeout(120)
async def test_my_videos_show_a_waiting_jobs_place_and_a_cancelled_job(tmp_path: Path) -> None:
    queue = {
        "MAX_ACTIVE_JOBS_PER_GUILD": "1",
        "MAX_QUEUED_JOBS_PER_MEMBER": "3",
        "MAX_QUEUED_JOBS_PER_GUILD": "5",
        "DEFAULT_QUOTA": "10",
    }
    async with web_stack(tmp_path, **queue) as (stack, base):
        hold_the_service(stack)
        await submit_sora(stack, "carol", prompt="the one slot")
        await stack.wait_for(lambda: len(tasks(stack)) == 1, "the slot at the service")
        alice = [await submit_sora(stack, "alice", prompt=f"alice {i}") for i in (1, 2)]
        bob = await submit_sora(stack, "bob", prompt="bob 1")
        await press(stack, alice[1], "alice")
        await stack.wait_for(lambda: stack.job_state(alice[1]) == "cancelled", "her cancel")

        async with client(stack, base) as web:
            mine = await web.sign_in("alice")
            assert "waiting in the queue, number 1" in card_of(mine.text, alice[0])
            assert "🚫 cancelled" in card_of(mine.text, alice[1])
            assert "number" not in card_of(mine.text, alice[1])
        async with client(stack, base) as web:
            theirs = await web.sign_in("bob")
            assert "waiting in the queue, number 2" in card_of(theirs.text, bob)
        async with client(stack, base) as web:
            await web.sign_in("mod")
            overview = await web.get(f"/servers/{stack.discord.guild_id}/dashboard")
            # Waiting and cancelled jobs are no failures, and no videos made yet.
            assert overview.status == 200
            assert "No job failed in this period." in overview.text
            assert "<strong>0</strong> jobs failed or expired" in overview.text
        assert len(tasks(stack)) == 1  # nothing else reached the video service
        stack.assert_clean_log()
