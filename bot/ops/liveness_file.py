"""The bot's liveness in a file (LIVENESS_FILE), for the container's health check.

`sora-bot run` writes it from its first moment and every few seconds after: the start-up phase
it is in, then what `/healthz` would answer (gateway, worker, database), and at the end that it
stopped or why its start failed; `sora-bot web` writes its own the same way (web, database).
`sora-bot check --health` reads it, so the default health check sees the running bot without
opening a port. A report older than a minute means the bot
is gone or its event loop is stuck. The file is replaced whole, never half-written."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

log = logging.getLogger(__name__)

WRITE_INTERVAL_SECONDS = 10.0
STALE_AFTER_SECONDS = 60.0
# The parts a process reports: the bot's gateway, worker and database; `sora-bot web`'s web
# server and database.
PARTS = ("gateway", "worker", "web", "database")

STARTING, OK, UNHEALTHY, STOPPED, FAILED = "starting", "ok", "unhealthy", "stopped", "failed"
CONNECTING = "connecting to Discord"
# Statuses of a process that is still there: only these can be stale or someone else's.
LIVE = (STARTING, OK, UNHEALTHY)

Clock = Callable[[], float]
# The operator's line for the error that ended a run, or None for an unexpected one.
DescribeFailure = Callable[[BaseException], str | None]


class Report(Protocol):
    """A verdict as bot/ops/liveness.py gives it: alive or not, and each part's state."""

    @property
    def alive(self) -> bool: ...

    def body(self) -> dict[str, Any]: ...


class LivenessSource(Protocol):
    async def report(self) -> Report: ...


@dataclass(frozen=True)
class LivenessRecord:
    status: str
    detail: str  # the start-up phase, the failure's line, or what fails
    since: float  # when this status (or phase, or set of failing parts) began
    written_at: float
    host: str
    pid: int
    parts: dict[str, str] = field(default_factory=dict)  # gateway/worker/database: ok/failing
    last_failure: str | None = None  # the last failed start's time and line, until running

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> LivenessRecord:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return cls(
            status=str(data["status"]),
            detail=str(data["detail"]),
            since=float(data["since"]),
            written_at=float(data["written_at"]),
            host=str(data["host"]),
            pid=int(data["pid"]),
            parts={str(k): str(v) for k, v in dict(data.get("parts") or {}).items()},
            last_failure=None if data.get("last_failure") is None else str(data["last_failure"]),
        )


def write_record(path: Path, record: LivenessRecord) -> None:
    """Replace `path` with `record` at once: a reader sees the old report or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(record.to_json() + "\n", encoding="utf-8")
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def read_record(path: Path) -> LivenessRecord | None:
    """The last report, or None when there is none. Raises `ValueError` or `OSError` for a
    file that cannot be read as one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return LivenessRecord.from_json(text)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a liveness report ({type(error).__name__}: {error})") from None


def clock_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(span: float) -> str:
    return f"{max(0, round(span))} s"


# -- the health check's side ------------------------------------------------------------------


def judge(record: LivenessRecord | None, path: Path, now: float, host: str) -> tuple[bool, str]:
    """(healthy, one line saying why) for the report found at `path`."""
    if record is None:
        return False, (
            f"no liveness report at {path} yet: the bot has not started, or it writes elsewhere "
            "(LIVENESS_FILE)"
        )
    age = now - record.written_at
    if record.status in LIVE and record.host != host:
        return False, (
            f"{path} is written by a bot on {record.host}, not on this machine ({host}): give "
            "each bot process its own LIVENESS_FILE"
        )
    if record.status in LIVE and age > STALE_AFTER_SECONDS:
        return False, (
            f"the last liveness report is {_seconds(age)} old (at {clock_time(record.written_at)}, "
            f"{record.status}): the bot is not running, or it is stuck"
        )
    if record.status == FAILED:
        return False, f"the last start failed at {clock_time(record.since)}: {record.detail}"
    if record.status == STOPPED:
        return False, f"the bot stopped at {clock_time(record.since)}"
    if record.status == STARTING:
        line = f"starting for {_seconds(now - record.since)}: {record.detail}"
        if record.last_failure:
            line += f"; the last start failed at {record.last_failure}"
        return False, line
    parts = ", ".join(f"{name} {state}" for name, state in record.parts.items())
    if record.status == OK:
        return True, f"{parts} (reported {_seconds(age)} ago)"
    return False, f"{record.detail} for {_seconds(now - record.since)} ({parts})"


def check_file(path: Path) -> tuple[bool, str]:
    """`sora-bot check --health`: (healthy, its one line)."""
    try:
        record = read_record(path)
    except (OSError, ValueError) as error:
        return False, f"health    FAILED: {path} cannot be read: {error}"
    healthy, line = judge(record, path, time.time(), socket.gethostname())
    return healthy, f"health    {'ok' if healthy else 'FAILED'}: {line}"


# -- the running bot's side -------------------------------------------------------------------


