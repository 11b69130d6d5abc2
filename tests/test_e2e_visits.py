"""End to end (issue 4): the 三包 chain and the departments at day 7 (A5.1, A6, A7.3), visits
recorded with a location and a photo, the referral following the cause, the department's
inbox and scope, A9 relief from day 0, exemption (A3) and transfer, and bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from kcbx.bot.domain.ladder.state import ActionKind, TaskCode
from kcbx.bot.domain.model import Case
from kcbx.bot.domain.roles import Role
from kcbx.testing.fakebot import FakeUser, SentMessage
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, District, small_district

# people of the seed district, by phone
TEACHER = "13900000022"  # 李老师, class 3-1 of 滨河小学
GROUP_CADRE = "13900000014"  # 包户干部, 新墩村/一组
VILLAGE_CADRE = "13900000013"  # 包组干部, 新墩村/一组
TOWNSHIP_CADRE = "13900000012"  # 包村干部, 新墩村
CIVIL = "13900000040"  # 民政联络员
POLICE = "13900000041"  # 公安联络员
JUSTICE = "13900000042"  # 司法联络员
BUREAU = "13900000003"  # 教育局乙
PRINCIPAL = "13900000020"  # 王校长

PHOTO = b"\xff\xd8\xff\xe0" + b"evidence photo of the visit" * 40
SECRET_NOTE = "监护人身份证号 640502198001011234"


def sh(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An instant in March 2024, Asia/Shanghai (UTC+8)."""
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


async def open_case(
    harness: BotHarness, d: District, name: str, *, cause: str, since: date, by: str = TEACHER
) -> Case:
    s = harness.s
    return await s.cases.open_case(
        student_id=d.students[name],
        reported_by=d.people[by],
        absent_since=since,
        cause=cause,
        guardian_contact="unreached",
        note=None,
        now=s.clock.now(),
        year=since.year,
        actor=f"person:{d.people[by]}",
    )


async def bind(harness: BotHarness, d: District, phone: str) -> FakeUser:
    user_id = int(phone[-4:]) + 1000
    await harness.bind_quietly(user_id, phone=phone)
    return harness.fake.user(user_id)


def about(case: Case):  # type: ignore[no-untyped-def]
    return lambda m: case.number in m.plain


def has(data: str):  # type: ignore[no-untyped-def]
    """A message offering a button with this callback data."""
    return lambda m: data in m.button_data.values()


def says(text: str):  # type: ignore[no-untyped-def]
    return lambda m: text in m.plain


async def step(user: FakeUser, press: str, expect: str) -> SentMessage:
    """Press a button (by its callback data) and wait for the question offering ``expect``,
    turning the question's pages ([更多], six buttons a message) until it shows."""
    await user.press(press)
    more = expect.rsplit(":", 1)[0] + "p:"
    shown = await user.wait_for(
        lambda m: any(d == expect or d.startswith(more) for d in m.button_data.values())
    )
    return await user.page_to(shown, expect)


async def record_visit(
    user: FakeUser,
    case: Case,
    *,
    kind: str = "home_visit",
    outcome: str = "undecided",
    cause: str = "=",
    location: tuple[float, float] | None = None,
    photo: bytes | None = None,
    note: str | None = None,
) -> SentMessage:
    """Walk the /visit conversation from a vis: button to "Saved"."""
    await user.press(f"vis:{case.id}")
    await user.wait_for(has(f"vv:k:{kind}"))
    await step(user, f"vv:k:{kind}", "vv:d:0")
    await step(user, "vv:d:0", "vv:m:guardians")
    await step(user, "vv:m:guardians", f"vv:o:{outcome}")
    question = await step(user, f"vv:o:{outcome}", "vv:c:=")
    await user.page_to(question, f"vv:c:{cause}")
    if kind == "phone_call":
        await step(user, f"vv:c:{cause}", "vv:n")
    else:
        await step(user, f"vv:c:{cause}", "vv:s")
        if location is not None:
            await user.send_location(*location)
            await user.wait_for(has("vv:p"))
        else:
            await step(user, "vv:s", "vv:p")
        if photo is not None:
            await user.send_photo(photo)
            await user.wait_for(says("1"))
        await step(user, "vv:p", "vv:n")
    if note:
        await user.send(note)
        await user.wait_for(has("vv:ok"))
    else:
        await step(user, "vv:n", "vv:ok")
    await user.press("vv:ok")
    return await user.wait_for(says(case.number))


