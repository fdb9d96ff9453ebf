"""The command line: help and version never start the bot; logs can be JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from bot.config import Secret
from bot.logging_setup import REDACTED, JsonFormatter
from bot.ops.command_sync import SyncRecords
from bot.ops.liveness_file import LivenessRecord, write_record
from bot.storage.database import open_database

PROJECT = Path(__file__).resolve().parents[2]


def sora_bot(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # A token in the environment: were the flags ignored, the bot would try to log in.
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), "DISCORD_TOKEN": "token-not-used"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=base
        | {"RIVYA_API_KEY": "rvya_sk_x", "RIVYA_BASE_URL": "http://127.0.0.1:9"}
        | (env or {}),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_the_commands_and_exits(tmp_path: Path) -> None:
    result = sora_bot("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: sora-bot")
    for command in ("run", "check", "backup"):
        assert f"    {command} " in result.stdout
    assert not (tmp_path / "data").exists()  # nothing was opened


def test_version_comes_from_the_package(tmp_path: Path) -> None:
    result = sora_bot("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"sora-bot {metadata.version('sora-bot')}"


def test_an_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = sora_bot("launch", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'launch'" in result.stderr


def test_the_local_check_needs_no_network(tmp_path: Path) -> None:
    result = sora_bot("check", "--local", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == [
        "settings",
        "servers",
        "database",
        "media",
    ]


def test_backup_without_a_database_says_so(tmp_path: Path) -> None:
    result = sora_bot("backup", str(tmp_path / "copy.sqlite3"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("backup failed: there is no database at data/sora-bot.sqlite3")


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("bot.jobs.worker", logging.ERROR, __file__, 1, message, args, exc_info)


def test_json_logs_are_one_scrubbed_object_per_line() -> None:
    secret = 'rvya_sk_"quoted\\key'  # JSON escaping must not let it through
    formatter = JsonFormatter((Secret(secret),))
    try:
        raise RuntimeError(f"call with {secret} failed")
    except RuntimeError as error:
        line = formatter.format(_record("job %s:\nkey %s", 7, secret, exc=error))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.jobs.worker"
    assert entry["message"] == f"job 7:\nkey {REDACTED}"
    assert "RuntimeError: call with [redacted] failed" in entry["exception"]
    assert entry["time"].endswith("+00:00")
    assert secret not in line and json.dumps(secret)[1:-1] not in line


def test_json_logs_without_an_exception_have_no_exception_field() -> None:
    entry = json.loads(JsonFormatter(()).format(_record("started")))
    assert set(entry) == {"time", "level", "logger", "message"}


def test_an_unusable_database_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("a file where a folder should be")
    env = {"DATABASE_PATH": str(tmp_path / "afile" / "bot.sqlite3")}
    result = sora_bot("run", cwd=tmp_path, env=env)
    assert result.returncode == 6, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"Cannot use {tmp_path / 'afile'}: File exists. Point DATABASE_PATH" in line
    assert "Traceback" not in result.stderr


def test_a_damaged_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bot.sqlite3").write_bytes(b"not a database" * 100)
    result = sora_bot(cwd=tmp_path, env={"DATABASE_PATH": str(tmp_path / "bot.sqlite3")})
    assert result.returncode == 6, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "Cannot use the database" in line and "restore a backup" in line


def test_the_health_check_reads_the_liveness_file(tmp_path: Path) -> None:
    """`check --health` is the image's health check: it reads what the running bot wrote."""
    result = sora_bot("check", "--health", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == (
        "health    FAILED: no liveness report at data/liveness.json yet: the bot has not "
        "started, or it writes elsewhere (LIVENESS_FILE)\n"
    )
    path = tmp_path / "elsewhere" / "liveness.json"
    now = time.time()
    write_record(
        path,
        LivenessRecord(
            status="ok",
            detail="gateway, worker and database ok",
            since=now - 100,
            written_at=now,
            host=socket.gethostname(),
            pid=1,
            parts={"gateway": "ok", "worker": "ok", "database": "ok"},
        ),
    )
    result = sora_bot("check", "--health", cwd=tmp_path, env={"LIVENESS_FILE": str(path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("health    ok: gateway ok, worker ok, database ok (reported")


def test_sync_forgets_the_recorded_command_syncs(tmp_path: Path) -> None:
    result = sora_bot("sync", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("nothing to forget: there is no database at data/")
    assert not (tmp_path / "data").exists()
    asyncio.run(_record_a_sync(tmp_path / "data" / "sora-bot.sqlite3"))
    result = sora_bot("sync", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("forgot 1 recorded command sync(s)")
    assert "sync " in sora_bot("--help", cwd=tmp_path).stdout


async def _record_a_sync(path: Path) -> None:
    db = await open_database(path)
    try:
        await SyncRecords(db).record("global", "0" * 64, 1.0)
    finally:
        await db.close()


def test_backup_refuses_a_postgresql_database_and_says_what_to_use(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sora-bot.sqlite3").write_bytes(b"")  # an old file left behind
    result = sora_bot(
        "backup",
        str(tmp_path / "copy.sqlite3"),
        cwd=tmp_path,
        env={"DATABASE_URL": "postgresql://sora:hunter22@127.0.0.1:1/sora"},
    )
    assert result.returncode == 1
    assert "pg_dump" in result.stderr and "hunter22" not in result.stderr
    assert not (tmp_path / "copy.sqlite3").exists()


def test_the_web_command_needs_its_settings(tmp_path: Path) -> None:
    result = sora_bot("web", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("config error: WEB_PORT is missing")
    secret = "client-secret-not-shown"
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        result = sora_bot(
            "web",
            cwd=tmp_path,
            env={
                "WEB_PORT": str(port),
                "WEB_BASE_URL": "https://videos.example.org",
                "DISCORD_CLIENT_SECRET": secret,
            },
        )
    finally:
        busy.close()
    assert result.returncode == 1, result.stderr
    assert f"Could not serve the web gallery on 127.0.0.1:{port}" in result.stderr
    assert secret not in result.stderr and "Traceback" not in result.stderr
