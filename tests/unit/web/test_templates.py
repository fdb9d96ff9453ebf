"""The web pages hold no words of their own: every word is a catalog key, in every language."""

from __future__ import annotations

import re
from importlib import resources

import jinja2
import pytest

from bot import i18n
from bot.models import FailureCode, JobState
from bot.moderation.actions import ModeratorAction
from bot.storage.audit_pages import ACTION_KINDS
from bot.storage.dashboard import ReasonCount
from bot.web.dashboard_views import LOG_KINDS, failures_by_reason, reason_label
from bot.web.rendering import _environment

TEMPLATES = sorted(
    entry.name
    for entry in (resources.files("bot.web") / "templates").iterdir()
    if entry.name.endswith(".html")
)
TAG = re.compile(r"<[^>]*>", re.S)
WORD = re.compile(r"[A-Za-z]{2,}")
KEY = re.compile(r"""\bt[n]?\(\s*["']([\w.-]+)["']""")


def _source(name: str) -> str:
    return (resources.files("bot.web") / "templates" / name).read_text(encoding="utf-8")


def test_the_templates_are_found() -> None:
    assert {"base.html", "gallery.html", "dashboard.html", "quotas.html"} <= set(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_no_words_are_written_in_a_template(name: str) -> None:
    env = _environment()
    text = "".join(value for _, kind, value in env.lex(_source(name)) if kind == "data")
    words = WORD.findall(TAG.sub(" ", text).replace("&amp;", ""))
    assert words == [], f"{name}: move these words into bot/locales/*/web.po"


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_key_a_template_names_is_in_the_catalogs(name: str) -> None:
    english = i18n.catalog(i18n.DEFAULT_LOCALE)
    missing = [
        key
        for key in KEY.findall(_source(name))
        if not key.endswith(".") and key not in english.keys | english.plural_keys
    ]
    assert missing == [], name


def test_keys_made_from_values_exist_for_every_value() -> None:
    english = i18n.catalog(i18n.DEFAULT_LOCALE)
    wanted = [f"web.kind.{kind}" for kind in LOG_KINDS]
    wanted += [reason_label(JobState.FAILED.value, code).key for code in FailureCode]
    assert [key for key in wanted if key not in english.keys] == []


def test_the_log_filter_offers_every_moderator_action() -> None:
    """A new action class (bot/moderation/actions.py) is a kind of entry the log can filter."""
    actions = {action.name for action in ModeratorAction.__subclasses__()}
    assert actions | {"remove_video"} == set(ACTION_KINDS)


def test_failures_are_counted_by_the_bots_own_reasons() -> None:
    rows = [
        ReasonCount("expired", "deadline", 4),
        ReasonCount("failed", "insufficient_credits", 2),
        ReasonCount("failed", "http_400", 1),
        ReasonCount("failed", "validation_failed", 3),
        ReasonCount("failed", None, 1),
        ReasonCount("expired", None, 1),  # an older row: expired without its code
    ]
    assert failures_by_reason(rows, "en") == [
        ("Not finished in time", 5),
        ("Refused by the video service (validation_failed)", 3),
        ("The account ran out of credits", 2),
        ("Refused by the video service (http_400)", 1),
        ("No reason recorded", 1),
    ]
    assert failures_by_reason(rows, "zh-TW")[0] == ("逾時未完成", 5)


def test_templates_escape_what_they_show() -> None:
    env = _environment()
    assert env.autoescape is True
    page = env.from_string("{{ prompt }}").render(prompt="<img src=x onerror=alert(1)>")
    assert page == "&lt;img src=x onerror=alert(1)&gt;"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing.name }}").render()
