"""Discord's per-channel limit on the bot's new messages, with the headers it sends.

Discord does not publish the figure; bots observe about 5 messages per 5 seconds per channel.
Every answer on the route carries the X-RateLimit headers, so discord.py sends as many at once
as the bucket has left and waits for the rest; a message over the limit is answered 429.
Interaction answers and follow-ups go through the interaction's own webhook, not this bucket.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .faults import rate_limit_headers, too_many_requests

BUCKET = "channel-messages"


class ChannelPostLimit:
    def __init__(self, per_window: int, window_seconds: float) -> None:
        self.per_window = per_window
        self.window_seconds = window_seconds
        self._sent: dict[int, deque[float]] = {}

    def take(self, channel_id: int, now: float) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """Count a new message in `channel_id` if the window allows it: (None, the route's
        headers) when it does, else (the 429's body, its headers)."""
        sent = self._sent.setdefault(channel_id, deque())
        while sent and now - sent[0] >= self.window_seconds:
            sent.popleft()
        if len(sent) >= self.per_window:
            reset_after = self.window_seconds - (now - sent[0])
            return too_many_requests(reset_after, limit=self.per_window, bucket=BUCKET)
        sent.append(now)
        reset_after = self.window_seconds - (now - sent[0])
        remaining = self.per_window - len(sent)
        return None, rate_limit_headers(self.per_window, remaining, reset_after, BUCKET)
