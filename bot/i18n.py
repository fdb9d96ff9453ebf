"""Every word a member or moderator sees, in their language.

The words live in gettext catalogs under `bot/locales/<locale>/<area>.po`, one folder per
language and one file per area of the bot. Keys are symbolic (`status.queued`): the English
catalog is the source text, and every other catalog translates the same keys. Adding a language
is adding a folder named with Discord's locale code (`ja`, `pt-BR`, ...) holding the same files.

Code never builds member-facing sentences itself: decisions return a `Text` (a key and its
values), and the Discord glue renders it in the right language for the place it is shown
(`render(text, locale)`). Placeholders use `str.format` syntax (`{name}`); a value that is
itself a `Text` is rendered in the same language.
"""

from __future__ import annotations

import gettext
import io
import logging
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


def render(text: Text | str, locale: str | None) -> str:
    """`text` in the given language, falling back to English for a key not yet translated."""
    if isinstance(text, str):
        return text
    language = match_locale(locale)
    pattern = catalog(language).lookup(text.key, text.count)
    if pattern is None:
        if language != DEFAULT_LOCALE:
            log.warning("message %s has no %s translation; using English", text.key, language)
        pattern = catalog(DEFAULT_LOCALE).lookup(text.key, text.count)
    if pattern is None:
        raise MissingMessage(text.key)
    values: dict[str, object] = {
        name: render(value, language) if isinstance(value, Text) else value
        for name, value in text.values.items()
    }
    if text.count is not None:
        values.setdefault("count", text.count)
    return pattern.format_map(values)


def translation(key: str, locale: str) -> str | None:
    """A key's own text in one catalog, with no fallback (None when it is not translated)."""
    return catalog(locale).lookup(key, None)


def placeholders(pattern: str) -> frozenset[str]:
    """The `{names}` a message uses (for checking that every translation uses the same)."""
    return frozenset(
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(pattern)
        if name
    )


def join(parts: Iterable[Text | str], locale: str | None, separator: str = "\n") -> str:
    """Several texts rendered in one language, one after the other."""
    return separator.join(render(part, locale) for part in parts)


def public_locale(setting: str | None, community_locale: str | None) -> str:
    """The language of a server's public messages: its setting, or Discord's community locale."""
    if setting and setting != AUTO:
        return match_locale(setting)
    return match_locale(community_locale)


def encode_text(text: Text) -> dict[str, Any]:
    """A message as JSON-ready data (nested messages included), to store and say again later
    in any language (`decode_text`)."""
    values = {
        name: encode_text(value) if isinstance(value, Text) else value
        for name, value in text.values.items()
    }
    encoded: dict[str, Any] = {"key": text.key, "values": values}
    if text.count is not None:
        encoded["count"] = text.count
    return encoded


def decode_text(data: dict[str, Any]) -> Text:
    values = {
        name: decode_text(value) if isinstance(value, dict) and "key" in value else value
        for name, value in data.get("values", {}).items()
    }
    return Text(data["key"], data.get("count"), **values)
