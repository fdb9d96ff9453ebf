"""/help's answer is cut into Discord-sized messages at line ends."""

from __future__ import annotations

from cogs.help import split_message


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
