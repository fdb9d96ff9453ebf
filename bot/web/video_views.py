"""The member's own videos, a server's gallery, the video files, and removing a video.

Who may watch a video: the member who asked for it, always; anyone else only while they are
in its server and can read the channel it was posted in (bot/web/access.py), and only while
it is delivered and not removed. Anything else is "not found", so a page never tells whether
a video exists. Files are served from the bot's kept copy with HTTP Range requests (aiohttp's
FileResponse streams from disk in small pieces, so parallel streams cost little memory).
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from pathlib import Path

import opencc
from aiohttp import web

from bot import i18n
from bot.i18n import Text
from bot.jobs.state_words import state_icon, state_label
from bot.jobs.wording import settings_line
from bot.models import Actor, Job, JobState
from bot.storage import gallery
from bot.video.media_types import VIDEO_HEAD_BYTES, sniff_video_type
from bot.web import access, decisions
from bot.web.access import Standing
from bot.web.app import (
    PageError,
    Web,
    guild_id_of,
    locale_of,
    member_standing,
    names_for,
    notify,
    page,
    say,
    signed_in,
    snowflake,
    web_of,
)

PAGE_SIZE = 24
MOST_SEARCH_WORDS = 5


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/me", my_videos)
    router.add_get("/servers/{guild_id}", server_gallery)
    router.add_get("/videos/{job_id}/file", video_file)
    router.add_get("/videos/{job_id}/remove", confirm_removal)
    router.add_post("/videos/{job_id}/remove", remove_video)


@dataclass(frozen=True)
class Card:
    job: Job
    settings: str
    state: str
    playable: bool  # the bot keeps a copy: it plays here
    discord_link: str | None
    provider_link: str | None  # when no copy is kept, the video service's own link
    server: str
    maker: str
    removable: bool


def _before(request: web.Request) -> int | None:
    return snowflake(request.query.get("before", ""))


@functools.cache
def _converters() -> tuple[opencc.OpenCC, opencc.OpenCC]:
    return opencc.OpenCC("t2s"), opencc.OpenCC("s2t")


def search_words(query: str) -> list[list[str]]:
    """The words to look for, each in the spellings a member may have used: as typed, and in
    Simplified and Traditional Chinese (so 影片 finds 影片 and 影片's simplified form)."""
    to_simplified, to_traditional = _converters()
    words = []
    for word in query.split()[:MOST_SEARCH_WORDS]:
        spellings = [word, to_simplified.convert(word), to_traditional.convert(word)]
        words.append(list(dict.fromkeys(spellings)))
    return words


def _discord_link(job: Job) -> str | None:
    message = job.result_message_id or job.status_message_id
    if message is None or job.result_deleted_at is not None:
        return None
    return f"https://discord.com/channels/{job.guild_id}/{job.channel_id}/{message}"


def _card(
    w: Web,
    job: Job,
    locale: str,
    *,
    server: str,
    maker: str,
    removable: bool,
    position: int | None = None,
) -> Card:
    shown = job.state is JobState.DELIVERED and job.result_deleted_at is None
    playable = shown and w.shelf.kept(job) is not None
    provider_link = job.result_url if shown and not playable else None
    if provider_link is not None and not provider_link.startswith(("https://", "http://")):
        provider_link = None
    return Card(
        job=job,
        settings=settings_line(job, w.services.profile, locale),
        state=say_state(job, locale, position),
        playable=playable,
        discord_link=_discord_link(job),
        provider_link=provider_link,
        server=server,
        maker=maker,
        removable=removable and shown,
    )


def say_state(job: Job, locale: str, position: int | None = None) -> str:
    """The job's state in the words `/sora-jobs` uses (bot/jobs/state_words.py), with a
    waiting job's `position` in its server's queue when known."""
    if job.result_deleted_at is not None:
        return i18n.render(Text("results.jobs.removed"), locale)
    return f"{state_icon(job)} {i18n.render(state_label(job, position), locale)}"


async def queue_positions(w: Web, jobs: list[Job]) -> dict[int, int]:
    """Job id → position in its server's queue, for the waiting jobs among `jobs` (one look
    at each of their servers' queues)."""
    positions: dict[int, int] = {}
    for guild_id in sorted({job.guild_id for job in jobs if job.is_waiting}):
        positions |= await w.services.places.positions(guild_id)
    return positions


async def my_videos(request: web.Request) -> web.Response:
    session = signed_in(request)
    w = web_of(request)
    query = " ".join(request.query.get("q", "").split())[:200]
    async with w.services.db.reading() as conn:
        rows = await gallery.member_jobs(
            conn,
            session.user_id,
            _before(request),
            PAGE_SIZE + 1,
            search_words(query),
            guild_ids=w.settings.allowed_guild_ids,  # none from a server the bot does not serve
        )
    jobs = [Job.from_row(row) for row in rows]
    servers = {guild.id: guild.name for guild in session.guilds}
    locale = locale_of(request)
    positions = await queue_positions(w, jobs[:PAGE_SIZE])
    cards = [
        _card(
            w,
            job,
            locale,
            server=servers.get(job.guild_id, str(job.guild_id)),
            maker=session.user_name,
            removable=True,
            position=positions.get(job.id),
        )
        for job in jobs[:PAGE_SIZE]
    ]
    more = jobs[PAGE_SIZE - 1].id if len(jobs) > PAGE_SIZE else None
    return page(request, "my_videos.html", cards=cards, query=query, more=more)


async def server_gallery(request: web.Request) -> web.Response:
    w = web_of(request)
    guild_id = guild_id_of(request)
    standing = await member_standing(request, guild_id)
    member_id = snowflake(request.query.get("member", ""))
    async with w.services.db.reading() as conn:
        channels = await gallery.delivered_channels(conn, guild_id)
    visible = sorted(await access.visible_channels(w.api, standing, channels))
    async with w.services.db.reading() as conn:
        rows = await gallery.guild_videos(
            conn, guild_id, visible, _before(request), PAGE_SIZE + 1, member_id
        )
    jobs = [Job.from_row(row) for row in rows]
    moderator = decisions.is_moderator(w.services.moderation, standing)
    names = await names_for(w, standing, [f"<@{job.user_id}>" for job in jobs[:PAGE_SIZE]])
    locale = locale_of(request)
    cards = [
        _card(
            w,
            job,
            locale,
            server=standing.guild.name,
            maker=names.users.get(job.user_id, str(job.user_id)),
            removable=job.user_id == standing.user_id or moderator,
        )
        for job in jobs[:PAGE_SIZE]
    ]
    more = jobs[PAGE_SIZE - 1].id if len(jobs) > PAGE_SIZE else None
    member_name = names.users.get(member_id or 0) if member_id else None
    return page(
        request,
        "gallery.html",
        guild=standing.guild,
        moderator=moderator,
        cards=cards,
        member_id=member_id,
        member_name=member_name or (str(member_id) if member_id else None),
        more=more,
    )


async def _job_of(request: web.Request) -> Job:
    w = web_of(request)
    job_id = snowflake(request.match_info["job_id"])
    job = await w.services.jobs.get(job_id) if job_id is not None else None
    if job is None or not w.settings.serves(job.guild_id):
        raise PageError(404, Text("web.error.not_found"))  # a server not served shows nothing
    return job


async def _watcher(request: web.Request, job: Job) -> Standing | None:
    """Raise "not found" unless the signed-in member may see this job; their standing in its
    server when they are not its owner (None for the owner)."""
    session = signed_in(request)
    if session.user_id == job.user_id:
        return None
    w = web_of(request)
    if job.state is not JobState.DELIVERED or job.result_deleted_at is not None:
        raise PageError(404, Text("web.error.not_found"))
    standing = await access.standing_in(w.api, job.guild_id, session.user_id)
    if standing is None or not await access.can_read_channel(w.api, standing, job.channel_id):
        raise PageError(404, Text("web.error.not_found"))
    return standing


async def video_file(request: web.Request) -> web.StreamResponse:
    job = await _job_of(request)
    await _watcher(request, job)
    w = web_of(request)
    kept = w.shelf.kept(job) if job.result_deleted_at is None else None
    if kept is None:
        raise PageError(404, Text("web.error.no_copy"))
    path = kept.resolve()
    if not path.is_relative_to(w.shelf.folder.resolve()):
        raise PageError(404, Text("web.error.not_found"))
    kind = await asyncio.to_thread(_video_type, path)
    return web.FileResponse(
        path,
        chunk_size=64 * 1024,
        headers={
            "Content-Type": kind,
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'inline; filename="sora-{job.id}.mp4"',
        },
    )


def _video_type(path: Path) -> str:
    with path.open("rb") as file:
        kind = sniff_video_type(file.read(VIDEO_HEAD_BYTES))
    return kind.mime if kind is not None else "application/octet-stream"


async def _removable(request: web.Request) -> tuple[Job, Actor]:
    job = await _job_of(request)
    standing = await _watcher(request, job)
    session = signed_in(request)
    actor = (
        decisions.owner_actor(job, session.user_id)
        if standing is None
        else decisions.actor_of(standing)
    )
    if not decisions.may_remove(web_of(request).services.removal, actor, job):
        raise PageError(403, Text("results.delete.not_yours"))
    return job, actor


async def confirm_removal(request: web.Request) -> web.Response:
    job, _ = await _removable(request)
    w = web_of(request)
    card = _card(w, job, locale_of(request), server="", maker="", removable=True)
    back = request.query.get("back", "")
    if back not in _way_back(job):
        back = "/me"
    return page(request, "remove.html", card=card, back=back)


def _way_back(job: Job) -> tuple[str, ...]:
    """The pages a removal may return to (nothing else: no redirect elsewhere)."""
    return ("/me", f"/servers/{job.guild_id}")


async def remove_video(request: web.Request) -> web.Response:
    job, actor = await _removable(request)
    w = web_of(request)
    await decisions.remove_video(w.services.removal, w.api, actor, job)
    notify(request, "done", say(request, Text("results.delete.done", job=job.id)))
    form = await request.post()
    back = form.get("back")
    target = back if isinstance(back, str) and back in _way_back(job) else "/me"
    return web.Response(status=303, headers={"Location": target})
