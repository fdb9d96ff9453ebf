"""How often one member may post the same video again in one channel (`/sora-show`).

A repost of an oversize video costs an encode (the fitted copy is kept and reused, but each
upload limit needs its own) and fills the channel; `SHOW_COOLDOWN_SECONDS` bounds it per
member, video and channel. The turn is taken before the post is made, so ten commands at the
same moment give one post; a post that failed gives its turn back.

Kept in memory: a restart forgets recent shows, which costs at most one extra post each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.clock import Clock
from bot.errors import Refusal, RefusalKind
from bot.i18n import Text

# Forget turns older than the cooldown once this many are remembered.
TIDY_AFTER = 1024


@dataclass(frozen=True)
class ShowTurn:
    user_id: int
    job_id: int
    channel_id: int


class ShowCooldown:
    def __init__(self, seconds: float, clock: Clock) -> None:
        self.seconds = seconds
        self.clock = clock
        self._taken: dict[ShowTurn, float] = {}

    def take(self, user_id: int, job_id: int, channel_id: int) -> ShowTurn:
        """The member's turn to show the video here; `Refusal` until the cooldown has passed."""
        turn = ShowTurn(user_id, job_id, channel_id)
        now = self.clock.now()
        if len(self._taken) > TIDY_AFTER:
            self._taken = {t: at for t, at in self._taken.items() if now - at < self.seconds}
        taken_at = self._taken.get(turn)
        if taken_at is not None and now - taken_at < self.seconds:
            until = math.ceil(taken_at + self.seconds)
            raise Refusal(Text("results.show.cooldown", job=job_id, at=until), RefusalKind.COOLDOWN)
        if self.seconds > 0:
            self._taken[turn] = now
        return turn

    def give_back(self, turn: ShowTurn) -> None:
        """The show did not happen: the member may try again at once."""
        self._taken.pop(turn, None)
