from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import Refusal
from bot.jobs.validation import (
    store_image,
    validate_image_bytes,
    validate_image_size,
    validate_options,
    validate_prompt,
    validate_toggles,
)
from bot.providers.profiles import RIVYA_SORA_2_PRO as PROFILE
from bot.video.media_types import describe_size, sniff_image_type
from tests.support.images import JPEG, PNG, WEBP


def test_prompt_rules() -> None:
    assert validate_prompt(PROFILE, "  a cat  ") == "a cat"
    with pytest.raises(Refusal, match="empty"):
        validate_prompt(PROFILE, "   ")
    with pytest.raises(Refusal, match=r"10,001 characters.*at most 10,000"):
        validate_prompt(PROFILE, "x" * 10_001)
    assert len(validate_prompt(PROFILE, "x" * 10_000)) == 10_000


def test_invisible_characters_do_not_make_a_prompt() -> None:
    with pytest.raises(Refusal, match="empty"):
        validate_prompt(PROFILE, "\u200b\u200d\u2060\ufeff")
    # Trimmed at the ends like spaces; inside, kept as typed (emoji sequences, scripts).
    assert validate_prompt(PROFILE, "\ufeff\u200b a cat \u200b") == "a cat"
    family = "a family \U0001f468\u200d\U0001f469\u200d\U0001f467 at the beach"
    assert validate_prompt(PROFILE, family) == family


def test_options_follow_the_profile() -> None:
    assert validate_options(PROFILE, "portrait", 15, None) == "standard"
    assert validate_options(PROFILE, "landscape", 10, "high") == "high"
    with pytest.raises(Refusal, match="10 or 15 seconds"):
        validate_options(PROFILE, "portrait", 25, None)
    with pytest.raises(Refusal, match="Orientation must be one of: Landscape, Portrait") as bad:
        validate_options(PROFILE, "square", 10, None)
    assert bad.value.text_for("zh-TW") == "畫面方向必須是以下其中一種：橫式、直式。"
    with pytest.raises(Refusal, match="Quality must be one of: Standard, High") as bad:
        validate_options(PROFILE, "portrait", 10, "ultra")
    assert bad.value.text_for("zh-CN") == "画质必须是以下其中一种：标准、高画质。"


def test_an_option_the_model_lacks_is_named_in_the_readers_words() -> None:
    with pytest.raises(Refusal) as bad:
        validate_toggles(PROFILE, {"private": True, "mystery": False})
    assert bad.value.text_for("zh-TW") == "Sora 2 Pro 沒有以下選項：mystery、不公開。"
    assert str(bad.value) == "Sora 2 Pro has no such option: mystery, private."


@pytest.mark.parametrize(
    ("data", "mime"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")]
)
def test_images_are_judged_by_their_bytes(data: bytes, mime: str) -> None:
    assert sniff_image_type(data) == mime
    assert validate_image_bytes(PROFILE, data) == mime


def test_png_renamed_gif_passes_and_text_renamed_png_fails(tmp_path: Path) -> None:
    # The name plays no part: a PNG called .gif is a PNG, text called .png is not an image.
    mime = validate_image_bytes(PROFILE, PNG)
    stored = store_image(tmp_path, PNG, mime, "photo.gif", None)
    assert stored.filename == "photo.png" and stored.mime == "image/png"
    assert stored.path.read_bytes() == PNG
    with pytest.raises(Refusal, match="not a JPEG, PNG or WebP image") as refused:
        validate_image_bytes(PROFILE, b"hello, I am text pretending to be a picture")
    assert refused.value.text_for("zh-TW").startswith("這個檔案不是 JPEG、PNG 或 WebP 圖片")
    with pytest.raises(Refusal):
        validate_image_bytes(PROFILE, b"GIF89a" + b"\0" * 32)


def test_oversize_image_is_refused_with_the_limit() -> None:
    with pytest.raises(Refusal, match="the limit is 10 MB"):
        validate_image_bytes(PROFILE, PNG + b"\0" * (10 * 1024 * 1024))


def test_the_image_limit_is_the_providers_10_mb_in_decimal_units() -> None:
    assert PROFILE.image_max_bytes == 10_000_000
    validate_image_size(PROFILE, 10_000_000)
    with pytest.raises(Refusal) as refused:
        validate_image_size(PROFILE, 10_000_001)
    assert str(refused.value) == (
        "Your image is 10.000001 MB; the limit is 10 MB. Please send a smaller one."
    )
    with pytest.raises(Refusal, match=r"is 10\.5 MB; the limit is 10 MB\."):
        validate_image_size(PROFILE, 10_500_000)


@pytest.mark.parametrize(
    ("size", "limit", "said"),
    [
        (10_500_000, 10_000_000, "10.5 MB"),
        (10_485_760, 10_000_000, "10.5 MB"),
        (10_000_001, 10_000_000, "10.000001 MB"),
        (12_345_678, 10_000_000, "12.3 MB"),
        (10_440_000, 10_435_000, "10.44 MB"),  # "10.4 MB" would read as under the limit
        (10_000_000, None, "10 MB"),
        (10_485_760, None, "10.48576 MB"),
        (512_000, None, "512 KB"),
        (999, None, "999 bytes"),
    ],
)
def test_sizes_are_stated_precisely(size: int, limit: int | None, said: str) -> None:
    assert describe_size(size, limit) == said
