"""Cells as offices type them: normalized text, numbers, phones, dates, grades and classes.

Every parser takes (raw value, normalized text) and returns the value or raises
:class:`~kcbx.bot.roster.errors.Invalid`. Pure and vocabulary-free, except that grades and
classes take the vocabulary's grade words.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from kcbx.bot.domain import geo
from kcbx.bot.domain.geo import Point
from kcbx.bot.domain.i18n import N_
from kcbx.bot.roster.errors import Invalid

Cell = tuple[int, Any, str]
"""(column index, raw value, normalized text) of a cell."""

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_INVISIBLE_CHARS = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
LIST_SEPARATORS = re.compile(r"[、,;/|]+")
WORD_SEPARATORS = re.compile(r"[、,;/|\s]+")


def cell_text(value: Any) -> str:
    """A cell as trimmed NFKC text (full-width digits, spaces and punctuation made plain)."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value.isascii():
            return value.strip()
        if not unicodedata.is_normalized("NFKC", value):  # keep the shared string if it is
            value = unicodedata.normalize("NFKC", value)
        if _INVISIBLE_CHARS.search(value):
            value = value.translate(_INVISIBLE)
        return value.strip()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    return str(value)


def word_key(value: Any) -> str:
    """How words are compared with the vocabulary: normalized, no spaces, lower case."""
    return re.sub(r"\s+", "", cell_text(value)).lower()


def header_key(value: Any) -> str:
    """How headers are compared: as words, also without * and : (必填*, 姓名：)."""
    return re.sub(r"[\s*:]+", "", cell_text(value)).lower()


def read_cells(row: Sequence[Any], fields: Iterable[tuple[str, Sequence[int]]]) -> dict[str, Cell]:
    """The cell of each field: the first of its columns that holds something."""
    cells: dict[str, Cell] = {}
    width = len(row)
    for name, columns in fields:
        for column in columns:
            if column >= width:
                continue
            value = row[column]
            if value is None:
                continue
            if value.__class__ is str and value.isascii():  # most cells: skip the call
                text = value.strip()
            elif value.__class__ is int:
                text = str(value)
            else:
                text = cell_text(value)
            if text:
                cells[name] = (column, value, text)
                break
    return cells


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def file_size(size: int) -> str:
    """1.9 MB, 512 KB."""
    unit, scale = ("MB", 1024 * 1024) if size >= 1024 * 1024 else ("KB", 1024)
    return f"{size / scale:.1f}".rstrip("0").rstrip(".") + " " + unit


def split(text: str, separators: re.Pattern[str]) -> list[str]:
    return [part.strip() for part in separators.split(text) if part.strip()]


CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
CN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER = re.compile(r"^([一二三四五六七八九])?(十)?([一二三四五六七八九])?$")
NUM = r"(\d{1,3}|[一二两三四五六七八九十]{1,3})"


def number(text: str) -> int | None:
    """1..99 from ASCII digits or Chinese numerals (三, 十二, 二十一)."""
    if re.fullmatch(r"\d{1,3}", text):
        return int(text)
    match = _CN_NUMBER.match(text)
    if not text or match is None:
        return None
    tens, ten, ones = match.groups()
    if ten is None:
        return CN_DIGITS[tens] if tens and not ones else None
    return (CN_DIGITS[tens] if tens else 1) * 10 + (CN_DIGITS[ones] if ones else 0)


_GROUP = re.compile(r"第?" + NUM + r"(?:组|队|村民小组|小组|社|生产队)?")


def group_number(name: str) -> int | None:
    """3 from '3', '3组', '三组', '第三村民小组', '3队' (so a file may write a group either way)."""
    match = _GROUP.fullmatch(name)
    return number(match.group(1)) if match else None


def show(value: Any, text: str) -> str:
    return repr(value) if isinstance(value, float) else text


# -- names and paths ----------------------------------------------------------------------------


