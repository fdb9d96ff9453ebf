"""Discord's limits and timings as the simulator applies them; tests may change them live."""

from __future__ import annotations

from dataclasses import dataclass, field

MiB = 1024 * 1024


@dataclass
class Settings:
    """Discord's limits, adjustable per test (also while running, via ``sim.settings``)."""

    ack_window: float = 3.0  # seconds to acknowledge an interaction
    token_lifetime: float = 900.0  # seconds an interaction token works for webhooks
    upload_limit: int = 10 * MiB  # summed file bytes per request; above it: 413 / 40005
    # A guild's or channel's own upload limit (its boost tier), by guild or channel id.
    upload_limits: dict[int, int] = field(default_factory=dict)
    # Sent in interactions; None: the real limit of the place (`upload_limit_in`). Set it to
    # make Discord report a wrong limit.
    attachment_size_limit: int | None = None
    nonce_window: float = 300.0  # seconds an enforced nonce de-duplicates
    heartbeat_interval_ms: int = 41_250
    followup_fills_deferred: bool = True  # first followup after a defer becomes the original
    cdn_delay: float = 0.0  # seconds the CDN takes to start serving an attachment (a slow host)
    # New bot messages allowed per channel in `channel_post_window` seconds (post_limits.py);
    # None: no limit and no rate-limit headers.
    channel_posts_per_window: int | None = None
    channel_post_window: float = 5.0

    def upload_limit_in(self, channel_id: int | None, guild_id: int | None) -> int:
        """The upload limit enforced in a channel: its own, its guild's, or the default."""
        for place in (channel_id, guild_id):
            if place is not None and place in self.upload_limits:
                return self.upload_limits[place]
        return self.upload_limit

    def reported_limit_in(self, channel_id: int | None, guild_id: int | None) -> int:
        """The `attachment_size_limit` interactions from that channel carry."""
        if self.attachment_size_limit is None:
            return self.upload_limit_in(channel_id, guild_id)
        return self.attachment_size_limit
