"""The measures' words: one name for each thing, in every text (RULES.md, Vocabulary).

Each term maps to the forms that drift from it in offices and in older texts; the catalogue
test fails when a Chinese text uses one of those forms, and ``tools/zh_style.py`` rewrites
them. Article numbers are shown as the measures number them (第七条), never as rule IDs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kcbx.bot.domain.i18n import N_

TERMS: dict[str, tuple[str, ...]] = {
    "无故不到校": ("无故缺课", "无故未到校", "无故缺席"),
    "弱势群体": ("重点关爱对象", "重点关注学生", "困难群体"),
    "限期入学通知书": ("限期复学通知书", "入学通知书（限期）"),
    "劝返": ("劝回", "动员返校"),
    "复学": ("重新入学",),
    "监护人": ("家长或监护人",),
    "免予入学": ("免于入学",),
}

_NUMERALS = "〇一二三四五六七八九十"


def article(number: int) -> str:
    """第七条 for 7, 第十条 for 10 (the measures have ten articles)."""
    if number <= 10:
        name = "十" if number == 10 else _NUMERALS[number]
    else:
        tens, ones = divmod(number, 10)
        name = ("" if tens == 1 else _NUMERALS[tens]) + "十" + (_NUMERALS[ones] if ones else "")
    return f"第{name}条"


RULE_ID = re.compile(r"(?<![A-Za-z0-9])A(\d{1,2})(?:\.\d{1,2})?(?![0-9.]*[0-9])")


def article_of(rule: str) -> str:
    """The article a rule ID belongs to: A7.3 -> 第七条; anything else as it is."""
    match = RULE_ID.fullmatch(rule.strip())
    return article(int(match.group(1))) if match else rule


# The articles as a text cites them: "Article 7" in English, 第七条 in Chinese.
ARTICLES: dict[int, str] = {
    1: N_("Article 1"),
    2: N_("Article 2"),
    3: N_("Article 3"),
    4: N_("Article 4"),
    5: N_("Article 5"),
    6: N_("Article 6"),
    7: N_("Article 7"),
    8: N_("Article 8"),
    9: N_("Article 9"),
    10: N_("Article 10"),
}


def cited(rule: str, t: Callable[[str], str]) -> str:
    """A rule ID as a user reads it: A7.3 -> 第七条 (Article 7); anything else as it is."""
    match = RULE_ID.match(rule.strip())
    number = int(match.group(1)) if match else 0
    return t(ARTICLES[number]) if number in ARTICLES else rule
