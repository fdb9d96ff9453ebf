"""The Chinese member guides write commands and options as members see them in Discord."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import i18n

ROOT = Path(__file__).resolve().parents[2]
GUIDES = {"zh-TW": ROOT / "README.zh-TW.md", "zh-CN": ROOT / "README.zh-CN.md"}
SUBCOMMANDS = ("blocklist add", "blocklist remove", "blocklist list", "role-clear")


def _option_names(locale: str, prefix: str) -> set[str]:
    english = i18n.catalog(i18n.DEFAULT_LOCALE)
    return {i18n.translation(key, locale) or "" for key in english.keys if key.startswith(prefix)}


def _quota_options(text: str) -> list[str]:
    """The option names each `/quota ...` written in the guide uses (`[成員]` and `成員`)."""
    found = []
    for written in re.findall(r"`(/quota [^`]*)`", text):
        words = written.split()[1:]
        # What follows the subcommand (one word, or two for a group's: `blocklist list`).
        options = words[2:] if " ".join(words[:2]) in SUBCOMMANDS else words[1:]
        found += [word.strip("[]") for word in options]
    for written in re.findall(r"` / `((?:remove|list) [^`]*)`", text):  # `… add 字詞` / `remove …`
        found += [word.strip("[]") for word in written.split()[1:]]
    return found


@pytest.mark.parametrize("locale", GUIDES)
def test_quota_options_are_written_as_members_see_them(locale: str) -> None:
    text = GUIDES[locale].read_text()
    written = _quota_options(text)
    assert {"成員", "頁碼"} <= set(written) or {"成员", "页码"} <= set(written)
    assert set(written) <= _option_names(locale, "quota.option_name."), written


@pytest.mark.parametrize("locale", GUIDES)
def test_sora_options_are_written_as_members_see_them(locale: str) -> None:
    text = GUIDES[locale].read_text()
    table = text.split("## ", 2)[1]  # the /sora section
    written = {
        name
        for cell in re.findall(r"^\| (`[^|]*`) \|", table, re.MULTILINE)
        for name in re.findall(r"`([^`]+)`", cell)
    }
    assert written == _option_names(locale, "sora.option_name."), written
    job = i18n.translation("results.show.option_name.job", locale)
    assert f"`/sora-show {job}`" in text


@pytest.mark.parametrize("locale", GUIDES)
def test_the_guides_use_each_regions_words(locale: str) -> None:
    text = GUIDES[locale].read_text()
    # The orientation as /sora describes it, and the boost as Discord calls it there.
    assert i18n.translation("sora.option.orientation", locale) in text
    assert ("沒有加成的伺服器" if locale == "zh-TW" else "未助力的服务器") in text
    wrong = ("頁數", "縱向）", "重新計算") if locale == "zh-TW" else ("未加成", "表情回应", "帖子")
    assert [word for word in wrong if word in text] == []
