"""What members read in Chinese is Chinese: every message, and what the code puts into them.

Every catalog message is rendered in zh-TW and zh-CN with representative values (the values
the code gives it: nested messages, lists, mentions, numbers), and so are the messages the code
builds from lists and option values (refusals, form hints, status lines). None may hold an
ASCII comma between words (`檢視頻道, 附加檔案`; only a number's thousands separator, `6,000`)
or a raw option value the catalogs have words for (`portrait`, `high`, `week`, `zh-TW`,
`attach_files`...). The messages Discord limits (names, descriptions, labels, titles, buttons)
fit its limits in every language, and the translator comments that state those limits are in
every catalog.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

import discord
import pytest
from babel.messages.pofile import read_po

from bot import i18n
from bot.errors import Refusal
from bot.i18n import Text, alternatives, listing
from bot.jobs import validation, video_form
from bot.jobs.wording import outcome_notice, settings_line, status_text
from bot.models import Actor, JobOptions, JobState
from bot.moderation import guide, languages
from bot.moderation.actions import PERIODS
from bot.moderation.service import ModerationService
from bot.providers.profiles import RIVYA_SORA_2_PRO, UNIFIED_SORA_2_PRO
from cogs.sora import missing_permissions
from tests.unit.jobs.test_wording import make_job

CHINESE = ("zh-TW", "zh-CN")
PROFILE = RIVYA_SORA_2_PRO
SERVICE_DETAIL = "Content policy violation."

#: The values of the options members choose, each of which the catalogs put into words.
RAW_VALUES = (
    "portrait",
    "landscape",
    "standard",
    "high",
    "day",
    "week",
    "month",
    "auto",
    "en",
    "zh-TW",
    "zh-CN",
    "view_channel",
    "send_messages",
    "attach_files",
    "read_message_history",
    "remove_watermark",
    "watermark",
    "private",
    "member",
    "page",
)
RAW_VALUE = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(value) for value in RAW_VALUES) + r")(?![\w-])",
    re.IGNORECASE,
)
#: An ASCII comma that is not a thousands separator (`6,000`).
LIST_COMMA = re.compile(r",(?!\d{3}\b)|(?<!\d),")

#: A representative value for every placeholder, as the code gives it.
VALUES: dict[str, object] = {
    "actor": "<@99>",
    "allowance": Text("quota.allowance.day", 5),
    "allowed": alternatives(["JPEG", "PNG", "WebP"]),
    "asked": 1_767_225_600,
    "at": 1_767_225_600,
    "bonus": 2,
    "budget": 200,
    "change": "+2",
    "choices": listing(validation.orientation_text(o) for o in PROFILE.orientations),
    "code": "401",
    "credits": 120,
    "day": "2026-01-05",
    "days": 30,
    "default": validation.quality_text(PROFILE, "standard"),
    "detail": Text("quota.action.block", member="<@7>"),
    "entries": Text("quota.entries", 12),
    "entry": 7,
    "floor": "1,024",
    "free": "812",
    "first": Text(
        "quota.refusal.nothing_to_reset", member="<@7>", period=Text("quota.period.this_day")
    ),
    "icon": "❌",
    "id": 42,
    "job": 42,
    "jobs": listing(
        [
            Text("quota.job.plain", id=41, state=Text("status.label.queued")),
            Text(
                "quota.job.plain", id=42, state=Text("status.label.running_progress", progress=40)
            ),
        ]
    ),
    "language": Text("common.language.zh-TW"),
    "left": Text("quota.view.left", left=3),
    "length": "7,204",
    "limit": "6,000",
    "link": "https://discord.com/channels/1/2/3",
    "member": "<@7>",
    "model": PROFILE.label,
    "most": 10,
    "next": 2,
    "note": Text("quota.note.block"),
    "options": listing([Text("sora.option_name.private")]),
    "owed": 2,
    "page": 1,
    "pages": 3,
    "period": Text("admission.period.week"),
    "percent": 80,
    "period_left": 2,
    "periods": listing(Text(f"quota.choice.{period}") for period in PERIODS),
    "permissions": listing(
        [Text("sora.permission.attach_files"), Text("sora.permission.read_message_history")]
    ),
    "position": 3,
    "progress": 40,
    "ready": 1_767_225_900,
    "reason": Text("status.reason.service", detail=SERVICE_DETAIL),
    "reset": 1_767_225_600,
    "role": "<@&5>",
    "server": 50,
    "settings": "Sora 2 Pro",
    "size": "10 MB",
    "source": Text("quota.source.default"),
    "start": 1_767_225_900,
    "started": 1_767_225_600,
    "state": Text(
        "status.state.failed", icon="❌", reason=Text("status.reason.service", detail="Bad.")
    ),
    "threshold": 500,
    "typed": "方形",
    "used": 3,
    "user": "<@7>",
    "wait": Text("iterate.help.seconds", 30),
    "was": Text("quota.was.not_set"),
    "where": Text("quota.ledger.from_bonus"),
}
#: Where a placeholder means something else, by the start of the key.
VALUES_BY_KEY: dict[str, dict[str, object]] = {
    "status.reason.service": {"detail": SERVICE_DETAIL},
    "results.rerun.refused_dm": {"reason": Text("admission.cooldown", at=1_767_225_600)},
    "iterate.refusal.slot_free": {"reason": Text("admission.server_full", 10)},
    "quota.": {"reason": "洗版"},
    "results.show.no_video": {"state": Text("status.label.failed")},
    "quota.job.": {"state": Text("status.label.queued")},
    "quota.view.": {"period": Text("quota.period.this_day")},
    "status.result.link": {"ready": Text("status.result.ready", user="<@7>", job=42)},
    "checks.bad_duration": {"choices": alternatives(PROFILE.durations)},
    "iterate.form.bad_duration": {"choices": video_form.duration_choices(PROFILE)},
    "iterate.form.bad_orientation": {"choices": video_form.orientation_choices(PROFILE)},
    "checks.bad_quality": {
        "choices": listing(validation.quality_text(PROFILE, q) for q in PROFILE.qualities)
    },
    "quota.refusal.language": {
        "choices": listing(Text(f"common.language.{s}") for s in languages.server_choices())
    },
    # The web pages: a server's and a member's name, dates and figures formatted for the reader.
    "web.": {
        "server": "影片同好會",
        "name": "Alice",
        "member": "Alice",
        "query": "海邊的貓",
        "first": "2026年1月5日",
        "last": "2026年2月3日",
        "amount": "1,234",
        "videos": 3,
        "code": "http_400",
    },
    "web.pictures.now": {"setting": Text("access.choice.pictures.anyone")},
}


@cache
def _english() -> dict[str, tuple[str, ...]]:
    """key -> its English text(s), from every file of the English catalog."""
    found: dict[str, tuple[str, ...]] = {}
    for po_file in (resources.files("bot") / "locales" / "en").iterdir():
        if po_file.name.endswith(".po"):
            with po_file.open("rb") as handle:
                for message in read_po(handle, locale="en"):
                    if message.id:
                        key = message.id[0] if isinstance(message.id, tuple) else message.id
                        strings = message.string
                        found[key] = strings if isinstance(strings, tuple) else (strings,)
    return found


def representative(key: str) -> Text:
    """`key` with a representative value for each of its placeholders."""
    strings = _english()[key]
    names = set().union(*(i18n.placeholders(text) for text in strings)) - {"count"}
    values = dict(VALUES)
    for prefix, overrides in sorted(VALUES_BY_KEY.items()):
        if key.startswith(prefix):
            values |= overrides
    missing = names - set(values)
    assert not missing, f"{key}: give {sorted(missing)} a representative value in VALUES"
    chosen = {name: values[name] for name in names}
    return Text(key, 3, **chosen) if len(strings) > 1 else Text(key, **chosen)


def problems(rendered: str) -> list[str]:
    """What in a Chinese message is not Chinese: list commas and raw option values."""
    found = [f"ASCII comma in {rendered!r}" for _ in LIST_COMMA.finditer(_without_quotes(rendered))]
    found += [f"raw value {m.group(0)!r} in {rendered!r}" for m in RAW_VALUE.finditer(rendered)]
    return found


def _without_quotes(rendered: str) -> str:
    """The message without what it quotes of the video service (its own English words) and
    without links."""
    text = re.sub(r"「[^」]*」|“[^”]*”", "", rendered)
    return re.sub(r"https?://\S+", "", text)


@pytest.mark.parametrize("locale", CHINESE)
def test_every_message_reads_as_chinese(locale: str) -> None:
    found = []
    for key in sorted(_english()):
        found += [f"{key}: {p}" for p in problems(i18n.render(representative(key), locale))]
    assert found == []


def test_the_check_itself_finds_english_commas_and_raw_values() -> None:
    assert problems("我在這個頻道缺少這些權限：檢視頻道, 附加檔案。") != []
    assert problems("畫面方向必須是以下其中一種：landscape、portrait。") != []
    assert problems("週期必須是以下其中之一：day、week、month。") != []
    assert problems("你的提示詞有 7,204 個字元。") == []
    assert problems("影片服務回覆「Bad request, try later.」。") == []


def _refusal(make: Callable[[], object]) -> Text | str:
    with pytest.raises(Refusal) as refused:
        make()
    return refused.value.reason


def _refusal_of(make: Callable[[], Coroutine[Any, Any, object]]) -> Callable[[], object]:
    def run() -> object:
        coroutine = make()
        try:
            coroutine.send(None)  # the refusals below come before any await
        finally:
            coroutine.close()
        return None

    return run


def code_built_messages() -> list[Text | str]:
    """Messages the code builds from lists and option values, as members get them."""
    # Its refusals of a period or a language come before it reads anything.
    nothing: Any = None
    moderation = ModerationService(db=nothing, clock=nothing, jobs=nothing, policy=nothing)
    moderator = Actor(guild_id=1, user_id=99, manage_guild=True)
    form = video_form.VideoForm("a cat", "方形", "12")
    failed = make_job(
        state=JobState.FAILED, error_code="generation_failed", error_message=SERVICE_DETAIL
    )
    return [
        _refusal(lambda: validation.validate_options(PROFILE, "square", 10, None)),
        _refusal(lambda: validation.validate_options(PROFILE, "portrait", 25, None)),
        _refusal(lambda: validation.validate_options(PROFILE, "portrait", 10, "ultra")),
        _refusal(lambda: validation.validate_options(UNIFIED_SORA_2_PRO, "portrait", 15, "small")),
        _refusal(
            lambda: validation.validate_toggles(PROFILE, {"private": True, "watermark": True})
        ),
        _refusal(lambda: validation.validate_image_bytes(PROFILE, b"plain text, not a picture")),
        _refusal(lambda: video_form.read_choices(PROFILE, form)),
        _refusal(lambda: video_form.read_choices(PROFILE, replace(form, orientation="直式"))),
        _refusal(_refusal_of(lambda: moderation.set_default(moderator, 3, "fortnight"))),
        _refusal(_refusal_of(lambda: moderation.set_language(moderator, "klingon"))),
        missing_permissions(discord.Permissions.none(), in_thread=False) or "",
        missing_permissions(discord.Permissions(view_channel=True), in_thread=True) or "",
        video_form.orientation_choices(PROFILE),  # the form's hints
        video_form.duration_choices(PROFILE),
        Text(
            "status.line",
            state=Text("status.state.failed", icon="❌", reason=Text("status.reason.none")),
        ),
        *guide.rule_texts(guide.ServerRules("week", 2, 10, 30.0, has_blocklist=True)),
        *guide.rule_texts(guide.ServerRules("day", 2, 5, 0.0, False, 3, 50, service_cap=20)),
        *(_public(failed, locale) for locale in CHINESE),
    ]


def _public(job: Any, locale: str) -> str:
    """A failed job's public words in `locale`: status message, settings and notice."""
    job = replace(job, public_locale=locale, options=JobOptions("landscape", 15, "high"))
    return "\n".join([status_text(job, PROFILE), settings_line(job, PROFILE), outcome_notice(job)])


