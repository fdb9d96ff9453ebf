"""The words of a video form (Edit & re-run, Make a video): what it is prefilled with and how
what a member typed is read back.

A Discord form holds only text boxes, so orientation and duration are typed. They are read
leniently (any case; "10", "10s", "10 秒") and checked against the model's profile; anything
else is refused with the allowed values. An orientation may be typed as any word the bot shows
for it in any of its languages: the form's word (直式), `/sora`'s choice (Portrait), and the
words its description uses (直向, vertical), listed in `iterate.orientation_also.*`. A form's text
box holds at most `FORM_TEXT_LIMIT` characters (or the model's limit, if lower), so a longer
prompt cannot be edited in one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import i18n
from bot.errors import Refusal
from bot.i18n import Text
from bot.providers.profiles import ModelProfile

FORM_TEXT_LIMIT = 4000  # Discord's limit for one text box in a form
_DURATION = re.compile(r"^(\d{1,4})\s*(s|sec|secs|second|seconds|秒|秒鐘|秒钟)?$")


@dataclass(frozen=True)
class VideoForm:
    """What a member typed in a video form, not yet checked."""

    prompt: str
    orientation: str
    duration: str


@dataclass(frozen=True)
class FormChoices:
    """A video form's orientation and duration, read and checked."""

    orientation: str
    duration: int


def orientation_word(orientation: str, locale: str | None) -> str:
    """How an orientation is written in the member's language (its value if no word)."""
    word = i18n.translation(f"iterate.orientation.{orientation}", i18n.match_locale(locale))
    return word or orientation


def orientation_choices(profile: ModelProfile) -> i18n.Listing:
    """The orientations a form takes, as the reader's language writes them: "直式或橫式"."""
    words = (i18n.word_for(f"iterate.orientation.{o}", o) for o in profile.orientations)
    return i18n.alternatives(words)


def duration_choices(profile: ModelProfile) -> i18n.Listing:
    return i18n.alternatives(profile.durations)


def orientation_for_picture(profile: ModelProfile, width: int | None, height: int | None) -> str:
    """The orientation a form suggests for a picture: its shape, when Discord tells it."""
    shape = "landscape" if width and height and width > height else "portrait"
    return shape if shape in profile.orientations else profile.orientations[0]


def form_prompt_limit(profile: ModelProfile) -> int:
    """The longest prompt the form's text box takes: Discord's limit, or the model's if lower."""
    return min(FORM_TEXT_LIMIT, profile.prompt_limit)


def prompt_fits_form(profile: ModelProfile, prompt: str) -> bool:
    return len(prompt) <= form_prompt_limit(profile)


def read_choices(profile: ModelProfile, form: VideoForm) -> FormChoices:
    """The orientation and duration a form asks for, or `Refusal` naming the allowed ones."""
    return FormChoices(
        orientation=_read_orientation(profile, form.orientation),
        duration=_read_duration(profile, form.duration),
    )


def orientation_words(orientation: str) -> frozenset[str]:
    """Every word (casefolded) that a form reads as `orientation`, in all the bot's languages."""
    words = {orientation.casefold()}
    for language in i18n.available_locales():
        for key in (f"iterate.orientation.{orientation}", f"sora.choice.{orientation}"):
            words.add((i18n.translation(key, language) or orientation).casefold())
        also = i18n.translation(f"iterate.orientation_also.{orientation}", language) or ""
        words.update(word.casefold() for word in also.split())
    return frozenset(words)


def _read_orientation(profile: ModelProfile, typed: str) -> str:
    wanted = " ".join(typed.split()).casefold()
    for orientation in profile.orientations:
        if wanted in orientation_words(orientation):
            return orientation
    raise Refusal(
        Text(
            "iterate.form.bad_orientation",
            typed=_quoted(typed),
            choices=orientation_choices(profile),
        )
    )


def _read_duration(profile: ModelProfile, typed: str) -> int:
    found = _DURATION.match(typed.strip().casefold())
    if found is not None and int(found.group(1)) in profile.durations:
        return int(found.group(1))
    raise Refusal(
        Text(
            "iterate.form.bad_duration",
            typed=_quoted(typed),
            model=profile.label,
            choices=duration_choices(profile),
        )
    )


def _quoted(typed: str) -> str:
    # Echo at most a short, single-line piece of what was typed, with nothing that formats.
    text = " ".join(typed.split())[:40]
    return re.sub(r"[`*_~|<>@\\]", "", text)
