"""Grades and classes as schools write them, and how a notice addresses the guardians."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcbx.bot.domain.grades import class_words, grade_class, grade_name
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.kinship import Address, address_guardians, relation_kind
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services


@pytest.mark.parametrize(
    ("grade", "class_name", "style", "expected"),
    [
        (8, "2班", "year", "八年级2班"),
        (8, "2", "year", "八年级2班"),
        (8, "（2）班", "year", "八年级（2）班"),  # as the school typed it
        (8, "2班", "junior", "初二(2)班"),
        (7, "（3）班", "junior", "初一(3)班"),
        (3, "1班", "junior", "三年级1班"),  # primary grades keep 年级
        (8, "初二(2)班", "year", "初二(2)班"),  # a class that names its grade: as typed
        (8, "八年级2班", "junior", "八年级2班"),
        (5, "火箭班", "year", "五年级火箭班"),
        (None, "2班", "year", "2班"),
        (12, "1班", "year", "1班"),
    ],
)
def test_grade_and_class(grade: int | None, class_name: str, style: str, expected: str) -> None:
    assert grade_class(grade, class_name, style) == expected  # type: ignore[arg-type]


def test_grade_names() -> None:
    assert [grade_name(g) for g in (1, 6, 9)] == ["一年级", "六年级", "九年级"]
    assert grade_name(9, "junior") == "初三" and grade_name(0) == ""


@pytest.mark.parametrize(
    ("relations", "gender", "expected"),
    [
        (["父亲", "母亲"], "女", Address("你们", "你们的子女")),
        (["父亲"], "女", Address("你", "你的女儿")),
        (["妈妈"], "男", Address("你", "你的儿子")),
        (["奶奶"], "女", Address("你", "你的孙女")),
        (["爷爷", "奶奶"], "男", Address("你们", "你们的孙子")),
        (["外婆"], "F", Address("你", "你的外孙女")),
        (["姥爷"], "M", Address("你", "你的外孙")),
        (["父亲", "奶奶"], "女", Address("你们", "你们监护的")),  # mixed: by the law's word
        (["叔叔"], "男", Address("你", "你监护的")),
        ([None], "女", Address("你", "你监护的")),  # relation unknown
        (["母亲"], None, Address("你", "你的子女")),
    ],
)
def test_guardians_are_addressed_by_number_and_relation(
    relations: list[str | None], gender: str | None, expected: Address
) -> None:
    assert address_guardians(relations, gender) == expected


def test_relations_as_rosters_write_them() -> None:
    assert relation_kind(" 父 亲 ") == "parent"
    assert relation_kind("祖母") == "grandparent" and relation_kind("姥姥") == "maternal"
    assert relation_kind("") == "other"


async def test_chat_prints_grades_in_the_countys_style(tmp_path: Path) -> None:
    """``grade_style = "junior"``: the junior middle grades read 初二(2)班 in chat as on the
    notices; primary grades keep 三年级1班; English says the year; closing the services
    goes back to the default."""
    zh, en = translator("zh_CN"), translator("en")
    services = await Services.open(Config(db_path=str(tmp_path / "k.db"), grade_style="junior"))
    try:
        assert class_words(8, "2班", zh) == "初二(2)班"
        assert class_words(3, "1班", zh) == "三年级1班"
        assert class_words(7, "火箭班", zh) == "初一火箭班"
        assert class_words(8, "2班", en) == "junior year 2, class 2"
    finally:
        await services.close()
    assert class_words(8, "2班", zh) == "八年级2班"
