"""Discord's message length, in one place: paging long lists into replies that always fit
one message, and cutting a long text into messages.

A page ends at whichever comes first: its most lines, or the characters left for lines once
the header and footer are reserved. So a page fits whatever the data, not only on average."""

from __future__ import annotations

from collections.abc import Sequence

MESSAGE_CHARS = 2000  # Discord's limit for a message's content

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


def split_message(text: str, limit: int = MESSAGE_CHARS) -> list[str]:
    """Cut a long text into messages at line ends (a single over-long line is cut hard)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    if current:
        parts.append(current)
    return parts
