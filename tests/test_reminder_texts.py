"""What a reminder says (issue 3): the student escaped, the case in bold, the rule, the task,
its deadline as 3月5日（周二） 18:00, the buttons; escalations and hand-overs say who and why;
a digest is paged under Telegram's limits. Pure: no database, no Telegram."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.ladder.due import DueTask
from kcbx.bot.domain.ladder.state import CaseFacts, Task, TaskCode, ladder_state
from kcbx.bot.domain.model import Case, Person, Student
from kcbx.bot.domain.policy.reading import default_policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.schoolcal import SchoolCalendar
from kcbx.bot.texts.reminders import DigestEntry, digest_messages, reminder_message, told_message
from kcbx.testing.fakebot import MAX_BUTTONS, MAX_CALLBACK_DATA, MAX_TEXT, parse_html

SH = ZoneInfo("Asia/Shanghai")
POLICY = default_policy()
ZH, EN = translator("zh_CN"), translator("en")
REPORTED = datetime(2024, 3, 4, 9, tzinfo=SH)


def person(pid: int, name: str, role: Role) -> Person:
    return Person(pid, name, None, role, 1, pid, pid, "zh_CN", "active", None)


TEACHER = person(1, "李老师", Role.CLASS_TEACHER)
PRINCIPAL = person(2, "王校长", Role.PRINCIPAL)
TOWNSHIP = person(3, "滨河镇长", Role.TOWNSHIP_LEADER)


def due_task(
    code: str = TaskCode.VISIT,
    *,
    name: str = "<小明>",
    case_id: int = 7,
    recipient: Person = TEACHER,
    round: int = 1,
    reason: str = "",
    source: Person | None = None,
) -> DueTask:
    case = Case(
        case_id,
        f"KC-2024-{case_id:04d}",
        11,
        None,
        date(2024, 3, 4),
        REPORTED,
        "missing",
        None,
        None,
        "open",
        None,
        None,
    )
    student = Student(11, "G1", name, "M", None, 5, 3, 3, "1班", 9, (), False, None)
    facts = CaseFacts(case.id, case.number, case.absent_since, case.reported_at, cause="missing")
    state = ladder_state(
        facts, [], POLICY, SchoolCalendar(POLICY), datetime(2024, 3, 12, 8, tzinfo=SH)
    )
    task = state.task(code)
    assert task is not None
    return DueTask(case, student, state, task, round, recipient, source, reason)


def assert_sendable(text: str, buttons: tuple[tuple[tuple[str, str], ...], ...]) -> None:
    parse_html(text)  # Telegram's HTML rules, as the fake server checks them
    assert len(text) < MAX_TEXT
    assert sum(len(row) for row in buttons) <= MAX_BUTTONS
    assert all(len(data.encode()) < MAX_CALLBACK_DATA for row in buttons for _, data in row)


def test_a_reminder_names_everything_and_escapes_the_student() -> None:
    message = reminder_message(due_task(), "滨河小学", POLICY, ZH, "zh_CN")
    text = message.text
    assert "⏰ 待办提醒" in text
    assert "学生：<b>&lt;小明&gt;</b>（滨河小学三年级1班）" in text
    assert "案件：<b>KC-2024-0007</b>，第8天" in text
    assert "依据：第七条" in text and "事项：请及时家访" in text
    assert "期限已过：2024年3月6日（周三）18:00" in text  # sent on day 8: never a past 期限
    assert message.buttons == (
        (("收到", "ack:7:A7.1-visit"), ("记录家访", "vis:7")),
        (("已返校", "ret:7"), ("查看案件", "case:7")),
        (("2小时后再提醒", "snz:7:A7.1-visit:l"), ("下一个工作日上午再提醒", "snz:7:A7.1-visit:m")),
    )
    assert_sendable(text, message.buttons)


def test_the_second_round_says_so() -> None:
    text = reminder_message(due_task(round=2), "滨河小学", POLICY, ZH, "zh_CN").text
    assert text.startswith("⏰ 第2次提醒：此事项尚未办理")


def test_an_escalation_says_who_did_not_act_and_since_when() -> None:
    due = due_task(recipient=PRINCIPAL, round=2, reason="escalated", source=TEACHER)
    message = reminder_message(due, "滨河小学", POLICY, ZH, "zh_CN")
    assert "报请督办：<b>李老师</b>（班主任）自2024年3月6日（周三）18:00起未办理" in message.text
    assert "已提醒2次" in message.text
    assert ("已返校", "ret:7") in message.buttons[1]  # the principal may confirm a return
    assert_sendable(message.text, message.buttons)


def test_a_hand_over_says_the_holder_cannot_be_reached_or_is_missing() -> None:
    due = due_task(recipient=PRINCIPAL, reason="unreachable", source=TEACHER)
    text = reminder_message(due, "滨河小学", POLICY, ZH, "zh_CN").text
    assert "转办：<b>李老师</b>（班主任）无法通过本机器人联系" in text
    nobody = due_task(recipient=PRINCIPAL, reason="no_one")
    assert "该生暂无可联系的班主任" in reminder_message(nobody, "", POLICY, ZH, "zh_CN").text


def test_a_copy_for_information_has_no_action_buttons() -> None:
    due = due_task(TaskCode.JOINT, recipient=TOWNSHIP)
    message = reminder_message(due, "滨河小学", POLICY, ZH, "zh_CN", cc=True)
    assert message.text.startswith("【知悉】以下事项由教育局工作人员办理")
    assert message.buttons == ((("收到", "ack:7:A7.3-joint"), ("查看案件", "case:7")),)


def test_the_note_to_the_person_escalated_past() -> None:
    due = due_task(round=2)
    message = told_message(due, [PRINCIPAL], Role.PRINCIPAL, "滨河小学", POLICY, ZH, "zh_CN")
    assert "经2次提醒仍未办理，已报<b>王校长</b>（校长）督办" in message.text
    assert ("已返校", "ret:7") not in [b for row in message.buttons for b in row]


def test_english() -> None:
    text = reminder_message(due_task(), "Binhe Primary", POLICY, EN, "en").text
    assert "Reminder: a task is due" in text and "Overdue since: Wed 6 Mar 2024 18:00" in text


def test_a_long_digest_is_paged_under_the_limits() -> None:
    long_name = "<很长的名字>" * 20
    entries = [
        DigestEntry(due_task(code, name=long_name, case_id=n), "滨河小学" * 5)
        for n in range(1, 16)
        for code in (TaskCode.CALL, TaskCode.VISIT)
    ]
    pages = digest_messages(entries, POLICY, ZH, "zh_CN")
    assert len(pages) == 3  # one person, one sweep: at most three messages
    assert pages[0].text.startswith("📋 您有30项待办事项（第1页，共3页）")
    for page in pages:
        assert_sendable(page.text, page.buttons)
    for page in pages:  # a phone's screen: six buttons, one a task
        assert sum(len(row) for row in page.buttons) <= 6
    acts = [d for p in pages for row in p.buttons for _, d in row]
    assert len(acts) == len(set(acts)) == 18  # every listed task once, on one page
    numbers = [
        line.split(".")[0] for p in pages for line in p.text.splitlines() if ". <b>KC" in line
    ]
    assert numbers == [str(n) for n in range(1, 19)]
    assert "另有12项，请发送 /cases 查看全部。" in pages[-1].text  # the rest is counted


def test_a_digest_entry_of_a_copy_or_a_note() -> None:
    cc = DigestEntry(due_task(TaskCode.JOINT, recipient=TOWNSHIP), "滨河小学", cc=True)
    note = DigestEntry(due_task(round=2), "滨河小学", (PRINCIPAL,), Role.PRINCIPAL)
    [page] = digest_messages([cc, note], POLICY, ZH, "zh_CN")
    assert "⚠️ 知悉" in page.text and "⚠️ 经2次提醒未办理，已报王校长（校长）督办" in page.text
    assert [b for b, _ in page.buttons[0]] == ["1.收到"]  # a copy: nothing to do but read it
    assert [d for _, d in page.buttons[1]] == ["vis:7"]  # a note: the task's own action


def test_task_without_a_one_press_action() -> None:
    task: Task = due_task().task
    due = replace(due_task(), task=replace(task, code="A7.4-deliver", rule="A7.4"))
    message = reminder_message(due, "滨河小学", POLICY, ZH, "zh_CN")
    assert [b for b, _ in message.buttons[0]] == ["收到"]
