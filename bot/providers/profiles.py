"""Models are data: what a model accepts, so commands and checks follow configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
# Rivya documents "10 MB" for images, in decimal units; its catalogue may say otherwise.
DOCUMENTED_IMAGE_MAX_BYTES = 10_000_000


@dataclass(frozen=True)
class Toggle:
    """A yes/no option only some backends have, offered as an optional `/sora` option."""

    name: str  # the option's name in Discord and the key in the job's options
    description: str
    default: bool


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
    image_max_bytes: int = DOCUMENTED_IMAGE_MAX_BYTES
    image_types: tuple[str, ...] = IMAGE_TYPES
    toggles: tuple[Toggle, ...] = ()
    fixed_params: dict[str, str] = field(default_factory=dict)  # sent as-is with every create
    # What one video costs at the provider, in its credits (None: the provider does not say).
    credits_per_video: float | None = None

    @property
    def offers_quality_choice(self) -> bool:
        return len(self.qualities) > 1

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
    toggles=(Toggle("remove_watermark", "Remove the watermark (default: no)", False),),
    fixed_params={"upload_method": "s3"},
    credits_per_video=75,  # Rivya's documented fixed price; its catalogue's figure wins
)

UNIFIED_SORA_2_PRO = ModelProfile(
    provider="unified",
    model="sora-2-pro",
    label="Sora 2 Pro",
    durations=(15, 25),
    qualities=("large",),
    quality_labels={"large": "1080p"},
    default_quality="large",
    prompt_limit=10_000,
    toggles=(
        Toggle("watermark", "Allow a watermarked video if a clean one fails (default: no)", False),
        Toggle("private", "Keep the video unpublished at the provider (default: yes)", True),
    ),
)

UNIFIED_SORA_2 = ModelProfile(
    provider="unified",
    model="sora-2",
    label="Sora 2",
    durations=(10,),
    qualities=("small",),
    quality_labels={"small": "720p"},
    default_quality="small",
    prompt_limit=10_000,
    toggles=UNIFIED_SORA_2_PRO.toggles,
)

BUILT_IN_PROFILES: dict[tuple[str, str], ModelProfile] = {
    (p.provider, p.model): p for p in (RIVYA_SORA_2_PRO, UNIFIED_SORA_2_PRO, UNIFIED_SORA_2)
}


def built_in_profile(provider: str, model: str) -> ModelProfile | None:
    return BUILT_IN_PROFILES.get((provider, model))
