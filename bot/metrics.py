"""The bot's Prometheus metrics: the metric objects and the small functions that record events.

Events are recorded where they happen (submission, the provider HTTP calls, the worker's
delivery) whether or not `METRICS_PORT` is set; recording is a few dictionary updates. Counts
that live in the database (jobs by state, due jobs) are read once per scrape by `refresh()`,
which the HTTP endpoint (bot/ops/metrics_server.py) awaits before rendering.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.models import JobState

log = logging.getLogger(__name__)

# A private registry: only the bot's own metrics, no process or platform collectors.
REGISTRY = CollectorRegistry(auto_describe=True)

SUBMITS = Counter("sora_submits", "Jobs accepted by /sora and re-runs.", registry=REGISTRY)
REFUSALS = Counter(
    "sora_refusals",
    "Requests refused before a job was made, by reason (see bot/errors.py: RefusalKind).",
    ["reason"],
    registry=REGISTRY,
)
SLOW_ANSWERS = Counter(
    "sora_slow_answers",
    "Commands whose checks outlasted the wait for a first answer, so the bot acknowledged "
    "privately first (slow image downloads or a slow database).",
    registry=REGISTRY,
)
PROVIDER_REQUESTS = Histogram(
    "sora_provider_request_seconds",
    "Calls to the video service: how long they took, by operation and outcome.",
    ["provider", "operation", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "sora_deliveries", "Finished videos posted, by kind.", ["kind"], registry=REGISTRY
)
CREDITS = Gauge(
    "sora_provider_credits",
    "Credits left on the video service account, at its last check (Rivya only).",
    ["provider"],
    registry=REGISTRY,
)

# Provider operations (the `operation` label).
CREATE, STATUS, UPLOAD, CREDITS_CHECK = "create", "status", "upload", "credits"
CATALOGUE = "catalogue"  # the model list, read by the health checks
# How a `job.delivery` value is named in the `kind` label.
_DELIVERY_KINDS = {"file": "upload", "fitted": "fitted"}
# Longest a scrape waits for the database counts; stale counts are better than a hung scrape.
REFRESH_TIMEOUT = 2.0


def job_submitted() -> None:
    SUBMITS.inc()


def job_refused(reason: str) -> None:
    REFUSALS.labels(reason=reason).inc()


def answered_slowly() -> None:
    SLOW_ANSWERS.inc()


def delivered(delivery: str) -> None:
    """A result was posted; `delivery` is what the job records (file, link, ...)."""
    DELIVERIES.labels(kind=_DELIVERY_KINDS.get(delivery, delivery)).inc()


def credits_left(provider: str, credits: float) -> None:
    CREDITS.labels(provider=provider).set(credits)


@dataclass
class ProviderCall:
    """Filled in by the caller once the service answers; see `provider_request`."""

    outcome: str | None = None

    def answered(self, status: int) -> None:
        self.outcome = outcome_for_status(status)


def outcome_for_status(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "rate_limited"
    if 400 <= status < 500:
        return "client_error"
    if status >= 500:
        return "server_error"
    return "unexpected_status"


@contextmanager
def provider_request(provider: str, operation: str) -> Iterator[ProviderCall]:
    """Time one HTTP call to the video service and count it by outcome.

    Wrap the request and the reading of its answer; call `answered(status)` once the status is
    known. Without an answer the outcome comes from the exception: timeout or unreachable."""
    call = ProviderCall()
    started = time.perf_counter()
    try:
        yield call
    except asyncio.CancelledError:
        raise  # the bot is stopping: not something the service did
    except BaseException as error:
        if call.outcome is None:
            call.outcome = _outcome_for_error(error)
        _observe(provider, operation, call, started)
        raise
    _observe(provider, operation, call, started)


def _observe(provider: str, operation: str, call: ProviderCall, started: float) -> None:
    outcome = call.outcome or "ok"
    PROVIDER_REQUESTS.labels(provider=provider, operation=operation, outcome=outcome).observe(
        time.perf_counter() - started
    )


def _outcome_for_error(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, aiohttp.ClientError):
        return "unreachable"
    return "error"


# -- counts read from the database at scrape time --------------------------------------------


@dataclass
class Snapshot:
    jobs_by_state: dict[str, int] = field(default_factory=dict)
    due_waiting: int = 0  # due jobs the worker has not picked up yet
    in_flight: int = 0  # jobs the worker is moving right now
    # DAILY_VIDEO_BUDGET: videos accepted today and the budget (None: no budget set).
    budget_used: int | None = None
    budget_limit: int | None = None


class DatabaseCounts(Collector):
    """Jobs by state and the worker's queue, as last read by `refresh()`."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def collect(self) -> Iterable[Metric]:
        snapshot = self.snapshot
        if snapshot is None:
            return []
        jobs = GaugeMetricFamily("sora_jobs", "Jobs in the database, by state.", labels=["state"])
        for state in JobState:
            jobs.add_metric([state.value], snapshot.jobs_by_state.get(state.value, 0))
        queue = GaugeMetricFamily(
            "sora_worker_queue_depth",
            "Jobs due for a worker step: waiting to be picked up, or being moved now.",
            labels=["stage"],
        )
        queue.add_metric(["waiting"], snapshot.due_waiting)
        queue.add_metric(["in_flight"], snapshot.in_flight)
        if snapshot.budget_used is None or snapshot.budget_limit is None:
            return [jobs, queue]
        used = GaugeMetricFamily(
            "sora_daily_budget_used",
            "Videos accepted today across the deployment (held or charged), of "
            "DAILY_VIDEO_BUDGET; the day is QUOTA_TIMEZONE's.",
            value=snapshot.budget_used,
        )
        limit = GaugeMetricFamily(
            "sora_daily_budget",
            "DAILY_VIDEO_BUDGET: the most videos accepted in a day.",
            value=snapshot.budget_limit,
        )
        return [jobs, queue, used, limit]


DATABASE_COUNTS = DatabaseCounts()
REGISTRY.register(DATABASE_COUNTS)

SnapshotSource = Callable[[], Awaitable[Snapshot]]


async def refresh(read: SnapshotSource) -> None:
    """Read the database counts for this scrape; on failure the previous reading stays."""
    try:
        async with asyncio.timeout(REFRESH_TIMEOUT):
            DATABASE_COUNTS.snapshot = await read()
    except Exception as error:  # a scrape must still answer with what it has
        log.warning("metrics: could not read job counts (%s)", type(error).__name__)


def exposition() -> bytes:
    """Every metric in Prometheus' text format."""
    return generate_latest(REGISTRY)
