"""Discord's limits and timings as the simulator applies them; tests may change them live."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass
class Settings:
    """Discord's limits, adjustable per test (also while running, via ``sim.settings``)."""

    ack_window: float = 3.0  # seconds to acknowledge an interaction
    token_lifetime: float = 900.0  # seconds an interaction token works for webhooks
    upload_limit: int = 10 * MiB  # summed file bytes per request; above it: 413 / 40005
    attachment_size_limit: int | None = None  # sent in interactions; None = upload_limit
    nonce_window: float = 300.0  # seconds an enforced nonce de-duplicates
    heartbeat_interval_ms: int = 41_250
    followup_fills_deferred: bool = True  # first followup after a defer becomes the original

    @property
    def interaction_size_limit(self) -> int:
        if self.attachment_size_limit is None:
            return self.upload_limit
        return self.attachment_size_limit
