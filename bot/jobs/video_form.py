"""The words of a video form (Edit & re-run, Make a video): what it is prefilled with and how
what a member typed is read back.

A Discord form holds only text boxes, so orientation and duration are typed. They are read
leniently (any case; the word in any of the bot's languages; "10", "10s", "10 秒") and checked
against the model's profile; anything else is refused with the allowed values. A form's text
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


def orientation_choices(profile: ModelProfile, locale: str | None) -> str:
    return " / ".join(orientation_word(o, locale) for o in profile.orientations)


def duration_choices(profile: ModelProfile) -> str:
    return " / ".join(str(d) for d in profile.durations)


def orientation_for_picture(profile: ModelProfile, width: int | None, height: int | None) -> str:
    """The orientation a form suggests for a picture: its shape, when Discord tells it."""
    shape = "landscape" if width and height and width > height else "portrait"
    return shape if shape in profile.orientations else profile.orientations[0]


def form_prompt_limit(profile: ModelProfile) -> int:
    """The longest prompt the form's text box takes: Discord's limit, or the model's if lower."""
    return min(FORM_TEXT_LIMIT, profile.prompt_limit)


def prompt_fits_form(profile: ModelProfile, prompt: str) -> bool:
    return len(prompt) <= form_prompt_limit(profile)


def read_choices(profile: ModelProfile, form: VideoForm, locale: str | None) -> FormChoices:
    """The orientation and duration a form asks for, or `Refusal` naming the allowed ones."""
    return FormChoices(
        orientation=_read_orientation(profile, form.orientation, locale),
        duration=_read_duration(profile, form.duration),
    )


def _read_orientation(profile: ModelProfile, typed: str, locale: str | None) -> str:
    wanted = typed.strip().casefold()
    for orientation in profile.orientations:
        words = {orientation.casefold()}
        words |= {orientation_word(orientation, language).casefold() for language in _languages()}
        if wanted in words:
            return orientation
    raise Refusal(
        Text(
            "iterate.form.bad_orientation",
            typed=_quoted(typed),
            choices=orientation_choices(profile, locale),
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


def _languages() -> tuple[str, ...]:
    return i18n.available_locales()


def _quoted(typed: str) -> str:
    # Echo at most a short, single-line piece of what was typed, with nothing that formats.
    text = " ".join(typed.split())[:40]
    return re.sub(r"[`*_~|<>@\\]", "", text)
