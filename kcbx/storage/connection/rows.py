"""Rows into the model's dataclasses: one reader built from a dataclass's fields; and the
base of the repositories that read them.

A row from either engine (``sqlite3.Row`` or ``asyncpg.Record``) is read by column name:
each field takes the column of its name, through a converter where the stored form differs
(ISO text into a datetime, JSON into a dict, a role's value into ``Role``). A field the query
does not select takes its default (the dataclass's, or one given in ``absent``); any other
missing column is an error, as it would be written out by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, fields
from typing import Any, Generic, TypeVar

from kcbx.storage.db import Database

T = TypeVar("T")
Convert = Callable[[Any], Any]


class Repo:
    """A repository: intention-named queries over one database."""

    def __init__(self, db: Database) -> None:
        self.db = db


async def insert_new(db: Database, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """Insert ``rows`` in one transaction (joining the caller's), each once: ``sql`` leaves
    a row whose key is there already alone (``ON CONFLICT ... DO NOTHING``). Returns how
    many were new."""
    if not rows:
        return 0
    async with db.transaction():
        return await db.executemany(sql, rows)


class Reader(Generic[T]):
    """Reads rows into ``cls``: call it on a row, or let it run the query (:meth:`one`,
    :meth:`all`)."""

    def __init__(self, cls: type[T], absent: Mapping[str, Any], convert: dict[str, Convert]):
        self.cls = cls
        self._absent = dict(absent)
        self._plan: list[tuple[str, Convert | None, bool]] = []
        for f in fields(cls):  # type: ignore[arg-type]
            if not f.init:
                continue
            has_default = f.default is not MISSING or f.default_factory is not MISSING
            self._plan.append((f.name, convert.pop(f.name, None), has_default or f.name in absent))
        if convert:
            raise TypeError(f"{cls.__name__} has no field {sorted(convert)}")

    def __call__(self, row: Any) -> T:
        values: dict[str, Any] = {}
        for name, conv, may_lack in self._plan:
            try:
                value = row[name]
            except (IndexError, KeyError):  # sqlite3.Row raises IndexError, a Record KeyError
                if not may_lack:
                    raise
                if name in self._absent:
                    values[name] = self._absent[name]
                continue
            values[name] = value if conv is None else conv(value)
        return self.cls(**values)

    async def one(self, db: Database, sql: str, params: Sequence[Any] = ()) -> T | None:
        """The first row of the query, read; None if there is none."""
        row = await db.fetchone(sql, params)
        return self(row) if row else None

    async def all(self, db: Database, sql: str, params: Sequence[Any] = ()) -> list[T]:
        """Every row of the query, read."""
        return [self(r) for r in await db.fetchall(sql, params)]


def reader(cls: type[T], absent: Mapping[str, Any] | None = None, **convert: Convert) -> Reader[T]:
    """A reader of rows into ``cls``: each field from its column, through ``convert``."""
    return Reader(cls, absent or {}, convert)


def written(found: T | None) -> T:
    """What a write just made, read back: it must be there."""
    assert found is not None
    return found


def optional(convert: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """``convert`` of a stored value, or None where nothing is stored."""
    return lambda value: convert(value) if value else None


def json_dict(text: str | None) -> dict[str, Any]:
    """A JSON column that may be empty, as a dict."""
    result: dict[str, Any] = json.loads(text or "{}")
    return result


def zero_if_null(value: int | None) -> int:
    return value or 0


def comma_list(text: str | None) -> tuple[str, ...]:
    """A comma-separated column (``a9_flags``) as its non-empty items."""
    return tuple(f for f in (text or "").split(",") if f)
