"""The notices' pure rules, and the notice as the service writes it from a real case (issue 6).

Who may issue (A7.4: the education bureau with the household's township), the delivery
date's checks, the deadline counted from delivery (A7.4, A7.5), the order's own number
series (a policy setting); and the document made from the database's facts, drawn in Chinese
(the glyph checks of tests/test_documents.py, applied to what the service produces).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from test_documents import assert_distinct_glyphs, glyph_crops, pdf_text, render_first_page

from kcbx.bot.documents.notice import compose_notice
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.policy import PolicyError, default_policy, policy_from_data
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.schoolcal import SchoolCalendar
from kcbx.bot.domain.scope import StudentPlace
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.notices import (
    CORRECTION,
    NOTICE,
    check_delivery_date,
    clean_receiver,
    deadline_from,
    grade_class,
    may_handle_notices,
    notice_data,
    prepare_document,
)
from kcbx.testing.seed import small_district

DISTRICT, TOWNSHIP, VILLAGE, GROUP, SCHOOL, OTHER_TOWNSHIP, OTHER_VILLAGE = range(1, 8)
PLACE = StudentPlace(  # a child of 新墩村一组 (滨河镇) at 滨河小学
    student_id=1,
    school_id=SCHOOL,
    class_teacher_id=50,
    school_units=frozenset({SCHOOL, TOWNSHIP, DISTRICT}),
    household_units=frozenset({GROUP, VILLAGE, TOWNSHIP, DISTRICT}),
    departments=frozenset(),
)


@dataclass(frozen=True)
class Viewer:
    id: int
    role: Role
    unit_id: int | None
    active: bool = True


@pytest.mark.parametrize(
    ("role", "unit", "allowed"),
    [
        (Role.BUREAU_STAFF, DISTRICT, True),  # the education bureau (A7.4)
        (Role.TOWNSHIP_LEADER, TOWNSHIP, True),  # the household's township
        (Role.TOWNSHIP_CADRE, VILLAGE, True),  # its cadre for the household's village (A5.1)
        (Role.TOWNSHIP_CADRE, TOWNSHIP, True),
        (Role.TOWNSHIP_LEADER, OTHER_TOWNSHIP, False),
        (Role.TOWNSHIP_CADRE, OTHER_VILLAGE, False),
        (Role.BUREAU_STAFF, None, False),
        (Role.DISTRICT_LEADER, DISTRICT, False),  # sees the child, does not issue
        (Role.ADMIN, DISTRICT, False),
        (Role.PRINCIPAL, SCHOOL, False),
        (Role.CLASS_TEACHER, SCHOOL, False),
        (Role.VILLAGE_CADRE, GROUP, False),
        (Role.GROUP_CADRE, GROUP, False),
        (Role.DEPARTMENT_LIAISON, 99, False),
    ],
)
def test_who_may_issue_and_record(role: Role, unit: int | None, allowed: bool) -> None:
    assert may_handle_notices(Viewer(7, role, unit), PLACE) is allowed


def test_a_township_issues_for_its_households_not_for_its_schools() -> None:
    """A child at a school of 滨河镇 who lives in 文昌镇: 文昌镇 issues, 滨河镇 does not."""
    elsewhere = StudentPlace(
        1, SCHOOL, 50, PLACE.school_units, frozenset({OTHER_VILLAGE, OTHER_TOWNSHIP}), frozenset()
    )
    assert not may_handle_notices(Viewer(7, Role.TOWNSHIP_LEADER, TOWNSHIP), elsewhere)
    assert may_handle_notices(Viewer(7, Role.TOWNSHIP_LEADER, OTHER_TOWNSHIP), elsewhere)
    assert not may_handle_notices(Viewer(7, Role.BUREAU_STAFF, DISTRICT, active=False), PLACE)


def test_delivery_date_is_not_ahead_and_not_before_the_document() -> None:
    made, today = date(2024, 3, 19), date(2024, 3, 20)
    assert check_delivery_date(today, issue_date=made, today=today) is None
    assert check_delivery_date(made, issue_date=made, today=today) is None
    assert "future" in (check_delivery_date(date(2024, 3, 21), issue_date=made, today=today) or "")
    assert "before" in (check_delivery_date(date(2024, 3, 18), issue_date=made, today=today) or "")


def test_receiver_is_one_short_line() -> None:
    assert clean_receiver("  张父\n 父亲 ") == "张父 父亲"
    assert clean_receiver("") is None
    assert clean_receiver("/cancel") is None
    assert clean_receiver("王" * 41) is None


def test_the_deadline_runs_from_delivery_in_the_policy_s_days() -> None:
    policy = default_policy()
    calendar = SchoolCalendar(policy)
    # A7.4 and A7.5: 7 calendar days from the delivery
    assert deadline_from(date(2024, 3, 20), NOTICE, policy, calendar) == date(2024, 3, 27)
    assert deadline_from(date(2024, 3, 28), CORRECTION, policy, calendar) == date(2024, 4, 4)
    # a county counting school days: Thursday 28 March + 7 school days skips the weekend
    # and the Qingming holiday (4-6 April 2024; Sunday 7 April is a working day)
    school = policy_from_data(
        {"ladder": {"day_counting": "school_days", "notice_deadline_days": 7}}
    )
    assert deadline_from(date(2024, 3, 28), NOTICE, school, SchoolCalendar(school)) == date(
        2024, 4, 9
    )


def test_grade_and_class_read_as_on_the_roster() -> None:
    assert grade_class(3, "1班") == "三年级1班"
    assert grade_class(7, "（2）班") == "七年级（2）班"
    assert grade_class(None, "2班") == "2班"


def test_orders_to_correct_have_their_own_number_format() -> None:
    notice = default_policy().notice
    assert notice.number(2024, 7) == "沙教控辍〔2024〕第007号"
    assert notice.number(2024, 7, "correction") == "沙教控辍改〔2024〕第007号"
    with pytest.raises(PolicyError) as problem:
        policy_from_data(
            {"notice": {"correction_number_format": "沙教控辍〔{year}〕第{seq:03d}号"}}
        )
    assert "notice.correction_number_format" in problem.value.render()


# --- the notice the service writes -----------------------------------------------------------

T = datetime(2024, 3, 19, 0, 30, tzinfo=UTC)  # day 15 of 张三's absence, 08:30 in Shanghai


async def _case_services(tmp_path: Path) -> tuple[Services, int]:
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(T))
    district = await small_district(services, T)
    case = await services.cases.open_case(
        student_id=district.students["<小明>"],  # a name with markup characters
        reported_by=None,
        absent_since=date(2024, 3, 4),
        cause="unknown",
        guardian_contact=None,
        note=None,
        now=T,
        year=2024,
        actor="t",
    )
    return services, case.id


async def test_the_service_s_notice_is_drawn_in_chinese(tmp_path: Path) -> None:
    services, case_id = await _case_services(tmp_path)
    case = await services.cases.get(case_id)
    assert case is not None
    notice = await prepare_document(services, case, NOTICE, task="A7.4-notice")
    assert notice is not None and notice.has_documents
    assert notice.number == "沙教控辍〔2024〕第001号"
    blob = await services.outbox.blob(notice.pdf_blob_id or 0)
    assert blob is not None
    pdf, filename, mime = blob
    assert (filename, mime) == (
        "限期入学通知书__小明__沙教控辍〔2024〕第001号.pdf",
        "application/pdf",
    )

    text = pdf_text(pdf)
    for expected in (
        "沙教控辍〔2024〕第001号",
        "<父：",
        "<小明>（男）",
        "滨河小学三年级1班",
        "滨河镇新墩村一组",
        "至今已15天",
        "自本通知书送达之日起7日内",
        "沙坡头区教育局",
        "滨河镇人民政府",
        "2024年3月19日",
        "李老师13900000022",
    ):
        assert expected in text, expected

    grey, characters = render_first_page(pdf)
    assert (grey < 128).mean() > 0.02, "the page is (nearly) blank"
    drawn = "".join(char for char, _box in characters)
    title = "限期入学通知书"
    start = drawn.index(title)
    assert_distinct_glyphs(glyph_crops(grey, [box for _c, box in characters[start : start + 7]]))

    again = await prepare_document(services, case, NOTICE, task="A7.4-notice")
    assert again is not None and again.id == notice.id  # made once, whoever asks
    await services.close()


async def test_an_order_cites_the_notice_and_a_guardianless_roster_leaves_a_blank(
    tmp_path: Path,
) -> None:
    services, case_id = await _case_services(tmp_path)
    case = await services.cases.get(case_id)
    assert case is not None
    assert await prepare_document(services, case, CORRECTION) is None  # nothing to cite yet
    notice = await prepare_document(services, case, NOTICE)
    order = await prepare_document(services, case, CORRECTION, task="A7.5")
    assert notice is not None and order is not None
    assert (order.number, order.cites_id) == ("沙教控辍改〔2024〕第001号", notice.id)
    student = await services.students.get(case.student_id)
    assert student is not None
    async with services.db.transaction():
        await services.db.execute("DELETE FROM guardians WHERE student_id = ?", (student.id,))
    data = await notice_data(services, order, case, student)
    text = compose_notice(data)
    assert text.salutation.startswith("＿")  # to be filled in by hand
    assert f"此前已向你们送达{notice.number}《限期入学通知书》" in text.paragraphs[0]
    await services.close()
