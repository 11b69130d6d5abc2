"""End to end (A6, A7.3): a county's roster whose departments have no 代码 column is sent by
an administrator in chat; the departments are linked to their roles by name, so on day 7 the
bound 区民政局 liaison receives the referral, and the bureau stands in for 区乡村振兴局,
which has no liaison (as the import warned)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl

from kcbx.bot.domain.roles import Role
from kcbx.testing.harness import BotHarness

T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)  # Monday 4 March 2024, 09:00 in Shanghai
CIVIL = "13900000030"
BUREAU = "13900000002"
TEACHER = "13900000021"


def sh(day: int, hour: int) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC) - timedelta(hours=8)


def county_roster() -> bytes:
    """Three sheets as a county office fills them: title rows, no 代码 column."""
    book = openpyxl.Workbook()
    units = book.active
    units.title = "单位"
    units.append(["沙坡头区控辍保学单位表"])
    units.merge_cells("A1:D1")
    units.append(["单位类别", "单位名称", "所属单位", "学段"])
    for row in [
        ["区", "沙坡头区", None, None],
        ["部门", "区教育局", "沙坡头区", None],
        ["部门", "区民政局", "沙坡头区", None],
        ["部门", "区乡村振兴局", "沙坡头区", None],
        ["乡镇", "滨河镇", "沙坡头区", None],
        ["村", "三道湖村", "滨河镇", None],
        ["组", "1组", "三道湖村", None],
        ["学校", "三道湖小学", "滨河镇", "小学"],
    ]:
        units.append(row)
    staff = book.create_sheet("人员")
    staff.append(["沙坡头区控辍保学责任人员名册"])
    staff.merge_cells("A1:E1")
    staff.append(["姓名", "联系电话", "职责", "所在单位", "班级"])
    for row in [
        ["钱教育", BUREAU, "教育局工作人员", "区教育局", None],
        ["孙民政", CIVIL, "部门联络员", "区民政局", None],
        ["郑校长", "13900000020", "校长", "三道湖小学", None],
        ["王老师", TEACHER, "班主任", "三道湖小学", "三年级(2)班"],
        ["赵包村", "13900000010", "包村干部", "三道湖村", None],
        ["钱包组", "13900000011", "包组干部", "三道湖村1组", None],
        ["孙包户", "13900000012", "包户干部", "三道湖村一组", None],
    ]:
        staff.append(row)
    pupils = book.create_sheet("学生")
    pupils.append(["学籍号", "姓名", "性别", "出生日期", "学校", "年级", "班级", "乡镇", "村",
                   "组", "监护人", "关系", "监护人电话"])  # fmt: skip
    pupils.append(["G640502201503051234", "张三", "男", "2015-03-05", "三道湖小学", "三年级",
                   "2班", "滨河镇", "三道湖村", "一组", "张大", "父亲", "13700000000"])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_roster_without_codes_routes_day_7_to_the_civil_affairs_liaison(
    tmp_path: Path,
) -> None:
    async with BotHarness(tmp_path / "kcbx.db", T0) as h:
        s = h.s
        await s.units.add("district", "沙坡头区")
        admin = await h.join(950, role=Role.ADMIN, unit="沙坡头区", name="周管理")

        await admin.send_document(county_roster(), "沙坡头区花名册.xlsx")
        answer = await admin.wait_for(lambda m: "已导入" in m.plain)
        assert "区乡村振兴局：无联络员" in answer.plain  # the import warned
        assert "区民政局：" not in answer.plain
        assert len(answer.text) < 4096
        codes = await s.db.fetchall("SELECT name, code FROM units WHERE kind = 'department'")
        assert {r["name"]: r["code"] for r in codes} == {
            "区教育局": "education_bureau",
            "区民政局": "civil_affairs",
            "区乡村振兴局": "rural_revitalisation",
        }

        await h.bind_quietly(1030, phone=CIVIL)
        await h.bind_quietly(1002, phone=BUREAU)
        await h.bind_quietly(1021, phone=TEACHER)
        civil, bureau = h.fake.user(1030), h.fake.user(1002)
        student = await s.db.fetchval("SELECT id FROM students WHERE name = '张三'")
        teacher = await s.people.by_phone(TEACHER)
        assert teacher is not None
        case = await s.cases.open_case(
            student_id=student,
            reported_by=teacher.id,
            absent_since=date(2024, 3, 4),
            cause="poverty",  # A6: civil affairs and rural revitalisation
            guardian_contact="unreached",
            note=None,
            now=s.clock.now(),
            year=2024,
            actor=f"person:{teacher.id}",
        )

        await h.set_time(sh(10, 9))  # day 6: nobody is referred yet
        assert not [m for m in civil.inbox() if case.number in m.plain]

        await h.set_time(sh(11, 8))  # day 7, 08:00 (A7.3)
        referral = await civil.wait_for(lambda m: case.number in m.plain)
        assert "张三" in referral.plain and "三道湖小学" in referral.plain
        referrals = {r.department_code: r for r in await s.referrals.of_case(case.id)}
        assert set(referrals) == {"civil_affairs", "rural_revitalisation"}
        assert any(data.startswith("ref:a:") for data in referral.button_data.values())
        # 区乡村振兴局 has no liaison: its referral reaches the bureau, which stands in
        stand_in = await bureau.wait_for(lambda m: case.number in m.plain and "乡村振兴" in m.plain)
        assert "张三" in stand_in.plain
