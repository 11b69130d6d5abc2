"""Time the roster import (issue 2) on a generated district: 50,000 students by default.

    python tools/bench_import.py [--students N] [--keep DIR] [--openpyxl]

Writes a workbook with sheets 单位, 教职工 and 学生 (a merged title row, Excel dates, phones
stored as numbers, full-width digits), imports it into a fresh SQLite file, imports it again
(which must change nothing), and prints the times. The target is under 15 s for 50,000 students.

The workbook is written as Excel and WPS write theirs (shared strings, a dimension record);
``--openpyxl`` writes it with openpyxl instead, whose inline strings openpyxl reads about
twice as slowly, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kcbx.bot.domain.clock import FakeClock  # noqa: E402
from kcbx.bot.importer import import_roster  # noqa: E402
from kcbx.bot.roster import A9_FLAGS  # noqa: E402
from kcbx.storage.db import Database  # noqa: E402

TOWNSHIPS = ["滨河镇", "文昌镇", "东园镇", "柔远镇", "镇罗镇", "宣和镇", "永康镇", "常乐镇"]
SURNAMES = "王李张刘陈杨马赵黄周吴徐孙胡朱高林何郭罗"
GIVEN = "小明红华军芳伟丽强敏静磊洋艳勇杰娟涛超霞平刚桂英"
FLAG_WORDS = ["突发严重困难户", "脱贫不稳定户", "低保户", "残疾儿童", "残疾人子女"]
FLAG_WORDS += ["服刑人员子女", "留守儿童", "单亲", "孤儿"]
assert len(FLAG_WORDS) == len(A9_FLAGS)
CLASSES_PER_GRADE = 4


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def district(students: int, seed: int = 2) -> dict[str, list[list[object]]]:
    """The rows of the three sheets: units, staff and students."""
    rng = random.Random(seed)
    units: list[list[object]] = [["沙坡头区单位表"], ["类型", "名称", "上级", "学段", "代码"]]
    units.append(["区", "沙坡头区", "", "", ""])
    units.append(["部门", "民政局", "沙坡头区", "", "civil_affairs"])
    schools: list[tuple[str, str, range]] = []
    households: list[tuple[str, str, str]] = []
    for township in TOWNSHIPS:
        units.append(["镇", township, "沙坡头区"])
        for v in range(12):
            village = f"{township[:2]}{v + 1}村"
            units.append(["村", village, township])
            for g in range(1, 7):
                units.append(["组", f"{g}组", f"{township}/{village}"])
                households.append((township, village, f"{g}组"))
        for s, (section, grades) in enumerate(
            [("小学", range(1, 7)), ("小学", range(1, 7)), ("初中", range(7, 10))]
        ):
            school = f"{township[:2]}第{s + 1}{'小学' if section == '小学' else '中学'}"
            units.append(["学校", school, township, section])
            schools.append((school, township, grades))
    staff: list[list[object]] = [["姓名", "手机号", "角色", "单位", "班级"]]
    phone = 13900000000
    for school, _, grades in schools:
        phone += 1
        staff.append([name(rng), float(phone), "校长", school, None])
        for grade in grades:
            for c in range(1, CLASSES_PER_GRADE + 1):
                phone += 1
                label = f"{grade}年级{c}班" if grade < 7 else f"初{'一二三'[grade - 7]}({c})班"
                staff.append([name(rng), phone, "班主任", school, label])
    for township, village, _ in households[::6]:
        phone += 1
        staff.append([name(rng), phone, "村干部", f"{township}/{village}", None])
    pupils: list[list[object]] = [["沙坡头区2024年春季学期学生花名册"], []]
    header = (
        "学籍号 姓名 性别 出生日期 学校 年级 班级 乡镇 村 组 监护人 关系 监护人电话 困难类别 备注"
    )
    pupils.append(list(header.split()))
    seen: set[str] = set()
    for i in range(students):
        school, township, grades = schools[i % len(schools)]
        grade = grades[(i // len(schools)) % len(grades)]
        here = [h for h in households[::24] if h[0] == township] or households
        _, village, group = here[i % len(here)]
        born = datetime(2024 - 6 - grade, 1 + i % 12, 1 + i % 28)  # noqa: DTZ001 - a date cell
        registry = f"G640502{born:%Y%m%d}{i % 10000:04d}"
        assert registry not in seen
        seen.add(registry)
        if i % 10 == 0:  # some offices type full-width digits
            registry = registry.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        pupils.append(
            [
                registry,
                name(rng),
                "男" if i % 2 else "女",
                born if i % 3 else born.strftime("%Y年%-m月%-d日"),
                school,
                grade,
                f"({1 + i % CLASSES_PER_GRADE})班",
                township,
                village,
                group,
                f"{name(rng)}、{name(rng)}",
                "父亲、母亲",
                13800000000 + i,
                rng.choice(FLAG_WORDS) if i % 7 == 0 else None,
                None,
            ]
        )
    return {"单位": units, "教职工": staff, "学生": pupils}


def write_openpyxl(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    """The workbook as openpyxl writes it (inline strings: slower to read than Excel's)."""
    book = openpyxl.Workbook(write_only=True)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)


