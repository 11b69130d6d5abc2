"""Grades and classes written as a school writes them: 八年级2班, or 初二(2)班.

The roster keeps a grade as a number (1-9) and the class as the school typed it (``2班``,
``（2）班``, ``2``). Offices print them in one of two ways, a setting (``grade_style``):

- ``"year"``: every grade as 一年级 ... 九年级 (八年级2班), as the national registry does;
- ``"junior"``: the junior middle grades as 初一, 初二, 初三 with the class number in
  brackets (初二(2)班), as many junior schools write them; primary grades stay 三年级1班.

A class name that already says its grade (八年级2班, 初二(2)班) is printed as it is.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from kcbx.bot.domain.i18n import N_, Translate

GradeStyle = Literal["year", "junior"]
GRADE_STYLES: Final = ("year", "junior")

NUMERALS: Final = "一二三四五六七八九"
_JUNIOR: Final = {7: "初一", 8: "初二", 9: "初三"}
_HAS_GRADE = re.compile(r"(年级|^初[一二三123]|^[一二三四五六七八九]年)")
_CLASS_NUMBER = re.compile(r"^[（(]?\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[)）]?\s*班?$")


def grade_style(text: str) -> GradeStyle:
    """A setting's text as a style: ``junior``, else ``year``."""
    return "junior" if text == "junior" else "year"


def grade_name(grade: int | None, style: GradeStyle = "year") -> str:
    """``八年级`` (or ``初二`` in the junior style) from 8; empty when unknown or out of 1-9."""
    if grade is None or not 1 <= grade <= len(NUMERALS):
        return ""
    if style == "junior" and grade in _JUNIOR:
        return _JUNIOR[grade]
    return f"{NUMERALS[grade - 1]}年级"


def class_label(
    class_name: str | None, style: GradeStyle = "year", *, grade: int | None = None
) -> str:
    """The class as printed after its grade: as typed (``2班``, ``（2）班``, ``火箭班``), a bare
    number with 班 (``2`` -> ``2班``); ``(2)班`` for a junior grade in the junior style."""
    name = (class_name or "").strip()
    match = _CLASS_NUMBER.match(name)
    if not name or match is None:
        return name
    number = match.group(1)
    if style == "junior" and grade in _JUNIOR:
        return f"({number})班"
    return name if name.endswith("班") else f"{number}班"


def grade_class(grade: int | None, class_name: str | None, style: GradeStyle = "year") -> str:
    """``八年级2班`` / ``初二(2)班`` from 8 and ``2班``; as typed if the class names its grade."""
    name = (class_name or "").strip()
    if _HAS_GRADE.search(name):
        return name
    return grade_name(grade, style) + class_label(name, style, grade=grade)


_NUMBERED = re.compile(r"(\d{1,2})班")
# A grade in a chat's words: 八年级 as schools write it, "grade 8" in English.
GRADE_NAMES: Final = {
    1: N_("grade 1"),
    2: N_("grade 2"),
    3: N_("grade 3"),
    4: N_("grade 4"),
    5: N_("grade 5"),
    6: N_("grade 6"),
    7: N_("grade 7"),
    8: N_("grade 8"),
    9: N_("grade 9"),
}


# The junior middle grades in the junior style (初二(2)班); English keeps "year 2".
JUNIOR_NAMES: Final = {7: N_("junior year 1"), 8: N_("junior year 2"), 9: N_("junior year 3")}
# How chat prints grades: the setting ``grade_style``, set when the services open.
_CHAT_STYLE: list[GradeStyle] = ["year"]


def use_grade_style(style: GradeStyle) -> None:
    """Print the grades of chat texts in ``style`` (``year`` unless a county says otherwise)."""
    _CHAT_STYLE[0] = style


def grade_words(grade: int, gettext: Translate) -> str:
    """八年级 (grade 8); a grade out of 1-9 as its number."""
    return gettext(GRADE_NAMES[grade]) if grade in GRADE_NAMES else str(grade)


def class_words(grade: int, class_name: str, gettext: Translate) -> str:
    """A class in a chat's words: 八年级2班 as the school writes it (初二(2)班 in the junior
    style), "grade 8, class 2" in English; a class named otherwise (火箭班) as the school wrote
    it. Not escaped."""
    number = _NUMBERED.fullmatch(class_name)
    if _CHAT_STYLE[0] == "junior" and grade in JUNIOR_NAMES:
        junior = gettext(JUNIOR_NAMES[grade])
        if number is None:
            return gettext(N_("{grade}, {name}")).format(grade=junior, name=class_name)
        return gettext(N_("{grade}, class {number}")).format(grade=junior, number=number[1])
    name = gettext(N_("class {number}")).format(number=number.group(1)) if number else class_name
    return gettext(N_("{grade}, {name}")).format(grade=grade_words(grade, gettext), name=name)