def unit_name(raw: Any, text: str) -> str:
    if "/" in text:
        raise Invalid(N_("A unit name cannot contain “/”"))
    return _CJK_GAP.sub("", text)


def unit_name_text(text: str) -> str:
    return text if text.isalnum() else _CJK_GAP.sub("", text)


def path(raw: Any, text: str) -> tuple[str, ...]:
    """A unit name, or a path of names such as 滨河镇/新墩村."""
    parts = tuple(_CJK_GAP.sub("", p.strip()) for p in re.split(r"[/\\>]", text) if p.strip())
    if not parts:
        raise Invalid(
            N_("“{value}” is not a unit name or path (e.g. {example})"), example="滨河镇/新墩村"
        )
    return parts


def person_name_text(text: str) -> str:
    """A name with the spaces some offices put inside two-character names removed."""
    if text.isalnum():
        return text
    return re.sub(r"\s+", " ", _CJK_GAP.sub("", text))


def person_name(raw: Any, text: str) -> str:
    name = person_name_text(text)
    if len(name) > 50:
        raise Invalid(N_("“{value}” is too long for a name"))
    return name


# -- numbers: phones and registry numbers ---------------------------------------------------------


def digits(raw: Any, text: str) -> str:
    """A number cell as its digits (13912345678.0 -> 13912345678), text as written."""
    if isinstance(raw, bool):
        return text
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if raw.is_integer() and abs(raw) < 1e15:
            return str(int(raw))
        return repr(raw)
    return text


MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"(0\d{2,3})-?(\d{7,8})")


def clean_phone(raw: Any, text: str) -> str:
    phone = re.sub(r"[\s\-()]", "", digits(raw, text))
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    return phone


def mobile(raw: Any, text: str) -> str:
    phone = clean_phone(raw, text)
    if not MOBILE.fullmatch(phone):
        raise Invalid(N_("“{value}” is not an 11-digit mobile number"), value=show(raw, text))
    return phone


def guardian_phones(raw: Any, text: str) -> tuple[str, ...]:
    phones = []
    pieces = [digits(raw, text)] if not isinstance(raw, str) else split(text, LIST_SEPARATORS)
    for piece in pieces:
        phone = clean_phone(piece, piece)
        landline = _LANDLINE.fullmatch(re.sub(r"[\s()]", "", piece))
        if MOBILE.fullmatch(phone):
            phones.append(phone)
        elif landline:
            phones.append(f"{landline.group(1)}-{landline.group(2)}")
        else:
            raise Invalid(N_("“{value}” is not a phone number"), value=show(raw, piece))
    return tuple(phones)


_NAME_AND_PHONE = re.compile(r"(?P<name>.*?)[\s(:]*(?P<phone>(?:\+?86)?1[3-9]\d{9})\)?")


def name_and_phone(raw: Any, text: str) -> tuple[str, str | None]:
    """A person named in one cell, with or without a mobile: 张三 13912345678, 张三(139...)."""
    match = _NAME_AND_PHONE.fullmatch(re.sub(r"(?<=\d)[\s-](?=\d)", "", text))
    if match is None:
        if LIST_SEPARATORS.search(text):
            raise Invalid(N_("“{value}” names more than one person; give one per cell"))
        return person_name(raw, text), None
    name = person_name(raw, match.group("name").strip())
    if not name:
        raise Invalid(N_("“{value}” gives a phone but no name"))
    return name, clean_phone(match.group("phone"), match.group("phone"))


_REGISTRY = re.compile(r"[GL][0-9A-Z]{18}|\d{10,19}")
_SCIENTIFIC = re.compile(r"\d+(\.\d+)?E\+?\d+")
_LOST_DIGITS = N_(
    "“{value}” is a number that Excel has rounded: its last digits are lost. "
    "Format the column as text and type the registry number again"
)


