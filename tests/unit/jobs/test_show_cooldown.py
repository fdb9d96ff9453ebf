"""One member may show one video in one channel once per cooldown; others are not held up."""

from __future__ import annotations

import pytest

from bot.errors import Refusal, RefusalKind
from bot.jobs.show_cooldown import TIDY_AFTER, ShowCooldown
from tests.support.doubles import FakeClock


def test_a_second_show_too_soon_is_refused_with_when_it_is_allowed() -> None:
    clock = FakeClock(1000.0)
    cooldown = ShowCooldown(60, clock)
    cooldown.take(user_id=1, job_id=7, channel_id=10)
    clock.advance(20.5)
    with pytest.raises(Refusal) as refused:
        cooldown.take(1, 7, 10)
    assert refused.value.kind is RefusalKind.COOLDOWN
    assert "job #7" in str(refused.value) and "<t:1060:R>" in str(refused.value)
    clock.advance(39.5)
    cooldown.take(1, 7, 10)  # the minute has passed


def test_other_members_videos_and_channels_have_their_own_turns() -> None:
    cooldown = ShowCooldown(60, FakeClock())
    cooldown.take(1, 7, 10)
    cooldown.take(2, 7, 10)  # another member
    cooldown.take(1, 8, 10)  # another video
    cooldown.take(1, 7, 11)  # another channel


def test_a_show_that_failed_gives_its_turn_back() -> None:
    cooldown = ShowCooldown(60, FakeClock())
    turn = cooldown.take(1, 7, 10)
    cooldown.give_back(turn)
    cooldown.take(1, 7, 10)


def test_zero_turns_the_cooldown_off() -> None:
    cooldown = ShowCooldown(0, FakeClock())
    for _ in range(3):
        cooldown.take(1, 7, 10)


def test_old_turns_are_forgotten() -> None:
    clock = FakeClock()
    cooldown = ShowCooldown(60, clock)
    for user in range(TIDY_AFTER + 1):
        cooldown.take(user, 7, 10)
    clock.advance(61)
    cooldown.take(5000, 7, 10)
    assert len(cooldown._taken) == 1