def write_excel_like(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    """The workbook as Excel and WPS write it: shared strings, dimensions, a merged title."""
    strings: dict[str, int] = {}
    parts: dict[str, str] = {}
    for n, rows in enumerate(sheets.values(), start=1):
        width = max(len(r) for r in rows)
        xml = [_SHEET_HEAD.format(ref=f"A1:{_letter(width - 1)}{len(rows)}")]
        for r, row in enumerate(rows, start=1):
            cells = []
            for c, value in enumerate(row):
                ref = f"{_letter(c)}{r}"
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    index = strings.setdefault(value, len(strings))
                    cells.append(f'<c r="{ref}" t="s"><v>{index}</v></c>')
                elif isinstance(value, datetime):
                    serial = (value - datetime(1899, 12, 30)).days  # noqa: DTZ001
                    cells.append(f'<c r="{ref}" s="1"><v>{serial}</v></c>')
                else:
                    cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            xml.append(f'<row r="{r}">{"".join(cells)}</row>')
        xml.append("</sheetData>")
        if len(rows[0]) == 1:  # a title row: merged across the table, as offices do
            xml.append(
                f'<mergeCells count="1"><mergeCell ref="A1:{_letter(width - 1)}1"/></mergeCells>'
            )
        xml.append("</worksheet>")
        parts[f"xl/worksheets/sheet{n}.xml"] = "".join(xml)
    shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    parts["xl/sharedStrings.xml"] = (
        f'<sst xmlns="{_NS}" count="{len(strings)}" uniqueCount="{len(strings)}">{shared}</sst>'
    )
    names = list(sheets)
    parts["xl/workbook.xml"] = (
        f'<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}"><sheets>'
        + "".join(
            f'<sheet name="{escape(t)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, t in enumerate(names, start=1)
        )
        + "</sheets></workbook>"
    )
    rels = [
        f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(names) + 1)
    ]
    rels.append(f'<Relationship Id="rIdS" Type="{_REL_NS}/styles" Target="styles.xml"/>')
    rels.append(
        f'<Relationship Id="rIdT" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    )
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<Relationships xmlns="{_PKG_REL}">{"".join(rels)}</Relationships>'
    )
    parts["xl/styles.xml"] = _STYLES
    parts["_rels/.rels"] = (
        f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
        f'Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    overrides = [("/xl/workbook.xml", "sheet.main"), ("/xl/styles.xml", "styles")]
    overrides.append(("/xl/sharedStrings.xml", "sharedStrings"))
    overrides += [(f"/xl/worksheets/sheet{i}.xml", "worksheet") for i in range(1, len(names) + 1)]
    parts["[Content_Types].xml"] = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(
            f'<Override PartName="{part}" ContentType="application/vnd.openxmlformats-'
            f'officedocument.spreadsheetml.{kind}+xml"/>'
            for part, kind in overrides
        )
        + "</Types>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, text in parts.items():
            archive.writestr(
                part, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + text
            )


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_HEAD = f'<worksheet xmlns="{_NS}"><dimension ref="{{ref}}"/><sheetData>'
_STYLES = (
    f'<styleSheet xmlns="{_NS}"><fonts count="1"><font><sz val="11"/><name val="宋体"/></font>'
    '</fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


async def run(path: Path, db_path: Path) -> list[tuple[str, float, float, object]]:
    clock = FakeClock(datetime(2024, 3, 1, 1, 0, tzinfo=UTC))
    db = await Database.open(db_path)
    results = []
    try:
        for label in ("first import", "re-import"):
            start, cpu = time.perf_counter(), time.process_time()
            report = await import_roster(
                db, path, path.name, actor="cli:bench", skip_invalid=False, clock=clock
            )
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            if report.errors:
                for error in report.errors[:10]:
                    print(error.render(lambda s: s))
                raise SystemExit(f"{label}: {len(report.errors)} errors")
            results.append((label, elapsed, cpu, report.counts))
    finally:
        await db.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="write the workbook and database here")
    parser.add_argument(
        "--openpyxl",
        action="store_true",
        help="write the workbook with openpyxl (inline strings) instead of as Excel does",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        book, db = where / "roster.xlsx", where / "bench.db"
        for stale in (db, db.with_name("bench.db-wal"), db.with_name("bench.db-shm")):
            stale.unlink(missing_ok=True)
        start = time.perf_counter()
        (write_openpyxl if args.openpyxl else write_excel_like)(book, district(args.students))
        print(
            f"generated {args.students} students in {time.perf_counter() - start:.1f} s"
            f" ({book.stat().st_size / 1e6:.1f} MB)"
        )
        for label, elapsed, cpu, counts in asyncio.run(run(book, db)):
            students = counts["students"]  # type: ignore[index]
            print(
                f"{label}: {elapsed:.1f} s ({cpu:.1f} s of CPU in all threads,"
                f" {args.students / elapsed:,.0f} students/s);"
                f" students created {students.created}, updated {students.updated},"
                f" unchanged {students.unchanged}"
            )


if __name__ == "__main__":
    main()
