"""Pages end at their most lines or their most characters, whichever comes first; a long text
is cut into Discord-sized messages at line ends."""

from __future__ import annotations

from bot.pages import page_bounds, pick_page, split_message


def test_pages_end_at_the_line_count_or_the_size() -> None:
    assert page_bounds([10] * 5, max_lines=2, max_chars=100) == [(0, 2), (2, 4), (4, 5)]
    # 3 lines of 40 take 122 characters with their newlines: only 2 fit in 100.
    assert page_bounds([40] * 3, max_lines=10, max_chars=100) == [(0, 2), (2, 3)]
    assert page_bounds([50, 49], max_lines=10, max_chars=100) == [(0, 2)]  # 50 + 1 + 49
    assert page_bounds([50, 50], max_lines=10, max_chars=100) == [(0, 1), (1, 2)]


def test_an_oversized_line_gets_a_page_of_its_own_and_nothing_is_empty() -> None:
    assert page_bounds([5, 300, 5], max_lines=10, max_chars=100) == [(0, 1), (1, 2), (2, 3)]
    assert page_bounds([], max_lines=10) == [(0, 0)]


def test_a_page_past_the_end_is_the_last() -> None:
    bounds = [(0, 2), (2, 3)]
    assert pick_page(bounds, 1) == (1, 0, 2)
    assert pick_page(bounds, 99) == (2, 2, 3)
    assert pick_page(bounds, 0) == (1, 0, 2)


def test_short_text_is_one_message() -> None:
    assert split_message("a\nb") == ["a\nb"]


def test_long_text_is_cut_at_line_ends() -> None:
    lines = [f"line {n:03d} " + "x" * 90 for n in range(50)]  # about 5,000 characters
    parts = split_message("\n".join(lines))
    assert len(parts) == 3 and all(len(part) <= 2000 for part in parts)
    assert "\n".join(parts) == "\n".join(lines)  # nothing lost, no line split


def test_a_single_overlong_line_is_cut_hard() -> None:
    parts = split_message("head\n" + "y" * 4500, limit=2000)
    assert parts[0] == "head" and [len(p) for p in parts[1:]] == [2000, 2000, 500]
