"""Slash commands in the member's language: command texts come from the catalogs at sync."""

from __future__ import annotations

import discord
from discord import app_commands

from bot import i18n


def words(key: str) -> app_commands.locale_str:
    """A command, option or choice text: English as Discord's default, translated at sync."""
    return app_commands.locale_str(i18n.render(i18n.Text(key), i18n.DEFAULT_LOCALE), key=key)


class CatalogTranslator(app_commands.Translator):
    """Fills `name_localizations` / `description_localizations` from the catalogs."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        if not isinstance(key, str):
            return None
        language = i18n.match_locale(locale.value)
        # Only a catalog made for exactly this locale: Discord shows the default otherwise.
        if language == i18n.DEFAULT_LOCALE or language.lower() != locale.value.lower():
            return None
        return i18n.translation(key, language)
