"""Nothing the video service returns is trusted: what is not a video is never kept, compressed
or posted, a link is followed only where a video should be, the encoder works in a box, the
disk keeps its floor, and /sora-show cannot make the encoder work for nothing.

The real bot process against the fake Discord and the Rivya simulator, as members meet it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    RIVYA_KEY,
    Stack,
    command_reply,
    finished_job,
    public_bot_posts,
    submit_sora,
)
from tests.e2e.test_fitting import encodes_of
from tests.support.fake_discord.world import default_world
from tests.support.processes import watch_encoder
from tests.support.sims.core import html_page
from tests.support.video_server import video_server
from tests.support.videos import VideoSpec, write_video

MiB = 1024 * 1024
VIDEOS_CHANNEL_ID = default_world().channels["videos"].id  # the default world's ids are fixed
# A not-a-video is retried like a network error until the job's deadline: keep it short here.
SHORT_DEADLINE = {"JOB_DEADLINE_MINUTES": "0.25"}
NOT_A_VIDEO = "The video service sent back something that is not a playable video"
# The longest a refused result takes to end: the deadline, plus the last retry's backoff.
REFUSED_WAIT = 40.0


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 2-second 320×240 clip with a stereo tone, about 500 KB."""
    path = tmp_path_factory.mktemp("videos") / "source.mp4"
    return write_video(path, VideoSpec(seconds=2.0)).read_bytes()


def media_dir(stack: Stack) -> Path:
    return stack.workdir / "data" / "media"


def kept_videos(stack: Stack) -> list[str]:
    folder = media_dir(stack) / "videos"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def limit_server(stack: Stack, limit: int) -> None:
    stack.discord.settings.upload_limits[stack.discord.guild_id] = limit


async def refused_result(stack: Stack, job_id: int) -> None:
    """The job ends not delivered: failed, saying why, its hold released, nothing posted."""
    status = await stack.wait_finished(job_id, "❌", timeout=REFUSED_WAIT)
    assert NOT_A_VIDEO in status.content and "did not count against your quota" in status.content
    assert stack.job_state(job_id) == "failed"
    assert stack.ledger(job_id) == ["hold", "release"]
    assert stack.result_of(job_id) is None
    task = stack.provider.created_tasks[-1]
    link = stack.provider.media_url(task.id)
    assert not any(link in post.content for post in public_bot_posts(stack)), "link posted"
    assert len(stack.provider.requests_to("media")) >= 2, "not tried again"
    assert not list((media_dir(stack) / "tmp").glob("*")), "work files left"


@pytest.mark.bot_env(**SHORT_DEADLINE)
async def test_a_concat_script_naming_another_jobs_video_posts_nothing_of_it(
    stack: Stack, video: bytes
) -> None:
    # Bob's video, kept by the bot as job-<id>.mp4 in MEDIA_DIR/videos.
    stack.provider.next_task(media_data=video)
    bobs, bobs_post = await finished_job(stack, "bob")
    assert f"job-{bobs}.mp4" in kept_videos(stack)
    # Alice's "video" is an FFmpeg concat script naming Bob's, padded past the upload limit.
    limit_server(stack, 250_000)
    names = [f"job-{bobs}.mp4", f"../videos/job-{bobs}.mp4", str(media_dir(stack) / "videos")]
    script = "ffconcat version 1.0\n" + "".join(f"file '{name}'\n" for name in names)
    stack.provider.next_task(media_data=script.encode() + b"#" * 400_000)
    alices = await submit_sora(stack, "alice")
    await refused_result(stack, alices)
    # Nothing of Bob's video went anywhere but his own post.
    for post in public_bot_posts(stack):
        if post.id != bobs_post.id:
            assert not post.attachments, post.content
    assert kept_videos(stack) == [f"job-{bobs}.mp4"]
    stack.assert_clean_log()


@pytest.mark.bot_env(**SHORT_DEADLINE)
async def test_an_html_page_answered_as_a_video_is_not_posted(stack: Stack) -> None:
    stack.provider.next_task(media_data=html_page(200).encode() * 100)  # "200 video/mp4"
    job_id = await submit_sora(stack, "alice")
    await refused_result(stack, job_id)
    assert stack.bot is not None and "not a video" in stack.bot.log_text()
    stack.assert_clean_log()


@pytest.mark.provider_host("127.0.0.2")
@pytest.mark.bot_env(**SHORT_DEADLINE)
async def test_a_redirect_to_another_address_on_this_machine_is_refused(
    stack: Stack, video: bytes
) -> None:
    # Something else on this machine (on 127.0.0.1, the provider is on 127.0.0.2) that a
    # result link must never reach, here serving a perfectly good video.
    hits: list[str] = []
    async with video_server({"clip.mp4": video}, hits=hits) as elsewhere:
        assert elsewhere.startswith("http://127.0.0.1:")
        stack.provider.next_task(media_redirect=f"{elsewhere}/file/clip.mp4")
        job_id = await submit_sora(stack, "alice")
        await refused_result(stack, job_id)
    assert hits == []
    assert stack.bot is not None and "not a public address" in stack.bot.log_text()
    stack.assert_clean_log()


