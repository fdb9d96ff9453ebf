"""How big a post may be, and how long the provider's link to the original is offered."""

from __future__ import annotations

from bot.video.download import (
    DEFAULT_UPLOAD_LIMIT,
    PROVIDER_LINK_SECONDS,
    provider_link_while_valid,
    upload_limit,
)
from tests.support.jobs import make_job

MiB = 1024 * 1024


def test_the_limit_discord_reports_is_used_as_is() -> None:
    assert upload_limit(50 * MiB, None) == 50 * MiB  # a boosted server
    assert upload_limit(10 * MiB, None) == 10 * MiB


def test_without_a_reported_limit_discords_default_applies() -> None:
    assert upload_limit(None, None) == DEFAULT_UPLOAD_LIMIT == 10 * MiB


def test_the_operators_cap_only_ever_lowers_it() -> None:
    assert upload_limit(50 * MiB, 25 * MiB) == 25 * MiB
    assert upload_limit(8 * MiB, 25 * MiB) == 8 * MiB
    assert upload_limit(None, 5 * MiB) == 5 * MiB


def test_the_original_link_is_offered_only_while_young() -> None:
    job = make_job(result_url="https://cdn.example/v.mp4", finished_at=1000.0)
    assert provider_link_while_valid(job, 1000.0) == "https://cdn.example/v.mp4"
    assert provider_link_while_valid(job, 1000.0 + PROVIDER_LINK_SECONDS - 1) is not None
    assert provider_link_while_valid(job, 1000.0 + PROVIDER_LINK_SECONDS) is None
    assert provider_link_while_valid(make_job(result_url=None), 0.0) is None
