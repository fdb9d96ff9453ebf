"""Every word a member or moderator sees, in their language.

The words live in gettext catalogs under `bot/locales/<locale>/<area>.po`, one folder per
language and one file per area of the bot. Keys are symbolic (`status.queued`): the English
catalog is the source text, and every other catalog translates the same keys. Adding a language
is adding a folder named with Discord's locale code (`ja`, `pt-BR`, ...) holding the same files.

Code never builds member-facing sentences itself: decisions return a `Text` (a key and its
values), and the Discord glue renders it in the right language for the place it is shown
(`render(text, locale)`). Placeholders use `str.format` syntax (`{name}`); a value that is
itself a `Text` is rendered in the same language, and so is a `Listing` (several values joined
the way the reader's language lists them: "a, b or c", "a、b 或 c").
"""

from __future__ import annotations

import gettext
import io
import logging
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "en"
#: What a server's language setting may be: follow Discord's community locale, or a fixed one.
AUTO = "auto"


@dataclass(frozen=True)
class Text:
    """A message not yet put into words: a catalog key and the values it needs.

    `count` picks the plural form where the language has one (English: "1 video", "2 videos");
    it is also available to the message as `{count}`.
    """

    key: str
    values: Mapping[str, object] = field(default_factory=dict)
    count: int | None = None

    def __init__(self, key: str, count: int | None = None, /, **values: object) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "values", dict(values))
        object.__setattr__(self, "count", count)


@dataclass(frozen=True)
class Listing:
    """Several values said as one list, in the reader's language: joined with its list
    separator (`common.list_separator`: ", " in English, "、" in Chinese), and with the last
    one joined by its word for "or" (`common.list_or`) when `alternatives` is set."""

    items: tuple[Text | str, ...]
    alternatives: bool = False


def listing(items: Iterable[Text | str | int]) -> Listing:
    """Values listed one after the other: "Portrait, Landscape" / "直式、橫式"."""
    return Listing(tuple(item if isinstance(item, Text) else str(item) for item in items))


def alternatives(items: Iterable[Text | str | int]) -> Listing:
    """Values of which one is meant: "10 or 15" / "10 或 15", "JPEG, PNG or WebP"."""
    return Listing(listing(items).items, alternatives=True)


