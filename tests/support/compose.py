"""The project's Compose files as Compose reads them: YAML (PyYAML, the parser docker-compose
1.x uses), with `${NAME}`, `${NAME:?message}` and `${NAME:-default}` taken from `.env`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parents[2]
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:\?|:-)(?P<arg>[^}]*))?\}")


class MissingVariable(LookupError):
    """A `${NAME:?message}` whose NAME is unset or empty: Compose stops with the message."""


def load(name: str) -> dict[str, Any]:
    """A Compose file of the project, as parsed YAML (before interpolation)."""
    return yaml.safe_load((PROJECT / name).read_text())


def merged(*names: str) -> dict[str, Any]:
    """Several files as `docker compose -f A -f B` merges them (mappings merged key by key,
    anything else replaced by the later file)."""
    result: dict[str, Any] = {}
    for name in names:
        result = _merge(result, load(name))
    return result


def _merge(base: Any, override: Any) -> Any:
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    result = dict(base)
    for key, value in override.items():
        result[key] = _merge(base[key], value) if key in base else value
    return result


def interpolate(value: str, dotenv: Mapping[str, str]) -> str:
    """One value with its `${...}` replaced as Compose does."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group("name", "op", "arg")
        found = dotenv.get(name, "")
        if op == ":?" and not found:
            raise MissingVariable(arg or f"{name} is required")
        if op == ":-" and not found:
            return str(arg)
        return found

    return _VARIABLE.sub(replace, value)


def service_environment(
    config: Mapping[str, Any], service: str, dotenv: Mapping[str, str]
) -> dict[str, str]:
    """The `environment:` a service gets (interpolated; not its env_file)."""
    environment = config["services"][service].get("environment", {})
    return {str(k): interpolate(str(v), dotenv) for k, v in environment.items()}
