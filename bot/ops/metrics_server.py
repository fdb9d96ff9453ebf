"""The operator's HTTP endpoint (on when METRICS_PORT is set): `/metrics` and `/healthz`.

It runs on the bot's event loop; both answers are cheap (a few small queries)."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot import metrics
from bot.jobs.store import JobStore
from bot.ops.liveness import Liveness
from bot.ops.startup_failures import EXIT_FAILED, StartupFailure

log = logging.getLogger(__name__)


async def read_snapshot(jobs: JobStore, now: float, in_flight: Collection[int]) -> metrics.Snapshot:
    """The counts for one scrape; `in_flight` are the jobs the worker is moving right now."""
    budget = jobs.daily_budget
    return metrics.Snapshot(
        jobs_by_state=await jobs.count_by_state(),
        due_waiting=await jobs.count_due(now, excluding=in_flight),
        in_flight=len(in_flight),
        budget_used=await jobs.budget_used(now) if budget is not None else None,
        budget_limit=budget.limit if budget is not None else None,
    )


def build_app(snapshot: metrics.SnapshotSource, liveness: Liveness) -> web.Application:
    async def serve_metrics(_: web.Request) -> web.Response:
        await metrics.refresh(snapshot)
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def serve_liveness(_: web.Request) -> web.Response:
        report = await liveness.report()
        return web.Response(
            status=report.http_status,
            text=json.dumps(report.body()),
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_get("/metrics", serve_metrics)
    app.router.add_get("/healthz", serve_liveness)
    return app


async def start_metrics_server(
    host: str, port: int, snapshot: metrics.SnapshotSource, liveness: Liveness
) -> web.AppRunner:
    """Serve until `runner.cleanup()`; a taken or invalid address ends the start plainly."""
    runner = web.AppRunner(build_app(snapshot, liveness), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise StartupFailure(
            f"Could not serve metrics on {host}:{port} ({error.strerror or error}): set "
            "METRICS_PORT to a free port, or METRICS_HOST to an address of this machine.",
            EXIT_FAILED,
        ) from None
    except BaseException:
        await runner.cleanup()
        raise
    log.info("metrics and health on http://%s:%s/metrics and /healthz", host, port)
    return runner
