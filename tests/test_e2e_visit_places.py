"""A visit's location as a person reads it: the roster gives villages their coordinates
(经度/纬度 or one 坐标 column; a wrong value is a warning on its row, never a refused file),
the whole card names the village a visit's pin is near, and [地图] sends the pin again to a
person in scope only (A7.1 evidence)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import openpyxl

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.geo import Point, distance_km, read_pair
from kcbx.bot.domain.i18n import translator
from kcbx.bot.roster.importer import import_roster
from kcbx.bot.roster.report import render_report
from kcbx.storage.db import Database
from kcbx.storage.units import UnitRepo
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, small_district
from kcbx.testing.steps import (
    GROUP_CADRE,
    POLICE,
    TEACHER,
    bind,
    cadre_told_of_day_7,
    has,
    home_visit_up_to_evidence,
    step,
)

XINDUN = (37.5100, 105.1900)  # 新墩村 (latitude, longitude)
PIN = (37.5152, 105.1961)  # about 0.8 km from it


def units_book(header: list[str], rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "单位"
    sheet.append(header)
    for row in [["区", "沙坡头区"], ["乡镇", "滨河镇", "沙坡头区"], *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_coordinates_as_a_county_writes_them() -> None:
    lon_first, words = read_pair("105.19,37.51"), read_pair("北纬37.51°，东经105.19°")
    assert lon_first == words == read_pair("37.51, 105.19") == Point(37.51, 105.19)
    assert 0.7 < distance_km(Point(*XINDUN), Point(*PIN)) < 0.9


async def test_roster_coordinates_good_and_bad(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "k.db")
    clock = FakeClock(datetime(2024, 3, 1, tzinfo=UTC))
    try:
        two_columns = units_book(
            ["类型", "名称", "上级", "经度", "纬度"],
            [
                ["村", "新墩村", "滨河镇", 105.19, 37.51],
                ["村", "黄湾村", "滨河镇", "东经105.23°", "北纬37.48°"],
                ["村", "银坪村", "滨河镇", "105,2", 37.5],  # a typing slip: warned, imported
                ["村", "北滩村", "滨河镇", 105.3],  # the latitude missing
                ["村", "永湾村", "滨河镇"],  # none: as before
            ],
        )
        report = await import_roster(db, two_columns, "单位.xlsx", actor="cli:root", clock=clock)
        assert report.written and not report.errors
        text = "\n".join(render_report(report, translator("zh_CN")))
        assert "工作表“单位”第6行D列（经度）：“105,2”不是有效的经度" in text
        assert "工作表“单位”第7行E列（纬度）：请同时填写经度和纬度，或都不填" in text
        units = UnitRepo(db)
        placed = {u.name: (u.latitude, u.longitude) for u in await units.villages_on_map()}
        assert placed == {"新墩村": (37.51, 105.19), "黄湾村": (37.48, 105.23)}
        assert {u.name for u in await units.of_kind("village")} >= {"银坪村", "北滩村", "永湾村"}

        # again, with one 坐标 column (经度 first, as map sites copy it): 银坪村 gets one,
        # 新墩村 moves, and a cell that is no place is one warning on its row
        one_column = units_book(
            ["类型", "名称", "上级", "坐标"],
            [
                ["村", "新墩村", "滨河镇", "105.20，37.52"],
                ["村", "银坪村", "滨河镇", "105.21,37.50"],
                ["村", "北滩村", "滨河镇", "滨河镇北"],
            ],
        )
        report = await import_roster(db, one_column, "单位.xlsx", actor="cli:root", clock=clock)
        assert report.written and not report.errors
        english = "\n".join(render_report(report, translator("en")))
        assert "row 6, column D (坐标): “滨河镇北” is not a place on the map" in english
        assert report.counts["units"].updated == 2
        units.invalidate()
        placed = {u.name: (u.latitude, u.longitude) for u in await units.villages_on_map()}
        moved = {"新墩村": (37.52, 105.2), "黄湾村": (37.48, 105.23), "银坪村": (37.5, 105.21)}
        assert placed == moved
    finally:
        await db.close()


async def test_a_visits_pin_is_named_by_its_village_and_sent_again(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    await s.db.execute(
        "UPDATE units SET latitude = ?, longitude = ? WHERE id = ?", (*XINDUN, d.units["xindun"])
    )
    s.units.invalidate()
    cadre, teacher, police = [await bind(harness, p) for p in (GROUP_CADRE, TEACHER, POLICE)]
    case = await cadre_told_of_day_7(harness, d, cadre)

    # the cadre records a home visit and shares the location
    outcomes, _ = await home_visit_up_to_evidence(cadre, case)
    assert "vv:o:nobody_home" not in outcomes.button_data.values()  # met someone: not 家中无人
    await cadre.send_location(*PIN)
    await cadre.wait_for(has("vv:p"))
    await step(cadre, "vv:p", "vv:n")
    confirm = await step(cadre, "vv:n", "vv:ok")
    assert "位置：新墩村附近（约0.8公里），是该生所在村" in confirm.plain
    assert "37.5" not in confirm.plain  # a place, not raw numbers
    await cadre.press("vv:ok")
    saved = await cadre.wait_for(lambda m: "已保存" in m.plain)
    assert "位置：新墩村附近（约0.8公里），是该生所在村" in saved.plain

    # the teacher: the whole card names the place; [地图（1）] sends the pin again
    await teacher.send("/cases")
    await teacher.press(f"case:{case.id}", await teacher.wait_for(has(f"case:{case.id}")))
    brief = await teacher.wait_for(has(f"cdet:{case.id}"))
    assert not [b for b in brief.buttons if b.startswith("地图")]  # only behind [详情]
    await teacher.press(f"cdet:{case.id}", brief)
    card = await teacher.wait_for(lambda m: "办理记录" in m.plain)
    assert "3月11日（周一）入户家访" in card.plain
    assert "位置：新墩村附近（约0.8公里），是该生所在村" in card.plain
    assert "地图（1）" in card.buttons and len(card.buttons) <= 6
    assert all(len(b) <= 12 for b in card.buttons)
    assert card.button_data["地图（1）"] == f"cvloc:{case.id}"
    await teacher.press("地图（1）", card)
    pin = await teacher.wait_for(lambda m: m.kind == "location")
    assert pin.location == PIN
    heading = teacher.messages[-2]
    assert "位置：新墩村附近" in heading.plain and "入户家访" in heading.plain
    await harness.settle()
    await s.audit.flush()  # who saw where the child lives is in the audit log
    seen = await s.audit.of_student(d.students["张三"])
    assert [e["entity_id"] for e in seen if e["action"] == "view:visit_locations"] == [str(case.id)]

    # forged data from someone out of scope: a polite refusal, no pin
    await police.send("/cases")
    last = await police.next_message()
    await police.press_data(f"cvloc:{case.id}", last)
    answer = await police.next_callback_answer()
    assert (answer.data, answer.text, answer.show_alert) == (
        f"cvloc:{case.id}",
        "您无权查看此内容。",
        True,
    )
    assert not [m for m in police.messages if m.kind == "location"]

    # without any village on the map: said plainly, the numbers after the words
    await s.db.execute("UPDATE units SET latitude = NULL, longitude = NULL")
    s.units.invalidate()
    await teacher.press(f"cdet:{case.id}", brief)
    again = await teacher.wait_for(lambda m: "办理记录" in m.plain and m is not card)
    plainly = "位置：已定位，但花名册中的村都没有坐标，无法说出在哪个村附近（37.51520，105.19610）"
    assert plainly in again.plain