def registry_no(raw: Any, text: str) -> str:
    """学籍号 as text: G or L and 18 letters or digits (or a plain number of 10-19 digits)."""
    if isinstance(raw, float) and (abs(raw) >= 1e15 or not raw.is_integer()):
        raise Invalid(_LOST_DIGITS, value=repr(raw))
    found = re.sub(r"\s+", "", digits(raw, text)).upper()
    if _SCIENTIFIC.fullmatch(found):
        raise Invalid(_LOST_DIGITS, value=text)
    if not _REGISTRY.fullmatch(found):
        raise Invalid(
            N_("“{value}” is not a registry number (G or L followed by 18 digits or letters)")
        )
    return found


_GENDER_WORDS = {"男": "M", "女": "F", "男性": "M", "女性": "F", "m": "M", "f": "F"}
_GENDER_WORDS |= {"male": "M", "female": "F"}


def gender(raw: Any, text: str) -> str:
    found = _GENDER_WORDS.get(text.lower())
    if found is None:
        raise Invalid(N_("“{value}” is not a gender ({male} or {female})"), male="男", female="女")
    return found


# -- dates --------------------------------------------------------------------------------------

_DATE_TEXT = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*[日号]?(\s.*)?")
_YEAR_MONTH = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*月?")


def birth_date(raw: Any, text: str, today: date) -> str:
    """A birth date from an Excel date, an Excel serial number or text; as YYYY-MM-DD."""
    value = a_date(raw, text)
    if value > today:
        raise Invalid(N_("The birth date {value} is in the future"), value=value.isoformat())
    if value.year < today.year - 30:
        raise Invalid(
            N_("The birth date {value} is not plausible for a pupil"), value=value.isoformat()
        )
    return value.isoformat()


