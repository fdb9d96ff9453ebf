"""A command's first answer: the result itself when it is quick, a private "thinking…" before
Discord's 3 seconds run out when it is not."""

from __future__ import annotations

import asyncio

import pytest

from bot import metrics
from cogs import _replies
from cogs._replies import acknowledged_if_slow, seconds_to_answer
from tests.support.interactions import fake_interaction


def slow_answers() -> float:
    return metrics.REGISTRY.get_sample_value("sora_slow_answers_total") or 0.0


def test_the_answer_may_wait_a_moment_but_never_near_the_end_of_discords_window() -> None:
    assert seconds_to_answer(fake_interaction()) == pytest.approx(1.5, abs=0.05)
    assert seconds_to_answer(fake_interaction(age_seconds=1.2)) == pytest.approx(0.8, abs=0.05)
    assert seconds_to_answer(fake_interaction(age_seconds=10)) == 0.0
    # A clock here behind Discord's makes the interaction look new: still 1.5 s at most.
    assert seconds_to_answer(fake_interaction(age_seconds=-30)) == pytest.approx(1.5, abs=0.05)


async def test_quick_work_leaves_the_first_answer_to_the_caller() -> None:
    asked = fake_interaction()

    async def quick() -> str:
        await asyncio.sleep(0.01)
        return "job"

    assert await acknowledged_if_slow(asked, quick()) == "job"
    assert not asked.response.is_done()


async def test_slow_work_is_acknowledged_privately_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_replies, "ANSWER_WITHIN_SECONDS", 0.05)
    asked = fake_interaction()
    finished_after_ack: list[bool] = []

    async def slow() -> str:
        await asyncio.sleep(0.3)
        finished_after_ack.append(asked.response.is_done())
        return "job"

    slow_before = slow_answers()
    assert await acknowledged_if_slow(asked, slow()) == "job"
    assert asked.response.deferred == [{"ephemeral": True, "thinking": True}]
    assert finished_after_ack == [True]
    assert slow_answers() == slow_before + 1  # operators can see it


async def test_a_refusal_after_the_acknowledgement_still_reaches_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_replies, "ANSWER_WITHIN_SECONDS", 0.0)
    asked = fake_interaction()

    async def refused() -> str:
        await asyncio.sleep(0.05)
        raise LookupError("no such job")

    with pytest.raises(LookupError):
        await acknowledged_if_slow(asked, refused())
    assert asked.response.is_done()  # so the refusal goes as the follow-up
