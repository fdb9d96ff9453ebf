from __future__ import annotations

import pytest

from bot.video.fitting import (
    CONTAINER_BYTES,
    CONTAINER_BYTES_PER_SECOND,
    EncodePlan,
    FitError,
    VideoInfo,
    lower_target,
    plan_encode,
)

MIB = 1024 * 1024


def info(
    width: int = 1920,
    height: int = 1080,
    duration: float = 15.0,
    *,
    fps: float | None = 30.0,
    audio: bool = True,
    video_bit_rate: int | None = 16_000_000,
    audio_bit_rate: int | None = 192_000,
) -> VideoInfo:
    return VideoInfo(
        duration=duration,
        width=width,
        height=height,
        rotation=0,
        frame_rate=fps,
        has_audio=audio,
        bit_rate=None,
        video_bit_rate=video_bit_rate,
        audio_bit_rate=audio_bit_rate,
    )


def most_bytes(plan: EncodePlan, duration: float) -> float:
    """The largest file the plan allows: the rate buffer may add one buffer to the picture."""
    media = (plan.video_bitrate + plan.audio_bitrate) * duration + plan.video_buffer_bits
    return media / 8 + CONTAINER_BYTES + CONTAINER_BYTES_PER_SECOND * duration


def test_a_1080p_clip_for_10_mib_drops_to_720p_and_keeps_good_audio() -> None:
    plan = plan_encode(info(), 10 * MIB)
    assert (plan.width, plan.height) == (1280, 720)
    assert plan.audio_bitrate == 128_000
    # Even the worst case the rate buffer allows stays a little under the limit.
    assert 0.95 * 10 * MIB < most_bytes(plan, 15) < 0.98 * 10 * MIB
    assert plan.video_buffer_bits == plan.video_bitrate  # one second


def test_portrait_is_scaled_by_its_short_side() -> None:
    plan = plan_encode(info(1080, 1920), 10 * MIB)
    assert (plan.width, plan.height) == (720, 1280)


def test_a_generous_limit_keeps_the_source_size() -> None:
    plan = plan_encode(info(1920, 1080, video_bit_rate=None), 50 * MIB)
    assert (plan.width, plan.height) == (1920, 1080)


def test_the_video_bitrate_never_exceeds_the_sources() -> None:
    plan = plan_encode(info(video_bit_rate=3_000_000), 50 * MIB)
    assert plan.video_bitrate == 3_000_000


def test_a_small_source_is_never_scaled_up() -> None:
    plan = plan_encode(info(320, 240, 3, video_bit_rate=None), 5 * MIB)
    assert (plan.width, plan.height) == (320, 240)


def test_odd_and_unusual_sizes_come_out_even_with_the_same_shape() -> None:
    plan = plan_encode(info(1792, 1024), 10 * MIB)  # Sora's own 1080p-class landscape size
    assert (plan.width, plan.height) == (1260, 720)
    odd = plan_encode(info(333, 201, 2, video_bit_rate=None), 5 * MIB)
    assert odd.width % 2 == 0 and odd.height % 2 == 0
    assert abs(odd.width - 333) <= 1 and abs(odd.height - 201) <= 1


def test_a_tight_limit_scales_further_and_thins_the_audio() -> None:
    plan = plan_encode(info(duration=25), 3 * MIB // 2)
    assert (plan.width, plan.height) == (426, 240)
    assert plan.audio_bitrate == 64_000
    assert most_bytes(plan, 25) < 3 * MIB // 2


def test_audio_is_not_given_more_than_the_source_had() -> None:
    plan = plan_encode(info(audio_bit_rate=96_000), 10 * MIB)
    assert plan.audio_bitrate == 96_000


def test_without_audio_all_bits_go_to_the_picture() -> None:
    with_audio = plan_encode(info(video_bit_rate=None), 10 * MIB)
    without = plan_encode(info(audio=False, video_bit_rate=None), 10 * MIB)
    assert without.audio_bitrate == 0
    assert without.video_bitrate > with_audio.video_bitrate
    assert most_bytes(without, 15) == pytest.approx(most_bytes(with_audio, 15), abs=16)


def test_an_unknown_frame_rate_is_planned_as_30_fps() -> None:
    assert plan_encode(info(fps=None), 10 * MIB) == plan_encode(info(fps=30), 10 * MIB)


@pytest.mark.parametrize(("duration", "limit"), [(25, 100_000), (15, 20_000)])
def test_a_limit_too_small_for_any_picture_is_a_fit_error(duration: float, limit: int) -> None:
    with pytest.raises(FitError, match="cannot fit"):
        plan_encode(info(duration=duration), limit)


def test_a_video_without_duration_is_a_fit_error() -> None:
    with pytest.raises(FitError, match="no duration"):
        plan_encode(info(duration=0), 10 * MIB)


def test_the_second_try_aims_below_the_first_by_its_overshoot() -> None:
    # 10% over with a 10 MiB target: aim about 10% lower, and a little more.
    second = lower_target(10 * MIB, 11 * MIB, 10 * MIB)
    assert second < 10 * MIB * 10 / 11
    assert second > 0.8 * 10 * MIB