def a_date(raw: Any, text: str) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    compact = digits(raw, text) if isinstance(raw, int | float) else text
    try:
        if re.fullmatch(r"\d{8}", compact):
            return date(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
        if re.fullmatch(r"\d{5}", compact):
            # an Excel serial day number (these are all after Excel's phantom 1900-02-29)
            return date(1899, 12, 30) + timedelta(days=int(compact))
        match = _DATE_TEXT.fullmatch(text)
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise Invalid(N_("“{value}” is not a date (write it like 2012-03-05)")) from exc
    if _YEAR_MONTH.fullmatch(text):
        raise Invalid(N_("“{value}” is not a full date: give the year, month and day"))
    raise Invalid(N_("“{value}” is not a date (write it like 2012-03-05)"))


# -- grades and classes ---------------------------------------------------------------------------

GradeWords = Mapping[str, int]
"""The vocabulary's grade words (word_key -> grade 1-9)."""

_GRADE_WORD = re.compile(r"(?:小学)?" + NUM + r"年级|初中?([一二三123])(?:年级)?|(\d{1,2})")


def grade_of(text: str, words: GradeWords) -> int | None:
    """The grade a text names: a vocabulary word, N年级 (either numerals), 初N or a number."""
    found = words.get(text.lower())
    if found is not None:
        return found
    match = _GRADE_WORD.fullmatch(text)
    if match is None:
        return None
    word, junior, plain = match.groups()
    if junior:
        return 6 + (int(junior) if junior.isdigit() else CN_DIGITS[junior])
    return number(word or plain)


def grade(raw: Any, text: str, words: GradeWords) -> int:
    found = grade_of(re.sub(r"\s+", "", digits(raw, text)), words)
    if found is None:
        raise Invalid(
            N_("“{value}” is not a grade (1-9, {grade} or {junior})"), grade="三年级", junior="初一"
        )
    if not 1 <= found <= 9:
        raise Invalid(N_("Grade {value} is out of range (1-9)"))
    return found


@dataclass(frozen=True, slots=True)
class ClassRef:
    grade: int
    name: str
    text: str


_CLASS_ONLY = re.compile(r"\(?" + NUM + r"\)?班?")
_CLASS_TAIL = re.compile(r"(?P<open>\()?" + NUM + r"(?(open)\))班?$")
_NOT_A_CLASS = N_("“{value}” is not a class; write it like {grade_class} or {junior_class}")
_CLASS_EXAMPLES = {"grade_class": "3年级2班", "junior_class": "初一(2)班"}


def _split_class(text: str, words: GradeWords) -> tuple[int, int] | None:
    """(grade, class number) of a full class such as 三年级(2)班, 初一2班, 三(2)班."""
    tail = _CLASS_TAIL.search(text)
    while tail is not None and tail.start() > 0:
        head = text[: tail.start()]
        found = grade_of(head, words)
        if found is None and tail.group("open"):
            found = number(head)  # 三(2)班: the grade as a bare numeral before the bracket
        class_number = number(tail.group(2))
        if found is not None and class_number is not None:
            return found, class_number
        # 十二班 after 三年级 vs 二班 after 三年级十: try a shorter class number
        shorter = _CLASS_TAIL.search(text, tail.start() + 1)
        tail = shorter if shorter is not None and shorter.start() > tail.start() else None
    return None


def class_name(raw: Any, text: str, grade: int | None, words: GradeWords) -> str:
    """A class as 'N班' from 2, '2班', '(2)班', or a full '3年级2班' that agrees with the grade."""
    compact = re.sub(r"\s+", "", digits(raw, text))
    match = _CLASS_ONLY.fullmatch(compact)
    if match and number(match.group(1)) is not None:
        return f"{number(match.group(1))}班"
    full = _split_class(compact, words)
    if full is not None:
        if grade is not None and full[0] != grade:
            raise Invalid(N_("The class {value} is not in grade {grade}"), grade=grade)
        return f"{full[1]}班"
    if len(compact) > 20:
        raise Invalid(N_("“{value}” is too long for a class name"))
    return compact


def class_ref(text: str, words: GradeWords) -> ClassRef:
    """A class teacher's class: grade and class, such as 3年级2班 or 初一(2)班."""
    full = _split_class(text, words) if not text.startswith("高") else None
    if full is None or not 1 <= full[0] <= 9:
        raise Invalid(_NOT_A_CLASS, value=text, **_CLASS_EXAMPLES)
    return ClassRef(full[0], f"{full[1]}班", text)


def class_list(raw: Any, text: str, words: GradeWords) -> tuple[ClassRef, ...]:
    refs = []
    for part in split(text, WORD_SEPARATORS):
        ref = class_ref(part, words)
        if ref not in refs:
            refs.append(ref)
    return tuple(refs)


# -- a unit's place on the map --------------------------------------------------------------

_POINT_EXAMPLE = "105.19,37.51"


def read_point(text: str) -> Point:
    """One 坐标 cell, as county maps write it: 105.19,37.51 (经度 first), or with words."""
    try:
        return geo.read_pair(text)
    except geo.NotAPlace:
        raise Invalid(
            N_(
                "“{value}” is not a place on the map: write its longitude and latitude, "
                "as {example}"
            ),
            value=text,
            example=_POINT_EXAMPLE,
        ) from None


def read_degrees(longitude: str, latitude: str) -> Point:
    """经度 and 纬度 in their own columns (105.19 / 东经105.19°; 37.51 / 北纬37.51°)."""
    if not longitude or not latitude:
        raise Invalid(N_("Give both the longitude and the latitude, or neither"))
    values = []
    for text, wanted, limit in ((longitude, "lon", 180), (latitude, "lat", 90)):
        try:
            value, axis = geo.degrees(text)
        except geo.NotAPlace:
            value, axis = math.inf, None
        if (axis not in (None, wanted)) or not -limit <= value <= limit:
            problem = (
                N_("“{value}” is not a longitude (a number from -180 to 180, as 105.19)")
                if wanted == "lon"
                else N_("“{value}” is not a latitude (a number from -90 to 90, as 37.51)")
            )
            raise Invalid(problem, value=text)
        values.append(value)
    return geo.point(values[0], values[1])
