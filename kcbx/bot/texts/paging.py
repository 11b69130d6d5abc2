"""Splitting text into messages under Telegram's 4096 characters, and the buttons that
turn the pages of a list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kcbx.bot.domain.i18n import Translate

PAGE_LIMIT = 3800  # characters of one message (Telegram allows 4096)
MAX_BUTTONS = 6  # a message's buttons, as a phone shows them (docs/texts.md, "On a phone")

Button = tuple[str, str]  # (label, callback_data)


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


def page_buttons(
    t: Translate, data: str, at: int, more: bool, step: int = 1
) -> list[tuple[str, str]]:
    """‹ Previous / Next › from page (or offset) ``at``; ``data`` is formatted with the page
    (or offset) each goes to. Empty on a single page."""
    row = []
    if at > 0:
        row.append((t("‹ Previous"), data.format(max(0, at - step))))
    if more:
        row.append((t("Next ›"), data.format(at + step)))
    return row


def more_button(t: Translate, data: str, at: int, more: bool, step: int = 1) -> Button | None:
    """The one button that turns a picker's pages: [更多] to the next page (or offset),
    and on the last page [« 返回开头] to the first; None on a single page."""
    if more:
        return (t("More"), data.format(at + step))
    if at > 0:
        return (t("« Back to the start"), data.format(0))
    return None


def choice_page(
    t: Translate,
    choices: Sequence[Button],
    page: int,
    data: str,
    *,
    fixed: int = 1,
    per_row: int = 2,
) -> tuple[list[list[Button]], Button | None] | None:
    """One page of a picker whose message also holds ``fixed`` buttons of its own (cancel,
    back): every choice when they fit in :data:`MAX_BUTTONS`, else as many as leave room for
    the page button (:func:`more_button`, ``data`` formatted with the page). Returns the
    choices' rows (``per_row`` a row) and the page button; None for a page that does not
    exist (forged or stale data)."""
    room = MAX_BUTTONS - fixed
    per = room if len(choices) <= room else room - 1
    pages = max(1, -(-len(choices) // per))
    if not 0 <= page < pages:
        return None
    chunk = list(choices[page * per : (page + 1) * per])
    rows = [chunk[i : i + per_row] for i in range(0, len(chunk), per_row)]
    return rows, more_button(t, data, page, page + 1 < pages)
