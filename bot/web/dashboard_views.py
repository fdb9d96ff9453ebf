"""The moderators' overview (videos and credits per day, failures by reason, the members who
made the most) and the audit log with its filters. Moderators only, checked at each request."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from babel.dates import format_date

from bot.i18n import Text, render
from bot.models import FailureCode, JobState
from bot.providers.profiles import ModelProfile, built_in_profile
from bot.storage import dashboard
from bot.storage.audit_pages import ACTION_KINDS, LEDGER_KINDS, LogCursor, LogFilter, log_page
from bot.web import charts, decisions
from bot.web.app import (
    Web,
    guild_id_of,
    locale_of,
    moderator_standing,
    names_for,
    page,
    snowflake,
    web_of,
)
from bot.web.rendering import babel_locale, plain_text

PERIODS = (30, 90)
TOP_MEMBERS = 10
LOG_PAGE_SIZE = 50
LOG_KINDS = tuple(dict.fromkeys((*ACTION_KINDS, *LEDGER_KINDS)))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/servers/{guild_id}/dashboard", overview)
    router.add_get("/servers/{guild_id}/log", audit_log)


def price_of(profile: ModelProfile, provider: str, model: str) -> float | None:
    """What one video of this model costs, in the provider's credits, when known: the model
    in use at its price now (the catalogue's figure), another at its documented price."""
    if (profile.provider, profile.model) == (provider, model):
        return profile.credits_per_video
    known = built_in_profile(provider, model)
    return known.credits_per_video if known else None


@dataclass(frozen=True)
class DailyFigures:
    """The overview's columns, one entry a day (oldest first), and its totals."""

    videos: list[float]  # videos delivered
    credits: list[float]  # what they cost: videos × their model's price
    unpriced: int  # delivered videos of models whose price is not known (not in `credits`)
    by_state: Counter[str]  # every job of those days, by state


def daily_figures(
    counts: list[dashboard.DayCount],
    days: int,
    price: Callable[[str, str], float | None],
) -> DailyFigures:
    """Videos and credits per day from the jobs counted per day; `price(provider, model)`."""
    videos = [0.0] * days
    credits = [0.0] * days
    unpriced = 0
    by_state: Counter[str] = Counter()
    for count in counts:
        by_state[count.state] += count.jobs
        if count.state != JobState.DELIVERED.value:
            continue
        videos[count.day] += count.jobs
        each = price(count.provider, count.model)
        if each is None:
            unpriced += count.jobs
        else:
            credits[count.day] += each * count.jobs
    return DailyFigures(videos, credits, unpriced, by_state)


async def overview(request: web.Request) -> web.Response:
    w = web_of(request)
    guild_id = guild_id_of(request)
    standing = await moderator_standing(request, guild_id)
    days = 90 if request.query.get("days") == "90" else 30
    bounds = charts.day_bounds(days, w.services.clock.now(), w.zone)
    since = bounds[0][1]
    async with w.services.db.reading() as conn:
        counts = await dashboard.jobs_per_day(conn, guild_id, [(s, e) for _, s, e in bounds])
        reasons = await dashboard.failure_reasons(conn, guild_id, since)
        makers = await dashboard.top_members(conn, guild_id, since, TOP_MEMBERS)
    profile = w.services.profile
    figures = daily_figures(counts, days, functools.partial(price_of, profile))
    language = babel_locale(locale_of(request))
    labels = [format_date(day, "medium", locale=language) for day, _, _ in bounds]
    names = await names_for(w, standing, [f"<@{m.user_id}>" for m in makers])
    failures = failures_by_reason(reasons, locale_of(request))
    return page(
        request,
        "dashboard.html",
        guild=standing.guild,
        moderator=True,
        days=days,
        periods=PERIODS,
        videos_chart=charts.column_chart(labels, figures.videos),
        credits_chart=charts.column_chart(labels, figures.credits),
        total_videos=int(sum(figures.videos)),
        total_credits=sum(figures.credits),
        unpriced=figures.unpriced,
        failed=figures.by_state[JobState.FAILED.value] + figures.by_state[JobState.EXPIRED.value],
        reasons_chart=charts.row_chart(
            [label for label, _ in failures], [jobs for _, jobs in failures]
        ),
        makers_chart=charts.row_chart(
            [names.users.get(m.user_id, str(m.user_id)) for m in makers],
            [m.videos for m in makers],
        ),
        first_day=labels[0],
        last_day=labels[-1],
    )


def reason_label(state: str, stored: str | None) -> Text:
    """A short label for why a job ended without a video: one per `FailureCode`, the video
    service's own code as it sent it, or none recorded."""
    code = FailureCode.of(stored)
    if state == JobState.EXPIRED.value or code is FailureCode.DEADLINE:
        return Text("web.reason.deadline")
    if code is not None:
        return Text(f"web.reason.{code.value}")
    if stored:
        return Text("web.reason.service", code=stored)
    return Text("web.reason.unrecorded")


def failures_by_reason(reasons: list[dashboard.ReasonCount], locale: str) -> list[tuple[str, int]]:
    """(label, jobs), most first; the rows that read the same counted as one."""
    counted: Counter[str] = Counter()
    for row in reasons:
        counted[render(reason_label(row.state, row.code), locale)] += row.jobs
    return counted.most_common()


def _day_start(text: str, w: Web, *, next_day: bool = False) -> float | None:
    """Midnight at the start of the date `text` (YYYY-MM-DD) in QUOTA_TIMEZONE, or of the day
    after it; None when `text` is empty or not a date."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    if next_day:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), w.zone).timestamp()


async def audit_log(request: web.Request) -> web.Response:
    w = web_of(request)
    guild_id = guild_id_of(request)
    standing = await moderator_standing(request, guild_id)
    query = request.query
    kind = query.get("kind", "")
    where = LogFilter(
        member_id=snowflake(query.get("member", "")),
        kinds=(kind,) if kind in LOG_KINDS else (),
        since=_day_start(query.get("from", ""), w),
        until=_day_start(query.get("to", ""), w, next_day=True),
    )
    cursor = LogCursor.parse(query.get("after", ""))
    async with w.services.db.reading() as conn:
        entries = await log_page(conn, guild_id, where, cursor, LOG_PAGE_SIZE + 1)
    shown = entries[:LOG_PAGE_SIZE]
    locale = locale_of(request)
    described = [decisions.log_line(entry, locale) for entry in shown]
    names = await names_for(w, standing, described)
    lines = [plain_text(line, locale, w.zone, names) for line in described]
    after = LogCursor.after(shown[-1]).text() if len(entries) > LOG_PAGE_SIZE else None
    filters = {
        "member": query.get("member", ""),
        "kind": kind if kind in LOG_KINDS else "",
        "from": query.get("from", "") if where.since is not None else "",
        "to": query.get("to", "") if where.until is not None else "",
    }
    return page(
        request,
        "log.html",
        guild=standing.guild,
        moderator=True,
        lines=lines,
        kinds=LOG_KINDS,
        filters=filters,
        after=after,
        first_page=cursor is None,
    )