@pytest.mark.parametrize("locale", CHINESE)
def test_messages_built_from_lists_and_values_read_as_chinese(locale: str) -> None:
    found = []
    for message in code_built_messages():
        rendered = i18n.render(message, locale)
        if isinstance(message, str) and not re.search(r"[\u4e00-\u9fff]", rendered):
            continue  # another language's public words
        assert rendered.strip()
        found += problems(rendered)
    assert found == []


def test_the_code_built_messages_are_what_members_read() -> None:
    # A sample, so that a change to how they are built is seen here.
    said = [i18n.render(message, "zh-TW") for message in code_built_messages()]
    assert "畫面方向必須是以下其中一種：橫式、直式。" in said
    assert "Sora 2 Pro 只能製作 10 或 15 秒的影片。" in said
    assert "畫質必須是以下其中一種：標準、高畫質。" in said
    assert "週期必須是以下其中之一：每天、每週、每月。" in said
    assert (
        "我在這個頻道缺少這些權限：檢視頻道、傳送訊息、附加檔案、讀取訊息歷史。"
        "請管理員開放給我。" in said
    )
    assert "橫式或直式" in said and "10 或 15" in said
    (public,) = [text for text in said if "影片任務" in text]
    assert "橫式 · 15 秒 · 高畫質 · Sora 2 Pro" in public
    assert "影片服務回覆「Content policy violation.」。這次不會扣除你的額度。" in public