def _from_report(report: Report) -> tuple[str, dict[str, str], str]:
    parts = {name: state for name, state in report.body().items() if name in PARTS}
    failing = [name for name, state in parts.items() if state != OK]
    detail = " and ".join(failing) + " failing" if failing else _listed(list(parts)) + " ok"
    return (OK if report.alive else UNHEALTHY), parts, detail


def _listed(names: list[str]) -> str:
    """The names as the operator's log says them: `gateway, worker and database`."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


class LivenessReporter:
    """Keeps LIVENESS_FILE current for one `sora-bot run`, from its first moment to its end."""

    def __init__(
        self,
        path: Path,
        describe_failure: DescribeFailure,
        *,
        clock: Clock = time.time,
        interval: float = WRITE_INTERVAL_SECONDS,
    ) -> None:
        self.path = path
        self._describe_failure = describe_failure
        self._clock = clock
        self._interval = interval
        self._host = socket.gethostname()
        self._liveness: LivenessSource | None = None
        self._until_alive = CONNECTING
        self._alive_once = False
        self._writer: asyncio.Task[None] | None = None
        self._write_error: str | None = None
        self._warned = False
        self._record = self._new_record(STARTING, "starting", last_failure=self._last_failure())

    @property
    def phase(self) -> str:
        """What the bot is doing: a start-up phase, or `running` once it was healthy."""
        return "running" if self._alive_once else self._record.detail

    def starting(self, phase: str) -> None:
        """Report a new start-up phase at once (`since` stays the start of the run)."""
        previous = self._record
        self._put(
            replace(self._new_record(STARTING, phase, previous.last_failure), since=previous.since)
        )

    def watch(self, liveness: LivenessSource, *, until_alive: str = CONNECTING) -> None:
        """From now on, report what `liveness` says (still `starting`, in the phase
        `until_alive`, until it is first healthy: the gateway takes a moment to connect)."""
        self._liveness = liveness
        self._until_alive = until_alive
        self._warn_unwritable()

    async def __aenter__(self) -> LivenessReporter:
        self._put(self._record)
        self._writer = asyncio.create_task(self._keep_writing(), name="liveness-file")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        if exc is None or isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
            self._put(self._new_record(STOPPED, "stopped"))
            return
        line = self._describe_failure(exc)
        if line is None:
            line = "stopped by an unexpected error; the log has its traceback"
        self._put(self._new_record(FAILED, line))

    async def _keep_writing(self) -> None:
        while True:
            # Until first healthy, every second: "ok" shows as soon as the gateway is ready.
            connecting = self._liveness is not None and not self._alive_once
            await asyncio.sleep(min(1.0, self._interval) if connecting else self._interval)
            if self._liveness is not None:
                await self._report(await self._liveness.report())
            else:
                self._put(replace(self._record, written_at=self._clock()))

    async def _report(self, report: Report) -> None:
        status, parts, detail = _from_report(report)
        self._alive_once = self._alive_once or report.alive
        if not self._alive_once:
            status, detail = STARTING, self._until_alive
        previous = self._record
        same = (previous.status, previous.parts) == (status, parts)
        last_failure = None if self._alive_once else previous.last_failure
        record = self._new_record(status, detail, last_failure, parts=parts)
        if same or (status == STARTING and previous.status == STARTING):
            record = replace(record, since=previous.since)
        self._put(record)

    def _new_record(
        self,
        status: str,
        detail: str,
        last_failure: str | None = None,
        *,
        parts: dict[str, str] | None = None,
    ) -> LivenessRecord:
        now = self._clock()
        return LivenessRecord(
            status=status,
            detail=detail,
            since=now,
            written_at=now,
            host=self._host,
            pid=os.getpid(),
            parts=parts or {},
            last_failure=last_failure,
        )

    def _last_failure(self) -> str | None:
        """The previous run's failure, carried until this run is healthy (a restart loop's
        health check then says why)."""
        try:
            previous = read_record(self.path)
        except (OSError, ValueError):
            return None
        if previous is None:
            return None
        if previous.status == FAILED:
            return f"{clock_time(previous.since)}: {previous.detail}"
        return previous.last_failure if previous.status == STARTING else None

    def _put(self, record: LivenessRecord) -> None:
        self._record = record
        try:
            write_record(self.path, record)
        except OSError as error:
            text = f"{type(error).__name__}: {error}"
            if text != self._write_error:
                self._write_error, self._warned = text, False
            self._warn_unwritable()
            return
        self._write_error = None

    def _warn_unwritable(self) -> None:
        """Once per distinct problem, and only once the bot runs: a start that fails says why
        in its own one line (often the same unwritable folder)."""
        if self._write_error is None or self._warned or self._liveness is None:
            return
        log.warning(
            "cannot write the liveness report to %s (%s): the health check will say the bot "
            "is not running; set LIVENESS_FILE to a writable place",
            self.path,
            self._write_error,
        )
        self._warned = True
