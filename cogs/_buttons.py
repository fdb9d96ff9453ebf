"""Persistent buttons on result posts and on waiting jobs' status messages. The custom_id
carries the job id, so a click after a restart is routed without any stored view (discord.py
`DynamicItem`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot import i18n
from bot.errors import Refusal
from bot.i18n import Text
from bot.moderation.people import AUTOMATED_REFUSAL, is_automated
from cogs._replies import refusals_answered

RERUN_EMOJI = "🔁"
RESULTS_COG = "Results"
QUEUE_COG = "Queue"


def _button(
    label: str,
    custom_id: str,
    locale: str | None,
    *,
    emoji: str | None = None,
    style: discord.ButtonStyle = discord.ButtonStyle.secondary,
) -> discord.ui.Button[Any]:
    """A button whose label is the catalog's `label` in `locale`."""
    return discord.ui.Button(
        label=i18n.render(Text(label), locale), emoji=emoji, style=style, custom_id=custom_id
    )


class RerunButton(discord.ui.DynamicItem[discord.ui.Button], template=r"sora:rerun:(?P<job>\d+)"):
    def __init__(self, job_id: int, locale: str | None = None) -> None:
        super().__init__(
            _button("results.button.rerun", f"sora:rerun:{job_id}", locale, emoji=RERUN_EMOJI)
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RerunButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _results_cog(interaction)
        await _for_people(interaction, lambda: cog.rerun_from_button(interaction, self.job_id))


class RemixButton(discord.ui.DynamicItem[discord.ui.Button], template=r"sora:remix:(?P<job>\d+)"):
    """Edit & re-run: opens a form with the video's prompt and settings to change."""

    def __init__(self, job_id: int, locale: str | None = None) -> None:
        super().__init__(_button("iterate.button.remix", f"sora:remix:{job_id}", locale, emoji="✏️"))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RemixButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _results_cog(interaction)
        await _for_people(interaction, lambda: cog.remix_from_button(interaction, self.job_id))


class DeleteButton(discord.ui.DynamicItem[discord.ui.Button], template=r"sora:delete:(?P<job>\d+)"):
    def __init__(self, job_id: int, locale: str | None = None) -> None:
        super().__init__(
            _button(
                "results.button.delete",
                f"sora:delete:{job_id}",
                locale,
                emoji="🗑️",
                style=discord.ButtonStyle.danger,
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> DeleteButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _results_cog(interaction)
        await _for_people(interaction, lambda: cog.delete_from_button(interaction, self.job_id))


class ConfirmDeleteButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"sora:delete-yes:(?P<job>\d+):(?P<post>\d+)",
):
    """On the private question: remove the video. `post` is the post whose Delete was pressed;
    it decides nothing (a client may forge it): the job's recorded posts are what is removed."""

    def __init__(self, job_id: int, post_id: int, locale: str | None = None) -> None:
        super().__init__(
            _button(
                "results.button.delete_it",
                f"sora:delete-yes:{job_id}:{post_id}",
                locale,
                style=discord.ButtonStyle.danger,
            )
        )
        self.job_id, self.post_id = job_id, post_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ConfirmDeleteButton:
        return cls(int(match["job"]), int(match["post"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _results_cog(interaction)
        await _for_people(interaction, lambda: cog.delete_confirmed(interaction, self.job_id))


class KeepVideoButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"sora:delete-no:(?P<job>\d+)"
):
    def __init__(self, job_id: int, locale: str | None = None) -> None:
        super().__init__(_button("results.button.keep_it", f"sora:delete-no:{job_id}", locale))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> KeepVideoButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(
            content=i18n.render(
                Text("results.delete.kept", job=self.job_id), interaction.locale.value
            ),
            view=None,
        )


class CancelButton(discord.ui.DynamicItem[discord.ui.Button], template=r"sora:cancel:(?P<job>\d+)"):
    """On a waiting job's status message: take it out of the queue (its hold given back)."""

    def __init__(self, job_id: int, locale: str | None = None) -> None:
        super().__init__(_button("queue.button.cancel", f"sora:cancel:{job_id}", locale, emoji="✖️"))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CancelButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _cog(interaction, QUEUE_COG)
        await _for_people(interaction, lambda: cog.cancel_from_button(interaction, self.job_id))


def cancel_view(job_id: int, locale: str | None) -> discord.ui.View:
    """A waiting job's Cancel button, in the language of the server's public messages."""
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id, locale))
    return view


def delete_question_view(job_id: int, post_id: int, locale: str | None) -> discord.ui.View:
    """The private question's buttons, in the language of the member who asked."""
    view = discord.ui.View(timeout=None)
    view.add_item(ConfirmDeleteButton(job_id, post_id, locale))
    view.add_item(KeepVideoButton(job_id, locale))
    return view


def result_view(
    job_id: int, locale: str | None = None, *, full_quality_url: str | None = None
) -> discord.ui.View:
    """The buttons under a result; `locale` is the language of the server's public posts.
    With `full_quality_url` (a compressed video), a link button opens the original."""
    view = discord.ui.View(timeout=None)
    view.add_item(RerunButton(job_id, locale))
    view.add_item(RemixButton(job_id, locale))
    view.add_item(DeleteButton(job_id, locale))
    if full_quality_url is not None and _usable_link(full_quality_url):
        view.add_item(
            discord.ui.Button(
                label=i18n.render(Text("fit.button.full_quality"), locale),
                style=discord.ButtonStyle.link,
                url=full_quality_url,
            )
        )
    return view


def rerun_view(job_id: int, locale: str | None) -> discord.ui.View:
    """Only the plain Re-run button (offered privately when a video cannot be edited in a
    form), in the member's language."""
    view = discord.ui.View(timeout=None)
    view.add_item(RerunButton(job_id, locale))
    return view


async def _for_people(
    interaction: discord.Interaction, action: Callable[[], Awaitable[None]]
) -> None:
    """Run a button's action for a person; a `Refusal` (or a bot account or webhook pressing
    it) is answered privately."""

    async def checked() -> None:
        if is_automated(interaction.user):
            raise Refusal(AUTOMATED_REFUSAL)
        await action()

    await refusals_answered(interaction, checked())


def _results_cog(interaction: discord.Interaction) -> Any:
    return _cog(interaction, RESULTS_COG)


def _cog(interaction: discord.Interaction, name: str) -> Any:
    cog = interaction.client.get_cog(name)  # type: ignore[attr-defined]
    assert cog is not None, f"the {name} extension is not loaded"
    return cog


# Discord refuses a link button whose address is not http(s) or longer than this.
LINK_BUTTON_URL_CHARS = 512


def _usable_link(url: str) -> bool:
    return url.startswith(("https://", "http://")) and len(url) <= LINK_BUTTON_URL_CHARS
