"""The dashboard's forms read as the `/quota` actions: numbers as typed, anything else refused
with words, never an error page."""

from __future__ import annotations

import pytest

from bot.errors import Refusal
from bot.i18n import Text
from bot.moderation.actions import Grant, SetLimit
from bot.web.decisions import QUOTA_ACTIONS


@pytest.mark.parametrize("typed", ["", "five", "--5", "5-", "1e3", "٣", "12345678", "-12345678"])
def test_what_is_not_a_whole_number_is_refused_with_words(typed: str) -> None:
    with pytest.raises(Refusal) as refused:
        QUOTA_ACTIONS["grant"](7, {"amount": typed})
    assert refused.value.reason == Text("web.refusal.number")


def test_whole_numbers_up_to_the_highest_ceiling_either_way_are_read() -> None:
    # Whether they are allowed is the moderation frame's decision (MAX_QUOTA_LIMIT).
    assert QUOTA_ACTIONS["grant"](7, {"amount": " -1000000 "}) == Grant(7, -1_000_000)
    assert QUOTA_ACTIONS["set"](7, {"limit": "1000000"}) == SetLimit(7, 1_000_000)
