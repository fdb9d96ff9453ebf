"""Video forms (Discord modals) for Edit & re-run and Make a video.

A form's custom_id carries what it is about (`sora:remix-form:<job>`), and its submission is
handled from the raw interaction by the cog that owns the prefix, never from an object kept in
memory: a form opened before a restart still works when it is sent after it.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot import i18n
from bot.i18n import Text
from bot.jobs.video_form import (
    VideoForm,
    duration_choices,
    form_prompt_limit,
    orientation_choices,
    orientation_word,
)
from bot.providers.profiles import ModelProfile

PROMPT, ORIENTATION, DURATION = "prompt", "orientation", "duration"
TITLE_CHARS = 45  # Discord's limit for a form's title


async def open_video_form(
    interaction: discord.Interaction,
    *,
    custom_id: str,
    title: Text,
    profile: ModelProfile,
    prompt: str,
    orientation: str,
    duration: int,
) -> None:
    """Answer the interaction with a form: prompt, orientation and duration, prefilled."""
    locale = interaction.locale.value

    def words(text: Text | i18n.Listing) -> str:
        return i18n.render(text, locale)

    modal = discord.ui.Modal(title=words(title)[:TITLE_CHARS], custom_id=custom_id)
    modal.add_item(
        discord.ui.TextInput(
            label=words(Text("iterate.form.prompt")),
            custom_id=PROMPT,
            style=discord.TextStyle.paragraph,
            default=prompt or None,
            placeholder=words(Text("iterate.form.prompt_hint")),
            min_length=1,
            max_length=form_prompt_limit(profile),
        )
    )
    modal.add_item(
        discord.ui.TextInput(
            label=words(Text("iterate.form.orientation")),
            custom_id=ORIENTATION,
            default=orientation_word(orientation, locale),
            placeholder=words(orientation_choices(profile)),
            max_length=40,
        )
    )
    modal.add_item(
        discord.ui.TextInput(
            label=words(Text("iterate.form.duration")),
            custom_id=DURATION,
            default=str(duration),
            placeholder=words(duration_choices(profile)),
            max_length=20,
        )
    )
    await interaction.response.send_modal(modal)
    # The submission is routed by custom_id (see `submitted_form`), also after a restart.
    modal.stop()


def submitted_form(
    interaction: discord.Interaction, pattern: re.Pattern[str]
) -> re.Match[str] | None:
    """The match of a form submission's custom_id against `pattern`, if it is one."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    custom_id = _data(interaction).get("custom_id")
    return pattern.fullmatch(custom_id) if isinstance(custom_id, str) else None


def form_values(interaction: discord.Interaction) -> VideoForm:
    """What the member typed, from the submission's components (rows or labels)."""
    values: dict[str, str] = {}
    _collect(_data(interaction).get("components") or [], values)
    return VideoForm(
        prompt=values.get(PROMPT, ""),
        orientation=values.get(ORIENTATION, ""),
        duration=values.get(DURATION, ""),
    )


def _data(interaction: discord.Interaction) -> dict[str, Any]:
    return dict(interaction.data or {})


def _collect(components: Any, values: dict[str, str]) -> None:
    for component in components:
        if not isinstance(component, dict):
            continue
        if "components" in component:  # an action row
            _collect(component["components"], values)
        elif "component" in component:  # a label
            _collect([component["component"]], values)
        elif isinstance(component.get("custom_id"), str):
            values[component["custom_id"]] = str(component.get("value") or "")
