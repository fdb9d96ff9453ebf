"""Only people act on the bot's posts: a 🔁 or a button press from another bot account, a
webhook or Discord's system user must never start a paid job or remove a video."""

from __future__ import annotations

from typing import Any

from bot.i18n import Text

AUTOMATED_REFUSAL = Text("results.refusal.automated")


def is_automated(user: Any) -> bool:
    """True for a bot account, a webhook or the system user (`bot`, `system` or `webhook_id`
    set, as Discord reports them on the user or member who acted)."""
    return bool(
        getattr(user, "bot", False)
        or getattr(user, "system", False)
        or getattr(user, "webhook_id", None)
    )
