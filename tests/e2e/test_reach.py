"""What one member can reach of another's, with the real bot process: the pictures and videos
they keep, where buttons on a repost act, and what the bot reads while refusing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.conftest import Stack, finished_job
from tests.e2e.test_results import delete_video, rerun_id, rerun_status
from tests.support.images import PNG


def image_of(stack: Stack, job_id: int) -> Path:
    ((path,),) = stack.query("SELECT image_path FROM jobs WHERE id = ?", (job_id,))
    return stack.workdir / path if not Path(path).is_absolute() else Path(path)


async def test_deleting_a_video_deletes_its_picture_unless_a_re_run_still_needs_it(
    stack: Stack,
) -> None:
    picture = [("holiday.png", PNG, "image/png")]
    alone, alone_post = await finished_job(stack, "alice", attachments=picture)
    assert image_of(stack, alone).is_file()
    await delete_video(stack, alone_post, alone, "alice")
    assert not image_of(stack, alone).exists()

    original, original_post = await finished_job(stack, "alice", attachments=picture)
    press = await stack.discord.click(original_post, rerun_id(original), user="bob")
    await press.wait_original(timeout=20)
    rerun, _ = await rerun_status(stack, original_post)
    await stack.wait_finished(rerun)
    kept = image_of(stack, original)
    assert image_of(stack, rerun) == kept  # the re-run reuses the kept picture
    await delete_video(stack, original_post, original, "alice")
    assert kept.is_file()  # bob's re-run may be re-run in turn
    rerun_post = stack.result_of(rerun)
    assert rerun_post is not None
    await delete_video(stack, rerun_post, rerun, "bob")
    await asyncio.sleep(0)
    assert not kept.exists()
    stack.assert_clean_log()


async def test_delete_removes_only_the_job_s_own_posts_whatever_the_button_names(
    stack: Stack,
) -> None:
    job_id, post = await finished_job(stack, "alice")
    other_job, other_post = await finished_job(stack, "bob", prompt="a harbour at dawn")
    asked = await stack.discord.click(post, f"sora:delete:{job_id}", user="alice")
    await asked.wait_original()
    assert asked.original is not None
    # A modified client names bob's video as "the post whose Delete was pressed".
    forged = await stack.discord.click(
        asked.original, f"sora:delete-yes:{job_id}:{other_post.id}", user="alice", forged=True
    )
    await forged.wait_original(lambda m: m.content.startswith("Deleted the"))
    assert post.deleted
    assert not other_post.deleted
    assert stack.query("SELECT result_deleted_at IS NULL FROM jobs WHERE id = ?", (other_job,)) == [
        (1,)
    ]
    stack.assert_clean_log()
