"""The blocklist in scripts without spaces, and Traditional/Simplified folding."""

from __future__ import annotations

import time

import pytest

from bot.quota.blocklist import Entry, first_match, normalise_term


def _entries(*terms: str) -> list[Entry]:
    return [Entry(number, normalise_term(term)) for number, term in enumerate(terms, start=1)]


@pytest.mark.parametrize(
    ("term", "prompt"),
    [
        ("血腥", "一個血腥的場景"),
        ("裸体", "一個裸體女孩"),  # Simplified entry, Traditional prompt
        ("裸體", "一个裸体女孩"),  # Traditional entry, Simplified prompt
        ("血腥", "ＡＢＣ血\u200b腥"),  # full-width and invisible characters folded away
        ("暴力*", "暴力場面"),
        ("ヌード", "ヌード写真"),
        ("gore 血腥", "so much gore 血腥的"),
    ],
)
def test_entries_in_unspaced_scripts_match_inside_words(term: str, prompt: str) -> None:
    assert first_match(_entries(term), prompt) is not None


@pytest.mark.parametrize(
    ("term", "prompt"),
    [
        ("裸体", "一個穿著外套的女孩在雪地裡散步"),
        ("血腥", "一場熱鬧的慶祝活動"),
        ("fox", "foxglove 狐狸"),  # Latin entries keep whole-word matching
    ],
)
def test_harmless_prompts_pass(term: str, prompt: str) -> None:
    assert first_match(_entries(term), prompt) is None


def test_latin_entries_still_match_next_to_chinese() -> None:
    assert first_match(_entries("fox"), "一隻fox在跑") is not None


def test_matching_stays_fast_for_a_full_list_and_a_long_prompt() -> None:
    terms = [f"詞語{n}號" for n in range(250)] + [f"word{n}x" for n in range(250)]
    entries = _entries(*terms)
    prompt = "一個安靜的早晨，陽光灑在湖面上。" * 375  # 6,000 characters, no match
    first_match(entries, prompt)  # compile the patterns once, as a running bot has
    started = time.perf_counter()
    assert first_match(entries, prompt) is None
    # Generous bound against a pathological pattern (milliseconds expected); see benchmarks.
    assert time.perf_counter() - started < 1.0