async def test_day_7_chain_and_departments_then_visits_move_the_referral(
    harness: BotHarness,
) -> None:
    s = harness.s
    d = await small_district(s, T0)
    async with s.db.transaction():
        await s.db.execute(
            "UPDATE students SET note = ? WHERE id = ?", (SECRET_NOTE, d.students["张三"])
        )
    group, village, township = [
        await bind(harness, d, p) for p in (GROUP_CADRE, VILLAGE_CADRE, TOWNSHIP_CADRE)
    ]
    civil, justice, police = [await bind(harness, d, p) for p in (CIVIL, JUSTICE, POLICE)]
    await bind(harness, d, TEACHER)
    case = await open_case(harness, d, "张三", cause="poverty", since=date(2024, 3, 4))
    other = await open_case(harness, d, "钱七", cause="poverty", since=date(2024, 3, 4))

    # Day 6: nothing for the chain or the departments yet.
    await harness.set_time(sh(10, 9))
    assert not [m for m in group.inbox() if case.number in m.plain]
    assert not civil.inbox()
    assert await s.referrals.of_case(case.id) == []

    # Day 7, 08:00 (A7.3): the household's chain and the departments of the cause are told.
    await harness.set_time(sh(11, 8))
    told = await group.wait_for(about(case))
    assert (
        "三包任务（第五条）" in told.plain and "张三" in told.plain and "13700000000" in told.plain
    )
    assert "3月13日" in told.plain  # visit within [cadres] visit_within_days = 2
    assert f"vis:{case.id}" in told.button_data.values()
    for cadre in (village, township):
        copy = await cadre.wait_for(about(case))
        assert "三包任务（第五条）" in copy.plain and "张三" in copy.plain
    referral = await civil.wait_for(about(case))
    assert "张三" in referral.plain and "滨河小学" in referral.plain
    assert "滨河镇/新墩村/一组" in referral.plain and "13700000000" in referral.plain
    assert SECRET_NOTE not in referral.plain and "6405021980" not in referral.plain  # need to know
    assert "case:" not in " ".join(referral.button_data.values())  # no case card for a department
    civil_ref = (await s.referrals.of_case(case.id))[0]
    assert civil_ref.department_code == "civil_affairs" and civil_ref.reason == "poverty"
    assert {r.department_code for r in await s.referrals.of_case(case.id)} == {
        "civil_affairs",
        "rural_revitalisation",
    }
    assert not [m for m in police.inbox() if case.number in m.plain]  # not its cause
    # 钱七's household (黄湾村) has no cadre: the chain task goes up, never to 新墩村's cadres
    assert not [m for m in group.inbox() if other.number in m.plain]

    # Bad input along the way: a future date, a location where photos are asked, a photo
    # over the size limit; none of it is saved.
    await group.press(f"vis:{case.id}")
    await group.wait_for(has("vv:k:home_visit"))
    await step(group, "vv:k:home_visit", "vv:d:0")
    await group.send("2024-03-20")
    assert "不能晚于今天" in (await group.next_message()).plain  # a visit dated in the future
    await step(group, "vv:d:0", "vv:m:guardians")
    await step(group, "vv:m:guardians", "vv:o:undecided")
    await step(group, "vv:o:undecided", "vv:c:=")
    await step(group, "vv:c:=", "vv:s")
    await group.send_location(37.51, 105.19)
    await group.wait_for(has("vv:p"))
    await group.send_location(37.6, 105.3)
    wrong = await group.next_message()
    assert "vv:p" in wrong.button_data.values() and "vv:ok" not in wrong.button_data.values()
    await group.send_photo(PHOTO, file_size=30 * 1024 * 1024)
    too_big = await group.next_message()
    assert "30.0" in too_big.plain and "20.0" in too_big.plain
    await group.send_photo(PHOTO)
    await group.wait_for(says("1"))
    await step(group, "vv:p", "vv:n")
    await group.send("家长表示家里困难，考虑送孩子回校")
    summary = await group.wait_for(has("vv:ok"))
    assert "37.51000，105.19000" in summary.plain
    actions_before = len(await s.cases.actions(case.id))
    await group.press("vv:ok")
    saved = await group.wait_for(says(case.number))
    assert "张三" in saved.plain
    actions = await s.cases.actions(case.id)
    assert len(actions) == actions_before + 1
    visit = actions[-1]
    assert visit.kind == ActionKind.HOME_VISIT and visit.actor_id == d.people[GROUP_CADRE]
    assert visit.rule == "A5.1" and visit.detail["location"] == {"lat": 37.51, "lon": 105.19}
    assert visit.detail["note"] == "家长表示家里困难，考虑送孩子回校"
    evidence = await s.visits.evidence_of_case(case.id)
    assert [(e.action_id, e.kind) for e in evidence] == [(visit.id, "photo")]
    kept = await s.outbox.blob(evidence[0].blob_id)
    assert kept is not None and kept[0] == PHOTO  # downloaded through getFile, kept
    assert evidence[0].file_id
    from kcbx.bot.services.cases import ladder_of

    state, _ = await ladder_of(s, case)
    chain_task = state.task(TaskCode.CHAIN_VISIT)
    assert chain_task is not None and chain_task.done

    # Day 8: the village cadre finds another cause; the referrals follow it (A6).
    await harness.set_time(sh(12, 10))
    done = await record_visit(village, case, outcome="refused", cause="parents_unwilling")
    assert "家长不愿送学" in done.plain and "区民政局" in done.plain  # cause; withdrawn from
    moved = await s.cases.get(case.id)
    assert moved is not None and moved.cause == "parents_unwilling"
    await harness.deliver()
    withdrawn = await civil.wait_for(lambda m: case.number in m.plain and not m.buttons)
    assert "张三" not in withdrawn.plain  # no longer theirs to know
    await harness.sweep()
    new = await justice.wait_for(about(case))
    assert "张三" in new.plain and SECRET_NOTE not in new.plain
    standing = {r.department_code: r.status for r in await s.referrals.of_case(case.id)}
    assert standing == {"justice": "open"}  # the township acts itself; no referral row

    # The department no longer concerned sees nothing of the case.
    await civil.send("/inbox")
    still = await civil.next_message()
    assert case.number not in still.plain and other.number in still.plain  # 钱七: poverty
    await civil.press_data(f"vis:{case.id}", withdrawn)
    answer = await civil.next_callback_answer()
    assert answer.show_alert

    # The department concerned: its inbox, accept, record its action; nothing else is its.
    await justice.send("/inbox")
    inbox = await justice.next_message()
    assert case.number in inbox.plain and other.number not in inbox.plain
    await justice.press("1.接收", inbox)
    assert (await justice.next_callback_answer()).text
    assert (await s.referrals.of_case(case.id))[0].status == "accepted"
    # the page again: its line says accepted, and its button offers the details
    accepted = await justice.wait_for(lambda m: m is inbox and "1.详情" in m.buttons)
    assert "已接收" in accepted.plain and "待接收" not in accepted.plain
    await justice.press_data(f"vis:{other.id}", inbox)
    assert (await justice.next_callback_answer()).show_alert
    await justice.send(f"/visit {other.number}")
    refused = await justice.next_message()
    assert other.number not in refused.plain and "钱七" not in refused.plain
    # accepted: the inbox offers its details, whose card records the department's work
    await justice.send("/inbox")
    listing = await justice.wait_for(lambda m: "1.详情" in m.buttons)
    await justice.press("1.详情", listing)
    await justice.wait_for(lambda m: "记录本部门工作" in m.buttons and "接收" not in m.buttons)
    done = await record_visit(justice, case, kind="department_action", cause="=")
    assert case.number in done.plain
    state, _ = await ladder_of(s, await s.cases.get(case.id) or case)
    justice_task = state.task("A6-justice")
    assert justice_task is not None and justice_task.done
    await police.send("/inbox")
    assert "没有转介" in (await police.next_message()).plain

    # The case card shows where the case is referred and the evidence kept.
    await group.press_data(f"case:{case.id}", told)
    await group.press("详情", await group.wait_for(lambda m: "详情" in m.buttons))
    card = await group.wait_for(lambda m: "已转介" in m.plain)
    assert "区司法局（已接收）" in card.plain and "已存证：照片1张，文件0份" in card.plain
    assert "区民政局" not in card.plain  # withdrawn referrals are not listed


