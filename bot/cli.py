"""The `sora-bot` command line: run (the default), check, sync, backup, --help and --version."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Coroutine
from importlib import metadata
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from bot.config import (
    Settings,
    SettingsError,
    database_path_from,
    database_url_from,
    load_settings,
)
from bot.logging_setup import Scrubber, configure_logging
from bot.ops.spending import servers_line
from bot.ops.startup_failures import EXIT_BAD_SETTINGS, EXIT_FAILED, explain
from bot.storage.urls import DatabaseTarget

log = logging.getLogger("bot")

RunBot = Callable[[Settings], Coroutine[Any, Any, None]]
# Where Discord's REST API is: discord.py's own address, read from the Discord glue.
DiscordApi = Callable[[], str]

CHECK_EPILOG = """\
exit status: 0 when every check passed; 2 when the settings are invalid; otherwise the sum of
4 (Discord), 8 (video service), 16 (database) and 32 (media folder) for the checks that failed.
"""


def package_version() -> str:
    try:
        return metadata.version("sora-bot")
    except metadata.PackageNotFoundError:
        return "unknown (not installed; run scripts/start.sh or pip install .)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sora-bot",
        description="A Discord bot that lets a community make AI videos together with /sora. "
        "Settings come from the environment and from .env in the current folder.",
    )
    parser.add_argument("--version", action="version", version=f"sora-bot {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "run", help="start the bot (the default)", description="Start the bot until stopped."
    )
    check = commands.add_parser(
        "check",
        help="check the settings, storage, Discord and the video service, then exit",
        description="Check the settings, the database and media folder, the Discord token and "
        "the video service; one line each. Changes nothing.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scope = check.add_mutually_exclusive_group()
    scope.add_argument(
        "--local",
        action="store_true",
        help="only the settings and storage, no network",
    )
    scope.add_argument(
        "--health",
        action="store_true",
        help="only the running bot's liveness, from LIVENESS_FILE (the Docker health check): "
        "exit status 0 while it runs connected to Discord with its worker and database (for "
        "`sora-bot web`: while it serves and its database answers), else 1",
    )
    commands.add_parser(
        "web",
        help="serve only the web gallery and dashboard (WEB_PORT), without the bot",
        description="Serve the web gallery and moderators' dashboard on WEB_HOST:WEB_PORT, "
        "using the same database and media folder as the bot, without connecting to "
        "Discord's gateway. For deployments that run the bot in several processes. Stops "
        "on SIGTERM; keeps its liveness in LIVENESS_FILE (give it a file of its own).",
    )
    commands.add_parser(
        "sync",
        help="make the next start sync the slash commands even if unchanged",
        description="Forget which slash commands were last synced (kept in the database), so "
        "the bot syncs them at its next start. Use it when Discord lost the commands; then "
        "restart the bot.",
    )
    backup = commands.add_parser(
        "backup",
        help="copy the database safely, even while the bot runs",
        description="Write a consistent copy of the database (DATABASE_PATH) to PATH and "
        "verify it; safe while the bot is running.",
    )
    backup.add_argument("path", type=Path, metavar="PATH", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    move = commands.add_parser(
        "migrate-db",
        help="copy the SQLite database into an empty PostgreSQL database",
        description="Copy every table of the SQLite database (DATABASE_PATH, or a sqlite:/// "
        "DATABASE_URL) into the empty PostgreSQL database at URL and check the copy row for "
        "row. Stop the bot first; afterwards set DATABASE_URL to URL and start it again.",
    )
    target = move.add_mutually_exclusive_group()
    target.add_argument(
        "--to",
        metavar="URL",
        help="postgresql://user:password@host:5432/name; default: DATABASE_URL (with "
        "DATABASE_PASSWORD) when it names PostgreSQL",
    )
    target.add_argument(
        "--to-env",
        metavar="NAME",
        help="read the URL from the environment variable NAME (or .env) instead, so its "
        "password does not show in the process list or the shell history",
    )
    return parser


def main(argv: list[str], run_bot: RunBot, discord_api: DiscordApi) -> int:
    args = build_parser().parse_args(argv)
    # The working directory's .env, as documented (the default search starts from this file).
    load_dotenv(Path(".env"))
    if args.command == "backup":
        return _backup(args.path, args.force)
    if args.command == "sync":
        return _sync()
    if args.command == "migrate-db":
        to = args.to
        if args.to_env is not None:
            to = os.environ.get(args.to_env, "").strip()
            if not to:
                print(f"migrate-db failed: {args.to_env} is not set", file=sys.stderr)
                return EXIT_FAILED
        return _migrate_db(to)
    try:
        settings = load_settings()
    except SettingsError as error:
        for problem in error.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    if args.command == "web":
        return _run_web(settings)
    if args.command == "check":
        if args.health:
            return _check_health(settings.liveness_file)
        return _check(settings, "" if args.local else discord_api(), local=args.local)
    return _run(settings, run_bot)


def _run(settings: Settings, run_bot: RunBot) -> int:
    configure_logging(settings.log_level, settings.secrets, settings.log_format)
    try:
        asyncio.run(run_bot(settings))
    except KeyboardInterrupt:
        pass
    except Exception as error:
        failure = explain(error, settings)
        if failure is None:
            # A bug: its traceback is what a fix needs, scrubbed like every line of the log.
            log.critical("the bot stopped on an unexpected error", exc_info=error)
            return EXIT_FAILED
        log.error("%s", failure.line)
        return failure.exit_code
    return 0


def _run_web(settings: Settings) -> int:
    if settings.web is None:
        print(
            "config error: WEB_PORT is missing: `sora-bot web` serves the web gallery on that "
            "port (set WEB_PORT, WEB_BASE_URL and DISCORD_CLIENT_SECRET).",
            file=sys.stderr,
        )
        return EXIT_BAD_SETTINGS
    from bot.web.standalone import run_web

    return _run(settings, run_web)


def _check(settings: Settings, discord_api: str, *, local: bool) -> int:
    # Imported here: discord.py is loaded only by commands that talk to Discord.
    from bot.ops.preflight import exit_status, run_checks

    # Warnings from the checks, and every line printed, go through the same secret scrubbing
    # as the bot's log: an error may quote a URL or an answer that holds a key.
    configure_logging("WARNING", settings.secrets, settings.log_format)
    scrub = Scrubber(settings.secrets)
    print(scrub(f"settings  ok: provider {settings.provider}, model {settings.model}"))
    print(scrub(servers_line(settings)))
    verdicts = asyncio.run(run_checks(settings, discord_api, local=local))
    for verdict in verdicts:
        print(scrub(verdict.line()))
    return exit_status(verdicts)


def _check_health(liveness_file: Path) -> int:
    from bot.ops.liveness_file import check_file

    healthy, line = check_file(liveness_file)
    print(line)
    return 0 if healthy else EXIT_FAILED


def _sync() -> int:
    from bot.storage.urls import parse_target

    try:
        target = parse_target(database_url_from(os.environ))
    except ValueError as error:
        print(f"sync failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    return asyncio.run(_forget_synced_commands(target))


async def _forget_synced_commands(target: DatabaseTarget) -> int:
    import asyncpg

    from bot.ops.command_sync import SyncRecords
    from bot.storage.database import open_database

    if target.path is not None and not target.path.exists():
        print(f"nothing to forget: there is no database at {target.path} yet")
        return 0
    try:
        db = await open_database(target.path or target.url)
    except (OSError, sqlite3.DatabaseError, asyncpg.PostgresError) as error:
        print(f"sync failed: cannot open {target.describe()}: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        forgotten = await SyncRecords(db).forget()
    finally:
        await db.close()
    print(
        f"forgot {forgotten} recorded command sync(s): the bot syncs its slash commands at its "
        "next start; restart it now if it is running"
    )
    return 0


def _migrate_db(to: str | None) -> int:
    from bot.storage.urls import parse_target

    try:
        configured = parse_target(database_url_from(os.environ))
        source = configured
        if source.path is None:
            # DATABASE_URL already names PostgreSQL (set for the move): the SQLite file to
            # copy is the one DATABASE_PATH names.
            source = parse_target(database_path_from(os.environ))
        target = configured if to is None else parse_target(to)
    except ValueError as error:
        print(f"migrate-db failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    if target.engine != "postgresql":
        wanted = (
            "--to must be a postgresql:// URL"
            if to is not None
            else "give --to postgresql://user:password@host:5432/name, or set DATABASE_URL "
            "(and DATABASE_PASSWORD) to the PostgreSQL database"
        )
        print(f"migrate-db failed: {wanted}", file=sys.stderr)
        return EXIT_FAILED
    if source.path is None or not source.path.exists():
        print(f"migrate-db failed: there is no database at {source.path}", file=sys.stderr)
        return EXIT_FAILED
    return asyncio.run(_copy_database(source, target))


async def _copy_database(source: DatabaseTarget, target: DatabaseTarget) -> int:
    import asyncpg

    from bot.storage.postgres import PostgresDatabase
    from bot.storage.sqlite import SqliteDatabase
    from bot.storage.transfer import TransferError, copy_database

    assert source.path is not None
    try:
        sqlite_db = await SqliteDatabase.connect(source.path)
    except (OSError, sqlite3.DatabaseError) as error:
        print(f"migrate-db failed: cannot open {source.path}: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        try:
            postgres_db = await PostgresDatabase.connect(target.url)
        except (OSError, TimeoutError, asyncpg.PostgresError) as error:
            print(f"migrate-db failed: cannot open {target.describe()}: {error}", file=sys.stderr)
            return EXIT_FAILED
        try:
            copies = await copy_database(sqlite_db, postgres_db)
        except TransferError as error:
            print(f"migrate-db failed: {error}", file=sys.stderr)
            return EXIT_FAILED
        finally:
            await postgres_db.close()
    finally:
        await sqlite_db.close()
    for copy in copies:
        print(f"{copy.name:<24} {copy.rows:>9} rows  checksum {copy.checksum[:16]}  ok")
    print(
        f"copied {source.path} to {target.describe()}: {sum(c.rows for c in copies)} rows in "
        f"{len(copies)} tables, every table checked. Set DATABASE_URL to this database and "
        "start the bot; keep the SQLite file as a backup."
    )
    return 0


def _backup(target: Path, force: bool) -> int:
    from bot.ops.backup import BackupError, backup_database
    from bot.storage.urls import parse_target

    try:
        database = parse_target(database_url_from(os.environ))
    except ValueError as error:
        print(f"backup failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    if database.path is None:
        print(
            "backup failed: DATABASE_URL names PostgreSQL; back it up with PostgreSQL's own "
            'tools, e.g. pg_dump --format=custom --file=sora-bot.dump "$DATABASE_URL"',
            file=sys.stderr,
        )
        return EXIT_FAILED
    source = database.path
    try:
        size = backup_database(source, target, force=force)
    except BackupError as error:
        print(f"backup failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"backed up {source} to {target} ({size:,} bytes); integrity check ok")
    return 0
