from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.i18n import render
from bot.quota.allowance import QuotaPeriod, guild_full_message, guild_full_refusal
from tests.support.doubles import ts

UTC = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("kind", "moment", "key", "reset"),
    [
        ("day", "2026-03-10T23:59:59", "2026-03-10", "2026-03-11T00:00:00"),
        ("week", "2026-03-15T12:00:00", "2026-03-09", "2026-03-16T00:00:00"),  # Sunday -> Monday
        ("month", "2026-12-31T08:00:00", "2026-12-01", "2027-01-01T00:00:00"),
        ("month", "2026-02-14T08:00:00", "2026-02-01", "2026-03-01T00:00:00"),
    ],
)
def test_period_keys_and_resets(kind: str, moment: str, key: str, reset: str) -> None:
    period = QuotaPeriod(kind, UTC)
    assert period.key(ts(moment)) == key
    assert period.next_reset(ts(moment)) == ts(reset)


def test_periods_follow_the_time_zone() -> None:
    tokyo = QuotaPeriod("day", ZoneInfo("Asia/Tokyo"))
    # 2026-03-10 16:30 UTC is already 2026-03-11 01:30 in Tokyo.
    assert tokyo.key(ts("2026-03-10T16:30:00")) == "2026-03-11"
    assert tokyo.next_reset(ts("2026-03-10T16:30:00")) == ts("2026-03-12T00:00:00", "Asia/Tokyo")


def test_reset_across_daylight_saving_is_local_midnight() -> None:
    paris = QuotaPeriod("day", ZoneInfo("Europe/Paris"))
    # Clocks go forward on 2026-03-29: that day is 23 hours long.
    moment = ts("2026-03-29T12:00:00", "Europe/Paris")
    assert paris.next_reset(moment) == ts("2026-03-30T00:00:00", "Europe/Paris")
    assert paris.key(moment) == "2026-03-29"


def test_a_full_server_says_when_a_slot_is_likely_to_free_up() -> None:
    plain = guild_full_refusal(4)
    full = render(guild_full_message(4), "en")
    assert str(plain) == full
    timed = guild_full_refusal(4, slot_free_at=1_700_000_120.5)
    assert str(timed) == f"{full} A slot is likely to free up <t:1700000120:R>."
    assert timed.text_for("zh-TW").endswith("再試一次。預計 <t:1700000120:R>會空出名額。")
