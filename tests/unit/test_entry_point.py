"""`python -m bot` as an operator runs it: bad settings, secrets in logs."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from bot.config import Secret
from bot.logging_setup import REDACTED, RedactingFormatter

PROJECT = Path(__file__).resolve().parents[2]


def run_bot(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_settings_exit_2_with_one_line_each(tmp_path: Path) -> None:
    result = run_bot(
        {"DISCORD_TOKEN": "tok-should-not-print", "QUOTA_PERIOD": "year", "DEFAULT_QUOTA": "x"},
        tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, lines
    assert any(line.startswith("config error: RIVYA_API_KEY") for line in lines)
    assert any(line.startswith("config error: QUOTA_PERIOD") for line in lines)
    assert any(line.startswith("config error: DEFAULT_QUOTA") for line in lines)
    assert "tok-should-not-print" not in result.stderr + result.stdout


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=x\nPROVIDER=unified\n")
    result = run_bot({}, tmp_path)
    assert result.returncode == 2
    assert "UNIFIED_BASE_URL" in result.stderr  # PROVIDER came from .env


def test_log_lines_and_tracebacks_are_scrubbed() -> None:
    formatter = RedactingFormatter((Secret("rvya_sk_abc"), Secret("tok")), "%(message)s")
    try:
        raise RuntimeError("request with Bearer rvya_sk_abc failed")
    except RuntimeError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "key %s", ("rvya_sk_abc",), sys.exc_info()
        )
    text = formatter.format(record)
    assert "rvya_sk_abc" not in text
    assert text.count(REDACTED) >= 2
