"""The start-up line for a database that cannot be used names its cause."""

from __future__ import annotations

from bot.config import load_settings
from bot.ops.startup_failures import EXIT_STORAGE, explain

SETTINGS = load_settings(
    {
        "DISCORD_TOKEN": "t",
        "RIVYA_API_KEY": "rvya_sk_x",
        "DATABASE_URL": "postgresql://sora:hunter2-secret@db.internal:5432/sora",
    }
)


def test_a_connection_timeout_names_its_cause() -> None:
    # `str(TimeoutError())` is empty: the line once read "…/sora: . Check that…".
    failure = explain(TimeoutError(), SETTINGS)
    assert failure is not None and failure.exit_code == EXIT_STORAGE
    assert failure.line.startswith(
        "Cannot use the database postgresql://sora:***@db.internal:5432/sora: no answer within "
        "10 s (timed out). Check that the PostgreSQL server is running and reachable"
    )
    assert "hunter2-secret" not in failure.line


def test_a_refused_connection_says_so() -> None:
    failure = explain(ConnectionRefusedError(111, "Connect call failed"), SETTINGS)
    assert failure is not None
    assert ": ConnectionRefusedError: [Errno 111] Connect call failed. Check" in failure.line
