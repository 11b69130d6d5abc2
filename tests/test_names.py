"""Pinyin initials find a student (issue 3: zs finds 张三)."""

from __future__ import annotations

from kcbx.bot.domain.names import initials, matches


def test_initials_and_matching() -> None:
    assert initials("张三") == "zs"
    assert matches("张三", "zs")
    assert matches("张三", "zhangs")
    assert matches("张三", "张")
    assert matches("欧阳娜娜", "oyn")
    assert not matches("李四", "zs")
    assert not matches("张三", "  ")
