"""Validation of what a member asked for (prompt, choices, reference image), before anything
is spent. Each refusal says what is wrong and what is allowed."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from bot.errors import Refusal, RefusalKind
from bot.i18n import Text, alternatives, listing, word_for
from bot.models import ReferenceImage
from bot.prompts import is_empty, trim
from bot.providers.profiles import ModelProfile
from bot.video.media_types import IMAGE_EXTENSIONS, describe_size, sniff_image_type

_TYPE_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP"}


def _invalid(message: Text) -> Refusal:
    return Refusal(message, RefusalKind.INVALID_REQUEST)


def orientation_text(orientation: str) -> Text | str:
    """An orientation as `/sora` offers it ("Portrait", 直式, 竖屏)."""
    return word_for(f"sora.choice.{orientation}", orientation)


def quality_text(profile: ModelProfile, quality: str | None) -> Text | str:
    """A quality's name: the catalogs' word when they have one ("High", 高畫質), else the
    model's own label ("1080p")."""
    return word_for(f"status.quality.{quality}", profile.quality_label(quality) or str(quality))


def validate_prompt(profile: ModelProfile, prompt: str) -> str:
    text = trim(prompt)
    if is_empty(text):
        raise _invalid(Text("checks.prompt_empty"))
    if len(text) > profile.prompt_limit:
        raise _invalid(
            Text(
                "checks.prompt_too_long",
                length=f"{len(text):,}",
                model=profile.label,
                limit=f"{profile.prompt_limit:,}",
            )
        )
    return text


def validate_options(
    profile: ModelProfile, orientation: str, duration: int, quality: str | None
) -> str | None:
    """Validate the choices (Discord offers only valid ones, but a stale client may not)."""
    if orientation not in profile.orientations:
        choices = listing(orientation_text(o) for o in profile.orientations)
        raise _invalid(Text("checks.bad_orientation", choices=choices))
    if duration not in profile.durations:
        allowed = alternatives(profile.durations)
        raise _invalid(Text("checks.bad_duration", model=profile.label, choices=allowed))
    if not profile.qualities:
        return None
    quality = quality or profile.default_quality
    if quality not in profile.qualities:
        choices = listing(quality_text(profile, q) for q in profile.qualities)
        raise _invalid(Text("checks.bad_quality", choices=choices))
    return quality


def validate_toggles(profile: ModelProfile, chosen: Mapping[str, bool | None]) -> dict[str, bool]:
    """Every toggle of the profile with a value: the member's choice or the default."""
    unknown = set(chosen) - {t.name for t in profile.toggles}
    if unknown:
        names = listing(word_for(f"sora.option_name.{name}", name) for name in sorted(unknown))
        raise _invalid(Text("checks.unknown_option", model=profile.label, options=names))
    values = {}
    for toggle in profile.toggles:
        value = chosen.get(toggle.name)
        values[toggle.name] = toggle.default if value is None else bool(value)
    return values


def validate_image_size(profile: ModelProfile, size: int) -> None:
    if profile.max_images < 1:
        raise _invalid(Text("checks.no_image_taken", model=profile.label))
    if size > profile.image_max_bytes:
        raise _invalid(
            Text(
                "checks.image_too_large",
                size=describe_size(size, profile.image_max_bytes),
                limit=describe_size(profile.image_max_bytes),
            )
        )


def validate_image_bytes(profile: ModelProfile, data: bytes) -> str:
    """Return the image's real MIME type, judged from its bytes, or refuse it."""
    validate_image_size(profile, len(data))
    mime = sniff_image_type(data[:16])
    if mime is None or mime not in profile.image_types:
        allowed = alternatives(_TYPE_NAMES.get(t, t) for t in profile.image_types)
        raise _invalid(Text("checks.not_an_image", allowed=allowed))
    return mime


def store_image(
    media_dir: Path, data: bytes, mime: str, filename: str, source_url: str | None
) -> ReferenceImage:
    """Keep the reference image in the data directory, so nothing depends on expiring links."""
    folder = media_dir / "references"
    folder.mkdir(parents=True, exist_ok=True)
    extension = IMAGE_EXTENSIONS[mime]
    path = folder / f"{secrets.token_hex(16)}.{extension}"
    path.write_bytes(data)
    stem = Path(filename).stem or "reference"
    return ReferenceImage(
        path=path, filename=f"{stem}.{extension}", mime=mime, source_url=source_url
    )