#: A Latin letter or digit, and a CJK character: written with a space between them where a
#: list's own words meet ("PNG 或 WebP"), and without one between two CJK words ("直式或橫式").
_LATIN = re.compile(r"[A-Za-z0-9]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class MissingMessage(LookupError):
    """A key that is not in the default catalog: a bug, found by the catalog tests."""


@dataclass(frozen=True)
class Catalog:
    locale: str
    translations: gettext.GNUTranslations
    keys: frozenset[str]
    plural_keys: frozenset[str]

    def lookup(self, key: str, count: int | None) -> str | None:
        if count is not None and key in self.plural_keys:
            return self.translations.ngettext(key, key, count)
        if key in self.keys:
            return self.translations.gettext(key)
        return None


def _locales_root() -> Traversable:
    return resources.files("bot") / "locales"


@cache
def available_locales() -> tuple[str, ...]:
    """Every language with a catalog folder, the default first (read once: every rendering
    asks)."""
    found = sorted(entry.name for entry in _locales_root().iterdir() if entry.is_dir())
    return (DEFAULT_LOCALE, *(name for name in found if name != DEFAULT_LOCALE))


@cache
def catalog(locale: str) -> Catalog:
    """All of one language's catalog files merged into one lookup (read once per process)."""
    folder = _locales_root() / locale
    keys: set[str] = set()
    plural_keys: set[str] = set()
    translations: gettext.GNUTranslations | None = None
    for po_file in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not po_file.name.endswith(".po"):
            continue
        with po_file.open("rb") as handle:
            parsed = read_po(handle, locale=_babel_locale(locale), domain=po_file.name[:-3])
        for message in parsed:
            if not message.id:
                continue
            if isinstance(message.id, str):
                keys.add(message.id)
            else:
                plural_keys.add(message.id[0])
        compiled = io.BytesIO()
        write_mo(compiled, parsed)
        compiled.seek(0)
        part = gettext.GNUTranslations(compiled)
        if translations is None:
            translations = part
        else:
            translations.add_fallback(part)
    if translations is None:
        raise MissingMessage(f"no catalog files for locale {locale!r}")
    return Catalog(locale, translations, frozenset(keys), frozenset(plural_keys))


def _babel_locale(locale: str) -> str:
    return locale.replace("-", "_")


@lru_cache(maxsize=256)
def match_locale(tag: str | None) -> str:
    """The catalog for a Discord locale code (`zh-TW`, `en-US`, ...): exact, then by language."""
    if not tag:
        return DEFAULT_LOCALE
    known = {name.lower(): name for name in available_locales()}
    exact = known.get(tag.lower())
    if exact:
        return exact
    return known.get(tag.split("-")[0].lower(), DEFAULT_LOCALE)


def render(text: Text | Listing | str, locale: str | None) -> str:
    """`text` in the given language, falling back to English for a key not yet translated."""
    if isinstance(text, str):
        return text
    if isinstance(text, Listing):
        return _render_listing(text, match_locale(locale))
    language = match_locale(locale)
    pattern = catalog(language).lookup(text.key, text.count)
    if pattern is None:
        if language != DEFAULT_LOCALE:
            log.warning("message %s has no %s translation; using English", text.key, language)
        pattern = catalog(DEFAULT_LOCALE).lookup(text.key, text.count)
    if pattern is None:
        raise MissingMessage(text.key)
    values: dict[str, object] = {
        name: render(value, language) if isinstance(value, Text | Listing) else value
        for name, value in text.values.items()
    }
    if text.count is not None:
        values.setdefault("count", text.count)
    return pattern.format_map(values)


def _render_listing(listed: Listing, language: str) -> str:
    parts = [render(item, language) for item in listed.items]
    separator = render(Text("common.list_separator"), language)
    if not listed.alternatives or len(parts) < 2:
        return separator.join(parts)
    head = separator.join(parts[:-1])
    word = render(Text("common.list_or"), language)
    return head + _spaced(head[-1:], word, parts[-1][:1]) + parts[-1]


def _spaced(before: str, word: str, after: str) -> str:
    """`word` between two list items, set off by a space where CJK meets a Latin letter or
    digit (a Chinese "或" after "PNG"); English words carry their own spaces."""
    if _CJK.match(word[:1]) and _LATIN.match(before):
        word = " " + word
    if _CJK.match(word[-1:]) and _LATIN.match(after):
        word = word + " "
    return word


def translation(key: str, locale: str) -> str | None:
    """A key's own text in one catalog, with no fallback (None when it is not translated)."""
    return catalog(locale).lookup(key, None)


def word_for(key: str, value: str) -> Text | str:
    """How a value is said to a reader: the catalogs' word for it (`key`), or the value itself
    where they have none (a model's own option, such as a quality named "1080p")."""
    return Text(key) if translation(key, DEFAULT_LOCALE) is not None else value


def placeholders(pattern: str) -> frozenset[str]:
    """The `{names}` a message uses (for checking that every translation uses the same)."""
    return frozenset(
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(pattern)
        if name
    )


def join(parts: Iterable[Text | str], locale: str | None, separator: str = "\n") -> str:
    """Several texts rendered in one language, one after the other (lines, by default; a
    list inside a sentence is a `listing`, whose separator is the language's own)."""
    return separator.join(render(part, locale) for part in parts)


def public_locale(setting: str | None, community_locale: str | None) -> str:
    """The language of a server's public messages: its setting, or Discord's community locale."""
    if setting and setting != AUTO:
        return match_locale(setting)
    return match_locale(community_locale)


def encode_text(text: Text) -> dict[str, Any]:
    """A message as JSON-ready data (nested messages included), to store and say again later
    in any language (`decode_text`)."""
    values = {name: _encode_value(value) for name, value in text.values.items()}
    encoded: dict[str, Any] = {"key": text.key, "values": values}
    if text.count is not None:
        encoded["count"] = text.count
    return encoded


def decode_text(data: dict[str, Any]) -> Text:
    values = {name: _decode_value(value) for name, value in data.get("values", {}).items()}
    return Text(data["key"], data.get("count"), **values)


def _encode_value(value: object) -> object:
    if isinstance(value, Text):
        return encode_text(value)
    if isinstance(value, Listing):
        items = [encode_text(item) if isinstance(item, Text) else item for item in value.items]
        return {"list": items, "alternatives": value.alternatives}
    return value


def _decode_value(value: object) -> object:
    if isinstance(value, dict) and "key" in value:
        return decode_text(value)
    if isinstance(value, dict) and "list" in value:
        items = (
            decode_text(item) if isinstance(item, dict) else str(item) for item in value["list"]
        )
        return Listing(tuple(items), alternatives=bool(value.get("alternatives")))
    return value
