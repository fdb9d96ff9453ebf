"""Paging long lists into replies that always fit one Discord message.

A page ends at whichever comes first: its most lines, or the characters left for lines once
the header and footer are reserved. So a page fits whatever the data, not only on average."""

from __future__ import annotations

from collections.abc import Sequence

from bot.jobs.wording import MESSAGE_CHARS

# Room kept for a page's header ("... page 12 of 40 ...") and footer ("More with ...").
FRAME_CHARS = 200
LINES_CHARS = MESSAGE_CHARS - FRAME_CHARS


def page_bounds(
    lengths: Sequence[int], *, max_lines: int, max_chars: int = LINES_CHARS
) -> list[tuple[int, int]]:
    """Split items whose rendered lines have `lengths` into pages, in order, as (start, end)
    index pairs: each page holds at most `max_lines` lines that take at most `max_chars`
    joined by newlines. At least one page, even for no items."""
    bounds: list[tuple[int, int]] = []
    start, used = 0, 0
    for index, length in enumerate(lengths):
        needed = length if index == start else used + 1 + length
        if index > start and (index - start >= max_lines or needed > max_chars):
            bounds.append((start, index))
            start, needed = index, length
        used = needed
    bounds.append((start, len(lengths)))
    return bounds


def pick_page(bounds: list[tuple[int, int]], page: int) -> tuple[int, int, int]:
    """The asked page clamped to those there are: (page number, start, end)."""
    number = min(max(1, page), len(bounds))
    start, end = bounds[number - 1]
    return number, start, end