@pytest.mark.bot_env(MAX_VIDEO_SIDE="256")
async def test_a_video_over_the_frame_size_limit_is_posted_as_its_link(
    stack: Stack, video: bytes
) -> None:
    stack.provider.next_task(media_data=video)  # 320x240: wider than 256
    job_id, result = await finished_job(stack)
    task = stack.provider.created_tasks[0]
    assert not result.attachments
    assert stack.provider.media_url(task.id) in result.content
    assert "expires after a while" in result.content
    assert stack.ledger(job_id) == ["hold", "charge"]
    assert kept_videos(stack) == []  # never decoded, so not kept
    assert stack.bot is not None and "320x240, over the 256-pixel limit" in stack.bot.log_text()
    stack.assert_clean_log()


async def test_the_encoder_process_holds_no_secret_and_is_boxed(stack: Stack) -> None:
    # Long enough to be compressing for a second or more, so it can be looked at.
    source = write_video(
        stack.workdir / "long.mp4", VideoSpec(width=640, height=480, seconds=6.0)
    ).read_bytes()
    limit_server(stack, 300_000)
    stack.provider.next_task(media_data=source)
    assert stack.bot is not None and stack.bot.pid is not None
    job_id = await submit_sora(stack)
    seen = await watch_encoder(stack.bot.pid)
    await stack.wait_finished(job_id)
    secrets = (stack.discord.token, RIVYA_KEY)
    assert not {"DISCORD_TOKEN", "RIVYA_API_KEY", "DATABASE_URL", "DATABASE_PATH"} & set(seen.env)
    assert not any(secret in value for secret in secrets for value in seen.env.values())
    # A folder of its own in MEDIA_DIR/tmp (a check's), or in a compression's folder there.
    assert seen.cwd.name.startswith("encoder-")
    assert media_dir(stack) / "tmp" in (seen.cwd.parent, seen.cwd.parent.parent)
    assert seen.files_in_cwd == ["video.mp4"]
    assert seen.limits["Max address space"] == str(2048 * MiB)
    assert seen.limits["Max core file size"] == "0"
    assert seen.env["HOME"] == seen.env["TMPDIR"] == str(seen.cwd)


@pytest.mark.bot_env(
    MEDIA_MIN_FREE_MB=str(1024 * 1024 * 1024),  # a floor above what any disk has free
    QUOTA_LOG_CHANNEL_ID=str(VIDEOS_CHANNEL_ID),
)
async def test_below_the_disk_floor_videos_are_posted_not_kept_and_operators_told_once(
    stack: Stack, video: bytes
) -> None:
    for user in ("alice", "bob"):
        stack.provider.next_task(media_data=video)
        job_id, result = await finished_job(stack, user)
        assert result.attachments[0].data == video  # still posted, as always
        assert stack.ledger(job_id) == ["hold", "charge"]
    assert kept_videos(stack) == []  # but not kept
    assert not list((media_dir(stack) / "tmp").glob("*")), "work files left"
    alerts = [m for m in stack.bot_posts("videos") if "MEDIA_MIN_FREE_MB" in m.content]
    assert len(alerts) == 1, [m.content for m in alerts]
    assert alerts[0].content.startswith("⚠️ The disk holding the bot's media has ")
    assert "New videos are still posted but no longer kept" in alerts[0].content
    assert stack.bot is not None and "posted, not kept" in stack.bot.log_text()
    stack.assert_clean_log()


async def test_ten_sora_show_of_an_oversize_video_encode_once(stack: Stack, video: bytes) -> None:
    stack.provider.next_task(media_data=video)
    job_id, _ = await finished_job(stack)  # about 500 KB: within the server's 10 MiB
    assert encodes_of(stack, job_id) == 0
    # Shown at once by ten moderators in a channel held to a smaller limit: one compressed
    # copy is made for that limit, and all ten posts carry it.
    videos = stack.discord.channel("videos")
    stack.discord.settings.upload_limits[videos.id] = 150_000
    showers = [f"moderator{n}" for n in range(10)]
    for name in showers:
        stack.discord.world.add_user(name, roles=("Admin",))
    answers = await asyncio.gather(
        *(command_reply(stack, "sora-show", name, channel="videos", job=job_id) for name in showers)
    )
    assert all(answer.startswith("Posted: ") for answer in answers), answers
    posts = stack.bot_posts("videos")
    assert len(posts) == 10
    shown = {post.attachments[0].data for post in posts}
    assert len(shown) == 1 and len(next(iter(shown))) <= 150_000
    assert encodes_of(stack, job_id) == 1
    # The same member again in the same channel within the minute: refused privately.
    again = await command_reply(stack, "sora-show", "moderator0", channel="videos", job=job_id)
    assert again.startswith(f"You just showed the video of job #{job_id} in this channel.")
    assert len(stack.bot_posts("videos")) == 10
    stack.assert_clean_log()