#: Discord's limits on the words it shows, by the start of the key.
DISCORD_LIMITS: dict[int, tuple[str, ...]] = {
    32: ("sora.option_name.", "quota.option_name.", "results.show.option_name.", "iterate.menu."),
    45: (
        "iterate.remix.title",
        "iterate.animate.title",
        "iterate.form.prompt",
        "iterate.form.orientation",
        "iterate.form.duration",
    ),
    80: ("results.button.", "iterate.button.", "fit.button.", "queue.button."),
    100: (
        "sora.command",
        "sora.option.",
        "sora.toggle.",
        "sora.choice.",
        "quota.cmd.",
        "quota.opt.",
        "quota.choice.",
        "common.language.",
        "status.quality.",
        "results.jobs.command",
        "results.show.command",
        "results.show.option.",
        "iterate.help.description",
        "iterate.form.prompt_hint",
        "access.cmd.",
        "access.opt.",
        "access.choice.",
    ),
}


def _limit(key: str) -> int | None:
    fitting = [
        (len(prefix), limit)
        for limit, prefixes in DISCORD_LIMITS.items()
        for prefix in prefixes
        if key == prefix or (prefix.endswith(".") and key.startswith(prefix))
    ]
    return max(fitting)[1] if fitting else None


@pytest.mark.parametrize("locale", i18n.available_locales())
def test_what_discord_limits_fits_in_every_language(locale: str) -> None:
    limited = {key: _limit(key) for key in _english() if _limit(key) is not None}
    assert len(limited) > 60
    too_long = []
    for key, limit in limited.items():
        rendered = i18n.render(representative(key), locale)
        if not 1 <= len(rendered) <= (limit or 0):
            too_long.append(f"{key} ({len(rendered)} > {limit}): {rendered}")
    assert too_long == []


