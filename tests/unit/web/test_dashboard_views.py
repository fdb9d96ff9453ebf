"""The overview's videos and credits per day, from known jobs on known days: each delivered
video at its model's price (the model in use at its price now, another at its documented
price), the days QUOTA_TIMEZONE's, and the videos that could not be priced counted apart."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
from dataclasses import replace
from zoneinfo import ZoneInfo

from bot.providers.profiles import RIVYA_SORA_2_PRO, UNIFIED_SORA_2_PRO
from bot.storage import dashboard
from bot.storage import jobs as job_rows
from bot.storage.database import Database
from bot.web.charts import day_bounds
from bot.web.dashboard_views import DailyFigures, daily_figures, price_of

TAIPEI = ZoneInfo("Asia/Taipei")
GUILD, OTHER_GUILD = 10, 11
_keys = itertools.count()


def taipei(day: int, hour: int, minute: int = 0) -> float:
    """A moment of March 2026 on Taipei's clock, in Unix time."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=TAIPEI).timestamp()


async def made(
    db: Database,
    at: float,
    provider: str = "rivya",
    model: str = "sora-2-pro",
    state: str = "delivered",
    guild_id: int = GUILD,
) -> None:
    async with db.writing() as conn:
        await job_rows.insert(
            conn,
            {
                "guild_id": guild_id,
                "channel_id": 100,
                "user_id": 1,
                "provider": provider,
                "model": model,
                "prompt": "a fox",
                "options_json": json.dumps({"orientation": "landscape", "duration": 10}),
                "state": state,
                "idempotency_key": f"key-{next(_keys)}",
                "next_action_at": 0.0,
                "deadline_at": 0.0,
                "created_at": at,
                "updated_at": at,
            },
        )


async def figures_of(db: Database, price_now: float | None, in_use: str) -> DailyFigures:
    """The overview's figures for the three days up to 10 March 2026 (Taipei), with the bot
    on `in_use`'s model (`price_now`: its price now, as the service's catalogue says)."""
    profile = RIVYA_SORA_2_PRO if in_use == "rivya" else UNIFIED_SORA_2_PRO
    profile = replace(profile, credits_per_video=price_now)
    bounds = day_bounds(3, taipei(10, 15), TAIPEI)
    assert [day for day, _, _ in bounds] == [dt.date(2026, 3, d) for d in (8, 9, 10)]
    async with db.reading() as conn:
        counts = await dashboard.jobs_per_day(conn, GUILD, [(s, e) for _, s, e in bounds])
    return daily_figures(counts, len(bounds), functools.partial(price_of, profile))


async def test_credits_per_day_are_videos_times_their_models_price(db: Database) -> None:
    # Before the days shown: 23:59 on the 7th in Taipei (already the 7th in UTC too).
    await made(db, taipei(7, 23, 59))
    # The 8th: 00:30 in Taipei is still the 7th in UTC; it counts on the 8th.
    await made(db, taipei(8, 0, 30))
    await made(db, taipei(8, 18))
    # The 9th: one priced, two of models without a known price, one failed (no video).
    await made(db, taipei(9, 9))
    await made(db, taipei(9, 10), provider="unified", model="sora-2")
    await made(db, taipei(9, 11), model="sora-3")  # a model this bot does not know
    await made(db, taipei(9, 12), state="failed")
    # The 10th: one priced, one unified Sora 2 Pro, one still being made.
    await made(db, taipei(10, 8))
    await made(db, taipei(10, 9), provider="unified")
    await made(db, taipei(10, 10), state="running")
    # Another server's videos are not this one's.
    await made(db, taipei(9, 9), guild_id=OTHER_GUILD)

    # On Rivya, its catalogue's price now (60) over the documented 75.
    on_rivya = await figures_of(db, price_now=60, in_use="rivya")
    assert on_rivya.videos == [2, 3, 2]
    assert on_rivya.credits == [120, 60, 60]
    assert on_rivya.unpriced == 3  # unified's two models and the unknown one
    assert dict(on_rivya.by_state) == {"delivered": 7, "failed": 1, "running": 1}

    # On unified, which says no price: Rivya's videos at Rivya's documented price.
    on_unified = await figures_of(db, price_now=None, in_use="unified")
    assert on_unified.videos == [2, 3, 2]
    assert on_unified.credits == [150, 75, 75]
    assert on_unified.unpriced == 3


async def test_days_without_videos_are_zero_and_nothing_is_unpriced(db: Database) -> None:
    await made(db, taipei(9, 9), state="failed")
    figures = await figures_of(db, price_now=60, in_use="rivya")
    assert figures.videos == [0, 0, 0] and figures.credits == [0, 0, 0]
    assert figures.unpriced == 0
