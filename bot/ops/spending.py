"""Who can spend the operator's video credits: the words the operator reads about it (the
start-up log and `sora-bot check`). The rules themselves are in the Discord glue
(cogs/_guard.py: the servers) and in admission (the daily budget)."""

from __future__ import annotations

from bot.config import Settings

OPEN_TO_ANY_SERVER = (
    "ALLOWED_GUILD_IDS is not set: any server that adds the bot can spend your video credits. "
    'Set it to your servers\' ids, and turn "Public Bot" off in the Discord developer portal '
    "(Bot -> Public Bot)."
)


def servers_line(settings: Settings) -> str:
    """`sora-bot check`'s line about the servers the bot serves."""
    allowed = settings.allowed_guild_ids
    if not allowed:
        return f"servers   WARNING: {OPEN_TO_ANY_SERVER}"
    budget = settings.daily_video_budget
    spending = (
        f"at most {budget:,} video(s) a day (DAILY_VIDEO_BUDGET)"
        if budget is not None
        else "no daily budget (DAILY_VIDEO_BUDGET)"
    )
    return (
        f"servers   ok: only {len(allowed)} server(s) in ALLOWED_GUILD_IDS; moderators may set "
        f"at most {settings.max_quota_limit:,} (MAX_QUOTA_LIMIT); {spending}"
    )
