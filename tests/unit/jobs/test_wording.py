"""What members read: safe, short enough for Discord, and faithful to the job."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot import i18n
from bot.jobs.wording import (
    failure_reason,
    neutralise_mentions,
    outcome_notice,
    result_text,
    state_line,
    status_text,
    timing_line,
)
from bot.models import FailureCode, JobState
from bot.pages import MESSAGE_CHARS
from bot.providers.profiles import RIVYA_SORA_2_PRO
from tests.support.jobs import make_job


def test_mentions_cannot_ping() -> None:
    text = neutralise_mentions("hi @everyone and @here and <@123> <@&456> <#789>")
    for live in ("@everyone", "@here", "<@123>", "<@&456>", "<#789>"):
        assert live not in text


def test_prompt_markdown_is_shown_not_applied() -> None:
    text = status_text(
        make_job(prompt="[click](https://evil.example) ```code``` **bold**"), RIVYA_SORA_2_PRO
    )
    assert "[click](https" not in text and "```" not in text and "**bold**" not in text
    assert "\\[click\\]" in text


def test_longest_prompt_and_reason_still_fit_one_message() -> None:
    job = make_job(
        prompt=("*_`[" * 2500),  # 10,000 characters that all need escaping
        state=JobState.FAILED,
        error_message="moderation " * 300,
    )
    text = status_text(job, RIVYA_SORA_2_PRO)
    assert len(text) <= MESSAGE_CHARS
    assert text.rstrip().endswith("It did not count against your quota.")


def test_progress_and_settings_are_shown() -> None:
    job = replace(make_job(progress=42), image_name="ref.png")
    text = status_text(job, RIVYA_SORA_2_PRO)
    assert "Generating… 42%" in text
    assert "Portrait · 10 s · Standard · Sora 2 Pro · with reference image" in text


def test_job_paths_are_not_shown(tmp_path: Path) -> None:
    text = status_text(
        make_job(image_path=tmp_path / "secret.png", image_name="x.png"), RIVYA_SORA_2_PRO
    )
    assert str(tmp_path) not in text


def test_the_status_shows_when_the_job_started_as_a_discord_timestamp() -> None:
    text = status_text(make_job(created_at=1_700_000_000.7), RIVYA_SORA_2_PRO)
    assert "-# Started <t:1700000000:R> (<t:1700000000:f>)" in text
    assert "expected" not in text


def test_an_expected_ready_time_is_shown_while_the_job_runs() -> None:
    job = make_job(created_at=1_700_000_000.0)
    text = status_text(job, RIVYA_SORA_2_PRO, expected_ready_at=1_700_000_300.9)
    assert (
        "-# Started <t:1700000000:R> · expected ready <t:1700000300:R> (<t:1700000300:t>)" in text
    )
    # Once the video is there, the estimate is no longer news.
    done = status_text(
        replace(job, state=JobState.DELIVERED), RIVYA_SORA_2_PRO, expected_ready_at=1_700_000_300
    )
    assert "expected" not in done and "<t:1700000000:R>" in done


def test_the_time_line_in_the_members_language() -> None:
    job = make_job(created_at=100.0, state=JobState.QUEUED)
    # The timestamp first, as Chinese says it: "3 分鐘前開始".
    assert timing_line(job, 400.0, "zh-TW") == "<t:100:R>開始 · 預計 <t:400:R>完成（<t:400:t>）"
    assert timing_line(job, None, "zh-CN") == "<t:100:R>开始（<t:100:f>）"


def test_a_job_speaks_its_servers_language_in_public() -> None:
    job = make_job(public_locale="zh-TW", progress=42, image_name="cat.png")
    text = status_text(job, RIVYA_SORA_2_PRO)
    assert text.startswith("🎬 **影片任務 #7**：<@3>")
    assert "直式 · 10 秒 · 標準 · Sora 2 Pro · 附參考圖片" in text
    assert "**狀態：**🎞️ 產生中… 42%" in text
    simplified = status_text(replace(job, public_locale="zh-CN"), RIVYA_SORA_2_PRO)
    assert "竖屏 · 10 秒 · 标准 · Sora 2 Pro · 带参考图" in simplified
    assert "**状态：**🎞️ 生成中… 42%" in simplified
    # A job accepted before languages existed (NULL) speaks English, as it did.
    english = status_text(replace(job, public_locale=None), RIVYA_SORA_2_PRO)
    assert "Portrait · 10 s · Standard · Sora 2 Pro · with reference image" in english
    assert result_text(job, None) == "<@3> 你的影片（任務 #7）完成了。"


def test_the_bots_own_failure_reasons_are_translated_and_the_services_quoted() -> None:
    expired = make_job(
        state=JobState.EXPIRED,
        error_code="deadline",
        error_message="The video was not ready within 30 minute(s), so the job was stopped.",
        created_at=0.0,
        deadline_at=1800.0,
    )
    assert outcome_notice(expired).endswith(
        "⌛ Expired: The video was not ready within 30 minutes, so the job was stopped. "
        "It did not count against your quota."
    )
    assert "影片沒有在 30 分鐘內完成" in outcome_notice(replace(expired, public_locale="zh-TW"))
    one_minute = replace(expired, deadline_at=60.0)
    assert "within 1 minute," in state_line(one_minute)
    refused = make_job(
        state=JobState.FAILED,
        error_code="validation_failed",
        error_message="The provider rejected the request: prompt too long.",
        public_locale="zh-CN",
    )
    # The service's words are quoted and the sentence ends before the next one starts.
    assert state_line(refused) == (
        "❌ 失败：视频服务回复“The provider rejected the request: prompt too long.”。"
        "这次不会扣除你的额度。"
    )
    assert outcome_notice(replace(refused, public_locale="zh-TW")) == (
        "<@3> 任務 #7 ❌ 失敗：影片服務回覆"
        "「The provider rejected the request: prompt too long.」。這次不會扣除你的額度。"
    )
    assert state_line(refused, "en").startswith("❌ Failed: The provider rejected the request")


def test_a_refused_key_a_lost_task_and_a_missing_reason_are_said_in_each_language() -> None:
    misconfigured = make_job(
        state=JobState.FAILED,
        error_code="provider_misconfigured",
        error_message="The video service is misconfigured (the API key was refused).",
        public_locale="zh-TW",
    )
    assert "影片服務拒絕了機器人的金鑰" in state_line(misconfigured)
    lost = replace(misconfigured, error_code="not_found", public_locale="zh-CN")
    assert "视频服务已找不到这个任务。" in state_line(lost)
    silent = make_job(
        state=JobState.FAILED, error_code="generation_failed", error_message="", public_locale=None
    )
    assert "The video service gave no reason." in state_line(silent)
    assert "影片服務沒有說明原因。" in state_line(replace(silent, public_locale="zh-TW"))


@pytest.mark.parametrize("code", list(FailureCode))
def test_every_failure_code_has_words_in_every_language(code: FailureCode) -> None:
    job = make_job(
        state=JobState.EXPIRED if code is FailureCode.DEADLINE else JobState.FAILED,
        error_code=code.value,
        error_message="Scene 3 could not be drawn.",
        deadline_at=1800.0,
    )
    reason = failure_reason(job)
    if code.quotes_the_service:
        assert reason.key == "status.reason.service"
    else:
        assert reason.key == f"status.reason.{code.value}"  # the bot's own words
    english = i18n.render(reason, "en")
    for locale in i18n.available_locales():
        assert i18n.catalog(locale).lookup(reason.key, reason.count), f"{locale}: {reason.key}"
        if locale != "en":
            assert i18n.render(reason, locale) != english, f"{locale}: {reason.key} in English"


def test_a_code_of_the_services_own_is_quoted_not_mistaken_for_the_bots() -> None:
    assert FailureCode.of("validation_failed") is None and FailureCode.of(None) is None
    assert FailureCode.of("not_found") is FailureCode.TASK_NOT_FOUND
    refused = make_job(
        state=JobState.FAILED, error_code="http_400", error_message="Bad size.", public_locale=None
    )
    assert failure_reason(refused) == i18n.Text("status.reason.service", detail="Bad size.")
