"""Secrets on the command line's way out: `check`'s output, a crash's traceback, the URL that
`migrate-db` copies to."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.config import Settings
from bot.ops.preflight import FAILED_DATABASE, Verdict
from bot.ops.spending import OPEN_TO_ANY_SERVER, servers_line

TOKEN = "discord-token-that-must-not-print"
PASSWORD = "pg-password-that-must-not-print"
ENV = {
    "DISCORD_TOKEN": TOKEN,
    "RIVYA_API_KEY": "rvya_sk_cli_secret",
    "RIVYA_BASE_URL": "http://127.0.0.1:9",
    "DATABASE_URL": f"postgresql://sora@127.0.0.1:1/sora?password={PASSWORD}",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the project
    for name in ("DATABASE_PATH", "ALLOWED_GUILD_IDS", "DAILY_VIDEO_BUDGET", "MAX_QUOTA_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def test_check_output_goes_through_the_scrubber(
    environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def quoting_checks(settings: Settings, discord_api: str, *, local: bool) -> list:
        # What a driver's error message may hold: the password, the token, a key-like word.
        detail = f"refused {PASSWORD} for token {TOKEN} (Bearer abcdefghijkl)"
        return [Verdict("database", False, detail, FAILED_DATABASE)]

    monkeypatch.setattr("bot.ops.preflight.run_checks", quoting_checks)
    assert cli.main(["check", "--local"], run_bot=None, discord_api=lambda: "") == 16  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "database  FAILED: refused [redacted] for token [redacted] ([redacted])" in out
    assert PASSWORD not in out and TOKEN not in out


def test_an_unexpected_crash_is_logged_scrubbed_with_its_traceback(
    environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    async def crashing(settings: Settings) -> None:
        raise RuntimeError(f"lost {ENV['DATABASE_URL']} with {TOKEN}")

    assert cli.main(["run"], run_bot=crashing, discord_api=lambda: "") == 1
    err = capsys.readouterr().err
    assert "the bot stopped on an unexpected error" in err
    assert "Traceback (most recent call last)" in err and "RuntimeError: lost" in err
    assert PASSWORD not in err and TOKEN not in err


def test_migrate_db_reads_its_target_from_an_environment_variable(
    environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[str] = []
    monkeypatch.setattr(cli, "_migrate_db", lambda to: seen.append(to) or 0)
    monkeypatch.setenv("TARGET_URL", "postgresql://sora:from-env@db/sora")
    assert cli.main(["migrate-db", "--to-env", "TARGET_URL"], None, None) == 0  # type: ignore[arg-type]
    assert seen == ["postgresql://sora:from-env@db/sora"]
    assert cli.main(["migrate-db"], None, None) == 0  # type: ignore[arg-type]
    assert seen[-1] is None  # neither: DATABASE_URL (with DATABASE_PASSWORD) is the target

    assert cli.main(["migrate-db", "--to-env", "NOT_SET_ANYWHERE"], None, None) == 1  # type: ignore[arg-type]
    assert "migrate-db failed: NOT_SET_ANYWHERE is not set" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # one or the other, not both
        cli.main(["migrate-db", "--to", "x", "--to-env", "TARGET_URL"], None, None)  # type: ignore[arg-type]


def test_check_warns_while_any_server_can_spend_the_credits() -> None:
    from bot.config import load_settings

    base = {"DISCORD_TOKEN": "x", "RIVYA_API_KEY": "rvya_sk_x"}
    assert servers_line(load_settings(base)) == f"servers   WARNING: {OPEN_TO_ANY_SERVER}"
    chosen = load_settings(base | {"ALLOWED_GUILD_IDS": "1,2", "DAILY_VIDEO_BUDGET": "40"})
    assert servers_line(chosen) == (
        "servers   ok: only 2 server(s) in ALLOWED_GUILD_IDS; moderators may set at most "
        "1,000 (MAX_QUOTA_LIMIT); at most 40 video(s) a day (DAILY_VIDEO_BUDGET)"
    )
