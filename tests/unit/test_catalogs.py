"""Every catalog speaks of the same messages with the same placeholders."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import pytest
from babel.messages.pofile import read_po

from bot import i18n

LOCALES = i18n.available_locales()


@cache
def _messages(locale: str) -> dict[str, tuple[str, ...]]:
    """key -> its text(s) (several for plural forms), from every file of one language (read
    once; not to be changed)."""
    found: dict[str, tuple[str, ...]] = {}
    folder = resources.files("bot") / "locales" / locale
    for po_file in folder.iterdir():
        if not po_file.name.endswith(".po"):
            continue
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=locale.replace("-", "_"))
        for message in catalog:
            if not message.id:
                continue
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert key not in found, f"{locale}: {key} is defined twice"
            found[key] = tuple(strings)
    return found


def _files(locale: str) -> set[str]:
    folder = resources.files("bot") / "locales" / locale
    return {entry.name for entry in folder.iterdir() if entry.name.endswith(".po")}


def test_the_three_languages_are_there() -> None:
    assert set(LOCALES) >= {"en", "zh-TW", "zh-CN"}
    assert LOCALES[0] == "en"


@pytest.mark.parametrize("locale", LOCALES[1:])
def test_every_language_has_the_same_files_and_keys(locale: str) -> None:
    assert _files(locale) == _files("en")
    assert set(_messages(locale)) == set(_messages("en"))


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_written_with_the_same_placeholders(locale: str) -> None:
    source = _messages("en")
    for key, strings in _messages(locale).items():
        assert all(text.strip() for text in strings), f"{locale}: {key} is empty"
        expected = i18n.placeholders(source[key][0]) | i18n.placeholders(source[key][-1])
        for text in strings:
            assert i18n.placeholders(text) == expected, f"{locale}: {key}: {text!r}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_renders(locale: str) -> None:
    for key, strings in _messages(locale).items():
        values = {name: "x" for name in i18n.placeholders(strings[0])}
        values.pop("count", None)
        plural = len(_messages("en")[key]) > 1
        text = i18n.Text(key, 2, **values) if plural else i18n.Text(key, **values)
        assert i18n.render(text, locale)


#: Discord's rule for a slash command option's name (and its translations): letters (any
#: script), digits, `-` and `_`, 1-32 of them, lowercase.
OPTION_NAME = re.compile(r"^[-_\w]{1,32}$")


@pytest.mark.parametrize("locale", LOCALES)
def test_option_names_follow_discords_rules(locale: str) -> None:
    names = {
        key: strings[0] for key, strings in _messages(locale).items() if ".option_name." in key
    }
    assert names, "no option names"
    for key, name in names.items():
        assert OPTION_NAME.match(name) and name == name.lower(), f"{locale}: {key}: {name!r}"
        if locale == i18n.DEFAULT_LOCALE:  # the English name is the option's own name
            assert name == key.rsplit(".", 1)[1], key
    # Two options of one command never share a name.
    for prefix in {key.rsplit(".", 1)[0] for key in names}:
        group = [name for key, name in names.items() if key.rsplit(".", 1)[0] == prefix]
        assert len(group) == len(set(group)), f"{locale}: {prefix}: {group}"


@pytest.mark.parametrize("locale", LOCALES)
def test_page_hints_name_the_page_option_as_members_see_it(locale: str) -> None:
    page = i18n.translation("quota.option_name.page", locale)
    for key in ("quota.log.older", "quota.blocklist.more"):
        assert f" {page}:{{next}}`" in (i18n.translation(key, locale) or ""), key


def test_discord_locales_pick_their_catalog() -> None:
    assert i18n.match_locale("zh-TW") == "zh-TW"
    assert i18n.match_locale("zh-CN") == "zh-CN"
    assert i18n.match_locale("en-US") == "en"
    assert i18n.match_locale("en-GB") == "en"
    assert i18n.match_locale("fr") == "en"
    assert i18n.match_locale(None) == "en"


def test_plural_forms_follow_each_language() -> None:
    assert i18n.render(i18n.Text("common.videos", 1), "en-US") == "1 video"
    assert i18n.render(i18n.Text("common.videos", 4), "en-US") == "4 videos"
    assert i18n.render(i18n.Text("common.videos", 4), "zh-TW") == "4 部影片"
    assert i18n.render(i18n.Text("common.videos", 1), "zh-CN") == "1 个视频"


def test_a_text_inside_a_text_is_rendered_in_the_same_language() -> None:
    nested = i18n.Text("common.videos", 2)
    assert i18n.render(nested, "zh-TW") == "2 部影片"
    with pytest.raises(i18n.MissingMessage):
        i18n.render(i18n.Text("no.such.key"), "en")


def test_public_messages_follow_the_setting_then_the_community_locale() -> None:
    assert i18n.public_locale("auto", "zh-TW") == "zh-TW"
    assert i18n.public_locale(None, "zh-CN") == "zh-CN"
    assert i18n.public_locale("en", "zh-TW") == "en"
    assert i18n.public_locale("zh-CN", "en-US") == "zh-CN"
    assert i18n.public_locale("auto", None) == "en"
