"""The words a county's roster uses, as data: roles, unit types, sections, A9 categories,
causes, relations, grades, the departments of A6/A9 and the column headers.

The built-in words are ``kcbx/policy/vocabulary.toml`` (the measures' own words first, then
the variants offices write). A county's policy file extends them under ``[vocabulary]``, with
the same tables: its words are added, never replace the built-in ones, and a word may mean
only one thing in a table. Every problem is reported at once, as the policy's are
(:class:`~kcbx.bot.domain.policy.tree.PolicyError`), by ``kcbx policy check``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.policy.reading import PolicyError, PolicyProblem, read_policy_file
from kcbx.bot.domain.policy.showing import check_file
from kcbx.bot.domain.policy.tree import CAUSES, DEFAULTS, DEPARTMENTS
from kcbx.bot.domain.roles import Role
from kcbx.bot.roster.cells import cell_text, header_key, word_key

UNITS, STAFF, STUDENTS = "units", "staff", "students"
ROSTER_KINDS = (UNITS, STAFF, STUDENTS)

UNIT_KINDS = ("district", "township", "village", "group", "school", "department")
SECTIONS = ("primary", "junior", "nine_year")
# A9 (and A6 (一)): the vulnerable-student flags, in the order of the measures
A9_FLAGS = (
    "sudden_hardship",
    "unstable_poverty_exit",
    "rural_subsistence",
    "disabled_child",
    "child_of_disabled",
    "child_of_prisoner",
    "left_behind",
    "single_parent",
    "orphan",
)
# the columns each sheet may have (the 三包 columns name the household's cadres, A5)
HEADER_FIELDS = {
    UNITS: ("kind", "name", "parent", "section", "code", "longitude", "latitude", "coordinates"),
    STAFF: ("name", "phone", "role", "unit", "classes"),
    STUDENTS: (
        "registry_no", "name", "gender", "birth_date", "school", "grade", "class", "township",
        "village", "group", "guardian", "relation", "guardian_phone", "flags", "note",
        "township_cadre", "township_cadre_phone", "village_cadre", "village_cadre_phone",
        "group_cadre", "group_cadre_phone",
    ),
}  # fmt: skip

# table -> the codes its words may mean (None: any code of lower-case letters, digits and _)
KNOWN_CODES: dict[str, tuple[str, ...] | None] = {
    "roles": tuple(r.value for r in Role),
    "unit_kinds": UNIT_KINDS,
    "sections": SECTIONS,
    "a9_categories": A9_FLAGS,
    "causes": tuple(CAUSES),
    "relations": None,
    "grades": tuple(str(g) for g in range(1, 10)),
    "departments": tuple(DEPARTMENTS),
    **{f"headers.{kind}": fields for kind, fields in HEADER_FIELDS.items()},
}
# the tables whose codes are themselves accepted as words (village_cadre, primary ...)
_CODES_ARE_WORDS = ("roles", "unit_kinds", "sections", "a9_categories", "causes", "departments")

SIMILAR = 0.6  # how alike a near miss must be to be suggested (difflib's ratio)


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Every word of every table, normalized, with what it means."""

    meaning: Mapping[str, Mapping[str, str]]  # table -> word key -> code
    written: Mapping[str, Mapping[str, str]]  # table -> word key -> the word as written
    added: Mapping[str, tuple[str, ...]]  # table -> the county's own words
    source: str = DEFAULTS

    def code(self, table: str, text: str) -> str | None:
        """What ``text`` means in ``table``, or None."""
        key = header_key(text) if table.startswith("headers.") else word_key(text)
        return self.meaning[table].get(key)

    def name(self, table: str, code: str) -> str:
        """The first word of a code, as the bot prints and suggests it."""
        return self.names[table].get(code, code)

    @cached_property
    def names(self) -> Mapping[str, Mapping[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for table, words in self.meaning.items():
            mine = found.setdefault(table, {})
            for key, code in words.items():  # in the order of the file: the first word wins
                mine.setdefault(code, self.written[table][key])
        return found

    def names_of(self, table: str) -> str:
        """Every code's first word, in the order of the table: 管理员、区领导、…"""
        return "、".join(dict.fromkeys(self.names[table].values()))

    def suggest(self, table: str, text: str) -> str | None:
        """The word of ``table`` nearest to ``text`` (a near miss), as written, or None."""
        words = self.written[table]
        found = closest(word_key(text), words)
        return words[found] if found is not None else None

    def role(self, text: str) -> Role | None:
        code = self.code("roles", text)
        return Role(code) if code is not None else None

    @cached_property
    def grade_words(self) -> Mapping[str, int]:
        return {key: int(code) for key, code in self.meaning["grades"].items()}

    @cached_property
    def _department_words(self) -> list[tuple[str, str]]:
        words = self.meaning["departments"].items()
        return sorted(((k, c) for k, c in words if k != c), key=lambda w: -len(w[0]))

    def department_of(self, unit_name: str) -> str | None:
        """The A6/A9 department a unit's name names: the longest word it holds (区民政局,
        沙坡头区民政局 -> civil_affairs); None when no word or two departments' words fit."""
        key = word_key(unit_name)
        exact = self.meaning["departments"].get(key)
        if exact is not None:
            return exact
        found: str | None = None
        length = 0
        for word, code in self._department_words:
            if len(word) < length:
                break
            if word in key:
                if found is not None and code != found:
                    return None  # as long a word of another department: ambiguous
                found, length = code, len(word)
        return found

    def relation(self, text: str) -> str:
        """A guardian's relation as the vocabulary writes it (爸爸 -> 父亲); else as written."""
        code = self.code("relations", text)
        return self.name("relations", code) if code is not None else text

    def headers(self, kind: str) -> Mapping[str, str]:
        """Header key -> field, for one kind of sheet."""
        return self.meaning[f"headers.{kind}"]


def closest(key: str, candidates: Iterable[str], cutoff: float = SIMILAR) -> str | None:
    """The candidate most like ``key`` (at least ``cutoff`` alike), or None."""
    best, score = None, cutoff
    matcher = SequenceMatcher(autojunk=False)
    matcher.set_seq2(key)
    for candidate in candidates:
        matcher.set_seq1(candidate)
        if matcher.real_quick_ratio() < score or matcher.quick_ratio() < score:
            continue
        ratio = matcher.ratio()
        if ratio > score or (ratio == score and best is None):
            best, score = candidate, ratio
    return best


# --- reading --------------------------------------------------------------------------------


class _Builder:
    """Collects the words of the built-in file and a county's extension, and every problem."""

    def __init__(self) -> None:
        self.problems: list[PolicyProblem] = []
        self.meaning: dict[str, dict[str, str]] = {t: {} for t in KNOWN_CODES}
        self.written: dict[str, dict[str, str]] = {t: {} for t in KNOWN_CODES}
        self.added: dict[str, list[str]] = {t: [] for t in KNOWN_CODES}

    def problem(self, key: str, why: str, **params: object) -> None:
        self.problems.append(PolicyProblem(key, why, tuple((k, str(v)) for k, v in params.items())))

    def read(self, data: Mapping[str, Any], prefix: str, county: bool) -> None:
        for name, value in data.items():
            if name == "headers" and isinstance(value, dict):
                for kind, table in value.items():
                    self.table(f"headers.{kind}", table, prefix, county)
            else:
                self.table(name, value, prefix, county)

    def table(self, name: str, value: object, prefix: str, county: bool) -> None:
        where = f"{prefix}{name}"
        if name not in KNOWN_CODES:
            tables = ", ".join(KNOWN_CODES)
            self.problem(where, N_("unknown table; known: {tables}"), tables=tables)
            return
        if not isinstance(value, dict):
            self.problem(where, N_("must be a table"))
            return
        known = KNOWN_CODES[name]
        for code, words in value.items():
            if known is not None and code not in known:
                self.problem(
                    f"{where}.{code}", N_("unknown code; known: {codes}"), codes=", ".join(known)
                )
            elif known is None and not (code.isascii() and code.replace("_", "").isalnum()):
                self.problem(f"{where}.{code}", N_("a code is written in lower-case letters"))
            elif not isinstance(words, list):
                self.problem(f"{where}.{code}", N_("must be a list of words"))
            else:
                for i, word in enumerate(words):
                    self.word(name, code, word, f"{where}.{code}[{i}]", county)

    def word(self, table: str, code: str, word: object, where: str, county: bool) -> None:
        if not isinstance(word, str) or not cell_text(word):
            self.problem(where, N_("must be a word (text, not empty)"))
            return
        key = header_key(word) if table.startswith("headers.") else word_key(word)
        other = self.meaning[table].setdefault(key, code)
        if other != code:
            self.problem(where, N_("“{word}” already means {code}"), word=word, code=other)
            return
        self.written[table].setdefault(key, cell_text(word))
        if county:
            self.added[table].append(cell_text(word))

    def codes_as_words(self) -> None:
        for table in (*_CODES_ARE_WORDS, *(t for t in KNOWN_CODES if t.startswith("headers."))):
            for code in KNOWN_CODES[table] or ():
                self.meaning[table].setdefault(code, code)
                self.written[table].setdefault(code, code)
        for key, code in list(self.meaning["relations"].items()):
            self.meaning["relations"].setdefault(code, code)
            self.written["relations"].setdefault(code, self.written["relations"][key])


def _builtin_data() -> dict[str, Any]:
    text = (resources.files("kcbx.policy") / "vocabulary.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def vocabulary_from_data(
    extension: Mapping[str, Any] | None = None, source: str = DEFAULTS
) -> Vocabulary:
    """The built-in words with a county's ``[vocabulary]`` table added; PolicyError if bad."""
    builder = _Builder()
    builder.read(_builtin_data(), "vocabulary.toml: ", county=False)
    if extension is not None:
        if isinstance(extension, dict):
            builder.read(extension, "vocabulary.", county=True)
        else:
            builder.problem("vocabulary", N_("must be a table"))
    builder.codes_as_words()
    if builder.problems:
        raise PolicyError(source, builder.problems)
    added = {t: tuple(words) for t, words in builder.added.items() if words}
    return Vocabulary(builder.meaning, builder.written, added, source)


@cache
def default_vocabulary() -> Vocabulary:
    """The built-in words (kcbx/policy/vocabulary.toml)."""
    return vocabulary_from_data()


def load_vocabulary(path: Path | None) -> Vocabulary:
    """The built-in words, extended by the ``[vocabulary]`` table of the policy file at
    ``path`` (if any). Raises PolicyError as
    :func:`kcbx.bot.domain.policy.reading.load_policy` does."""
    if path is None:
        return default_vocabulary()
    data = read_policy_file(path)
    if "vocabulary" not in data:
        return default_vocabulary()
    return vocabulary_from_data(data["vocabulary"], str(path))


# --- showing ---------------------------------------------------------------------------------

_TABLE_NAMES = {
    "roles": N_("roles"),
    "unit_kinds": N_("unit types"),
    "sections": N_("school sections"),
    "a9_categories": N_("A9 categories"),
    "causes": N_("A6 causes"),
    "relations": N_("relations"),
    "grades": N_("grades"),
    "departments": N_("A6/A9 departments by name"),
    "headers.units": N_("headers of the units sheet"),
    "headers.staff": N_("headers of the staff sheet"),
    "headers.students": N_("headers of the students sheet"),
}


def render_vocabulary(vocabulary: Vocabulary, gettext: Translate) -> str:
    """One line per table: how many words, and the county's own, for ``kcbx policy check``."""
    t = gettext
    lines = [t("Roster vocabulary (words the importer understands):")]
    for table, label in _TABLE_NAMES.items():
        words = [k for k, c in vocabulary.meaning[table].items() if k != c]
        line = t("{table}: {count} words").format(table=t(label), count=len(words))
        added = vocabulary.added.get(table)
        if added:
            line += t(", of which the county's: {words}").format(words="、".join(added))
        lines.append("  " + line)
    return "\n".join(lines)


def check_vocabulary_file(path: Path, gettext: Translate) -> tuple[int, str]:
    """``kcbx policy check``'s part for the ``[vocabulary]`` table: (exit code, text)."""
    return check_file(path, load_vocabulary, render_vocabulary, gettext)
