"""End to end: the leader's picture counts one way everywhere.

One district built through the project's services (the seed's roster, cases opened and
closed by the case service); the district leader reads /summary, presses the chart, sends
/export and gets the weekly digest, all through the real bot and the strict fake Bot API.
The open, suspected, dropout, notice and returned counts must be the same numbers in each
(A7.3: a dropout is a case past day 7 and not closed; A7.4: the notice to enrol), the
captions rendered with their parse mode, and an English reader's file named in English.
"""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl

from kcbx.bot.documents.protect import decrypt
from kcbx.bot.domain.i18n import translator
from kcbx.bot.engine.digests import run_digests
from kcbx.bot.services.summary import chart_data
from kcbx.bot.texts.summary import chart_rows
from kcbx.testing.fakebot import FakeUser, SentMessage
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, small_district


async def seed(harness: BotHarness) -> None:
    """Five cases: 张三 a dropout (day 7), 孙八 at the notice stage (day 20), 王五 and 钱七
    suspected; 李四 reported and back at school (closed as returned this school year)."""
    s = harness.s
    district = await small_district(s, T0)
    for name, since in (
        ("张三", date(2024, 2, 26)),
        ("王五", date(2024, 3, 1)),
        ("钱七", date(2024, 3, 3)),
        ("孙八", date(2024, 2, 13)),
        ("李四", date(2024, 2, 27)),
    ):
        case = await s.cases.open_case(
            student_id=district.students[name],
            reported_by=None,
            absent_since=since,
            cause="unknown",
            guardian_contact=None,
            note=None,
            now=T0,
            year=2024,
            actor="cli:test",
        )
        if name == "李四":
            await s.cases.close(case.id, status="returned", now=T0, actor="cli:test")


async def leader(harness: BotHarness, user_id: int, lang: str = "zh_CN") -> FakeUser:
    await harness.bind_quietly(user_id, phone="13900000002", lang=lang)
    return harness.fake.user(user_id)


def number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, (pattern, text)
    return int(found.group(1))


def counts_of(text: str) -> dict[str, int]:
    """The counts as the summary and every caption write them."""
    return {
        "open": number(r"未结案件(\d+)件", text),
        "dropout": number(r"其中辍学(\d+)件", text),
        "suspected": number(r"疑似辍学(\d+)件", text),
        "notice": number(r"已发限期入学通知书(\d+)件", text),
        "returned": number(r"本学年(?:已返校)?(\d+)名", text),
    }


def is_rendered(message: SentMessage) -> bool:
    """Sent with the parse mode set and escaped once: the chat shows no tag, no entity."""
    mode = message.parse_mode or ""
    return mode.lower() == "html" and not re.search(r"</?b>|&lt;|&amp;", message.plain)


async def test_summary_chart_ledger_and_digest_count_the_same_district(
    harness: BotHarness,
) -> None:
    await seed(harness)
    user = await leader(harness, 951)
    await user.send("/summary")
    summary = await user.wait_for(lambda m: "控辍保学汇总" in m.plain)
    expected = {"open": 4, "dropout": 2, "suspected": 2, "notice": 1, "returned": 1}
    shown = dict(expected)
    shown["open"] = number(r"未结案件(\d+)件", summary.plain)
    shown["dropout"] = number(r"其中辍学(\d+)件", summary.plain)
    shown["suspected"] = number(r"疑似辍学(\d+)件", summary.plain)
    shown["returned"] = number(r"本学年(\d+)名", summary.plain)
    assert shown == expected
    # the stage line adds up to the headline: "辍学2件（辍学未发通知书1件、已发…1件）"
    stages = re.search(r"^辍学(\d+)件（(.*)）。$", summary.plain, re.M)
    assert stages is not None and int(stages.group(1)) == 2
    assert sum(int(n) for n in re.findall(r"(\d+)件", stages.group(2))) == 2
    assert "已发限期入学通知书1件" in stages.group(2)
    assert "辍学率25.00%（第八条：不超过1%）" in summary.plain  # 2 of 8 (A8.1)

    await user.press("图表", summary)
    photo = await user.wait_for(lambda m: m.photo is not None)
    assert is_rendered(photo) and "沙坡头区控辍保学情况" in photo.plain
    assert counts_of(photo.plain) == expected
    assert "辍学率25.00%" in photo.plain
    # what the photo drew: the townships in the roster's order, returns and rates with them
    person = await harness.s.people.by_phone("13900000002")
    assert person is not None and person.unit_id is not None
    data = await chart_data(harness.s, person, person.unit_id)
    assert data is not None
    rows = chart_rows(data, translator("zh_CN"))
    assert [(r.name, r.total, r.returned) for r in rows] == [("滨河镇", 3, 1), ("文昌镇", 1, 0)]
    assert [round(r.rate or 0, 2) for r in rows] == [16.67, 50.0]  # 1 of 6, 1 of 2

    await user.send("/export")
    document = await user.wait_for(lambda m: m.document is not None)
    assert is_rendered(document) and "沙坡头区控辍保学台账" in document.plain
    assert counts_of(document.plain) == expected
    assert "本学年案件5件" in document.plain
    assert document.filename == "控辍保学台账_沙坡头区_20240304.xlsx"
    secret = await user.wait_for(lambda m: "<code>" in (m.text or ""))
    password = re.search(r"<code>([A-Z0-9]+)</code>", secret.text or "")
    assert password is not None and document.document is not None
    book = openpyxl.load_workbook(io.BytesIO(decrypt(document.document, password.group(1))))
    rows = list(book["控辍保学台账"].iter_rows(min_row=2, values_only=True))
    open_rows = [r for r in rows if str(r[22]).startswith("办理中")]
    assert len(open_rows) == expected["open"]
    assert sum(1 for r in open_rows if r[21] == "辍学") == expected["dropout"]
    assert sum(1 for r in rows if r[22] == "已结案：已复学") == expected["returned"]
    notes = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True)}
    assert (notes["未结案件"], notes["辍学（未结）"], notes["本学年已返校"]) == ("4", "2", "1")

    await run_digests(harness.s, None)  # Monday 09:00: the weekly summary
    await harness.deliver()
    digest = await user.wait_for(lambda m: "每周汇总" in m.plain)
    assert number(r"其中辍学(\d+)件", digest.plain) == expected["dropout"]
    assert number(r"未结案件(\d+)件", digest.plain) == expected["open"]
    assert number(r"本学年(\d+)名", digest.plain) == expected["returned"]


async def test_an_english_leader_gets_english_captions_and_file_name(
    harness: BotHarness,
) -> None:
    await seed(harness)
    user = await leader(harness, 952, lang="en")
    await user.send("/summary")
    summary = await user.wait_for(lambda m: "summary" in m.plain.lower())
    assert "Open cases: 4, of which dropouts: 2." in summary.plain
    assert "Dropout rate: 25.00% (the limit of Article 8: 1%)." in summary.plain
    await user.press("Chart", summary)
    photo = await user.wait_for(lambda m: m.photo is not None)
    assert is_rendered(photo)
    assert "Open cases: 4, of which dropouts: 2; suspected: 2." in photo.plain
    assert "Back at school this school year: 1." in photo.plain
    await user.send("/export")
    document = await user.wait_for(lambda m: m.document is not None)
    assert is_rendered(document)
    # the place keeps its name; nothing else in the name is Chinese
    assert document.filename == "Dropout-control-ledger_沙坡头区_20240304.xlsx"
    assert "Open cases: 4, of which dropouts: 2; suspected: 2." in document.plain
