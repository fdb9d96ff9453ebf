"""Slash commands in the member's language: command texts come from the catalogs at sync."""

from __future__ import annotations

import discord
from discord import app_commands

from bot import i18n
from bot.i18n import Text


def words(key: str, count: int | None = None, /, **values: object) -> app_commands.locale_str:
    """A command, option or choice text: English as Discord's default, translated at sync.

    `values` fill the message's placeholders (a value may itself be a `Text`), in every
    language alike."""
    text = Text(key, count, **values)
    return app_commands.locale_str(i18n.render(text, i18n.DEFAULT_LOCALE), key=key, text=text)


def words_of(text: Text | str) -> app_commands.locale_str | str:
    """`words` for a text that may be plain (a model's own label, shown as it is)."""
    if isinstance(text, str):
        return text
    return words(text.key, text.count, **text.values)


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
        text = string.extras.get("text")
        if not isinstance(text, Text):
            text = Text(key)
        if i18n.catalog(language).lookup(key, text.count) is None:
            return None  # not translated yet: Discord shows the English default
        return i18n.render(text, language)
