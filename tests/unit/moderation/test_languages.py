"""Where each language comes from: server setting, community locale, member's last locale
(on both database engines)."""

from __future__ import annotations

import asyncio

import pytest

from bot.moderation.languages import Languages, server_choices, set_server_language
from bot.storage import languages as language_rows
from bot.storage.connection import Connection
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


async def test_a_members_interactions_at_once_write_their_language_once(
    languages: Languages, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[tuple[int, str]] = []
    original = language_rows.set_member_locale

    async def counted(conn: Connection, user_id: int, locale: str, now: float) -> None:
        writes.append((user_id, locale))
        await original(conn, user_id, locale, now)

    monkeypatch.setattr(language_rows, "set_member_locale", counted)
    await asyncio.gather(*(languages.remember_member(7, "zh-TW") for _ in range(10)))
    assert writes == [(7, "zh-TW")]
    await languages.remember_member(7, "zh-CN")  # a change is written
    assert writes == [(7, "zh-TW"), (7, "zh-CN")]


async def test_a_language_that_could_not_be_written_is_tried_again(
    languages: Languages, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = language_rows.set_member_locale

    async def failing(conn: Connection, user_id: int, locale: str, now: float) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(language_rows, "set_member_locale", failing)
    with pytest.raises(OSError):
        await languages.remember_member(7, "zh-TW")
    monkeypatch.setattr(language_rows, "set_member_locale", original)
    await languages.remember_member(7, "zh-TW")
    assert await Languages(languages.db, FakeClock()).member_locale(7) == "zh-TW"
