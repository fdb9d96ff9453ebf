"""Reading what a member typed in a video form, leniently and in any of the bot's languages."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot import i18n
from bot.errors import Refusal
from bot.jobs.video_form import (
    FORM_TEXT_LIMIT,
    FormChoices,
    VideoForm,
    form_prompt_limit,
    orientation_choices,
    orientation_for_picture,
    orientation_word,
    prompt_fits_form,
    read_choices,
)
from bot.providers.profiles import RIVYA_SORA_2_PRO


def read(orientation: str, duration: str) -> FormChoices:
    return read_choices(RIVYA_SORA_2_PRO, VideoForm("a cat", orientation, duration))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("portrait", "portrait"),
        ("  Landscape ", "landscape"),
        ("LANDSCAPE", "landscape"),
        ("直式", "portrait"),
        ("橫式", "landscape"),
        ("竖屏", "portrait"),
        ("横屏", "landscape"),
        ("直向", "portrait"),
        ("縱向", "portrait"),
        ("橫向", "landscape"),
        ("纵向", "portrait"),
        ("横向", "landscape"),
        ("Vertical", "portrait"),
        ("horizontal", "landscape"),
    ],
)
def test_orientation_in_any_language(typed: str, expected: str) -> None:
    assert read(typed, "10").orientation == expected


@pytest.mark.parametrize("locale", i18n.available_locales())
def test_every_word_the_catalogs_show_for_an_orientation_is_understood(locale: str) -> None:
    # The words /sora's description uses, "Portrait (vertical) or landscape (horizontal)",
    # 直式（直向）或橫式（橫向）: the first two mean portrait, the last two landscape.
    described = i18n.translation("sora.option.orientation", locale)
    assert described is not None
    words = [w for w in re.split(r"[\s()（）]+|\bor\b|或", described) if w]
    assert len(words) == 4, words
    assert [read(word, "10").orientation for word in words] == ["portrait"] * 2 + ["landscape"] * 2
    # ... and the words of /sora's choices and of the form, in every language.
    for orientation in ("portrait", "landscape"):
        for key in (f"sora.choice.{orientation}", f"iterate.orientation.{orientation}"):
            word = i18n.translation(key, locale)
            assert word is not None and read(word, "10").orientation == orientation


@pytest.mark.parametrize("typed", ["10", " 15 ", "10s", "15 seconds", "10 秒", "15sec"])
def test_duration_with_or_without_a_unit(typed: str) -> None:
    assert read("portrait", typed).duration in (10, 15)


def test_a_wrong_orientation_names_the_choices_in_the_members_language() -> None:
    with pytest.raises(Refusal) as refused:
        read("square", "10")
    assert refused.value.text_for("zh-TW") == (
        "我看不懂「square」是哪種畫面方向，請填寫橫式或直式。沒有扣除任何額度。"
    )
    assert "请填写横屏或竖屏。" in refused.value.text_for("zh-CN")
    assert "Please write landscape or portrait." in refused.value.text_for("en-US")


@pytest.mark.parametrize("typed", ["12", "ten", "", "10 minutes", "-10"])
def test_a_wrong_duration_names_what_the_model_makes(typed: str) -> None:
    with pytest.raises(Refusal) as refused:
        read("portrait", typed)
    assert "Sora 2 Pro 只能生成 10 或 15 秒的视频" in refused.value.text_for("zh-CN")
    assert "makes videos of 10 or 15 seconds" in str(refused.value)


def test_what_was_typed_is_echoed_short_and_harmless() -> None:
    with pytest.raises(Refusal) as refused:
        read("<@&1> **" + "x" * 100, "10")
    echoed = str(refused.value)
    assert "<@&1>" not in echoed and "**" not in echoed and "x" * 41 not in echoed


def test_words_prefilled_in_the_form() -> None:
    assert orientation_word("portrait", "zh-CN") == "竖屏"
    assert orientation_word("landscape", "fr") == "landscape"
    assert i18n.render(orientation_choices(RIVYA_SORA_2_PRO), "zh-TW") == "橫式或直式"
    assert i18n.render(orientation_choices(RIVYA_SORA_2_PRO), "en") == "landscape or portrait"


def test_a_form_holds_prompts_up_to_its_limit() -> None:
    assert prompt_fits_form(RIVYA_SORA_2_PRO, "x" * FORM_TEXT_LIMIT)
    assert not prompt_fits_form(RIVYA_SORA_2_PRO, "x" * (FORM_TEXT_LIMIT + 1))
    # A model taking shorter prompts than a form holds lowers the form's limit.
    terse = replace(RIVYA_SORA_2_PRO, prompt_limit=1000)
    assert form_prompt_limit(terse) == 1000 and not prompt_fits_form(terse, "x" * 1001)


def test_the_form_suggests_the_pictures_shape() -> None:
    assert orientation_for_picture(RIVYA_SORA_2_PRO, 1920, 1080) == "landscape"
    assert orientation_for_picture(RIVYA_SORA_2_PRO, 1080, 1920) == "portrait"
    assert orientation_for_picture(RIVYA_SORA_2_PRO, 512, 512) == "portrait"
    assert orientation_for_picture(RIVYA_SORA_2_PRO, None, None) == "portrait"