async def test_a_revoked_group_cadres_task_reaches_the_village_cadre(harness: BotHarness) -> None:
    """A5.1: nobody holds the group level any more: the next level of the chain takes it."""
    s = harness.s
    d = await small_district(s, T0)
    village, township = [await bind(harness, d, p) for p in (VILLAGE_CADRE, TOWNSHIP_CADRE)]
    leader = await bind(harness, d, "13900000010")  # 滨河镇长, the cadres' supervisor
    await bind(harness, d, GROUP_CADRE)
    await s.people.revoke(d.people[GROUP_CADRE], actor="cli:test", now=T0)
    case = await open_case(harness, d, "张三", cause="weariness", since=date(2024, 3, 4))

    await harness.set_time(sh(11, 8))
    handed = await village.wait_for(
        lambda m: case.number in m.plain and "三包任务（第五条）" in m.plain
    )
    assert f"vis:{case.id}" in handed.button_data.values()
    copy = await township.wait_for(
        lambda m: case.number in m.plain and "三包任务（第五条）" in m.plain
    )
    assert copy is not handed
    assert not [m for m in leader.messages if "三包任务（第五条）" in m.plain]
    group_user = harness.fake.user(int(GROUP_CADRE[-4:]) + 1000)
    assert not [m for m in group_user.messages if case.number in m.plain]


