"""Pick and build the configured backend with the configured model's profile."""

from __future__ import annotations

import logging

import aiohttp

from bot.config import Settings
from bot.providers.base import JobRejectedError, TransientProviderError, VideoProvider
from bot.providers.profiles import ModelProfile, built_in_profile
from bot.providers.rivya import RivyaProvider, profile_from_catalogue

log = logging.getLogger(__name__)


class ProfileUnavailable(Exception):
    """The configured model has no built-in profile and none could be learned."""


async def build_provider(settings: Settings, session: aiohttp.ClientSession) -> VideoProvider:
    key = settings.provider_api_key
    assert key is not None  # validated by load_settings
    if settings.provider == "rivya":
        provider = RivyaProvider(
            base_url=settings.rivya_base_url,
            api_key=key.reveal(),
            profile=built_in_profile("rivya", settings.model) or _unknown(settings.model),
            poll_seconds=settings.rivya_poll_seconds,
            timeout_seconds=settings.provider_timeout_seconds,
            session=session,
        )
        if built_in_profile("rivya", settings.model) is None:
            provider.profile = await _learn_rivya_profile(provider, settings.model)
        return provider
    raise ProfileUnavailable(f"PROVIDER={settings.provider} is not supported by this build.")


def _unknown(model: str) -> ModelProfile:
    # Stands in only until the catalogue answer replaces it, before anything is offered.
    return ModelProfile(provider="rivya", model=model, label=model, durations=())


async def _learn_rivya_profile(provider: RivyaProvider, model: str) -> ModelProfile:
    try:
        entry = await provider.catalogue_entry(model)
    except (TransientProviderError, JobRejectedError) as error:
        raise ProfileUnavailable(
            f"MODEL={model} has no built-in profile and the Rivya catalogue could not be read "
            f"({error.user_message}). Try again later or pick a built-in model."
        ) from None
    if entry is None:
        raise ProfileUnavailable(f"MODEL={model} is not in the Rivya model catalogue.")
    profile = profile_from_catalogue(entry)
    log.info("built a profile for %s from the Rivya catalogue", model)
    return profile
