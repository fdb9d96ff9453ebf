"""The learned polling schedule, checked against simulated jobs whose times vary lognormally."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass

import pytest

from bot.config import DEFAULT_RIVYA_POLL
from bot.jobs.schedule import (
    HISTORY_MIN,
    PollPlan,
    expected_ready_seconds,
    next_check_delay,
)

CONFIGURED = tuple(float(gap) for gap in DEFAULT_RIVYA_POLL.split(","))
PLAN = PollPlan(CONFIGURED, min_gap=3.0, dense=5.0)
SPREAD = 0.3  # lognormal sigma: times vary about +-30 % around the typical one


@dataclass
class Outcome:
    requests_per_job: float
    fixed_requests_per_job: float  # a check every 5 s, for the same jobs
    delay_p50: float
    delay_p95: float


def lognormal_times(rng: random.Random, typical: float, count: int) -> list[float]:
    return [typical * math.exp(rng.gauss(0, SPREAD)) for _ in range(count)]


def simulate(plan: PollPlan, history: list[float], finishes: list[float]) -> Outcome:
    """Follow each job with the schedule: checks until one falls at or after its finish."""
    requests, fixed, delays = [], [], []
    for finish in finishes:
        elapsed, checks = 0.0, 0
        while elapsed < finish:
            elapsed += next_check_delay(plan, history, elapsed, checks)
            checks += 1
        requests.append(checks)
        fixed.append(math.ceil(finish / 5))
        delays.append(elapsed - finish)
    delays.sort()
    return Outcome(
        statistics.mean(requests),
        statistics.mean(fixed),
        statistics.median(delays),
        delays[int(0.95 * len(delays))],
    )


@pytest.mark.parametrize("typical", [90.0, 180.0, 300.0])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_after_30_jobs_news_is_sooner_for_half_the_requests(typical: float, seed: int) -> None:
    rng = random.Random(seed)
    history = lognormal_times(rng, typical, 30)
    outcome = simulate(PLAN, history, lognormal_times(rng, typical, 2000))
    assert outcome.delay_p50 <= 4.0
    assert outcome.delay_p95 <= 10.0
    assert outcome.requests_per_job <= 0.5 * outcome.fixed_requests_per_job


@pytest.mark.parametrize("known", [0, 1, HISTORY_MIN - 1])
def test_with_too_little_history_the_configured_schedule_is_used_exactly(known: int) -> None:
    history = [120.0] * known
    for polls_done in range(40):
        expected = CONFIGURED[min(polls_done, len(CONFIGURED) - 1)]
        assert next_check_delay(PLAN, history, polls_done * 7.0, polls_done) == expected


def test_the_learned_schedule_beats_the_configured_one_on_the_same_jobs() -> None:
    rng = random.Random(7)
    history = lognormal_times(rng, 180, 30)
    finishes = lognormal_times(rng, 180, 1000)
    learned = simulate(PLAN, history, finishes)
    configured = simulate(PLAN, [], finishes)
    assert learned.delay_p50 < configured.delay_p50 / 2
    assert learned.delay_p95 < configured.delay_p95 / 2


def test_checks_are_sparse_before_the_likely_window_and_dense_inside_it() -> None:
    history = lognormal_times(random.Random(3), 180, 30)
    first = next_check_delay(PLAN, history, 0.0, 0)
    assert first == 2 * CONFIGURED[-1]  # nothing is likely yet: twice the configured tail
    typical = expected_ready_seconds(history)
    assert typical is not None
    assert next_check_delay(PLAN, history, typical, 10) == pytest.approx(5.0, abs=0.1)


def test_never_more_often_than_the_minimum_gap() -> None:
    slow_provider = PollPlan(CONFIGURED, min_gap=20.0, dense=5.0)
    rng = random.Random(5)
    history = lognormal_times(rng, 60, 30)
    for step in range(400):
        assert next_check_delay(slow_provider, history, step * 0.5, step) >= 20.0
        assert next_check_delay(PLAN, history, step * 0.5, step) >= 3.0


def test_every_gap_scales_with_the_settings() -> None:
    """A benchmark compresses time by scaling every setting: the schedule scales with them."""
    scale = 0.05
    fast = PollPlan(tuple(gap * scale for gap in CONFIGURED), 3.0 * scale, 5.0 * scale)
    history = lognormal_times(random.Random(11), 150, 30)
    for elapsed in (0.0, 40.0, 100.0, 150.0, 220.0, 400.0):
        real = next_check_delay(PLAN, history, elapsed, 5)
        compressed = next_check_delay(fast, [time * scale for time in history], elapsed * scale, 5)
        assert compressed == pytest.approx(real * scale)


def test_expected_ready_time_is_the_typical_time_once_known() -> None:
    assert expected_ready_seconds([100.0] * (HISTORY_MIN - 1)) is None
    history = [float(value) for value in range(100, 100 + HISTORY_MIN * 2)]
    assert expected_ready_seconds(history) == pytest.approx(statistics.median(history))
