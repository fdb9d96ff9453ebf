"""LIVENESS_FILE: what the running bot writes in each phase, and what the health check makes of
it (fresh, stale, someone else's, failed, stopped)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path

import pytest

from bot.ops.liveness import LivenessReport, WebLivenessReport
from bot.ops.liveness_file import (
    STALE_AFTER_SECONDS,
    LivenessRecord,
    LivenessReporter,
    check_file,
    judge,
    read_record,
    write_record,
)

HOST = "this-host"
NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
PATH = Path("/data/liveness.json")


def record(status: str, detail: str = "", **changes: object) -> LivenessRecord:
    fields: dict[str, object] = {
        "status": status,
        "detail": detail,
        "since": NOW - 30,
        "written_at": NOW - 5,
        "host": HOST,
        "pid": 7,
    }
    return LivenessRecord(**(fields | changes))  # type: ignore[arg-type]


ALL_OK = {"gateway": "ok", "worker": "ok", "database": "ok"}


@pytest.mark.parametrize(
    ("found", "healthy", "line"),
    [
        (None, False, "no liveness report at /data/liveness.json yet: the bot has not started"),
        (
            record("ok", parts=ALL_OK),
            True,
            "gateway ok, worker ok, database ok (reported 5 s ago)",
        ),
        (
            record("unhealthy", "gateway failing", parts=ALL_OK | {"gateway": "failing"}),
            False,
            "gateway failing for 30 s (gateway failing, worker ok, database ok)",
        ),
        (
            record("starting", "checking the video service"),
            False,
            "starting for 30 s: checking the video service",
        ),
        (
            record("starting", "connecting to Discord", last_failure="2027-01-15 07:59 UTC: x"),
            False,
            "starting for 30 s: connecting to Discord; the last start failed at 2027-01-15 07:59",
        ),
        (
            record("failed", "Discord refused DISCORD_TOKEN: ..."),
            False,
            "the last start failed at 2027-01-15 07:59:30 UTC: Discord refused DISCORD_TOKEN",
        ),
        (record("stopped", "stopped"), False, "the bot stopped at 2027-01-15 07:59:30 UTC"),
        (
            record("ok", parts=ALL_OK, written_at=NOW - STALE_AFTER_SECONDS - 1),
            False,
            "the last liveness report is 61 s old (at 2027-01-15 07:58:59 UTC, ok): the bot is "
            "not running, or it is stuck",
        ),
        (
            record("ok", parts=ALL_OK, host="another-container"),
            False,
            "written by a bot on another-container, not on this machine (this-host): give each "
            "bot process its own LIVENESS_FILE",
        ),
        # A failure is reported wherever it was written: a new container reads it too.
        (
            record("failed", "No answer from the video service", host="old-container"),
            False,
            "the last start failed at 2027-01-15 07:59:30 UTC: No answer from the video service",
        ),
    ],
)
def test_the_health_check_judges_the_report(
    found: LivenessRecord | None, healthy: bool, line: str
) -> None:
    verdict, said = judge(found, PATH, NOW, HOST)
    assert verdict is healthy
    assert line in said


def test_a_report_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "liveness.json"
    first = record("starting", "opening the database")
    write_record(path, first)
    assert read_record(path) == first
    second = record("ok", parts=ALL_OK)
    write_record(path, second)
    assert read_record(path) == second
    assert sorted(p.name for p in path.parent.iterdir()) == ["liveness.json"]


def test_a_failed_write_leaves_no_partial_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "liveness.json"
    path.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(OSError):
        write_record(path, record("ok", parts=ALL_OK))
    assert [p.name for p in tmp_path.iterdir()] == ["liveness.json"]


def test_an_unreadable_report_is_said(tmp_path: Path) -> None:
    path = tmp_path / "liveness.json"
    assert read_record(path) is None
    path.write_text('{"status": "ok"}')
    with pytest.raises(ValueError, match="not a liveness report"):
        read_record(path)
    healthy, line = check_file(path)
    assert not healthy and line.startswith(f"health    FAILED: {path} cannot be read: not a")
    path.write_text("[1, 2]")
    assert check_file(path)[0] is False


class FakeLiveness:
    def __init__(self) -> None:
        self.gateway = False

    async def report(self) -> LivenessReport:
        return LivenessReport(gateway=self.gateway, worker=True, database=True)


async def written(path: Path, predicate: object, timeout: float = 5.0) -> LivenessRecord:
    """The report once `predicate(record)` holds (the writer runs on its own task)."""
    async with asyncio.timeout(timeout):
        while True:
            found = read_record(path)
            if found is not None and predicate(found):  # type: ignore[operator]
                return found
            await asyncio.sleep(0.01)


async def test_a_run_is_reported_from_its_first_moment_to_its_end(tmp_path: Path) -> None:
    path = tmp_path / "liveness.json"
    probe = FakeLiveness()
    reporter = LivenessReporter(path, lambda error: None, interval=0.02)
    async with reporter:
        first = read_record(path)
        assert first is not None and (first.status, first.pid) == ("starting", os.getpid())
        reporter.starting("opening the database")
        phase = read_record(path)
        assert phase is not None and phase.detail == "opening the database"
        assert phase.since == first.since  # "starting for N s" counts from the run's start
        assert reporter.phase == "opening the database"
        reporter.watch(probe)  # type: ignore[arg-type]
        connecting = await written(path, lambda r: r.detail == "connecting to Discord")
        assert connecting.status == "starting"
        probe.gateway = True
        up = await written(path, lambda r: r.status == "ok")
        assert up.parts == ALL_OK and reporter.phase == "running"
        probe.gateway = False
        down = await written(path, lambda r: r.status == "unhealthy")
        assert down.detail == "gateway failing" and down.parts["gateway"] == "failing"
        later = await written(path, lambda r: r.written_at > down.written_at)
        assert later.since == down.since  # still the same outage
    end = read_record(path)
    assert end is not None and end.status == "stopped"


class FakeWebLiveness:
    def __init__(self) -> None:
        self.database = False

    async def report(self) -> WebLivenessReport:
        return WebLivenessReport(web=True, database=self.database)


async def test_the_web_process_reports_its_own_parts(tmp_path: Path) -> None:
    path = tmp_path / "liveness-web.json"
    probe = FakeWebLiveness()
    reporter = LivenessReporter(path, lambda error: None, interval=0.02)
    async with reporter:
        reporter.starting("starting the web server")
        watched_at = time.time()
        reporter.watch(probe, until_alive="starting the web server")
        waiting = await written(path, lambda r: r.written_at > watched_at)
        assert waiting.detail == "starting the web server"  # not "connecting to Discord"
        probe.database = True
        up = await written(path, lambda r: r.status == "ok")
        assert up.parts == {"web": "ok", "database": "ok"}
        assert up.detail == "web and database ok"
        healthy, line = check_file(path)
        assert healthy and line.startswith("health    ok: web ok, database ok (reported "), line
        probe.database = False
        down = await written(path, lambda r: r.status == "unhealthy")
        assert down.detail == "database failing"
    assert check_file(path)[1].startswith("health    FAILED: the bot stopped at ")


async def test_a_failed_start_is_recorded_and_said_until_the_next_run_is_healthy(
    tmp_path: Path,
) -> None:
    path = tmp_path / "liveness.json"
    with pytest.raises(RuntimeError):
        async with LivenessReporter(path, lambda error: f"the line for {error}"):
            raise RuntimeError("no network")
    failed = read_record(path)
    assert failed is not None and failed.status == "failed"
    assert failed.detail == "the line for no network"

    probe = FakeLiveness()
    reporter = LivenessReporter(path, lambda error: None, interval=0.02)
    async with reporter:
        starting = read_record(path)
        assert starting is not None and starting.last_failure is not None
        assert starting.last_failure.endswith("UTC: the line for no network")
        reporter.starting("checking the video service")
        assert reporter._record.last_failure == starting.last_failure
        reporter.watch(probe)  # type: ignore[arg-type]
        probe.gateway = True
        up = await written(path, lambda r: r.status == "ok")
        assert up.last_failure is None


async def test_an_unexpected_error_is_recorded_as_such(tmp_path: Path) -> None:
    path = tmp_path / "liveness.json"
    with pytest.raises(KeyError):
        async with LivenessReporter(path, lambda error: None):
            raise KeyError("bug")
    failed = read_record(path)
    assert failed is not None
    assert failed.detail == "stopped by an unexpected error; the log has its traceback"


async def test_an_unwritable_report_is_warned_about_once_the_bot_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "afile").write_text("a file where a folder should be")
    path = tmp_path / "afile" / "liveness.json"
    reporter = LivenessReporter(path, lambda error: None, interval=0.01)
    with caplog.at_level(logging.WARNING, logger="bot.ops.liveness_file"):
        async with reporter:
            reporter.starting("opening the database")
            assert not caplog.records  # a start that fails has its own one line
            reporter.watch(FakeLiveness())  # type: ignore[arg-type]
            await asyncio.sleep(0.1)  # several more writes fail
    (warning,) = caplog.records
    assert f"cannot write the liveness report to {path}" in warning.getMessage()
    assert "LIVENESS_FILE" in warning.getMessage()


def test_the_report_is_plain_json() -> None:
    data = json.loads(record("ok", parts=ALL_OK).to_json())
    assert data["status"] == "ok" and data["parts"] == ALL_OK and data["host"] == HOST
