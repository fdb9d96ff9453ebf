"""Application commands as synced by the bot: validation like Discord, stable ids, lookups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import errors
from .payloads import JSON
from .snowflake import SnowflakeFactory

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3
_NAME = re.compile(r"^[-_\w]{1,32}$")
# The locales Discord accepts as keys of `name_localizations` / `description_localizations`.
DISCORD_LOCALES = frozenset(
    [
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    ]
)


@dataclass
class SyncedCommand:
    """One top-level command as Discord stored it (``payload`` is what the sync echoed)."""

    payload: JSON
    guild_id: int | None

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def name(self) -> str:
        return str(self.payload["name"])

    @property
    def default_member_permissions(self) -> int | None:
        value = self.payload.get("default_member_permissions")
        return None if value is None else int(value)

    def node(self, path: list[str]) -> JSON:
        """The command itself (empty path) or a nested subcommand group / subcommand."""
        node = self.payload
        for name in path:
            child = next(
                (
                    o
                    for o in node.get("options") or []
                    if o["name"] == name and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
                ),
                None,
            )
            if child is None:
                raise KeyError(f"/{self.name} has no subcommand {' '.join(path)!r}")
            node = child
        return node

    def options(self, path: list[str] | None = None) -> dict[str, JSON]:
        """Options of the command (or subcommand) by name, in declaration order."""
        return {o["name"]: o for o in self.node(path or []).get("options") or []}

    def choices(self, option: str, path: list[str] | None = None) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs a user can pick for an option."""
        return [(c["name"], c["value"]) for c in self.options(path)[option].get("choices") or []]


class CommandRegistry:
    def __init__(self, application_id: int) -> None:
        self.application_id = application_id
        self._ids = SnowflakeFactory(worker=4)
        self.scopes: dict[int | None, list[SyncedCommand]] = {}
        self.sync_count = 0
        # Discord keeps a command's id when it is re-synced under the same name and type.
        self._known_ids: dict[tuple[int | None, str, int], int] = {}

    def replace(self, guild_id: int | None, commands: Any) -> list[JSON]:
        """``PUT .../commands``: validate, then replace the whole scope and echo with ids."""
        if not isinstance(commands, list):
            raise errors.invalid_form_body("_", "LIST_TYPE_CONVERT", "Must be a list.")
        names: set[tuple[str, int]] = set()
        for index, command in enumerate(commands):
            _validate_command(command, str(index))
            key = (command["name"], command.get("type", CHAT_INPUT))
            if key in names:
                raise errors.invalid_form_body(
                    str(index), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Duplicate command name"
                )
            names.add(key)
        echoed = [self._echo(guild_id, c) for c in commands]
        self.scopes[guild_id] = [SyncedCommand(c, guild_id) for c in echoed]
        self.sync_count += 1
        return echoed

    def _echo(self, guild_id: int | None, command: JSON) -> JSON:
        kind = command.get("type", CHAT_INPUT)
        key = (guild_id, command["name"], kind)
        command_id = self._known_ids.setdefault(key, self._ids.next())
        data: JSON = {
            "id": str(command_id),
            "application_id": str(self.application_id),
            "version": str(self._ids.next()),
            "type": kind,
            "name": command["name"],
            "name_localizations": command.get("name_localizations"),
            "description": command.get("description", ""),
            "description_localizations": command.get("description_localizations"),
            "options": command.get("options") or [],
            "default_member_permissions": command.get("default_member_permissions"),
            "dm_permission": command.get("dm_permission", True),
            "contexts": command.get("contexts"),
            "integration_types": command.get("integration_types", [0]),
            "nsfw": command.get("nsfw", False),
        }
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        return data

    def listed(self, guild_id: int | None) -> list[JSON]:
        return [c.payload for c in self.scopes.get(guild_id, [])]

    def find(self, name: str, guild_id: int | None, kind: int = CHAT_INPUT) -> SyncedCommand | None:
        """Like the Discord client: a guild command shadows a global one of the same name
        and type (slash command, or a user or message context-menu command)."""
        for scope in (guild_id, None):
            for command in self.scopes.get(scope, []):
                if command.name == name and command.payload["type"] == kind:
                    return command
        return None

    def all(self) -> list[SyncedCommand]:
        return [c for commands in self.scopes.values() for c in commands]