def _comments(locale: str) -> dict[str, str]:
    """key -> its translator comment (`#.`), in one language."""
    found = {}
    for po_file in (resources.files("bot") / "locales" / locale).iterdir():
        if po_file.name.endswith(".po"):
            with po_file.open("rb") as handle:
                for message in read_po(handle, locale=locale.replace("-", "_")):
                    if message.id and message.auto_comments:
                        key = message.id[0] if isinstance(message.id, tuple) else message.id
                        found[key] = " ".join(message.auto_comments)
    return found


@pytest.mark.parametrize("locale", i18n.available_locales()[1:])
def test_translator_comments_are_in_every_language(locale: str) -> None:
    english, translated = _comments("en"), _comments(locale)
    assert set(translated) == set(english)
    for key, comment in english.items():
        # The same limits, and the same placeholders and keys it speaks of.
        assert re.findall(r"\d+", comment) == re.findall(r"\d+", translated[key]), key
        assert set(re.findall(r"\{\w+\}", comment)) == set(re.findall(r"\{\w+\}", translated[key]))


def test_each_limit_a_comment_states_is_the_one_checked() -> None:
    for key, comment in _comments("en").items():
        stated = re.search(r"at most (\d+) characters", comment)
        if stated:
            assert _limit(key) == int(stated.group(1)), key


#: Messages that name a button or menu item, and the key of its name.
NAMED = [
    ("iterate.remix.too_long", "results.button.rerun"),
    ("iterate.help.commands", "iterate.button.remix"),
    ("iterate.help.commands", "iterate.menu.animate"),
    ("iterate.animate.no_image", "iterate.menu.animate"),
    ("fit.note.compressed_with_link", "fit.button.full_quality"),
]


@pytest.mark.parametrize("locale", i18n.available_locales())
def test_a_button_is_named_as_it_is_shown(locale: str) -> None:
    for message, name in NAMED:
        shown = i18n.translation(name, locale)
        assert shown and shown in (i18n.translation(message, locale) or ""), (message, name)
