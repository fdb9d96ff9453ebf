"""CREDIT_WARNING: notice when the provider balance crosses the threshold, once each way."""

from __future__ import annotations

from bot.i18n import Text


class CreditWatch:
    """Turns periodic balance readings into at most one notice per crossing.

    Starts as "not low", so a balance already below the threshold at start-up is reported once.
    A reading of None (the provider did not say) changes nothing."""

    def __init__(self, threshold: float | None) -> None:
        self.threshold = threshold
        self.low = False

    def observe(self, credits: float | None) -> Text | None:
        """The notice to send for this reading, or None when nothing changed."""
        if self.threshold is None or credits is None:
            return None
        low = credits < self.threshold
        if low == self.low:
            return None
        self.low = low
        key = "alerts.credits_low" if low else "alerts.credits_recovered"
        return Text(key, credits=f"{credits:g}", threshold=f"{self.threshold:g}")
