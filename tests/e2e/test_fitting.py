"""Every result plays in the channel: a video over the server's upload limit is compressed to
fit it, the original stays reachable, and whatever goes wrong the member still gets the link.

The provider serves real encoded videos here (small and short, with small limits), and the
fake Discord holds each server to its own limit, as Discord does with boosts."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, command_reply, finished_job, submit_sora
from tests.support.fake_discord import MessageRecord
from tests.support.fake_discord.message_model import iter_components
from tests.support.videos import (
    Decoded,
    VideoSpec,
    decode_all,
    write_undecodable,
    write_video,
)

MiB = 1024 * 1024
SECONDS = 2.0


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 2-second 320×240 clip with a stereo tone, about 500 KB."""
    path = tmp_path_factory.mktemp("videos") / "source.mp4"
    return write_video(path, VideoSpec(seconds=SECONDS)).read_bytes()


def serve(stack: Stack, data: bytes) -> None:
    stack.provider.next_task(media_data=data)


def limit_server(stack: Stack, limit: int) -> None:
    """This server's upload limit (what Discord reports and enforces), as its boosts make it."""
    stack.discord.settings.upload_limits[stack.discord.guild_id] = limit


def link_buttons(message: MessageRecord) -> list[tuple[str, str]]:
    return [(c["label"], c["url"]) for c in iter_components(message.components) if c.get("url")]


def decode_all_bytes(data: bytes, folder: Path) -> Decoded:
    path = folder / "posted.mp4"
    path.write_bytes(data)
    return decode_all(path)


def kept_copy(stack: Stack, job_id: int) -> Path:
    return stack.workdir / "data" / "media" / "videos" / f"job-{job_id}.mp4"


def delivery(stack: Stack, job_id: int) -> str:
    return stack.query("SELECT delivery FROM jobs WHERE id = ?", (job_id,))[0][0]


async def test_a_video_over_the_limit_is_compressed_to_fit_and_plays_here(
    stack: Stack, video: bytes, tmp_path: Path
) -> None:
    limit_server(stack, 250_000)
    serve(stack, video)
    job_id, result = await finished_job(stack)
    posted = result.attachments[0].data
    assert len(posted) <= 250_000 < len(video)
    facts = decode_all_bytes(posted, tmp_path)
    assert facts.video_codec == "h264" and facts.audio_codec == "aac"
    assert abs(facts.seconds - SECONDS) < 0.1 and abs(facts.audio_seconds - SECONDS) < 0.1
    assert (facts.width, facts.height) == (320, 240)
    # The original is one click away while the provider's link lives, and the bot kept it.
    task = stack.provider.created_tasks[0]
    assert link_buttons(result) == [("Full quality", stack.provider.media_url(task.id))]
    assert "Compressed to fit this server's upload limit" in result.content
    assert kept_copy(stack, job_id).read_bytes() == video
    status = stack.status_message(job_id)
    assert status is not None
    assert any("compressing it to fit" in text for text in status.contents)
    assert delivery(stack, job_id) == "file"
    assert stack.bot is not None and f"job {job_id} delivered as fitted" in stack.bot.log_text()
    assert stack.ledger(job_id) == ["hold", "charge"]
    assert not list((stack.workdir / "data" / "media" / "tmp").glob("*")), "work files left"
    stack.assert_clean_log()


async def test_a_boosted_servers_bigger_limit_is_used_as_is(stack: Stack, video: bytes) -> None:
    # Over the 10 MiB of a server without boosts (and of the old default cap), within 50 MiB.
    padding = 11 * MiB - len(video)
    big = video + struct.pack(">I4s", padding, b"free") + bytes(padding - 8)
    limit_server(stack, 50 * MiB)
    serve(stack, big)
    job_id, result = await finished_job(stack)
    assert result.attachments[0].data == big  # not re-encoded: the very bytes
    assert link_buttons(result) == []
    assert delivery(stack, job_id) == "file"
    status = stack.status_message(job_id)
    assert status is not None and not any("compressing" in text for text in status.contents)
    assert stack.ledger(job_id) == ["hold", "charge"]


async def test_refused_as_too_large_despite_fitting_posts_the_link(
    stack: Stack, video: bytes
) -> None:
    # Discord reports more than it takes (it has been wrong before): the 413 still ends well.
    limit_server(stack, 100_000)
    stack.discord.settings.attachment_size_limit = 250_000
    serve(stack, video)
    job_id, result = await finished_job(stack)
    assert not result.attachments
    assert stack.provider.media_url(stack.provider.created_tasks[0].id) in result.content
    assert any(error.status == 413 for error in stack.discord.errors)
    assert delivery(stack, job_id) == "link"
    assert stack.ledger(job_id) == ["hold", "charge"]


@pytest.mark.bot_env(JOB_DEADLINE_MINUTES="0.2")
async def test_a_file_that_starts_like_a_video_but_does_not_decode_is_not_posted(
    stack: Stack, tmp_path: Path
) -> None:
    # Tried again until the deadline (the service may still be writing it), then not delivered:
    # no file, no link, nothing charged (tests/e2e/test_result_checks.py has the other cases).
    limit_server(stack, 100_000)
    serve(stack, write_undecodable(tmp_path / "broken.mp4", 200_000).read_bytes())
    job_id = await submit_sora(stack)
    status = await stack.wait_finished(job_id, "❌", timeout=40)
    assert "not a playable video" in status.content
    assert stack.result_of(job_id) is None
    assert stack.ledger(job_id) == ["hold", "release"]
    assert stack.bot is not None
    assert f"job {job_id}: what the link gave is not a video" in stack.bot.log_text()


