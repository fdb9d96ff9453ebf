"""Pages from Jinja2 templates (bot/web/templates), in the member's language.

Autoescaping is on for every template: a prompt, a name or a reason is text, never markup.
Templates hold no words of their own: `t("web.key", name=value)` renders a catalog message
(bot/locales/<locale>/web.po) in the page's language, as `i18n.render` does for Discord.
Discord's own markup in those messages (`<@id>`, `<@&id>`, `<t:…:f>`, `||…||`, `**…**`) is
turned into plain words by `plain_text` before escaping.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_datetime
from babel.numbers import format_decimal

from bot import i18n
from bot.i18n import Text

LANGUAGES = {"en": "English", "zh-TW": "繁體中文", "zh-CN": "简体中文"}

_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")
_TIME = re.compile(r"<t:(-?\d+)(?::[tTdDfFR])?>")
_SPOILER = re.compile(r"\|\|(.+?)\|\|")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True)
class Names:
    """Names to show for the ids a message mentions (ids not known show as numbers)."""

    users: Mapping[int, str] = field(default_factory=dict)
    roles: Mapping[int, str] = field(default_factory=dict)
    channels: Mapping[int, str] = field(default_factory=dict)


def mentioned_ids(text: str) -> set[int]:
    return {int(found) for found in _USER.findall(text)}


def babel_locale(locale: str) -> str:
    return i18n.match_locale(locale).replace("-", "_")


def when(timestamp: float, locale: str, zone: ZoneInfo) -> str:
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return format_datetime(moment, "medium", tzinfo=zone, locale=babel_locale(locale))


def plain_text(text: str, locale: str, zone: ZoneInfo, names: Names = Names()) -> str:
    """A message written for Discord, for a web page (still to be escaped)."""

    def user(match: re.Match[str]) -> str:
        return "@" + names.users.get(int(match[1]), match[1])

    def role(match: re.Match[str]) -> str:
        return "@" + names.roles.get(int(match[1]), match[1])

    def channel(match: re.Match[str]) -> str:
        return "#" + names.channels.get(int(match[1]), match[1])

    text = _USER.sub(user, text)
    text = _ROLE.sub(role, text)
    text = _CHANNEL.sub(channel, text)
    text = _TIME.sub(lambda m: when(float(m[1]), locale, zone), text)
    text = _SPOILER.sub(r"\1", text)
    return _BOLD.sub(r"\1", text)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Templates:
    def __init__(self, zone: ZoneInfo) -> None:
        self.env = _environment()
        self.zone = zone

    def render(self, name: str, locale: str, context: Mapping[str, object]) -> str:
        language = i18n.match_locale(locale)
        helpers: dict[str, Callable[..., object]] = {
            "t": lambda key, **values: i18n.render(Text(key, **values), language),
            "tn": lambda key, count, **values: i18n.render(Text(key, count, **values), language),
            "say": lambda text: i18n.render(text, language),
            "when": lambda timestamp: when(timestamp, language, self.zone),
            "iso": lambda timestamp: dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(),
            "number": lambda value: format_decimal(value, locale=babel_locale(language)),
        }
        return self.env.get_template(name).render(
            {**helpers, "locale": language, "languages": LANGUAGES, **context}
        )
