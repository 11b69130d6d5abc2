"""The cells whose words the vocabulary gives: unit types, sections, departments, roles, A9
categories, relations, grades and classes. An unknown word is an error that suggests the
nearest known one ("是否指“村干部”？")."""

from __future__ import annotations

from typing import Any

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.roles import Role
from kcbx.bot.roster import cells
from kcbx.bot.roster.cells import LIST_SEPARATORS, WORD_SEPARATORS, ClassRef, split, word_key
from kcbx.bot.roster.errors import SUGGESTION, Invalid
from kcbx.bot.roster.vocabulary import A9_FLAGS, Vocabulary

NO_FLAGS = frozenset({"无", "否", "-", "/", "none", "非"})

# the departments of the A6/A9 table that are not department units (the ladder gives them
# to the school, the township and the bureau)
NOT_UNITS = frozenset({"school", "township"})
# the sections as a roster writes them, for the texts that list them
SECTION_WORDS = {"primary": "小学", "junior": "初中", "nine_year": "九年一贯制"}


class FieldParsers:
    """Parsers ``(raw, text) -> value`` for the vocabulary's cells."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.grade_words = vocabulary.grade_words

    def _unknown(self, table: str, text: str, short: str, long: str, **params: Any) -> Invalid:
        """An unknown word: with the nearest known one if any, else the list of known ones."""
        near = self.vocabulary.suggest(table, text)
        if near is not None:
            return Invalid(short, value=text, **{SUGGESTION: near})
        return Invalid(long, value=text, **params)

    def _code(self, table: str, text: str, short: str, long: str, **params: Any) -> str:
        """The code of a word of ``table``; an unknown word is :meth:`_unknown`."""
        code = self.vocabulary.code(table, text)
        if code is None:
            raise self._unknown(table, text, short, long, **params)
        return code

    def unit_kind(self, raw: Any, text: str) -> tuple[str, str | None]:
        """(kind, the section a school's type implies: 小学 -> primary)."""
        kind = self._code(
            "unit_kinds",
            text,
            N_("“{value}” is not a unit type"),
            N_(
                "“{value}” is not a unit type ({district}, {township}, {village}, {group}, "
                "{school} or {department})"
            ),
            district="区",
            township="乡镇",
            village="村",
            group="组",
            school="学校",
            department="部门",
        )
        implied = self.vocabulary.code("sections", text) if kind == "school" else None
        return kind, implied

    def section(self, raw: Any, text: str) -> str:
        return self._code(
            "sections",
            text,
            N_("“{value}” is not a school section"),
            N_("“{value}” is not a school section ({primary}, {junior} or {nine_year})"),
            **SECTION_WORDS,
        )

    def department(self, raw: Any, text: str) -> str:
        """A department's A6/A9 role from its 代码 cell: a code (civil_affairs) or a word
        (民政, 民政局)."""
        vocabulary = self.vocabulary
        code = vocabulary.code("departments", text) or vocabulary.department_of(text)
        if code is None or code in NOT_UNITS:
            names = "、".join(
                vocabulary.name("departments", c)
                for c in dict.fromkeys(vocabulary.meaning["departments"].values())
                if c not in NOT_UNITS
            )
            raise self._unknown(
                "departments",
                text,
                N_("“{value}” is not a department of the A6/A9 table"),
                N_(
                    "“{value}” is not a department of the A6/A9 table ({departments}); "
                    "leave it empty and the unit's name decides"
                ),
                departments=names,
            )
        return code

    def role(self, raw: Any, text: str) -> Role:
        role = self.vocabulary.role(text)
        if role is None:
            raise self._unknown(
                "roles",
                text,
                N_("“{value}” is not a known role"),
                N_("“{value}” is not a known role; use one of {roles}"),
                roles=self.vocabulary.names_of("roles"),
            )
        return role

    def flags(self, raw: Any, text: str) -> tuple[str, ...]:
        """A9 flag codes from the words in the cell, in the measures' order."""
        found: set[str] = set()
        for word in split(text, WORD_SEPARATORS):
            if word_key(word) in NO_FLAGS:
                continue
            code = self._code(
                "a9_categories",
                word,
                N_("“{value}” is not an A9 category"),
                N_("“{value}” is not a hardship category; use {flags}"),
                flags=self.vocabulary.names_of("a9_categories"),
            )
            found.add(code)
        return tuple(f for f in A9_FLAGS if f in found)

    def relations(self, raw: Any, text: str) -> tuple[str, ...]:
        return tuple(self.vocabulary.relation(r) for r in split(text, LIST_SEPARATORS))

    def grade(self, raw: Any, text: str) -> int:
        return cells.grade(raw, text, self.grade_words)

    def class_name(self, raw: Any, text: str, grade: int | None) -> str:
        return cells.class_name(raw, text, grade, self.grade_words)

    def class_list(self, raw: Any, text: str) -> tuple[ClassRef, ...]:
        return cells.class_list(raw, text, self.grade_words)
