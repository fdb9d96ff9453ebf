"""Turns a test's ``options={...}`` into the typed, nested option list and ``resolved`` data the
Discord client would send, checked against the command schema the bot synced."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from typing import Any, Protocol

from .commands import SUB_COMMAND, SUB_COMMAND_GROUP, SyncedCommand
from .message_model import AttachmentRecord
from .payloads import JSON
from .world import FakeChannel, FakeRole, FakeUser

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(3, 12)


class InvocationError(ValueError):
    """The Discord client would not let a user send this command as written."""


@dataclass(frozen=True)
class Upload:
    """A file a user attaches to an attachment option."""

    filename: str
    data: bytes
    content_type: str | None = None

    @classmethod
    def coerce(cls, value: Upload | tuple[str, bytes] | tuple[str, bytes, str]) -> Upload:
        if isinstance(value, Upload):
            return value
        filename, data, *rest = value
        content_type = rest[0] if rest else mimetypes.guess_type(filename)[0]
        return cls(filename, data, content_type or "application/octet-stream")


class Resolver(Protocol):
    """What option building needs from the simulator."""

    def resolve_user(self, ref: Any) -> FakeUser: ...
    def resolve_role(self, ref: Any) -> FakeRole: ...
    def resolve_channel(self, ref: Any) -> FakeChannel: ...
    def is_role_ref(self, ref: Any) -> bool: ...
    def store_upload(self, channel_id: int, upload: Upload) -> AttachmentRecord: ...
    def resolved_user(self, user: FakeUser) -> tuple[JSON, JSON | None]: ...
    def resolved_role(self, role: FakeRole) -> JSON: ...
    def resolved_channel(self, channel: FakeChannel, user_id: int) -> JSON: ...


@dataclass
class BuiltOptions:
    options: list[JSON]
    resolved: dict[str, dict[str, JSON]] = field(default_factory=dict)
    attachments: list[AttachmentRecord] = field(default_factory=list)

    def add_resolved(self, kind: str, key: int, payload: JSON) -> None:
        self.resolved.setdefault(kind, {})[str(key)] = payload


def build_options(
    command: SyncedCommand,
    path: list[str],
    values: dict[str, Any],
    uploads: list[Upload],
    *,
    channel_id: int,
    user_id: int,
    resolver: Resolver,
    focused: str | None = None,
) -> BuiltOptions:
    """Nested options for ``/name path...``; ``uploads`` fill attachment options not given in
    ``values``, in declaration order. ``focused`` marks the option being autocompleted."""
    try:
        schema = command.options(path)
    except KeyError as exc:
        raise InvocationError(str(exc)) from None
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schema.values()):
        raise InvocationError(f"/{command.name} {' '.join(path)} needs a subcommand")
    unknown = set(values) - set(schema)
    if unknown:
        raise InvocationError(
            f"unknown options {sorted(unknown)}; /{command.name} has {list(schema)}"
        )

    values = dict(values)
    pending_uploads = list(uploads)
    for name, option in schema.items():
        if option["type"] == ATTACHMENT and name not in values and pending_uploads:
            values[name] = pending_uploads.pop(0)
    if pending_uploads:
        raise InvocationError(f"{len(pending_uploads)} upload(s) left without an attachment option")

    built = BuiltOptions(options=[])
    for name, option in schema.items():
        if name not in values:
            if option.get("required") and name != focused:
                raise InvocationError(f"required option {name!r} is missing")
            continue
        entry: JSON = {"name": name, "type": option["type"]}
        if name == focused:
            # Autocomplete sends whatever was typed so far, unvalidated.
            entry.update(value=str(values[name]), focused=True)
        else:
            entry["value"] = _convert(option, values[name], built, channel_id, user_id, resolver)
        built.options.append(entry)

    # Wrap in the subcommand group / subcommand layers, innermost first.
    options = built.options
    for depth in range(len(path), 0, -1):
        node = command.node(path[:depth])
        options = [{"name": node["name"], "type": node["type"], "options": options}]
    built.options = options
    return built


def _convert(
    option: JSON,
    value: Any,
    built: BuiltOptions,
    channel_id: int,
    user_id: int,
    resolver: Resolver,
) -> Any:
    kind = option["type"]
    name = option["name"]
    if kind == STRING:
        _require(isinstance(value, str), name, "a str", value)
        _check_length(option, value)
        return _check_choice(option, value)
    if kind == INTEGER:
        _require(isinstance(value, int) and not isinstance(value, bool), name, "an int", value)
        _check_range(option, value)
        return _check_choice(option, value)
    if kind == NUMBER:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        _require(is_number, name, "a number", value)
        _check_range(option, value)
        return _check_choice(option, value)
    if kind == BOOLEAN:
        _require(isinstance(value, bool), name, "a bool", value)
        return value
    if kind == USER or (kind == MENTIONABLE and not resolver.is_role_ref(value)):
        user = resolver.resolve_user(value)
        user_data, member_data = resolver.resolved_user(user)
        built.add_resolved("users", user.id, user_data)
        if member_data is not None:
            built.add_resolved("members", user.id, member_data)
        return str(user.id)
    if kind in (ROLE, MENTIONABLE):
        role = resolver.resolve_role(value)
        built.add_resolved("roles", role.id, resolver.resolved_role(role))
        return str(role.id)
    if kind == CHANNEL:
        channel = resolver.resolve_channel(value)
        allowed = option.get("channel_types")
        if allowed and channel.type not in allowed:
            raise InvocationError(f"option {name!r} does not accept channel type {channel.type}")
        built.add_resolved("channels", channel.id, resolver.resolved_channel(channel, user_id))
        return str(channel.id)
    if kind == ATTACHMENT:
        attachment = resolver.store_upload(channel_id, Upload.coerce(value))
        built.attachments.append(attachment)
        built.add_resolved("attachments", attachment.id, attachment.payload())
        return str(attachment.id)
    raise InvocationError(f"option {name!r} has unsupported type {kind}")


def _require(ok: bool, name: str, expected: str, value: Any) -> None:
    if not ok:
        raise InvocationError(f"option {name!r} needs {expected}, got {value!r}")


def _check_choice(option: JSON, value: Any) -> Any:
    choices = option.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        offered = [(c["name"], c["value"]) for c in choices]
        raise InvocationError(f"{value!r} is not a choice of {option['name']!r}: {offered}")
    return value


def _check_range(option: JSON, value: float) -> None:
    low, high = option.get("min_value"), option.get("max_value")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvocationError(f"{option['name']!r} must be within [{low}, {high}], got {value}")


def _check_length(option: JSON, value: str) -> None:
    low, high = option.get("min_length", 0), option.get("max_length", 6000)
    if not low <= len(value) <= high:
        raise InvocationError(f"{option['name']!r} length must be within [{low}, {high}]")
