"""A made-up 控辍保学台账 written by the real renderer, and a picture of its first rows.

Used by tools/render_samples.py. The workbook is the bytes ``render_workbook`` writes; the
picture is drawn from what openpyxl reads back, so it shows the file, not the view models.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kcbx.bot.documents.fonts import matplotlib_font_properties
from kcbx.bot.documents.ledger import COLUMNS, LedgerBook, LedgerRow, render_workbook
from kcbx.bot.domain.i18n import translator

ZH = translator("zh_CN")
COMMON = {
    "township": "滨河镇",
    "school": "滨河镇中心小学",
    "class_teacher": "李红\n13900000022",
    "township_cadre": "马建军",
    "village_cadre": "王海",
    "group_cadre": "张有福",
}
ROWS = [
    LedgerRow(
        **{**COMMON, "correction": "", "follow_up": "", "vulnerable": ""},
        case_number="KC-2024-0003",
        grade_class="五年级2班",
        student="王玥婧",
        sex="女",
        birth_date=date(2013, 5, 2),
        registry_no="G640502201305020021",
        household="滨河镇黄湾村三组",
        guardians="王建国\n马玉兰",
        relations="父亲\n母亲",
        phones="13700000011\n13700000012",
        cause="家长不愿送学",
        absent_since=date(2024, 3, 4),
        reported_on=date(2024, 3, 4),
        category="辍学",
        status="办理中：限期入学通知书",
        marked_on=date(2024, 3, 11),
        persuasion="2024年3月4日 09:00 电话联系监护人（李红）：拒绝返校\n"
        "2024年3月5日 10:00 家访（张有福）：见到监护人；拒绝返校",
        notice_number="沙教控辍〔2024〕7号",
        notice_delivered=date(2024, 3, 20),
        notice_deadline=date(2024, 3, 27),
        returned_on=None,
        whereabouts="外出务工：银川",
        flags="第八条：小学：出现辍学且未采取措施劝返（本月）",
    ),
    LedgerRow(
        **{**COMMON, "notice_number": "", "correction": "", "flags": "", "vulnerable": ""},
        case_number="KC-2024-0004",
        grade_class="三年级1班",
        student="马小军",
        sex="男",
        birth_date=date(2015, 9, 12),
        registry_no="G640502201509120013",
        household="滨河镇新墩村一组",
        guardians="马桂花",
        relations="奶奶",
        phones="13700000031",
        cause="身体原因",
        absent_since=date(2024, 3, 6),
        reported_on=date(2024, 3, 6),
        category="疑似辍学",
        status="已结案：已复学",
        marked_on=None,
        persuasion="2024年3月6日 08:40 电话联系监护人（李红）：同意返校",
        notice_delivered=None,
        notice_deadline=None,
        returned_on=date(2024, 3, 8),
        whereabouts="在校",
        follow_up="复学后未再缺课（截至2024年3月29日）",
    ),
]


def sample_workbook() -> bytes:
    book = LedgerBook(place="沙坡头区", rows=ROWS, actions=[], flags=[], notes=[])
    return render_workbook(book, t=ZH)


def _text(value: object) -> str:
    if isinstance(value, datetime | date):
        return f"{value.year}年{value.month}月{value.day}日"  # the cells' number format
    return "" if value is None else str(value)


def _wrap(text: str, width: int) -> str:
    """Lines of at most ``width`` Chinese characters (a digit or letter is half of one)."""
    lines = []
    for line in text.split("\n"):
        current, used = "", 0.0
        for char in line:
            size = 1.0 if ord(char) > 0x2E80 else 0.55
            if used + size > width and current:
                lines.append(current)
                current, used = "", 0.0
            current, used = current + char, used + size
        lines.append(current)
    return "\n".join(lines)


def ledger_png() -> bytes:
    """The workbook's header and first rows, its columns in three bands, as a PNG."""
    sheet = openpyxl.load_workbook(io.BytesIO(sample_workbook())).active
    assert sheet is not None
    rows = [[_text(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    widths = [width for _msgid, width, _field in COLUMNS]
    bands = ((0, 12), (12, 22), (22, len(COLUMNS)))
    figure = Figure(figsize=(20, 11), dpi=110)
    FigureCanvasAgg(figure)
    font = matplotlib_font_properties(9)
    for band, (start, stop) in enumerate(bands):
        axes = figure.add_axes((0.01, 0.67 - band * 0.32, 0.98, 0.28))
        axes.axis("off")
        chars = [max(3, int(w / 1.6)) for w in widths[start:stop]]  # a Chinese character is
        cells = [  # about two of Excel's width units
            [_wrap(v, n) for v, n in zip(r[start:stop], chars, strict=True)] for r in rows
        ]
        lines = [max(v.count("\n") + 1 for v in row) for row in cells]
        total = sum(widths[start:stop])
        table = axes.table(
            cellText=cells[1:],
            colLabels=cells[0],
            colWidths=[w / total for w in widths[start:stop]],
            cellLoc="left",
            bbox=(0, 0, 1, 1),
        )
        table.auto_set_font_size(False)
        for (row, _column), cell in table.get_celld().items():
            cell.get_text().set_fontproperties(font)
            cell.set_height(lines[row] / sum(lines))
            cell.set_linewidth(0.5)
            if row == 0:
                cell.set_facecolor("#DDE7F0")
    figure.suptitle(
        "沙坡头区控辍保学台账：表头与前两行（示例数据；三段为同一表格从左到右的列）",
        fontproperties=matplotlib_font_properties(12),
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