async def test_an_a9_students_case_reaches_civil_affairs_on_day_0(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    civil = await bind(harness, d, CIVIL)
    case = await open_case(harness, d, "王五", cause="unknown", since=date(2024, 3, 4))  # A9 flags
    await harness.set_time(T0 + timedelta(minutes=1))  # day 0, 09:01
    relief = await civil.wait_for(about(case))
    assert (
        "帮扶转介（第九条）" in relief.plain
        and "王五" in relief.plain
        and "13700000002" in relief.plain
    )
    referral = (await s.referrals.of_case(case.id))[0]
    assert (referral.department_code, referral.reason, referral.status) == (
        "civil_affairs",
        "a9",
        "open",
    )
    await civil.press(f"ref:a:{referral.id}", relief)
    assert not (await civil.next_callback_answer()).show_alert
    assert (await s.referrals.get(referral.id)).status == "accepted"  # type: ignore[union-attr]


async def test_exemption_and_transfer_close_apart_and_keep_their_evidence(
    harness: BotHarness,
) -> None:
    s = harness.s
    d = await small_district(s, T0)
    bureau, teacher = [await bind(harness, d, p) for p in (BUREAU, TEACHER)]
    exempt = await open_case(harness, d, "张三", cause="illness", since=date(2024, 3, 4))
    moved = await open_case(harness, d, "李四", cause="other", since=date(2024, 3, 4))
    await harness.set_time(sh(5, 10), sweep=False)

    # A3 is the bureau's: a class teacher is refused.
    await teacher.send(f"/exempt {exempt.number}")
    assert "无权" in (await teacher.next_message()).plain

    await bureau.send("/exempt")
    await bureau.wait_for(has(f"cls:e:{exempt.id}"))
    await bureau.press(f"cls:e:{exempt.id}")
    await bureau.wait_for(says(exempt.number))
    await bureau.send("医学鉴定")  # text where a file is asked
    await bureau.next_message()
    await bureau.send_document(b"%PDF-1.4 review", "鉴定书.pdf", "application/pdf")
    await bureau.wait_for(has("cl:s"))
    await bureau.press("cl:s")
    await bureau.wait_for(has("clc:disability"))  # A3: the condition, from the vocabulary
    await bureau.press("clc:disability")
    await bureau.wait_for(has("cl:n"))
    await bureau.send("重度残疾，经区残联鉴定无法就学")
    await bureau.wait_for(has("cl:ok"))
    await bureau.press("cl:ok")
    done = await bureau.wait_for(
        lambda m: exempt.number in m.plain and "免予入学（第三条）" in m.plain
    )
    assert not done.buttons
    closed = await s.cases.get(exempt.id)
    student = await s.students.get(d.students["张三"])
    assert closed is not None and closed.status == "exempt"
    assert student is not None and student.exempt
    actions = await s.cases.actions(exempt.id)
    assert actions[-1].kind == ActionKind.EXEMPTED and actions[-1].rule == "A3"
    assert actions[-1].detail["condition"] == "disability"
    assert actions[-1].detail["reviewer"] == d.people[BUREAU]
    evidence = await s.visits.evidence_of_case(exempt.id)
    assert [(e.kind, e.filename) for e in evidence] == [("document", "鉴定书.pdf")]
    kept = await s.outbox.blob(evidence[0].blob_id)
    assert kept is not None and kept[0] == b"%PDF-1.4 review"

    # Transferred: the school records the new school and evidence.
    await teacher.send(f"/transfer {moved.number}")
    await teacher.wait_for(says(moved.number))
    await teacher.send("银川市兴庆区第一小学")
    await teacher.next_message()
    await teacher.send_photo(PHOTO)
    await teacher.wait_for(has("cl:s"))
    await teacher.press("cl:s")
    await teacher.wait_for(has("cl:n"))
    await teacher.press("cl:n")
    summary = await teacher.wait_for(has("cl:ok"))
    assert "银川市兴庆区第一小学" in summary.plain
    await teacher.press("cl:ok")
    await teacher.wait_for(lambda m: moved.number in m.plain and "银川市" in m.plain)
    transferred = await s.cases.get(moved.id)
    assert transferred is not None and transferred.status == "transferred"
    action = (await s.cases.actions(moved.id))[-1]
    assert action.kind == ActionKind.TRANSFERRED
    assert action.detail["new_school"] == "银川市兴庆区第一小学"
    assert [e.kind for e in await s.visits.evidence_of_case(moved.id)] == ["photo"]
    lisi = await s.students.get(d.students["李四"])
    assert lisi is not None and not lisi.exempt  # a transfer is no exemption

    # Counted apart: neither is an open case (a dropout), each is counted by its status.
    person = await s.people.get(d.people[BUREAU])
    assert person is not None
    assert await s.cases.count_visible(person, status="open") == 0
    assert await s.cases.count_visible(person, status="exempt") == 1
    assert await s.cases.count_visible(person, status="transferred") == 1
    assert {e["action"] for e in await s.audit.entries(entity="case")} >= {
        "close:exempt",
        "close:transferred",
        "evidence",
    }


async def test_an_agreed_return_sets_a_check_on_that_morning(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    teacher = await bind(harness, d, TEACHER)
    case = await open_case(harness, d, "张三", cause="unknown", since=date(2024, 3, 4))
    await teacher.send("/visit")
    listed = await teacher.wait_for(has(f"vis:{case.id}"))
    await teacher.press_data("visp:96", listed)  # a page that is not there (forged or gone)
    gone = await teacher.next_callback_answer()
    assert gone.show_alert and "此页已不存在" in (gone.text or "")
    assert has(f"vis:{case.id}")(listed)  # the first page, as it was
    await teacher.press(f"vis:{case.id}")
    await teacher.wait_for(has("vv:k:phone_call"))
    await step(teacher, "vv:k:phone_call", "vv:d:0")
    await step(teacher, "vv:d:0", "vv:m:guardians")
    await step(teacher, "vv:m:guardians", "vv:o:agreed")
    await teacher.press("vv:o:agreed")
    await teacher.wait_for(has("vv:r:2"))
    await teacher.send("3月1日")  # a day already past
    assert "vv:c:=" not in (await teacher.next_message()).button_data.values()
    await teacher.send("3月6日")
    await teacher.wait_for(has("vv:c:="))
    await step(teacher, "vv:cp:1", "vv:c:weariness")  # behind [更多], on the third page
    await step(teacher, "vv:c:weariness", "vv:n")
    await step(teacher, "vv:n", "vv:ok")
    await teacher.press("vv:ok")
    saved = await teacher.wait_for(says(case.number))
    assert "3月6日" in saved.plain
    first = (await s.cases.actions(case.id))[-1]

    # The family called back: the day is the 7th. A correction is a new record pointing at
    # the old one; the check moves with it.
    await teacher.send(f"/visit {case.number}")
    offer = await teacher.wait_for(has("vv:fix"))
    assert "更正上次记录" in offer.buttons  # a short button; the record is named in the text
    assert "如需更正您的上一条记录（电话联系，3月4日（周一）），请点“更正上次记录”。" in offer.plain
    await teacher.press("vv:fix")
    fixing = await teacher.wait_for(has("vv:k:phone_call"))
    assert "vv:fix" not in fixing.button_data.values()
    await step(teacher, "vv:k:phone_call", "vv:d:0")
    await step(teacher, "vv:d:0", "vv:m:guardians")
    await step(teacher, "vv:m:guardians", "vv:o:agreed")
    await step(teacher, "vv:o:agreed", "vv:r:2")
    await teacher.send("3月7日")
    await teacher.wait_for(has("vv:c:="))
    await step(teacher, "vv:c:=", "vv:n")
    await step(teacher, "vv:n", "vv:ok")
    await teacher.press("vv:ok")
    await teacher.wait_for(says("3月7日"))
    actions = await s.cases.actions(case.id)
    assert len(actions) == 2 and actions[-1].corrects_id == first.id  # nothing overwritten
    assert actions[0].detail["return_on"] == "2024-03-06"

    await harness.deliver()
    await harness.set_time(sh(6, 8), sweep=False)
    await harness.deliver()
    assert not [m for m in teacher.inbox() if f"rck:{case.id}" in m.button_data.values()]
    await harness.set_time(sh(7, 7, 59), sweep=False)
    await harness.deliver()
    assert not [m for m in teacher.inbox() if f"rck:{case.id}" in m.button_data.values()]
    await harness.set_time(sh(7, 8), sweep=False)
    await harness.deliver()
    check = await teacher.wait_for(has(f"rck:{case.id}"))
    assert "张三" in check.plain and f"ret:{case.id}" in check.button_data.values()
    await teacher.press(f"rck:{case.id}", check)
    await teacher.wait_for(has(f"vis:{case.id}"))
    note = (await s.cases.actions(case.id))[-1]
    assert note.kind == ActionKind.NOTE and note.detail["return_check"] == "not_back"


async def test_a_cadre_outside_the_households_chain_is_refused(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    stranger = await s.people.create(
        name="二组包户",
        role=Role.GROUP_CADRE,
        unit_id=d.units["xindun/2"],
        phone="13900000099",
        actor="cli:test",
        now=T0,
    )
    other = await bind(harness, d, stranger.phone or "")
    case = await open_case(harness, d, "张三", cause="unknown", since=date(2024, 3, 4))
    await other.send(f"/visit {case.number}")
    refused = await other.next_message()
    assert "张三" not in refused.plain and "三包" in refused.plain
    await other.press_data(f"vis:{case.id}", refused)
    answer = await other.next_callback_answer()
    assert answer.show_alert and "三包" in (answer.text or "")
    assert await s.cases.actions(case.id) == []


async def test_a_record_left_unfinished_is_told_through_the_outbox(harness: BotHarness) -> None:
    from kcbx.bot.services.unfinished import tell_left_unfinished

    s = harness.s
    d = await small_district(s, T0)
    teacher = await bind(harness, d, TEACHER)
    assert await tell_left_unfinished(s, teacher.id, "visit")
    assert not await tell_left_unfinished(s, 4242, "visit")  # a stranger: nobody to tell
    await harness.deliver()
    told = await teacher.wait_for(says("/visit"))
    assert not told.buttons


async def test_a_township_leader_sees_the_coverage_of_their_township(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    leader, teacher = [await bind(harness, d, p) for p in ("13900000010", TEACHER)]
    await leader.send("/coverage")
    report = await leader.next_message()
    assert "滨河镇三包责任落实情况" in report.plain
    assert "滨河镇/新墩村/二组：2户（学生2名）：无组（队）包户干部、无村包组干部" in report.plain
    assert "文昌镇" not in report.plain and "黄湾村" not in report.plain
    assert "张三" not in report.plain  # households are counted, children are not named
    await teacher.send("/coverage")
    assert "无权" in (await teacher.next_message()).plain
