"""Mentions typed in a prompt, written out as names.

Discord sends a mention as `<@123…>`, `<@&456…>` or `<#789…>`. Neither the video service nor
the readers of the status message can do anything with a bare id, so the prompt keeps the name
instead: `@Alice`, `@Moderators`, `#general`. Nobody is pinged either way: the bot's posts
allow no mentions, and `@everyone` / `@here` stay plain words there (see bot/jobs/wording.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_MENTION = re.compile(r"<(@!?|@&|#)(\d+)>")
# A prompt may hold many mentions; the Discord glue looks up at most this many members.
MAX_MEMBER_LOOKUPS = 10


@dataclass(frozen=True)
class MentionNames:
    users: Mapping[int, str] = field(default_factory=dict)
    roles: Mapping[int, str] = field(default_factory=dict)
    channels: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mentioned:
    """The ids a text mentions, in order of first appearance."""

    users: tuple[int, ...]
    roles: tuple[int, ...]
    channels: tuple[int, ...]


def mentioned(text: str) -> Mentioned:
    found: dict[str, dict[int, None]] = {"user": {}, "role": {}, "channel": {}}
    for match in _MENTION.finditer(text):
        found[_kind(match.group(1))][int(match.group(2))] = None
    return Mentioned(tuple(found["user"]), tuple(found["role"]), tuple(found["channel"]))


def write_mentions_as_names(text: str, names: MentionNames) -> str:
    """`text` with each mention replaced by `@name` or `#name`; one the names do not cover
    becomes `@unknown member`, `@unknown role` or `#unknown channel`."""

    def name_of(match: re.Match[str]) -> str:
        kind, key = _kind(match.group(1)), int(match.group(2))
        if kind == "user":
            return "@" + _plain(names.users.get(key)) if key in names.users else "@unknown member"
        if kind == "role":
            return "@" + _plain(names.roles.get(key)) if key in names.roles else "@unknown role"
        return (
            "#" + _plain(names.channels.get(key)) if key in names.channels else "#unknown channel"
        )

    return _MENTION.sub(name_of, text)


def _kind(sigil: str) -> str:
    return {"@": "user", "@!": "user", "@&": "role", "#": "channel"}[sigil]


def _plain(name: str | None) -> str:
    # A name that itself looks like a mention must not turn into one.
    return _MENTION.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), name or "")