async def test_sora_show_posts_the_kept_copy_after_the_link_died(
    stack: Stack, video: bytes, tmp_path: Path
) -> None:
    limit_server(stack, 250_000)
    serve(stack, video)
    job_id, result = await finished_job(stack)
    # The provider's link has expired and the post was removed in Discord directly.
    task = stack.provider.created_tasks[0]
    stack.provider.expire_media(task.id)
    stack.discord.store.delete(result)
    downloads = len(stack.provider.requests_to("media"))
    # Shown in a channel held to a smaller limit: fitted to that one.
    stack.discord.settings.upload_limits[stack.discord.channel("videos").id] = 120_000
    answer = await command_reply(stack, "sora-show", "alice", channel="videos", job=job_id)
    assert answer.startswith("Posted: ")
    repost = stack.bot_posts("videos")[-1]
    shown = repost.attachments[0].data
    assert len(shown) <= 120_000
    facts = decode_all_bytes(shown, tmp_path)
    assert abs(facts.seconds - SECONDS) < 0.1 and facts.audio_codec == "aac"
    assert len(stack.provider.requests_to("media")) == downloads  # from the bot's own copy
    # Delete removes the video for good, the bot's copy with it.
    asked = await stack.discord.click(repost, f"sora:delete:{job_id}", user="alice")
    await asked.wait_original()
    assert asked.original is not None
    confirm = await stack.discord.click(
        asked.original, f"sora:delete-yes:{job_id}:{repost.id}", user="alice"
    )
    await confirm.wait_original(lambda m: m.content.startswith("Deleted the"))
    assert repost.deleted and not kept_copy(stack, job_id).exists()
    stack.assert_clean_log()


async def test_a_restart_mid_compression_delivers_once_and_charges_once(
    stack: Stack, tmp_path: Path
) -> None:
    # Long enough to be compressing when the bot is killed (a second or more on 2 cores).
    source = write_video(tmp_path / "long.mp4", VideoSpec(width=640, height=480, seconds=6.0))
    limit_server(stack, 300_000)
    serve(stack, source.read_bytes())
    job_id = await submit_sora(stack)
    await stack.wait_for(
        lambda: (status := stack.status_message(job_id)) and "compressing" in status.content,
        "the status saying the video is being compressed",
    )
    assert stack.bot is not None
    await stack.bot.kill()
    work = stack.workdir / "data" / "media" / "tmp"
    stranded = list(work.glob("fit-*"))
    (work / "fit-stranded").mkdir(parents=True, exist_ok=True)  # as a killed encode leaves
    await stack.start_bot()
    result = await stack.wait_for(lambda: stack.result_of(job_id), "the video after the restart")
    await stack.wait_finished(job_id)
    assert len(result.attachments[0].data) <= 300_000
    results = [m for m in stack.bot_posts() if f"job #{job_id} is ready" in m.content]
    assert len(results) == 1
    assert stack.ledger(job_id) == ["hold", "charge"]
    assert not (work / "fit-stranded").exists()
    assert not any(p.exists() for p in stranded)
    # Delivered from the copy kept before the restart: downloaded once.
    assert len(stack.provider.requests_to("media")) == 1


def encodes_of(stack: Stack, job_id: int) -> int:
    """How many times the bot compressed the job's video (one log line per encode)."""
    assert stack.bot is not None
    return stack.bot.log_text().count(f"Compressed job-{job_id}.mp4 ")


async def test_a_video_is_compressed_once_per_upload_limit_and_shown_again_from_that_copy(
    stack: Stack, video: bytes
) -> None:
    limit_server(stack, 250_000)
    serve(stack, video)
    job_id, result = await finished_job(stack)
    assert encodes_of(stack, job_id) == 1
    delivered = result.attachments[0].data
    # Shown in the same server, under the same limit: the copy made for the delivery.
    answer = await command_reply(stack, "sora-show", "alice", job=job_id)
    repost = stack.bot_posts()[-1]
    assert answer.startswith("Posted: ") and answer.endswith(f"/{repost.id}")
    assert repost.id != result.id and repost.attachments[0].data == delivered
    assert encodes_of(stack, job_id) == 1
    # A channel held to a smaller limit gets a copy of its own, made once and shown twice.
    stack.discord.settings.upload_limits[stack.discord.channel("videos").id] = 120_000
    shown = []
    for member in ("alice", "admin"):  # one show a minute for each member here
        await command_reply(stack, "sora-show", member, channel="videos", job=job_id)
        shown.append(stack.bot_posts("videos")[-1].attachments[0].data)
    assert len(stack.bot_posts("videos")) == 2
    assert shown[0] == shown[1] and len(shown[0]) <= 120_000
    assert encodes_of(stack, job_id) == 2
    assert "compressed" in stack.bot_posts("videos")[-1].content.lower()
    # The copies live beside the kept original, one per limit.
    shelf = kept_copy(stack, job_id).parent
    assert sorted(path.name for path in shelf.iterdir()) == [
        f"job-{job_id}.fit-120000.mp4",
        f"job-{job_id}.fit-250000.mp4",
        f"job-{job_id}.mp4",
    ]
    assert len(stack.provider.requests_to("media")) == 1  # downloaded once, for the delivery
    stack.assert_clean_log()
