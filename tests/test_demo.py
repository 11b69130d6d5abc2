"""`kcbx demo` (issue 7): the month plays through the real bot, offline, and writes artefacts
that open; the transcript shows every step of the ladder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from kcbx.demo.roster import build_roster
from kcbx.demo.story import run_demo


async def test_the_demo_plays_the_whole_ladder(
    tmp_path: Path, db_backend: str, request: pytest.FixtureRequest
) -> None:
    if db_backend == "sqlite":  # the run's one month on SQLite, which other tests read too
        artefacts = request.getfixturevalue("demo_month")
    else:
        artefacts = await run_demo(out=tmp_path / "demo", students=300, lang="zh_CN", keep=True)

    transcript = artefacts["transcript"].read_text(encoding="utf-8")
    for rule, step in (
        ("A7.1", "电话联系监护人"),
        ("A7.2", "学校组织力量劝返"),
        ("A7.3", "辍学标注"),
        ("A7.4", "限期入学通知书"),
        ("A7.5", "责令限期改正"),
        ("A7.6", "已关闭"),
        ("A5.1", "三包任务（第五条）"),
        ("A9", "帮扶转介（第九条）"),
    ):
        assert step in transcript, rule
    for step in ("已为", "家访", "限期入学通知书", "责令限期改正", "已返校", "控辍保学汇总"):
        assert step in transcript, step
    assert "案件KC-2024-0003已关闭" in transcript
    # the case card tells a visit's outcome apart from what the guardians said on the phone
    assert "包户干部）：家访（拒绝返校）" in transcript

    pdfs = [p for p in artefacts.values() if p.suffix == ".pdf"]
    assert len(pdfs) == 2  # the notice (A7.4) and the order to correct (A7.5)
    texts = ["".join(page.extract_text() for page in PdfReader(p).pages) for p in pdfs]
    assert any("限期入学通知书" in text for text in texts)
    docx = [p for p in artefacts.values() if p.suffix == ".docx"]
    assert len(docx) == 2
    assert any("限期入学通知书" in para.text for para in Document(str(docx[0])).paragraphs) or any(
        "责令限期改正" in para.text for para in Document(str(docx[0])).paragraphs
    )
    ledger = load_workbook(artefacts["ledger"])
    assert len(ledger.sheetnames) >= 2
    assert artefacts["chart"].read_bytes().startswith(b"\x89PNG")
    if db_backend == "sqlite":  # (on PostgreSQL the suite put the file in a database)
        assert artefacts["database"].exists()  # --keep
    assert load_workbook(io.BytesIO(artefacts["roster"].read_bytes()))["学生"].max_row > 100


@pytest.mark.single_backend  # the language, not the storage: the ladder test runs on both
async def test_the_demo_speaks_english(tmp_path: Path) -> None:
    artefacts = await run_demo(out=tmp_path / "en", students=200, lang="en")
    transcript = artefacts["transcript"].read_text(encoding="utf-8")
    assert "== 19 Mar 07:59 Day 15: the notice to enrol by a deadline (A7.4)" in transcript
    assert "Case KC-2024-0003" in transcript or "KC-2024-0003" in transcript
    assert "database" not in artefacts


def test_the_same_seed_gives_the_same_district() -> None:
    first, second = build_roster(students=500), build_roster(students=500)
    assert first.students == second.students and first.staff == second.staff
    assert first.students != build_roster(students=500, seed=1).students
