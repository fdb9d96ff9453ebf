"""The dashboard's forms read as the `/quota` actions: numbers as typed, anything else refused
with words, never an error page."""

from __future__ import annotations

import pytest

from bot.errors import Refusal
from bot.i18n import Text
from bot.moderation.actions import (
    Block,
    BlocklistAdd,
    BlocklistRemove,
    ClearLimit,
    ClearRole,
    Grant,
    ModeratorAction,
    Reset,
    SetDefault,
    SetLanguage,
    SetLimit,
    SetPictures,
    SetRole,
    Unblock,
)
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


# Each form's action, as its page posts it (the target is the member's or role's id).
FORMS: list[tuple[str, dict[str, str], ModeratorAction]] = [
    ("set", {"limit": "3"}, SetLimit(7, 3)),
    ("clear", {}, ClearLimit(7)),
    ("grant", {"amount": "-2"}, Grant(7, -2)),
    ("reset", {}, Reset(7)),
    ("block", {}, Block(7)),
    ("unblock", {}, Unblock(7)),
    ("role", {"limit": "4"}, SetRole(7, 4)),
    ("role-clear", {}, ClearRole(7)),
    ("default", {"limit": "5", "period": "week"}, SetDefault(5, "week")),
    ("blocklist-add", {"text": "kraken"}, BlocklistAdd("kraken")),
    ("blocklist-remove", {"text": "kraken"}, BlocklistRemove("kraken")),
    ("language", {"setting": "zh-TW"}, SetLanguage("zh-TW")),
    ("pictures", {"setting": "anyone"}, SetPictures("anyone")),
]


@pytest.mark.parametrize(("action", "form", "expected"), FORMS, ids=[f[0] for f in FORMS])
def test_each_form_is_read_as_its_quota_action(
    action: str, form: dict[str, str], expected: ModeratorAction
) -> None:
    assert QUOTA_ACTIONS[action](7, form) == expected


def test_every_form_action_is_read() -> None:
    assert set(QUOTA_ACTIONS) == {action for action, _, _ in FORMS}


ON_SOMEONE = ["set", "clear", "grant", "reset", "block", "unblock", "role", "role-clear"]


@pytest.mark.parametrize("action", ON_SOMEONE)
def test_an_action_on_someone_without_a_target_is_refused_with_words(action: str) -> None:
    with pytest.raises(Refusal) as refused:
        QUOTA_ACTIONS[action](None, {"limit": "3", "amount": "3"})
    assert refused.value.reason == Text("web.refusal.no_target")
