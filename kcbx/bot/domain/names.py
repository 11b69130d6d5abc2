"""Finding a student by part of the name or its pinyin initials (zs finds 张三)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=200_000)
def initials(name: str) -> str:
    """'张三' -> 'zs'; heteronyms take pypinyin's common reading."""
    letters = lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(letters).lower()


@lru_cache(maxsize=200_000)
def full_pinyin(name: str) -> str:
    return "".join(lazy_pinyin(name, errors="ignore")).lower()


def matches(name: str, query: str) -> bool:
    """A Chinese fragment matches by substring; Latin letters by initials or full pinyin."""
    q = unicodedata.normalize("NFKC", query).strip().lower().replace(" ", "")
    if not q:
        return False
    if q.isascii():
        return initials(name).startswith(q) or full_pinyin(name).startswith(q) or q in name
    return q in name
