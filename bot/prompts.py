"""What counts as the visible text of a prompt: one rule for the prompt checks and the blocklist.

Invisible format characters (Unicode category Cf: zero-width space and joiners, word joiner,
byte order mark, direction marks) draw nothing, so a prompt made only of them is empty, and they
must not split a blocklisted word invisibly.
"""

from __future__ import annotations

import unicodedata

# Discord carries at most 6,000 characters in a slash command's text option.
DISCORD_TEXT_OPTION_MAX = 6_000


def typed_prompt_limit(model_limit: int) -> int:
    """The longest prompt a member can type in `/sora`: the model's limit or Discord's."""
    return min(model_limit, DISCORD_TEXT_OPTION_MAX)


def without_invisible(text: str) -> str:
    """`text` without its invisible format characters."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def trim(text: str) -> str:
    """`text` without whitespace or invisible characters at either end.

    Inside the text they stay: a zero-width joiner builds emoji sequences and a zero-width
    non-joiner shapes some scripts, so the provider gets the prompt as it was typed."""
    start, end = 0, len(text)
    while start < end and _blank(text[start]):
        start += 1
    while end > start and _blank(text[end - 1]):
        end -= 1
    return text[start:end]


def is_empty(text: str) -> bool:
    """True when nothing visible is left: only whitespace and invisible characters."""
    return not without_invisible(text).strip()


def _blank(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Cf"
