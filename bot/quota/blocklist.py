"""A guild's list of words and phrases refused in prompts.

Entries are plain text, matched case-insensitively as whole words: `fox` refuses "Fox" and
"a fox." but not "foxglove". A `*` at the start or end of an entry stands for any letters
(`fox*` also refuses "foxglove", `*fox` refuses "firefox"). No user-written regular expression
is ever compiled: entries are escaped, so no entry can make matching slow.

Scripts written without spaces between words (Chinese, Japanese, Korean, Thai) have no word
boundaries to look for, so an entry's edge in such a script matches anywhere: `血腥` refuses
"一個血腥的場景". Traditional and Simplified Chinese fold to one form before matching, so
`裸体` also refuses "裸體".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import opencc

from bot.errors import Refusal
from bot.i18n import Text
from bot.prompts import without_invisible
from bot.storage.blocklist import Entry

MAX_TERM_CHARS = 100
MAX_ENTRIES_PER_GUILD = 500

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w")


class InvalidTerm(Refusal):
    """A friendly reason why an entry cannot be added."""


def normalise_text(text: str) -> str:
    """Fold what should not matter: case, compatibility forms, invisible characters, spacing."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Zero-width and other format characters would otherwise split a word invisibly.
    return _SPACES.sub(" ", without_invisible(folded)).strip()


def normalise_term(raw: str) -> str:
    """The stored form of an entry, or `InvalidTerm` saying what is wrong."""
    term = normalise_text(raw)
    if not term:
        raise InvalidTerm(Text("quota.blocklist.term_empty"))
    if len(term) > MAX_TERM_CHARS:
        raise InvalidTerm(Text("quota.blocklist.term_too_long", most=MAX_TERM_CHARS))
    core = term.removeprefix("*").removesuffix("*")
    if "*" in core:
        raise InvalidTerm(Text("quota.blocklist.term_star"))
    if not _WORD.search(core):
        raise InvalidTerm(Text("quota.blocklist.term_no_letter"))
    return term


# Letters of scripts written without spaces between words: Han (with its extensions and
# compatibility forms), Hiragana, Katakana, Hangul syllables and Thai.
_UNSPACED_CLASS = (
    "[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0003134f]"
)
_UNSPACED = re.compile(_UNSPACED_CLASS)
# A letter that would continue a word of a spaced script (a neighbour that breaks a match).
_SPACED_LETTER = rf"(?:(?!{_UNSPACED_CLASS})\w)"


@cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def fold_for_matching(normalised: str) -> str:
    """One form for Traditional and Simplified Chinese, applied to entries and prompts alike."""
    if not _UNSPACED.search(normalised):
        return normalised
    return str(_to_simplified().convert(normalised))


@dataclass(frozen=True)
class _Matcher:
    literal: str  # must occur in the text for the pattern to match: a fast first test
    pattern: re.Pattern[str]


@lru_cache(maxsize=4096)
def _matcher(term: str) -> _Matcher:
    folded = fold_for_matching(term)
    core = folded.removeprefix("*").removesuffix("*")
    body = r"\s+".join(re.escape(word) for word in core.split(" "))
    prefix = r"\w*" if folded.startswith("*") else ""
    suffix = r"\w*" if folded.endswith("*") else ""
    # Lookarounds instead of \b: they also hold when the entry starts or ends with punctuation.
    # An edge in a script without spaces needs none: any position there may start a word.
    before = "" if prefix or _UNSPACED.match(core[0]) else rf"(?<!{_SPACED_LETTER})"
    after = "" if suffix or _UNSPACED.match(core[-1]) else rf"(?!{_SPACED_LETTER})"
    return _Matcher(core, re.compile(f"{before}{prefix}{body}{suffix}{after}"))


def matches(term: str, text: str) -> bool:
    """Whether the normalised entry `term` occurs in already normalised and folded `text`."""
    matcher = _matcher(term)
    # Normalised text has single spaces, so the entry's words appear literally in any match.
    return matcher.literal in text and matcher.pattern.search(text) is not None


def first_match(entries: Sequence[Entry], prompt: str) -> Entry | None:
    text = fold_for_matching(normalise_text(prompt))
    for entry in entries:
        if matches(entry.term, text):
            return entry
    return None


# -- storage --------------------------------------------------------------------------------
