"""REST routes of the simulated Discord API, grouped by area."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import commands, core, interactions, messages, oauth

if TYPE_CHECKING:
    from ..rest import ApiRouter
    from ..server import FakeDiscord


def register_all(api: ApiRouter, sim: FakeDiscord) -> None:
    for module in (core, commands, messages, interactions, oauth):
        module.register(api, sim)
    api.add_fallback()
