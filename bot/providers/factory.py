"""Pick and build the configured backend with the configured model's profile."""

from __future__ import annotations

import logging

import aiohttp

from bot.config import Settings
from bot.providers.base import JobRejectedError, TransientProviderError, VideoProvider
from bot.providers.profiles import BUILT_IN_PROFILES, ModelProfile, built_in_profile
from bot.providers.rivya import (
    RivyaProvider,
    fetch_catalogue,
    profile_from_catalogue,
    with_catalogue_limits,
)
from bot.providers.unified import UnifiedProvider

log = logging.getLogger(__name__)


class ProfileUnavailable(Exception):
    """The configured model has no built-in profile and none could be learned."""


async def build_provider(settings: Settings, session: aiohttp.ClientSession) -> VideoProvider:
    key = settings.provider_api_key
    assert key is not None  # validated by load_settings
    profile = built_in_profile(settings.provider, settings.model)
    if settings.provider == "rivya":
        if profile is None:
            profile = await _learn_rivya_profile(settings, session)
        else:
            profile = await _with_stated_limits(settings, session, profile)
        return RivyaProvider(
            base_url=settings.rivya_base_url,
            api_key=key.reveal(),
            profile=profile,
            poll_seconds=settings.rivya_poll_seconds,
            timeout_seconds=settings.provider_timeout_seconds,
            session=session,
        )
    if profile is None:
        known = sorted(m for (p, m) in BUILT_IN_PROFILES if p == "unified")
        raise ProfileUnavailable(
            f"MODEL={settings.model} is not a model the unified backend knows; "
            f"use one of: {', '.join(known)}."
        )
    assert settings.unified_base_url is not None
    return UnifiedProvider(
        base_url=settings.unified_base_url,
        api_key=key.reveal(),
        profile=profile,
        poll_seconds=settings.unified_poll_seconds,
        timeout_seconds=settings.provider_timeout_seconds,
        session=session,
    )


async def _with_stated_limits(
    settings: Settings, session: aiohttp.ClientSession, profile: ModelProfile
) -> ModelProfile:
    """A built-in profile with the image limit the catalogue states now; the documented limit
    when the catalogue cannot be read or states none."""
    try:
        entry = await fetch_catalogue(
            session, settings.rivya_base_url, settings.model, settings.provider_timeout_seconds
        )
    except (TransientProviderError, JobRejectedError) as error:
        log.info("catalogue not read (%s); using the documented limits", error.user_message)
        return profile
    learned = with_catalogue_limits(profile, entry)
    if learned is not profile:
        log.info("the catalogue limits reference images to %d bytes", learned.image_max_bytes)
    return learned


async def _learn_rivya_profile(settings: Settings, session: aiohttp.ClientSession) -> ModelProfile:
    try:
        entry = await fetch_catalogue(
            session, settings.rivya_base_url, settings.model, settings.provider_timeout_seconds
        )
    except (TransientProviderError, JobRejectedError) as error:
        raise ProfileUnavailable(
            f"MODEL={settings.model} has no built-in profile and the Rivya catalogue could not "
            f"be read ({error.user_message}). Try again later or pick a built-in model."
        ) from None
    if entry is None:
        raise ProfileUnavailable(f"MODEL={settings.model} is not in the Rivya model catalogue.")
    profile = profile_from_catalogue(entry)
    log.info(
        "built a profile for %s from the Rivya catalogue: durations %s, qualities %s",
        settings.model,
        profile.durations,
        profile.qualities,
    )
    return profile
