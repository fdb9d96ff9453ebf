"""`sora-bot check`: settings, storage, Discord and the video service, one verdict each.

Nothing here changes anything: the database is opened read-only (no migration runs) and the
network checks only read. The exit status is the sum of the failed checks' bits."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.config import Secret, Settings
from bot.ops.startup_failures import discord_unreachable, provider_unreachable, token_refused
from bot.providers.base import probe_provider
from bot.providers.factory import ProfileUnavailable, build_provider
from bot.storage.database import bundled_migration_versions
from bot.storage.inspection import postgres_applied, sqlite_state

DISCORD_TIMEOUT_SECONDS = 15.0
# Exit status bits; bad settings exit with 2 before any of these run.
FAILED_DISCORD = 4
FAILED_PROVIDER = 8
FAILED_DATABASE = 16
FAILED_MEDIA = 32


@dataclass(frozen=True)
class Verdict:
    name: str
    ok: bool
    detail: str
    failure_bit: int

    def line(self) -> str:
        return f"{self.name:<9} {'ok' if self.ok else 'FAILED'}: {self.detail}"


async def run_checks(settings: Settings, discord_api: str, *, local: bool) -> list[Verdict]:
    """Every check (only the storage ones when `local`); `discord_api` is discord.py's REST
    base, so a redirected client is checked against the same server."""
    if settings.database_url.startswith("postgres"):
        database = await check_postgres(settings.database_url)
    else:
        database = await asyncio.to_thread(check_database, settings.database_path)
    verdicts = [
        database,
        await asyncio.to_thread(check_media, settings.media_dir),
    ]
    if not local:
        verdicts.append(await check_discord(settings.discord_token, discord_api))
        verdicts.append(await check_provider(settings))
    return verdicts


def exit_status(verdicts: list[Verdict]) -> int:
    return sum(v.failure_bit for v in verdicts if not v.ok)


def check_database(path: Path) -> Verdict:
    def verdict(ok: bool, detail: str) -> Verdict:
        return Verdict("database", ok, detail, FAILED_DATABASE)

    if not path.exists():
        return verdict(*_creatable(path.parent, f"{path} is created at the first start"))
    try:
        health, applied = sqlite_state(path)
    except sqlite3.Error as error:
        return verdict(False, f"{path} cannot be read: {error}")
    if health != ["ok"]:
        return verdict(False, f"{path} is damaged ({health[0]}); restore a backup")
    known = set(bundled_migration_versions())
    newer = sorted(applied - known)
    if newer:
        return verdict(
            False,
            f"{path} was upgraded by a newer sora-bot (migrations {newer}); run that version "
            "or restore a backup made before the upgrade",
        )
    pending = len(known - applied)
    if pending:
        return verdict(True, f"{path}: {pending} migration(s) to apply at the next start")
    return verdict(True, f"{path}: readable, migrations up to date")


async def check_postgres(url: str) -> Verdict:
    """Connect, and compare the applied migrations with the ones this version knows."""
    import asyncpg

    from bot.storage.urls import redact

    where = redact(url)
    try:
        applied = await postgres_applied(url)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        return Verdict(
            "database", False, f"{where} cannot be reached or read: {error}", FAILED_DATABASE
        )
    known = set(bundled_migration_versions("postgresql"))
    newer = sorted(applied - known)
    if newer:
        detail = f"{where} was upgraded by a newer sora-bot (migrations {newer})"
        return Verdict("database", False, detail, FAILED_DATABASE)
    pending = len(known - applied)
    if pending:
        detail = f"{where}: {pending} migration(s) to apply at the next start"
        return Verdict("database", True, detail, FAILED_DATABASE)
    return Verdict("database", True, f"{where}: reachable, migrations up to date", FAILED_DATABASE)


def check_media(folder: Path) -> Verdict:
    if folder.exists():
        writable = folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
        detail = f"{folder} is writable" if writable else f"{folder} is not a writable folder"
        return Verdict("media", writable, detail, FAILED_MEDIA)
    ok, detail = _creatable(folder, f"{folder} is created at the first start")
    return Verdict("media", ok, detail, FAILED_MEDIA)


def _creatable(path: Path, detail: str) -> tuple[bool, str]:
    """Whether the bot could create `path`: its nearest existing parent must be writable."""
    parent = path.resolve()
    while not parent.exists():
        parent = parent.parent
    if os.access(parent, os.W_OK | os.X_OK):
        return True, detail
    return False, f"cannot create {path}: {parent} is not writable by this user"


async def check_discord(token: Secret, api_base: str) -> Verdict:
    def verdict(ok: bool, detail: str) -> Verdict:
        return Verdict("discord", ok, detail, FAILED_DISCORD)

    timeout = aiohttp.ClientTimeout(total=DISCORD_TIMEOUT_SECONDS)
    headers = {"Authorization": f"Bot {token.reveal()}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(f"{api_base.rstrip('/')}/users/@me", headers=headers) as response,
        ):
            status = response.status
            me = await response.json(content_type=None) if status == 200 else None
    except (aiohttp.ClientError, TimeoutError) as error:
        return verdict(False, discord_unreachable(type(error).__name__))
    except ValueError:
        return verdict(False, "Discord sent an unreadable answer; try again later")
    if status == 401:
        return verdict(False, token_refused())
    if status != 200 or not isinstance(me, dict):
        return verdict(False, f"Discord answered HTTP {status}; try again later")
    return verdict(True, f"the token works: logged in as {me.get('username')} (id {me.get('id')})")


async def check_provider(settings: Settings) -> Verdict:
    def verdict(ok: bool, detail: str) -> Verdict:
        return Verdict("provider", ok, detail, FAILED_PROVIDER)

    async with aiohttp.ClientSession() as http:
        try:
            provider = await build_provider(settings, http)
        except ProfileUnavailable as error:
            return verdict(False, str(error))
        try:
            health = await probe_provider(provider)
        finally:
            await provider.close()
    detail = f"{provider.name} / model {provider.profile.model}: {health.detail}"
    if health.unreachable:
        return verdict(False, provider_unreachable(settings, health.detail))
    if health.refuses_jobs:
        return verdict(False, detail)
    warning = settings.credit_warning
    if warning is not None and health.credits is not None and health.credits < warning:
        detail += f" (below CREDIT_WARNING={warning:g})"
    return verdict(True, detail)
