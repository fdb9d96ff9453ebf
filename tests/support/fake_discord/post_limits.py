"""Discord's per-channel limit on the bot's new messages, with the headers it sends.

Discord does not publish the figure; bots observe about 5 messages per 5 seconds per channel.
Every answer on the route carries the X-RateLimit headers, so discord.py sends as many at once
as the bucket has left and waits for the rest; a message over the limit is answered 429.
Interaction answers and follow-ups go through the interaction's own webhook, not this bucket.
"""

from __future__ import annotations

from collections import deque


class ChannelPostLimit:
    def __init__(self, per_window: int, window_seconds: float) -> None:
        self.per_window = per_window
        self.window_seconds = window_seconds
        self._sent: dict[int, deque[float]] = {}

    def take(self, channel_id: int, now: float) -> tuple[bool, dict[str, str]]:
        """Count a new message in `channel_id` if the window allows it: (allowed, headers)."""
        sent = self._sent.setdefault(channel_id, deque())
        while sent and now - sent[0] >= self.window_seconds:
            sent.popleft()
        allowed = len(sent) < self.per_window
        if allowed:
            sent.append(now)
        reset_after = self.window_seconds - (now - sent[0]) if sent else self.window_seconds
        headers = {
            "X-RateLimit-Limit": str(self.per_window),
            "X-RateLimit-Remaining": str(self.per_window - len(sent)),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": "channel-messages",
        }
        if not allowed:
            # Without `Via`, discord.py takes a 429 for a Cloudflare ban.
            headers |= {"Via": "1.1 google", "Retry-After": f"{max(1, round(reset_after))}"}
            headers["X-RateLimit-Scope"] = "user"
        return allowed, headers

    @staticmethod
    def refusal(headers: dict[str, str]) -> dict[str, object]:
        return {
            "message": "You are being rate limited.",
            "retry_after": float(headers["X-RateLimit-Reset-After"]),
            "global": False,
        }
