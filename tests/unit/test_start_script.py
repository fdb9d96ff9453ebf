"""scripts/start.sh on a fresh checkout: the `.env` it makes will hold the secrets."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_the_first_run_creates_env_readable_by_its_owner_only(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(PROJECT / "scripts" / "start.sh", tmp_path / "scripts" / "start.sh")
    example = tmp_path / ".env.example"
    shutil.copy(PROJECT / ".env.example", example)
    example.chmod(0o644)  # as a checkout has it

    result = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "start.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2, result.stderr
    assert "Created .env from .env.example" in result.stdout
    created = tmp_path / ".env"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert created.read_text() == example.read_text()
