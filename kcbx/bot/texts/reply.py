"""A message as the texts write it (HTML text and inline buttons) and the helpers every
text shares: whole lines under Telegram's limit, a local time, page buttons."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kcbx.bot.domain.caseactions import Buttons
from kcbx.bot.domain.dates import format_date_time
from kcbx.bot.domain.i18n import Translate

MESSAGE_LIMIT = 4000  # Telegram allows 4096 characters


@dataclass(frozen=True)
class Reply:
    """One message: HTML text (under 4096 characters) and its inline buttons."""

    text: str
    buttons: Buttons = ()


def format_when(instant: datetime, t: Translate, lang: str) -> str:
    return format_date_time(instant, t, lang)


def fit(lines: Sequence[str], limit: int = MESSAGE_LIMIT) -> str:
    """Whole lines up to ``limit`` characters; what does not fit is cut with an ellipsis."""
    out: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit - 2:
            out.append("…")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def nav_row(t: Translate, page: int, pages: int, prefix: str) -> tuple[tuple[str, str], ...]:
    """◀ Previous / Next ▶ buttons with data ``{prefix}{page}``."""
    nav: list[tuple[str, str]] = []
    if page > 0:
        nav.append((t("◀ Previous"), f"{prefix}{page - 1}"))
    if page + 1 < pages:
        nav.append((t("Next ▶"), f"{prefix}{page + 1}"))
    return tuple(nav)


def plain(text: str) -> str:
    """What a chat shows of an HTML message: tags dropped, entities read (for a terminal)."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


__all__ = ["MESSAGE_LIMIT", "Buttons", "Reply", "fit", "format_when", "nav_row", "plain"]