def _validate_command(command: Any, path: str) -> None:
    if not isinstance(command, dict) or "name" not in command:
        raise errors.invalid_form_body(
            f"{path}.name", "BASE_TYPE_REQUIRED", "This field is required"
        )
    kind = command.get("type", CHAT_INPUT)
    name = command["name"]
    if kind == CHAT_INPUT:
        if not _NAME.match(name) or name != name.lower():
            raise errors.invalid_form_body(
                f"{path}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
            )
        description = command.get("description", "")
        if not 1 <= len(description) <= 100:
            raise errors.invalid_form_body(
                f"{path}.description",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        _validate_localizations(command, path, names_like_slash=True)
        _validate_options(command.get("options") or [], f"{path}.options", depth=0)
    elif kind in (USER_COMMAND, MESSAGE_COMMAND):
        # Context-menu names may hold capitals and spaces; they take no description or options.
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            raise errors.invalid_form_body(
                f"{path}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
            )
        if command.get("description") or command.get("options"):
            raise errors.invalid_form_body(
                f"{path}.description",
                "APPLICATION_COMMAND_CONTEXT_MENU_INVALID",
                "Context menu commands cannot have a description or options",
            )
    else:
        raise errors.invalid_form_body(
            f"{path}.type", "BASE_TYPE_CHOICES", f"Value must be one of (1, 2, 3), not {kind}."
        )


def _validate_localizations(item: JSON, path: str, *, names_like_slash: bool) -> None:
    """Translated names follow the same rules as the name they translate (a slash command's
    or option's: lowercase, no spaces, 1-32; a choice's: 1-100 of anything), translated
    descriptions 1-100 characters, keyed by a locale Discord knows."""
    for field_name, limit in (
        ("name_localizations", 32 if names_like_slash else 100),
        ("description_localizations", 100),
    ):
        for locale, text in (item.get(field_name) or {}).items():
            where = f"{path}.{field_name}.{locale}"
            if locale not in DISCORD_LOCALES:
                raise errors.invalid_form_body(where, "LOCALE_INVALID", "Invalid locale")
            slash_name = field_name == "name_localizations" and names_like_slash
            if slash_name and (not _NAME.match(text) or text != text.lower()):
                raise errors.invalid_form_body(
                    where, "APPLICATION_COMMAND_INVALID_NAME", "Name is invalid"
                )
            if not isinstance(text, str) or not 1 <= len(text) <= limit:
                raise errors.invalid_form_body(
                    where, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {limit} in length."
                )


def _validate_options(options: list[JSON], path: str, *, depth: int) -> None:
    if len(options) > 25:
        raise errors.invalid_form_body(
            path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
        )
    seen_optional = False
    names: set[str] = set()
    for index, option in enumerate(options):
        where = f"{path}.{index}"
        name = option.get("name", "")
        if not _NAME.match(name) or name != name.lower() or name in names:
            raise errors.invalid_form_body(
                f"{where}.name", "APPLICATION_COMMAND_INVALID_NAME", "Option name is invalid"
            )
        names.add(name)
        _validate_localizations(option, where, names_like_slash=True)
        for number, choice in enumerate(option.get("choices") or []):
            _validate_localizations(choice, f"{where}.choices.{number}", names_like_slash=False)
        if not 1 <= len(option.get("description", "")) <= 100:
            raise errors.invalid_form_body(
                f"{where}.description",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        kind = option.get("type")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            # Groups hold subcommands only, subcommands hold plain options only.
            if depth >= 2 or (depth == 1 and kind == SUB_COMMAND_GROUP):
                raise errors.invalid_form_body(
                    f"{where}.type", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Too deeply nested"
                )
            children = option.get("options") or []
            if kind == SUB_COMMAND_GROUP and any(c.get("type") != SUB_COMMAND for c in children):
                raise errors.invalid_form_body(
                    f"{where}.options",
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Groups hold subcommands",
                )
            _validate_options(children, f"{where}.options", depth=depth + 1)
            continue
        if option.get("required"):
            if seen_optional:
                raise errors.invalid_form_body(
                    f"{where}.required",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        if len(option.get("choices") or []) > 25:
            raise errors.invalid_form_body(
                f"{where}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
