"""When to check a running job: a schedule learned from recent generation times.

How long a video takes depends mostly on the model and the duration, and varies around a typical
value for each. With enough recent completion times for a (provider, model, duration), checks
are sparse while completion is unlikely and dense while it is likely:

- a lognormal is fitted to the history; its 1 %..99 % range is the likely window;
- before the window: checks twice the configured schedule's last gap apart, the last of them
  exactly where the window starts;
- inside it: `dense` gaps at the typical time, widening as finishing becomes less likely
  (inversely to the fitted density), to at most 1.8 x `dense`;
- after it: gaps doubling from `dense` up to the configured last gap.

For times spread about +-30 % this detects a finished video about 3.3 s after it was ready at
the median and 8 s at p95 (with a 5 s `dense`), for under half the requests of a 5 s poll
(tests/unit/jobs/test_schedule.py simulates it).

With too little history the configured schedule is used exactly, so the bot is never worse
than its settings. Every gap comes from settings (a benchmark compresses time by scaling them),
none is ever shorter than `min_gap`, and a provider's `Retry-After` is honoured by the worker's
retry path, which this schedule never shortens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Completion times kept per (provider, model, duration), and the least needed to use them.
HISTORY_KEEP = 50
HISTORY_MIN = 10

# The likely window, in standard deviations of log(time) from the mean: 2.33 covers 98 % of jobs.
WIDE = 2.33
# The widest gap inside the window, in `dense` gaps: it bounds how late a finish is seen there.
EDGE = 1.8


@dataclass(frozen=True)
class PollPlan:
    """The settings a schedule is made from."""

    configured: tuple[float, ...]  # the configured gaps; the last one repeats
    min_gap: float  # never check one task more often than this
    dense: float  # the gap while completion is most likely

    @property
    def sparse(self) -> float:
        """The gap while completion is unlikely: the configured schedule's tail."""
        return max(self.configured[-1], self.dense_gap)

    @property
    def dense_gap(self) -> float:
        return max(self.dense, self.min_gap)

    def configured_delay(self, polls_done: int) -> float:
        """The configured gap before check number `polls_done + 1`."""
        gap = self.configured[min(polls_done, len(self.configured) - 1)]
        return max(gap, self.min_gap)


def quantile(ordered: Sequence[float], q: float) -> float:
    """The `q` quantile of sorted values, interpolating between neighbours."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def next_check_delay(
    plan: PollPlan, history: Sequence[float], elapsed: float, polls_done: int
) -> float:
    """Seconds from now until the next status check of a job submitted `elapsed` seconds ago
    that has had `polls_done` checks; `history` holds recent completion times in seconds."""
    if len(history) < HISTORY_MIN:
        return plan.configured_delay(polls_done)
    window = fit(history)
    dense = plan.dense_gap
    low, high = window.at(-WIDE), window.at(WIDE)
    if elapsed < low:
        # Unlikely yet (1 % of jobs): checks twice the configured tail apart, landing exactly
        # on the start of the likely window.
        gap = min(2 * plan.sparse, low - elapsed)
    elif elapsed <= high:
        # Gaps widen as the chance of finishing thins out (inversely to the density): dense at
        # the typical time, at most EDGE x dense, so a finish here is never seen later.
        z = window.z(elapsed)
        gap = min(dense * math.exp(z * z / 2), EDGE * dense, plan.sparse)
    else:
        # Later than almost every recent job: back off towards the configured tail.
        overdue = elapsed - high
        gap = min(plan.sparse, dense * 2 ** (1 + int(overdue // (4 * dense))))
    return max(gap, plan.min_gap)


@dataclass(frozen=True)
class Fit:
    """A lognormal fitted to completion times: 30 samples give stable window edges, where
    empirical 1 % and 99 % quantiles would just be the extremes."""

    mean: float  # of log(seconds)
    spread: float  # standard deviation of log(seconds)

    def at(self, z: float) -> float:
        """The time `z` standard deviations from the typical one, in seconds."""
        return math.exp(self.mean + z * self.spread)

    def z(self, seconds: float) -> float:
        return (math.log(max(seconds, 1e-3)) - self.mean) / max(self.spread, 1e-6)


def fit(history: Sequence[float]) -> Fit:
    logs = [math.log(max(value, 1e-3)) for value in history]
    mean = sum(logs) / len(logs)
    spread = math.sqrt(sum((value - mean) ** 2 for value in logs) / max(1, len(logs) - 1))
    return Fit(mean, spread)


def expected_ready_seconds(history: Sequence[float]) -> float | None:
    """The typical generation time (the median of the history), or None with too little."""
    if len(history) < HISTORY_MIN:
        return None
    return quantile(sorted(history), 0.5)
