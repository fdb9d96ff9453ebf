"""Every benchmark in benchmarks/ runs to the end at a tiny size, as `python -m benchmarks.<name>`
runs it, and prints its figures and its baseline. So a change of an interface a benchmark uses
breaks this test, not a benchmark run months later. The figures themselves are not judged: at
these sizes they say nothing about speed (the README gives the full-size ones)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres_cluster import Databases

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 90.0  # seconds; each run takes a few (under pytest's own 120 s per test)
NUMBER = r"\d[\d,]*(?:\.\d+)?"  # a figure, never "nan"


@dataclass(frozen=True)
class Smoke:
    args: tuple[str, ...]
    figures: tuple[str, ...]  # patterns the output must hold: the figures, then the baseline
    postgres_runs: int = 0  # empty PostgreSQL databases given as --database-url, one per run


SMOKE = {
    "bench_admission": Smoke(
        ("5", "2"),
        (
            rf"elapsed: {NUMBER} s, {NUMBER} submits/s",
            rf"latency p50 {NUMBER} ms, p95 {NUMBER} ms",
            r"most holds for one member: \d+ \(quota 5\): no overdraw",
            rf"baseline, the same 10 submits one at a time: {NUMBER} submits/s",
        ),
    ),
    "bench_detection": Smoke(
        ("0.005", "40", "--fresh-waves", "1", "--history-jobs", "10", "--measured-jobs", "3"),
        (
            rf"no history .*\(9 jobs\): {NUMBER} status requests per job",
            rf"after 10 jobs of history .*\(3 jobs\): {NUMBER} status requests per job",
            rf"ready seen after {NUMBER} s p50, {NUMBER} s p95 "
            rf"\(5 s poll: {NUMBER} s, {NUMBER} s\)",
        ),
    ),
    "bench_download": Smoke(
        ("2",),
        (
            rf"downloaded 2 MiB in {NUMBER} s",
            rf"peak Python heap growth during the download: {NUMBER} MiB",
            rf"baseline, the same download of a 1 MiB video: peak heap growth {NUMBER} MiB",
        ),
    ),
    "bench_fit": Smoke(
        ("--seconds", "2", "--size", "320x180", "--limits", "0.3,0.2", "--idle-seconds", "0.3"),
        (
            rf"source: .*, 320x180, 2 s; decoding it alone takes {NUMBER} s; ticker stall with "
            rf"nothing running {NUMBER} ms",
            rf"fit into 0.3 MiB: {NUMBER} s .* luma PSNR {NUMBER} dB; .*longest stall {NUMBER} ms",
            rf"fit into 0.2 MiB: {NUMBER} s .* luma PSNR {NUMBER} dB",
        ),
    ),
    "bench_polling": Smoke(
        ("10", "5", "0.05"),
        (
            rf"status checks: {NUMBER} done of {NUMBER} scheduled \({NUMBER}x\)",
            rf"late by {NUMBER} s p50, {NUMBER} s p95",
            rf"a fixed 5 s poll of the same jobs would ask for {NUMBER} checks",
        ),
    ),
    "bench_queue": Smoke(
        ("0.005", "40", "--members", "6", "--heavy", "1", "--slots", "2", "--history-jobs", "0"),
        (
            r"videos delivered: \d+ of 8 \(no queue: \d+\)",
            r"refusals: \d+ \(no queue: \d+\)",
            rf"longest wait of a one-video member: {NUMBER} s \(no queue: {NUMBER} s\)",
            rf"Jain's fairness index of the members' waits: {NUMBER} \(no queue: {NUMBER}\)",
            rf"video service busy while anyone waited: {NUMBER}% \(no queue: {NUMBER}%\)",
        ),
    ),
    "bench_scale": Smoke(
        # Two processes on PostgreSQL: leases and the shared quota across processes; the
        # SQLite run in the same process is the baseline.
        ("--seconds", "0.3", "--members", "3", "--attempts", "6", "--processes", "2"),
        (
            rf"SQLite, 1 process +{NUMBER} submits/s +{NUMBER} checks/s .*: no overdraw",
            rf"PostgreSQL, 2 proc\. +{NUMBER} submits/s +{NUMBER} checks/s .*: no overdraw",
        ),
        postgres_runs=1,
    ),
    "bench_sora": Smoke(
        ("3", "2", "2"),
        (
            rf"through the bot, 3 rounds: {NUMBER} submits/s median",
            rf"limit of 5 new messages per 5 s in the channel: {NUMBER} submits/s",
            rf"CPU per /sora: bot process {NUMBER} ms",
            r"most holds for one member: \d+: never more than the quota",
            r"database round trips per accepted /sora: \d+",
            rf"baseline, the same 6 submits on the database alone .*: {NUMBER} submits/s median",
        ),
    ),
    "bench_web": Smoke(
        # Both engines (PostgreSQL: a full and an empty database), a page or three of each
        # list, two streams of a 1 MiB video.
        ("--jobs", "60", "--streams", "2", "--video-mib", "1"),
        (
            r"SQLite: 60 jobs in one server",
            rf"gallery +60 jobs +3 pages +p50 +{NUMBER} ms +p95 +{NUMBER} ms",
            rf"log +60 jobs +\d+ pages +p50 +{NUMBER} ms +p95 +{NUMBER} ms",
            rf"gallery +empty +60 pages +p50 +{NUMBER} ms",
            rf"by OFFSET instead of keyset: p50 {NUMBER} ms",
            rf"memory: {NUMBER} MiB idle, {NUMBER} MiB at most with 2 streams",
            r"PostgreSQL: 60 jobs in one server",
        ),
        postgres_runs=2,
    ),
    "bench_worker": Smoke(
        ("3",),
        (
            rf"3 jobs delivered \(3 in the database\) in {NUMBER} s: {NUMBER} jobs/s",
            rf"provider requests per job: {NUMBER}",
            rf"baseline, the provider client alone .*: {NUMBER} jobs/s",
        ),
    ),
}


def run_benchmark(name: str, args: list[str]) -> str:
    """Run `python -m benchmarks.<name> <args>` to its end; its output. Killed (with all it
    started: the bot, helper processes) if it runs past `RUN_TIMEOUT`."""
    process = subprocess.Popen(
        [sys.executable, "-m", f"benchmarks.{name}", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        output, errors = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, errors = process.communicate()
        pytest.fail(
            f"{name} did not finish within {RUN_TIMEOUT:g} s\n--- output ---\n{output}"
            f"\n--- errors ---\n{errors[-4000:]}"
        )
    assert process.returncode == 0, f"{name} failed\n{output}\n--- errors ---\n{errors[-4000:]}"
    return output


def test_every_benchmark_has_a_smoke_run() -> None:
    assert set(SMOKE) == {path.stem for path in (ROOT / "benchmarks").glob("bench_*.py")}


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_the_benchmark_runs_to_the_end_and_prints_its_figures(
    name: str, request: pytest.FixtureRequest
) -> None:
    smoke = SMOKE[name]
    args = list(smoke.args)
    if smoke.postgres_runs:
        databases: Databases = request.getfixturevalue("postgres")
        for _ in range(smoke.postgres_runs):
            args += ["--database-url", databases.empty()]
    output = run_benchmark(name, args)
    for figure in smoke.figures:
        assert re.search(figure, output), f"{name} did not print {figure!r}:\n{output}"
