"""Splitting text into messages under Telegram's 4096 characters."""

from __future__ import annotations

from collections.abc import Iterable

PAGE_LIMIT = 3800  # characters of one message (Telegram allows 4096)


def pages(lines: Iterable[str], limit: int = PAGE_LIMIT, cut: str = "…") -> list[str]:
    """Whole lines joined into messages of at most ``limit`` characters; a longer single
    line is cut to fit and ends with ``cut``."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if len(line) > limit:
            line = line[: limit - len(cut)] + cut
        if current and size + len(line) + 1 > limit:
            out.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        out.append("\n".join(current))
    return out
