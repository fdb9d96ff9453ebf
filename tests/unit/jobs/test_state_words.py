"""Every job state has one icon and its words in every language, and each place members read
a state says it the same way."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot import i18n
from bot.jobs.state_words import STATE_WORDS, state_icon, state_label, state_sentence
from bot.jobs.wording import failure_reason, state_line
from bot.models import FailureCode, JobState
from tests.unit.jobs.test_wording import make_job

LOCALES = i18n.available_locales()


def test_every_state_has_an_icon_and_words() -> None:
    assert set(STATE_WORDS) == set(JobState)
    for state, words in STATE_WORDS.items():
        assert words.icon.strip() and not any(c.isalnum() for c in words.icon), state


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("state", list(JobState))
def test_every_state_is_said_in_every_language(state: JobState, locale: str) -> None:
    words = STATE_WORDS[state]
    keys = [
        words.label,
        words.sentence,
        words.label_progress,
        words.sentence_progress,
        words.label_position,
        words.sentence_position,
        words.sentence_by_bot,
        words.sentence_by_bot_reason,
    ]
    for key in filter(None, keys):
        assert i18n.translation(key, locale), f"{locale}: {key} is missing"
    # The sentence places the icon, and the reason exactly when the state tells one.
    sentence = i18n.translation(words.sentence, locale) or ""
    assert "{icon}" in sentence
    assert ("{reason}" in sentence) is words.tells_reason
    if words.sentence_progress is not None:
        assert "{progress}" in (i18n.translation(words.sentence_progress, locale) or "")
    if words.label_progress is not None:
        assert "{progress}" in (i18n.translation(words.label_progress, locale) or "")


@pytest.mark.parametrize("state", list(JobState))
def test_the_status_line_starts_with_the_states_icon(state: JobState) -> None:
    job = make_job(state=state, error_message="it broke")
    for locale in LOCALES:
        assert state_line(job, locale).startswith(STATE_WORDS[state].icon + " ")


def test_progress_is_said_while_generating_only() -> None:
    running = make_job(state=JobState.RUNNING, progress=42)
    assert i18n.render(state_label(running), "en") == "generating, 42%"
    assert i18n.render(state_sentence(running, failure_reason), "en") == "🎞️ Generating… 42%"
    assert i18n.render(state_label(replace(running, progress=None)), "zh-TW") == "產生中"
    queued = make_job(state=JobState.QUEUED, progress=42)
    assert i18n.render(state_label(queued), "en") == "starting"
    assert state_icon(queued) == "⏳"


def test_a_waiting_job_says_its_place_in_the_queue_when_known() -> None:
    waiting = make_job(state=JobState.WAITING)
    assert i18n.render(state_label(waiting), "en") == "waiting in the queue"
    assert i18n.render(state_label(waiting, 3), "en") == "waiting in the queue, number 3"
    assert i18n.render(state_label(waiting, 3), "zh-TW") == "排隊中，第 3 位"
    assert i18n.render(state_label(waiting, 3), "zh-CN") == "排队中，第 3 位"
    said = i18n.render(state_sentence(waiting, failure_reason, 2), "en")
    assert said == "🕒 Waiting in this server's queue: number 2 in line."
    assert i18n.render(state_sentence(waiting, failure_reason), "zh-TW") == (
        "🕒 正在伺服器的佇列中排隊…"
    )
    # A position is a waiting job's only: a job with a slot says where it is instead.
    assert i18n.render(state_label(make_job(state=JobState.RUNNING), 3), "en") == "generating"


def test_a_cancelled_job_names_who_cancelled_it() -> None:
    cancelled = make_job(state=JobState.CANCELLED, cancelled_by=99)
    said = i18n.render(state_sentence(cancelled, failure_reason), "en")
    assert said.startswith("🚫 Cancelled by <@99>: it never reached the video service")
    assert "取消" in i18n.render(state_sentence(cancelled, failure_reason), "zh-TW")
    assert i18n.render(state_label(cancelled), "zh-CN") == "已取消"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_position_and_the_canceller_are_in_every_language(locale: str) -> None:
    for state, words in STATE_WORDS.items():
        for key in filter(None, (words.label_position, words.sentence_position)):
            assert "{position}" in (i18n.translation(key, locale) or ""), (state, key)
        if words.names_canceller:
            assert "{member}" in (i18n.translation(words.sentence, locale) or ""), state


def test_a_job_the_bot_cancelled_itself_says_it_left_the_server() -> None:
    cancelled = make_job(state=JobState.CANCELLED, cancelled_by=None)
    said = i18n.render(state_sentence(cancelled, failure_reason), "en")
    assert said.startswith("🚫 Cancelled: the bot left this server before the video could start.")
    assert "<@" not in said  # nobody is named: nobody pressed Cancel
    assert "離開" in i18n.render(state_sentence(cancelled, failure_reason), "zh-TW")
    assert "离开" in i18n.render(state_sentence(cancelled, failure_reason), "zh-CN")


def test_a_job_the_bot_cancelled_for_its_prompt_says_why_in_every_language() -> None:
    cancelled = make_job(
        state=JobState.CANCELLED, cancelled_by=None, error_code=FailureCode.PROMPT_BLOCKED.value
    )
    said = {
        locale: i18n.render(state_sentence(cancelled, failure_reason), locale) for locale in LOCALES
    }
    assert said["en"] == (
        "🚫 Cancelled before it started: The prompt contains a word or phrase this server stopped "
        "allowing while the video waited. It never reached the video service, and it did not "
        "count against your quota."
    )
    assert said["zh-TW"].startswith(
        "🚫 開始前已取消：提示詞含有這個伺服器在影片排隊期間改為不允許的字詞。"
    )
    assert said["zh-CN"].startswith(
        "🚫 开始前已取消：提示词包含这个服务器在视频排队期间改为不允许的词语。"
    )
    assert i18n.render(state_label(cancelled), "en") == "cancelled"
