"""Models are data: what a model accepts, so commands and checks follow configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


@dataclass(frozen=True)
class ModelProfile:
    provider: str
    model: str
    label: str
    durations: tuple[int, ...]
    orientations: tuple[str, ...] = ("landscape", "portrait")
    qualities: tuple[str, ...] = ()
    quality_labels: dict[str, str] = field(default_factory=dict)
    default_quality: str | None = None
    prompt_limit: int = 10_000
    max_images: int = 1
    image_max_bytes: int = 10 * 1024 * 1024
    image_types: tuple[str, ...] = IMAGE_TYPES

    def quality_label(self, quality: str | None) -> str | None:
        if quality is None:
            return None
        return self.quality_labels.get(quality, quality)


RIVYA_SORA_2_PRO = ModelProfile(
    provider="rivya",
    model="sora-2-pro",
    label="Sora 2 Pro",
    durations=(10, 15),
    qualities=("standard", "high"),
    quality_labels={"standard": "Standard", "high": "High"},
    default_quality="standard",
    prompt_limit=10_000,
)

BUILT_IN_PROFILES: dict[tuple[str, str], ModelProfile] = {
    (RIVYA_SORA_2_PRO.provider, RIVYA_SORA_2_PRO.model): RIVYA_SORA_2_PRO,
}


def built_in_profile(provider: str, model: str) -> ModelProfile | None:
    return BUILT_IN_PROFILES.get((provider, model))
