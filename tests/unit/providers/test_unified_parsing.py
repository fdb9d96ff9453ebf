"""Every gateway variant of a query answer is normalised the same way."""

from __future__ import annotations

import pytest

from bot.providers.unified import STATUS_SPELLINGS, error_message, parse_task

URL = "https://cdn.example/v.mp4"


@pytest.mark.parametrize(
    ("spelling", "state"),
    [
        *[(s, "queued") for s in ("pending", "queued", "not_start", "submitted")],
        *[(s, "processing") for s in ("processing", "in_progress", "running", "generating")],
        *[(s, "failed") for s in ("failed", "failure", "error", "cancelled", "expired")],
    ],
)
def test_status_spellings(spelling: str, state: str) -> None:
    assert STATUS_SPELLINGS[spelling] == state
    assert parse_task({"status": spelling.upper()}).state == state


@pytest.mark.parametrize("spelling", ["completed", "succeeded", "success"])
def test_success_only_with_a_url(spelling: str) -> None:
    assert parse_task({"status": spelling, "video_url": URL}).video_url == URL
    # "Done" without a link is not done yet: keep polling.
    assert parse_task({"status": spelling, "video_url": None}).state == "processing"


def test_unknown_status_keeps_polling() -> None:
    assert parse_task({"status": "warming_up"}).state == "processing"
    assert parse_task({}).state == "processing"


@pytest.mark.parametrize(
    ("answer", "progress"),
    [
        ({"status": "processing", "progress": "0"}, 0),
        ({"status": "processing", "progress": "45"}, 45),
        ({"status": "processing", "progress": 73}, 73),
        ({"status": "processing", "detail": {"pending_info": {"progress_pct": 0.42}}}, 42),
        ({"status": "processing", "progress": "n/a"}, None),
        ({"status": "processing", "progress": 250}, 100),
    ],
)
def test_progress_formats(answer: dict, progress: int | None) -> None:
    assert parse_task(answer).progress == progress


@pytest.mark.parametrize(
    "answer",
    [
        {"video_url": URL},
        {"detail": {"url": URL}},
        {"detail": {"draft_info": {"downloadable_url": URL}}},
        {"detail": {"draft_info": {"encodings": {"source": {"path": URL}}}}},
    ],
)
def test_video_url_locations(answer: dict) -> None:
    assert parse_task({"status": "completed", **answer}).video_url == URL


def test_video_url_order_prefers_the_top_level() -> None:
    answer = {"status": "success", "video_url": URL, "detail": {"url": "https://other/x.mp4"}}
    assert parse_task(answer).video_url == URL


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"fail_reason": "Upstream timeout"}, "Upstream timeout"),
        ({"error": "content too long"}, "content too long"),
        ({"error": {"message": "bad prompt", "code": "x"}}, "bad prompt"),
        ({"error": {"code": "sentinel_block"}}, "refused the prompt before generating"),
        ({"detail": {"pending_info": {"failure_reason": "GPU lost"}}}, "GPU lost"),
        (
            {"detail": {"pending_info": {"moderation_result": "moderation_blocked"}}},
            "moderation stopped the video",
        ),
        (
            {"detail": {"pending_info": {"moderation_result": {"flagged": True}}}},
            "moderation stopped the video",
        ),
        ({}, "gave no reason"),
    ],
)
def test_failure_reasons(answer: dict, reason: str) -> None:
    status = parse_task({"status": "failed", **answer})
    assert status.state == "failed"
    assert reason in (status.failure_reason or "")


def test_error_message_order() -> None:
    assert error_message({"error": {"message": "a"}, "message": "b"}) == "a"
    assert error_message({"message": "b", "error": "c"}) == "b"
    assert error_message({"error": "c"}) == "c"
    assert error_message("<html>") is None
