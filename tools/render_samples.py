"""Render the sample pictures kept in docs/: a notice's first page and a summary chart.

    python tools/render_samples.py [--out DIR]

Writes ``notice-first-page.png`` (the 限期入学通知书 PDF, page 1, rendered with pdfium) and
``summary-chart.png`` (open cases by stage and the weekly trend, zh_CN), and prints how long
each step took. The data are made up.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pypdfium2 as pdfium

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kcbx.bot.documents.charts import ChartLabels, StageRow, render_summary_chart  # noqa: E402
from kcbx.bot.documents.notice import NoticeData, render_notice_docx, render_notice_pdf  # noqa: E402

NOTICE = NoticeData(
    kind="notice",
    number="沙教控辍〔2024〕第007号",
    guardians=["王建国", "马玉兰"],
    student="王玥婧",
    gender="女",
    school="中卫市沙坡头区滨河镇中心小学",
    grade_class="五年级（2）班",
    address="滨河镇黄湾村三组",
    absent_since=date(2024, 3, 4),
    days_absent=16,
    deadline=None,  # A7.4: it runs from delivery, so the notice says 自送达之日起7日内
    deadline_days=7,
    issuers=["中卫市沙坡头区教育局", "滨河镇人民政府"],
    issue_date=date(2024, 3, 20),
    contact="滨河镇中心小学 张老师 0955-1234567",
)
LABELS = ChartLabels(
    stages={
        "teacher": "第0–2天 班主任劝返",
        "school": "第3–6天 学校劝返",
        "dropout": "第7–14天 辍学",
        "notice": "已发限期入学通知书",
        "correction": "已责令限期改正",
    },
    cases="未结案件（件）",
    no_cases="目前没有未结案件",
    stage_panel="各乡镇未结案件（按阶段）",
    trend_panel="近8周未结案件",
    date_format="{d.month}月{d.day}日",
    footnote="截至2024年3月28日 08:00（示例数据）",
)
ROWS = [
    StageRow("滨河镇", {"teacher": 3, "school": 2, "dropout": 1, "notice": 1}),
    StageRow("文昌镇", {"teacher": 2, "school": 1, "dropout": 1}),
    StageRow("宣和镇", {"teacher": 1, "dropout": 2, "correction": 1}),
    StageRow("东园镇", {"school": 1, "notice": 1}),
    StageRow("迎水桥镇", {"school": 1}),
    StageRow("柔远镇", {}),
    StageRow("香山乡", {"dropout": 2, "notice": 1}),
]
WEEKS = [
    (date(2024, 2, 8) + timedelta(weeks=i), n)
    for i, n in enumerate([9, 12, 15, 14, 18, 22, 19, 21])
]


def main(argv: list[str] | None = None) -> int:
    """Write the two pictures and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where to write")
    arguments = parser.parse_args(argv)
    out: Path = arguments.out
    out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    pdf = render_notice_pdf(NOTICE)
    print(f"notice PDF   {time.perf_counter() - started:6.2f} s  {len(pdf) // 1024} KB")
    started = time.perf_counter()
    docx = render_notice_docx(NOTICE)
    print(f"notice .docx {time.perf_counter() - started:6.2f} s  {len(docx) // 1024} KB")

    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        image = page.render(scale=1.5, grayscale=True).to_pil().convert("L")
        page.close()
    finally:
        document.close()
    notice_png = out / "notice-first-page.png"
    image.save(notice_png, optimize=True)
    print(f"wrote {notice_png} ({notice_png.stat().st_size // 1024} KB)")

    started = time.perf_counter()
    chart = render_summary_chart(ROWS, WEEKS, "沙坡头区控辍保学周报", LABELS)
    print(f"summary chart {time.perf_counter() - started:5.2f} s")
    chart_png = out / "summary-chart.png"
    chart_png.write_bytes(chart)
    print(f"wrote {chart_png} ({len(chart) // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
