"""Lists and option values said in the reader's language (bot/i18n.py)."""

from __future__ import annotations

import pytest

from bot import i18n
from bot.i18n import Text, alternatives, listing


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "View Channel, Attach Files"),
        ("zh-TW", "檢視頻道、附加檔案"),
        ("zh-CN", "查看频道、附加文件"),
    ],
)
def test_a_list_is_joined_with_the_readers_separator(locale: str, expected: str) -> None:
    permissions = listing(
        [Text("sora.permission.view_channel"), Text("sora.permission.attach_files")]
    )
    assert i18n.render(permissions, locale) == expected


def test_alternatives_end_with_the_readers_or() -> None:
    types = alternatives(["JPEG", "PNG", "WebP"])
    assert i18n.render(types, "en") == "JPEG, PNG or WebP"
    # A Chinese word is set off by a space from Latin letters and digits, not from Chinese.
    assert i18n.render(types, "zh-TW") == "JPEG、PNG 或 WebP"
    assert i18n.render(alternatives([10, 15]), "zh-CN") == "10 或 15"
    words = alternatives([Text("sora.choice.portrait"), Text("sora.choice.landscape")])
    assert i18n.render(words, "zh-TW") == "直式或橫式"
    assert i18n.render(words, "zh-CN") == "竖屏或横屏"
    assert i18n.render(alternatives([10]), "zh-TW") == "10"
    assert i18n.render(listing([]), "en") == ""


def test_a_list_inside_a_message_follows_the_messages_language() -> None:
    refusal = Text("checks.bad_duration", model="Sora 2 Pro", choices=alternatives([10, 15]))
    assert i18n.render(refusal, "en") == "Sora 2 Pro makes videos of 10 or 15 seconds."
    assert i18n.render(refusal, "zh-TW") == "Sora 2 Pro 只能製作 10 或 15 秒的影片。"


def test_a_stored_message_keeps_its_list() -> None:
    text = Text(
        "quota.refusal.period",
        periods=listing([Text("quota.choice.day"), "fortnight"]),
    )
    again = i18n.decode_text(i18n.encode_text(text))
    assert again == text
    assert i18n.render(again, "zh-CN") == "周期必须是以下之一：每天、fortnight。"


def test_a_value_is_said_in_the_readers_words_when_the_catalogs_have_them() -> None:
    assert i18n.word_for("status.quality.high", "high") == Text("status.quality.high")
    assert i18n.word_for("status.quality.large", "1080p") == "1080p"
