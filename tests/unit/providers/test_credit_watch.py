"""CREDIT_WARNING: one alert when the balance drops below it, one when it recovers."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import SettingsError, load_settings
from bot.i18n import Text, render
from bot.providers.base import ProviderHealth
from bot.providers.credit_watch import CreditWatch
from bot.wiring import Services
from tests.support.doubles import ScriptedProvider

RIVYA = {"DISCORD_TOKEN": "discord-token-value", "RIVYA_API_KEY": "rvya_sk_secretvalue"}


class BalanceProvider(ScriptedProvider):
    """Reports the next balance of `balances` at each check (None: the provider did not say)."""

    def __init__(self, balances: list[float | None]) -> None:
        super().__init__()
        self.balances = balances

    async def probe(self) -> ProviderHealth:
        credits = self.balances.pop(0)
        return ProviderHealth(True, True, f"{credits} credits left", credits=credits)


def services_with(provider: BalanceProvider, threshold: float | None) -> Services:
    # Only the provider and the watch take part in a health check.
    unused: Any = None
    return Services(
        settings=unused,
        db=unused,
        http=unused,
        provider=provider,
        jobs=unused,
        clock=unused,
        policy=unused,
        moderation=unused,
        schedule=unused,
        languages=unused,
        credit_watch=CreditWatch(threshold),
    )


async def test_one_alert_each_way_not_one_per_probe(caplog: pytest.LogCaptureFixture) -> None:
    services = services_with(BalanceProvider([900, 450, 300, None, 200, 600, 700, 90]), 500)
    alerts: list[str] = []

    async def alert(text: Text) -> None:
        alerts.append(render(text, "en"))

    await services.attach_alerts(alert)
    for _ in range(8):
        await services.check_provider()
    assert len(alerts) == 3, alerts
    assert "450 credits left, below CREDIT_WARNING=500" in alerts[0]
    assert "600 credits again" in alerts[1]
    assert "90 credits left" in alerts[2]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == alerts
    # The log channel may read another language.
    assert render(_low(), "zh-TW") == (
        "⚠️ 影片服務帳戶的點數快用完了：剩下 90 點，低於 CREDIT_WARNING=500。"
        "請在影片停止產生前儲值。"
    )


async def test_a_low_balance_at_start_waits_for_the_chat_client() -> None:
    services = services_with(BalanceProvider([10, 10]), 500)
    await services.check_provider()  # before Discord is connected
    assert services.pending_alerts
    assert "10 credits left" in render(services.pending_alerts[0], "en")
    alerts: list[Text] = []

    async def alert(text: Text) -> None:
        alerts.append(text)

    await services.attach_alerts(alert)
    await services.check_provider()
    assert len(alerts) == 1 and not services.pending_alerts


async def test_a_failed_alert_is_logged_and_does_not_stop_the_probe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = services_with(BalanceProvider([10]), 500)

    async def broken(text: Text) -> None:
        raise RuntimeError("channel gone")

    await services.attach_alerts(broken)
    health = await services.check_provider()
    assert health.credits == 10
    assert "could not alert the moderators: channel gone" in caplog.text


async def test_without_a_threshold_nothing_is_said() -> None:
    services = services_with(BalanceProvider([1, 0]), None)
    await services.check_provider()
    await services.check_provider()
    assert services.pending_alerts == []


def _low() -> Text:
    notice = CreditWatch(500).observe(90)
    assert notice is not None
    return notice


def test_setting_is_off_by_default_and_parsed() -> None:
    assert load_settings(RIVYA).credit_warning is None
    assert load_settings(RIVYA | {"CREDIT_WARNING": "750"}).credit_warning == 750
    with pytest.raises(SettingsError, match="CREDIT_WARNING must be a number"):
        load_settings(RIVYA | {"CREDIT_WARNING": "lots"})


def test_setting_needs_a_provider_that_reports_credits() -> None:
    unified = {
        "DISCORD_TOKEN": "t",
        "PROVIDER": "unified",
        "UNIFIED_API_KEY": "k",
        "UNIFIED_BASE_URL": "https://gateway.example",
        "CREDIT_WARNING": "100",
    }
    with pytest.raises(SettingsError, match="CREDIT_WARNING needs PROVIDER=rivya"):
        load_settings(unified)


def test_log_format_is_text_or_json() -> None:
    assert load_settings(RIVYA).log_format == "text"
    assert load_settings(RIVYA | {"LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="LOG_FORMAT must be one of text, json"):
        load_settings(RIVYA | {"LOG_FORMAT": "xml"})
