"""What can be wrong in a roster file: one located problem, rendered in the reader's language.

A problem is a msgid with fields; a field that is itself a msgid (:class:`Msg`) is translated
too. A ``suggestion`` field (a word from the vocabulary or a unit's name, for a near miss) is
rendered after the problem: "是否指“村干部”？".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kcbx.bot.domain.i18n import N_, Translate

SUGGESTION = "suggestion"  # the field of a near miss's suggestion


class Msg(str):
    """A format parameter that is itself a msgid, translated when the error is rendered."""

    __slots__ = ()


class Listed(tuple[Any, ...]):
    """A format parameter that is a list, rendered as the language lists (a、b、c; a, b, c)."""

    __slots__ = ()


@dataclass(frozen=True)
class RosterError:
    """One problem in a roster file, where it is and what is wrong; rendered per language."""

    problem: str  # msgid
    params: Mapping[str, Any] = field(default_factory=dict)
    file: str = ""
    sheet: str | None = None  # sheet name, or None for a CSV file or the file as a whole
    row: int | None = None  # as Excel shows it, 1-based
    column: str | None = None  # letter, as Excel shows it
    header: str | None = None  # the header text of that column
    value: str | None = None  # the offending cell, as read

    def describe(self, gettext: Translate) -> str:
        """What is wrong, without where: the problem and any suggestion."""
        params = {k: render_param(v, gettext) for k, v in self.params.items()}
        text = gettext(self.problem).format(**params)
        suggestion = self.params.get(SUGGESTION)
        if suggestion:
            text = gettext(N_("{problem}; did you mean “{word}”?")).format(
                problem=text, word=suggestion
            )
        return text

    def render(self, gettext: Translate) -> str:
        """The error in the language of ``gettext``, with its file, sheet, row and column."""
        where = {"file": self.file, "sheet": self.sheet, "row": self.row}
        where |= {"column": self.column, "header": self.header, "problem": self.describe(gettext)}
        if self.row is None:
            if self.sheet is None:
                return gettext(N_("File {file}: {problem}")).format(**where)
            return gettext(N_("Sheet {sheet}: {problem}")).format(**where)
        if self.sheet is None:
            if self.column is None:
                return gettext(N_("File {file}, row {row}: {problem}")).format(**where)
            return gettext(
                N_("File {file}, row {row}, column {column} ({header}): {problem}")
            ).format(**where)
        if self.column is None:
            return gettext(N_("Sheet {sheet}, row {row}: {problem}")).format(**where)
        return gettext(
            N_("Sheet {sheet}, row {row}, column {column} ({header}): {problem}")
        ).format(**where)


def render_param(value: Any, gettext: Translate) -> Any:
    if isinstance(value, Msg):
        return gettext(value)
    if isinstance(value, Listed):
        return gettext(", ").join(str(render_param(v, gettext)) for v in value)
    if isinstance(value, tuple):
        return " / ".join(str(render_param(v, gettext)) for v in value)
    return value


class Invalid(Exception):
    """A cell's value is wrong: ``problem`` is a msgid, ``params`` its fields."""

    def __init__(self, problem: str, **params: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.params = params

    def copy(self) -> Invalid:
        """A fresh exception with the same problem (a cached one must not be raised twice)."""
        return Invalid(self.problem, **self.params)


def file_error(problem: str, filename: str, **params: Any) -> RosterError:
    """A problem with the file as a whole."""
    return RosterError(problem, params, filename)
