"""Where each language comes from: server setting, community locale, member's last locale
(on both database engines)."""

from __future__ import annotations

import pytest

from bot.languages import Languages, server_choices, set_server_language
from bot.storage.database import Database
from tests.support.doubles import FakeClock

GUILD = 1


@pytest.fixture
def languages(db: Database) -> Languages:
    return Languages(db, FakeClock())


def test_the_setting_offers_auto_and_every_catalog() -> None:
    assert server_choices() == ("auto", "en", "zh-CN", "zh-TW")


async def test_a_server_follows_its_community_locale_until_set(languages: Languages) -> None:
    assert await languages.server_setting(GUILD) == "auto"
    assert await languages.public_locale(GUILD, "zh-TW") == "zh-TW"
    assert await languages.public_locale(GUILD, "en-US") == "en"
    async with languages.db.transaction() as conn:
        assert await set_server_language(conn, GUILD, "zh-CN", 9, 1.0) is None
    assert await languages.public_locale(GUILD, "zh-TW") == "zh-CN"
    async with languages.db.transaction() as conn:
        assert await set_server_language(conn, GUILD, "auto", 9, 2.0) == "zh-CN"
    assert await languages.public_locale(GUILD, "zh-TW") == "zh-TW"


async def test_members_are_written_to_in_their_last_language(languages: Languages) -> None:
    assert await languages.member_locale(7) == "en"
    await languages.remember_member(7, "zh-TW")
    assert await languages.member_locale(7) == "zh-TW"
    again = Languages(languages.db, FakeClock())  # a restarted bot reads it back
    assert await again.member_locale(7) == "zh-TW"
    await again.remember_member(7, "en-GB")
    assert await Languages(languages.db, FakeClock()).member_locale(7) == "en"
