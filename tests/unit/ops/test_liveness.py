"""/healthz: which part fails and how it is answered, and the endpoint's routes."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import metrics
from bot.metrics import Snapshot
from bot.ops.liveness import Liveness, LivenessReport, WebLiveness
from bot.ops.metrics_server import build_app, start_metrics_server
from bot.ops.startup_failures import StartupFailure
from bot.storage.database import open_database


def test_alive_only_when_every_part_is() -> None:
    assert LivenessReport(True, True, True).http_status == 200
    report = LivenessReport(gateway=False, worker=True, database=False)
    assert report.http_status == 503
    assert report.body() == {
        "status": "unhealthy",
        "failing": ["gateway", "database"],
        "gateway": "failing",
        "worker": "ok",
        "database": "failing",
    }


async def test_each_part_is_asked_at_request_time(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "health.sqlite3")
    connected = True

    def broken_probe() -> bool:
        raise RuntimeError("cannot tell")

    liveness = Liveness(gateway_connected=lambda: connected, worker_alive=lambda: True, db=db)
    assert (await liveness.report()).alive
    connected = False
    assert (await liveness.report()).body()["failing"] == ["gateway"]
    await db.close()
    failing = Liveness(gateway_connected=broken_probe, worker_alive=lambda: True, db=db)
    assert (await failing.report()).body()["failing"] == ["gateway", "database"]


async def test_the_web_process_is_alive_while_it_serves_and_the_database_answers(
    tmp_path: Path,
) -> None:
    db = await open_database(tmp_path / "web.sqlite3")
    serving = True
    liveness = WebLiveness(serving=lambda: serving, db=db)
    report = await liveness.report()
    assert report.alive and report.body() == {
        "status": "ok",
        "failing": [],
        "web": "ok",
        "database": "ok",
    }
    serving = False
    assert (await liveness.report()).body()["failing"] == ["web"]
    await db.close()
    assert (await liveness.report()).body()["failing"] == ["web", "database"]


async def test_a_database_held_past_the_timeout_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.ops.liveness.DATABASE_TIMEOUT", 0.05)
    db = await open_database(tmp_path / "busy.sqlite3")
    try:
        liveness = Liveness(gateway_connected=lambda: True, worker_alive=lambda: True, db=db)
        async with db.transaction():  # holds the connection's lock, as a long write would
            report = await liveness.report()
        assert report.body()["failing"] == ["database"]
    finally:
        await db.close()


async def test_the_endpoint_serves_metrics_and_health(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "endpoint.sqlite3")

    async def snapshot() -> Snapshot:
        return Snapshot(jobs_by_state={"running": 3}, due_waiting=2, in_flight=1)

    liveness = Liveness(gateway_connected=lambda: False, worker_alive=lambda: True, db=db)
    async with TestClient(TestServer(build_app(snapshot, liveness))) as client:
        scraped = await client.get("/metrics")
        assert scraped.status == 200
        assert scraped.headers["Content-Type"].startswith("text/plain; version=")
        text = await scraped.text()
        assert 'sora_jobs{state="running"} 3.0' in text
        assert 'sora_worker_queue_depth{stage="waiting"} 2.0' in text
        answer = await client.get("/healthz")
        assert answer.status == 503
        assert json.loads(await answer.text())["failing"] == ["gateway"]
    await db.close()
    metrics.DATABASE_COUNTS.snapshot = None


async def test_a_taken_port_ends_the_start_with_one_line(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "port.sqlite3")
    liveness = Liveness(gateway_connected=lambda: True, worker_alive=lambda: True, db=db)

    async def snapshot() -> Snapshot:
        return Snapshot()

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupFailure, match=f"Could not serve metrics on 127.0.0.1:{port}"):
            await start_metrics_server("127.0.0.1", port, snapshot, liveness)
    await db.close()
