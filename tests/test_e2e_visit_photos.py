"""End to end: a visit's photos (A7.1 evidence) sent again from the case card's [详情], as one
album per visit, to a person in scope only, never into a group."""

from __future__ import annotations

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

PHOTOS = [b"\xff\xd8\xff\xe0" + f"visit photo {i}".encode() * 40 for i in range(2)]


async def test_a_visits_photos_come_back_as_one_album_from_the_card(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    cadre, teacher, police = [await bind(harness, p) for p in (GROUP_CADRE, TEACHER, POLICE)]
    case = await cadre_told_of_day_7(harness, d, cadre)

    # the cadre records a home visit with two photos
    await home_visit_up_to_evidence(cadre, case)
    await step(cadre, "vv:s", "vv:p")
    for count, photo in enumerate(PHOTOS, 1):
        await cadre.send_photo(photo)
        await cadre.wait_for(
            lambda m, n=count: str(n) in m.plain and "vv:p" in m.button_data.values()
        )
    await step(cadre, "vv:p", "vv:n")
    await step(cadre, "vv:n", "vv:ok")
    await cadre.press("vv:ok")
    await cadre.wait_for(lambda m: case.number in m.plain)
    stored = [e.file_id for e in await s.visits.evidence_of_case(case.id) if e.kind == "photo"]
    assert len(stored) == 2

    # the teacher: the card, [详情], then the photos again, as one album with a caption
    await teacher.send("/cases")
    await teacher.press(f"case:{case.id}", await teacher.wait_for(has(f"case:{case.id}")))
    brief = await teacher.wait_for(has(f"cdet:{case.id}"))
    assert not [b for b in brief.buttons if b.startswith("家访照片")]  # only behind [详情]
    await teacher.press(f"cdet:{case.id}", brief)
    card = await teacher.wait_for(lambda m: "办理记录" in m.plain)
    assert "家访照片（2）" in card.buttons
    assert all(len(data.encode()) < 64 for data in card.button_data.values())
    before = len(teacher.messages)
    await teacher.press("家访照片（2）", card)
    await teacher.wait_for(lambda m: m.kind == "photo" and m.file_id == stored[-1])
    album = [m for m in teacher.messages[before:] if m.kind == "photo"]
    assert [m.file_id for m in album] == stored
    assert album[0].media_group_id and album[0].media_group_id == album[1].media_group_id
    assert "3月11日" in album[0].plain and "家访" in album[0].plain and not album[1].plain
    await harness.settle()
    await harness.s.audit.flush()  # who saw the child's photos is in the audit log
    seen = await harness.s.audit.of_student(d.students["张三"])
    assert [e["entity_id"] for e in seen if e["action"] == "view:visit_photos"] == [str(case.id)]

    # forged data from someone out of scope: a polite refusal, no photo
    await police.send("/cases")  # the case is not referred to the police: out of scope
    last = await police.next_message()
    await police.press_data(f"cvph:{case.id}", last)
    answer = await police.next_callback_answer()
    assert answer.data == f"cvph:{case.id}"
    assert (answer.text, answer.show_alert) == ("您无权查看此内容。", True)
    assert not [m for m in police.messages if m.kind == "photo"]

    # a group chat gets counts, never a child's photos
    group = harness.fake.group(-200, "滨河小学教师群")
    await teacher.send("/cases", chat=group)
    count = await group.next_message()
    await teacher.press_data(f"cvph:{case.id}", count)
    alert = await teacher.next_callback_answer()
    while not alert.show_alert:  # skip the quiet answers to the presses above
        alert = await teacher.next_callback_answer()
    assert alert.data == f"cvph:{case.id}" and "私聊" in (alert.text or "")
    assert not [m for m in group.messages if m.kind == "photo"]
