"""`kcbx demo`: a district's month in fast-forward, through the same code the real bot runs.

A fictional district is imported from a spreadsheet; the real bot (the composition root of
`kcbx run`) polls the strict fake Bot API server on loopback; people join with their invitation
links, report absences, press the reminders' buttons, record home visits with a location and a
photo, issue and deliver the notice to enrol, and a leader asks for the summary and the ledger.
The clock is controlled: each story hour is one sweep, nights are skipped (quiet hours).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from kcbx.bot.documents.protect import decrypt
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.model import Case, Person, Student
from kcbx.bot.roster.importer import import_roster
from kcbx.bot.roster.report import render_report
from kcbx.bot.services.access import create_invitation
from kcbx.demo.cast import TOWNSHIP, Cast, choose_cast
from kcbx.demo.roster import build_roster, pin_near_home
from kcbx.demo.transcript import Progress, Transcript
from kcbx.testing.fakebot import FakeBotApi, FakeGroup, FakeUser, SentMessage
from kcbx.testing.harness import BotHarness

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 3, 4, 8, 0, tzinfo=TZ)  # Monday 4 March 2024, 08:00
CASE_NUMBER = re.compile(r"KC-\d{4}-\d{4}")
PHOTO = b"\xff\xd8\xff\xe0demo-photo-of-the-visit\xff\xd9"  # the fake keeps bytes as they are
RECEIPT = b"\xff\xd8\xff\xe0demo-photo-of-the-signed-receipt\xff\xd9"

Predicate = Callable[[SentMessage], bool]


def has_button(prefix: str) -> Predicate:
    return lambda m: any(d.startswith(prefix) for d in m.button_data.values())


def has_text(*words: str) -> Predicate:
    return lambda m: all(w in m.plain for w in words)


def _turned(picker: SentMessage) -> Predicate:
    """The picker, edited to its next page."""
    before = dict(picker.button_data)
    return lambda m: m is picker and m.button_data != before


@dataclass
class Actor:
    """One person of the story: their Telegram account on the fake server and their name."""

    demo: Demo
    user: FakeUser
    name: str
    person: Person | None = None

    async def send(self, text: str, expect: Predicate | None = None) -> SentMessage | None:
        self.user.inbox()  # what came before this action is not its answer
        self.demo.transcript.said(self.name, text)
        await self.user.send(text)
        return await self._settle(expect)

    async def press(
        self, prefix: str, expect: Predicate | None = None, within: SentMessage | None = None
    ) -> SentMessage | None:
        """Press the newest button whose callback data starts with `prefix`."""
        message, data, label = self._button(prefix, within)
        self.user.inbox()
        self.demo.transcript.said(self.name, f"[{label}]")
        query_id = await self.user.press(data, message)
        # the press is handled at the clock of the press: the story waits for its answer
        # before it moves on (what a press records is stamped with the press's own time)
        await self.user.answer_to(query_id)
        return await self._settle(expect, pressed=True)

    async def choose(self, data: str, more: str, expect: Predicate) -> SentMessage | None:
        """Pick ``data`` in a picker, pressing its [更多] (data ``more``…) until it shows."""
        kind = has_button(data.rsplit(":", 1)[0] + ":")
        for _ in range(10):
            picker = self.newest(kind)
            if data in picker.button_data.values():
                return await self.press(data + "$", expect, within=picker)
            await self.press(more, _turned(picker), picker)
        raise AssertionError(f"{self.name} found no {data!r} behind {more!r}")

    async def send_location(self, lat: float, lon: float, expect: Predicate) -> None:
        self.user.inbox()
        self.demo.transcript.said(self.name, f"📍 {lat:.4f}, {lon:.4f}")
        await self.user.send_location(lat, lon)
        await self._settle(expect)

    async def send_photo(self, data: bytes, expect: Predicate) -> None:
        self.user.inbox()
        self.demo.transcript.said(self.name, "📷")
        await self.user.send_photo(data)
        await self._settle(expect)

    def _button(self, prefix: str, within: SentMessage | None) -> tuple[SentMessage, str, str]:
        exact = prefix.endswith("$")
        wanted = prefix.rstrip("$")
        candidates = [within] if within is not None else reversed(self.user.messages)
        for message in candidates:
            if message.deleted:
                continue
            for label, data in message.button_data.items():
                if data == wanted or (not exact and data.startswith(wanted)):
                    return message, data, label
        raise AssertionError(f"{self.name} has no button {prefix!r}")

    async def _settle(self, expect: Predicate | None, pressed: bool = False) -> SentMessage | None:
        """Wait for the answer: `expect`, or else the next new or edited message, or for a
        button press an alert, whichever comes first."""
        if expect is not None:
            found: SentMessage | None = await self.user.wait_for(expect)
        elif not pressed:
            found = await self.user.next_message()
        else:
            found = await self._message_or_alert()
        self.demo.collect()
        return found

    async def _message_or_alert(self) -> SentMessage | None:
        message = asyncio.ensure_future(self.user.next_message())
        try:
            while not message.done():
                answer = asyncio.ensure_future(self.user.next_callback_answer())
                done, _ = await asyncio.wait({message, answer}, return_when=asyncio.FIRST_COMPLETED)
                if answer in done:
                    if answer.result().text:
                        self.demo.transcript.alert(self.name, answer.result().text or "")
                        return None
                else:
                    answer.cancel()
            return message.result()
        finally:
            if not message.done():
                message.cancel()

    def can_press(self, prefix: str) -> bool:
        try:
            self._button(prefix, None)
        except AssertionError:
            return False
        return True

    def newest(self, predicate: Predicate) -> SentMessage:
        for message in reversed(self.user.messages):
            if predicate(message):
                return message
        raise AssertionError(f"{self.name} received nothing like that")


@dataclass
class Demo:
    harness: BotHarness
    out: Path
    lang: str
    transcript: Transcript
    progress: Progress
    actors: dict[str, Actor] = field(default_factory=dict)
    groups: dict[str, FakeGroup] = field(default_factory=dict)
    next_user_id: int = 7001

    @property
    def t(self) -> Callable[[str], str]:
        return translator(self.lang)

    def local_now(self) -> datetime:
        return self.harness.clock.now().astimezone(TZ)

    def collect(self) -> None:
        for actor in self.actors.values():
            self.transcript.collect(actor.name, actor.user)
        for name, group in self.groups.items():
            self.transcript.collect(name, group)

    async def join(self, key: str, person: Person) -> Actor:
        """The person opens their invitation link: /start <code>."""
        invitation = await create_invitation(
            self.harness.s,
            role=person.role,
            unit_text="",
            name=None,
            phone=person.phone,
            actor="cli:demo",
        )
        user = self.harness.fake.user(
            self.next_user_id,
            first_name=person.name,
            language_code="en" if self.lang == "en" else "zh-hans",
        )
        self.next_user_id += 1
        actor = Actor(self, user, person.name, person)
        self.actors[key] = actor
        await actor.send(f"/start {invitation.code}", has_text("/help"))
        return actor

    async def at(self, hour: int, minute: int = 0, *, day: date | None = None) -> None:
        """Run the clock (a sweep an hour, nights skipped) to a time of the story."""
        current = self.local_now()
        target = datetime.combine(day or current.date(), datetime.min.time(), TZ).replace(
            hour=hour, minute=minute
        )
        while self.local_now() < target:
            now = self.local_now()
            step = now + timedelta(hours=1)
            if now.hour >= 20:
                step = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), TZ)
                step = step.replace(hour=8)
            step = min(step, target)
            self.harness.clock.set(step)
            await self.harness.sweep()
            self.collect()

    async def day(self, day: date, story: str) -> None:
        await self.at(7, 59, day=day)
        self.transcript.story(story)
        self.progress.step(story)
        await self.at(8, day=day)


# --- the story ------------------------------------------------------------------------------


async def report(teacher: Actor, student: Student, *, cause: str, contact: str) -> str:
    """The class teacher reports an absence that began today (A7.1); returns the case number."""
    await teacher.send("/report", has_button("rep:"))
    await teacher.send(student.name, has_button("rep:d:"))
    await teacher.press("rep:d:0", has_button("rep:r:"))
    await teacher.choose(f"rep:r:{cause}", "rep:rp:", has_button("rep:g:"))
    await teacher.press(f"rep:g:{contact}", has_button("rep:n"))
    await teacher.press("rep:n", has_button("rep:ok"))
    done = await teacher.press("rep:ok", lambda m: bool(CASE_NUMBER.search(m.plain)))
    assert done is not None
    match = CASE_NUMBER.search(done.plain)
    assert match is not None
    return match.group(0)


async def visit(
    actor: Actor,
    case: Case,
    *,
    outcome: str,
    with_evidence: bool,
    kind: str = "home_visit",
    return_tomorrow: bool = False,
) -> None:
    """Record a home visit (A7.1, A5.1) from the case's visit button."""
    await actor.send(f"/visit {case.number}", has_button("vv:k:"))
    await actor.press(f"vv:k:{kind}", has_button("vv:d:0"))
    await actor.press("vv:d:0", has_button("vv:m:"))
    await actor.press("vv:m:guardians", has_button("vv:o:"))
    if outcome == "agreed":
        await actor.press("vv:o:agreed", has_button("vv:r:"))
        await actor.press("vv:r:1" if return_tomorrow else "vv:r:2", has_button("vv:c:"))
    else:
        await actor.choose(f"vv:o:{outcome}", "vv:op:", has_button("vv:c:"))
    await actor.press("vv:c:=", has_button("vv:s") if kind != "phone_call" else has_button("vv:n"))
    if kind != "phone_call":
        if with_evidence:  # a pin about 0.4 km from the child's village
            pin = await pin_near_home(actor.demo.harness.s, case)
            await actor.send_location(*pin, has_button("vv:p"))
            await actor.send_photo(PHOTO, has_text("1"))
            await actor.press("vv:p", has_button("vv:n"))
        else:
            await actor.press("vv:s", has_button("vv:p"))
            await actor.press("vv:p", has_button("vv:n"))
    await actor.press("vv:n", has_button("vv:ok"))
    await actor.press("vv:ok", has_text("KC-"))


async def back_at_school(teacher: Actor, case_id: int, details: bool = False) -> None:
    """A7.6: the class teacher confirms the return (``details``: from the whole record)."""
    if details or not teacher.can_press(f"ret:{case_id}$"):
        await teacher.send("/cases", has_button("case:"))
        await teacher.press(f"case:{case_id}$", has_button(f"ret:{case_id}"))
    if details:
        await teacher.press(f"cdet:{case_id}", has_button(f"ret:{case_id}"))
        await teacher.press(f"cvloc:{case_id}", lambda m: m.kind == "location")
    await teacher.press(f"ret:{case_id}$", has_button(f"ret:{case_id}:y"))
    await teacher.press(f"ret:{case_id}:y")


async def deliver_notice(actor: Actor, notice_prefix: str) -> None:
    """Record the delivery of a notice (A7.4) or an order (A7.5) with the signed receipt."""
    await actor.press(notice_prefix, has_button("ntc:dt:"))
    await actor.press("ntc:dt:0", has_button("ntc:to:"))
    await actor.press("ntc:to:0")
    await actor.send_photo(RECEIPT, has_button("ntc:ok"))
    await actor.press("ntc:ok")


def write_file(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def prepare_folders(out: Path, keep: bool) -> tuple[Path, Path]:
    """The output folder, and where the database lives (the output folder with --keep)."""
    out.mkdir(parents=True, exist_ok=True)
    workdir = out if keep else Path(tempfile.mkdtemp(prefix="kcbx-demo-"))
    db = workdir / "kcbx-demo.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    return workdir, db


def save_files(actor: Actor, out: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The documents and photos a person received, written into the output folder."""
    saved = []
    for message in actor.user.messages:
        name = message.filename or ""
        if message.document is not None and name.endswith(suffixes):
            path = out / name
            path.write_bytes(message.document)
            saved.append(path)
    return saved


STORY_DAYS = 12


async def play(demo: Demo, cast: Cast) -> dict[str, Path]:
    """The month, as the district lives it: each phase through the real bot."""
    cases = await _first_week(demo, cast)
    await _day_seven(demo, cases)
    await _notice_and_returns(demo, cases)
    await _the_picture(demo, cases)
    return _artefacts(demo)


async def _first_week(demo: Demo, cast: Cast) -> dict[str, Case]:
    """Monday to Friday: people join, four children are reported, a home visit, two return."""
    t, s = demo.t, demo.harness.s
    a, b, c, d, e = cast.students
    demo.transcript.story(
        t("Monday: the people of {township} open their invitation links").format(township=TOWNSHIP)
    )
    demo.progress.step()
    for key in ("teacher", "lead", "principal", "township_leader", "township_cadre"):
        await demo.join(key, getattr(cast, key))
    for key in ("village_cadre", "group_cadre", "bureau"):
        await demo.join(key, getattr(cast, key))
    await demo.join("district_leader", cast.district_leader)
    await demo.join("justice", cast.justice)
    await demo.join("civil", cast.civil)
    teacher, lead, civil = (demo.actors[k] for k in ("teacher", "lead", "civil"))
    await teacher.send("/help", has_text("/report"))

    await demo.at(9)
    demo.transcript.story(t("A class teacher reports four children who did not come (Article 7)"))
    numbers = [
        await report(teacher, a, cause="unknown", contact="unreached"),
        await report(teacher, b, cause="weariness", contact="agreed"),
        await report(teacher, c, cause="parents_unwilling", contact="refused"),
        await report(teacher, d, cause="poverty", contact="unreached"),
    ]
    cases = {}
    for key, number in zip("abcd", numbers, strict=True):
        case = await s.cases.by_number(number)
        assert case is not None
        cases[key] = case

    await demo.at(10)
    demo.transcript.story(t("A vulnerable child (Article 9): civil affairs is brought in on day 0"))
    await civil.user.wait_for(has_text(cases["d"].number))
    await civil.send("/inbox", has_text(cases["d"].number))
    await civil.press("ref:a:")

    await demo.at(14)
    demo.transcript.story(t("No phone call recorded within 4 hours: the teacher is reminded"))
    await teacher.press(f"do:{cases['a'].id}:A7.1-call")  # the digest's one button a task
    await teacher.press(f"do:{cases['d'].id}:A7.1-call")

    await demo.day(START.date() + timedelta(days=1), t("Tuesday: the teacher visits a home"))
    await demo.at(10)
    await visit(teacher, cases["a"], outcome="agreed", with_evidence=True, return_tomorrow=True)

    await demo.day(START.date() + timedelta(days=2), t("Wednesday: is the child back?"))
    await demo.at(9)
    await back_at_school(teacher, cases["a"].id)

    await demo.day(START.date() + timedelta(days=3), t("Day 3: the school organises persuasion"))
    await demo.at(9)
    await lead.press(f"do:{cases['b'].id}:A7.2")
    await demo.at(10)
    await visit(lead, cases["c"], kind="persuasion", outcome="refused", with_evidence=False)

    await demo.day(START.date() + timedelta(days=4), t("Friday: a child is back"))
    await demo.at(9)
    await back_at_school(teacher, cases["b"].id)

    demo.transcript.story(t("A fifth child stops coming; nobody acts on the reminders"))
    case_e = await s.cases.by_number(await report(teacher, e, cause="unknown", contact="notyet"))
    assert case_e is not None
    cases["e"] = case_e
    return cases


async def _day_seven(demo: Demo, cases: dict[str, Case]) -> None:
    """The dropout mark; the bureau, the township, the 三包 chain and the departments (A7.3)."""
    t, act = demo.t, demo.actors
    lead, justice, bureau = act["lead"], act["justice"], act["bureau"]
    case_c = cases["c"]
    await demo.day(
        START.date() + timedelta(days=7),
        t(
            "Day 7: dropout mark; the bureau, the township, the contact-duty chain and the "
            "departments"
        ),
    )
    await demo.at(9)
    await lead.press(f"do:{case_c.id}:A7.3-mark")
    await lead.press(f"do:{case_c.id}:A7.3-report")
    await demo.at(10)
    await justice.user.wait_for(has_text(case_c.number))
    await visit(act["group_cadre"], case_c, outcome="refused", with_evidence=True)
    await bureau.press(f"do:{case_c.id}:A7.3-joint")
    await act["township_leader"].press(f"do:{case_c.id}:A6-township")
    await justice.send("/inbox", has_text(case_c.number))
    await justice.press("ref:a:")
    await justice.press(f"do:{case_c.id}:A6-justice")
    await demo.at(11)
    await act["principal"].send("/cases", has_text(cases["e"].number))


async def _notice_and_returns(demo: Demo, cases: dict[str, Case]) -> None:
    """Two children back; the notice to enrol (A7.4) and the order to correct (A7.5)."""
    t, act = demo.t, demo.actors
    teacher, bureau, township_cadre = act["teacher"], act["bureau"], act["township_cadre"]
    await demo.day(START.date() + timedelta(days=9), t("Day 9: the vulnerable child returns"))
    await demo.at(9)
    await visit(teacher, cases["d"], outcome="agreed", with_evidence=False)
    await back_at_school(teacher, cases["d"].id)
    await back_at_school(teacher, cases["e"].id)

    await demo.day(
        START.date() + timedelta(days=15),
        t("Day 15: the notice to enrol by a deadline (Article 7)"),
    )
    await demo.at(9)
    await bureau.press("ntc:i:")
    await demo.at(15)
    await township_cadre.send("/notices", has_button("ntc:d:"))
    await deliver_notice(township_cadre, "ntc:d:")

    await demo.day(
        START.date() + timedelta(days=23),
        t("The notice's deadline passed: reprimand and order to correct (Article 7)"),
    )
    await demo.at(10)
    await deliver_notice(bureau, "ntc:d:")


async def _the_picture(demo: Demo, cases: dict[str, Case]) -> None:
    """A leader asks for the summary, the chart and the ledger; the last child is back."""
    t, leader = demo.t, demo.actors["district_leader"]
    await demo.day(START.date() + timedelta(days=25), t("A leader asks for the picture"))
    await demo.at(9)
    await leader.send("/summary", has_button("sum:"))
    await leader.press("sum:g:", lambda m: m.photo is not None)
    await leader.send("/export", lambda m: (m.filename or "").endswith(".xlsx"))
    group = demo.harness.fake.group(-100777, "滨河镇控辍保学工作群")
    demo.groups[t("group chat")] = group
    demo.transcript.said(leader.name, "/summary @ " + group.title)
    await leader.user.send("/summary", chat=group)
    await group.wait_for(lambda m: bool(m.plain))
    demo.collect()

    await demo.day(START.date() + timedelta(days=27), t("The last child is back at school"))
    await demo.at(9)
    await back_at_school(demo.actors["teacher"], cases["c"].id, details=True)
    await leader.send("/summary", has_button("sum:"))


def _artefacts(demo: Demo) -> dict[str, Path]:
    bureau, leader, out = demo.actors["bureau"], demo.actors["district_leader"], demo.out
    artefacts = {path.name: path for path in save_files(bureau, out, (".pdf", ".docx"))}
    for path in save_files(leader, out, (".xlsx",)):
        # the ledger arrives encrypted; the demo opens it with the password the bot sent
        codes = [re.search(r"<code>([^<]+)</code>", m.text or "") for m in leader.user.messages]
        passwords = [code.group(1) for code in codes if code is not None]
        if passwords:
            path.write_bytes(decrypt(path.read_bytes(), passwords[-1]))
        artefacts["ledger"] = path
    chart = next((m for m in reversed(leader.user.messages) if m.photo), None)
    if chart is not None and chart.photo is not None:
        artefacts["chart"] = write_file(out / "summary-chart.png", chart.photo)
    return artefacts


async def run_demo(
    *,
    out: Path,
    students: int = 1200,
    lang: str = "zh_CN",
    keep: bool = False,
    echo: TextIO | None = None,
    progress_stream: TextIO | None = None,
) -> dict[str, Path]:
    """Play the month; return the artefacts (name -> path) written into `out`."""
    started = time.monotonic()
    t = translator(lang)
    workdir, db = prepare_folders(out, keep)
    roster = build_roster(students=students)
    roster_path = write_file(out / "roster.xlsx", roster.to_xlsx())
    fake = FakeBotApi(
        token="123456:DEMO-token_kcbx", bot_username="kcbx_demo_bot", private_burst=30
    )
    harness = BotHarness(db, START.astimezone(ZoneInfo("UTC")), fake=fake)
    transcript = Transcript(lambda: harness.clock.now().astimezone(TZ), echo=echo, lang=lang)
    progress = Progress(STORY_DAYS + 2, progress_stream)
    async with harness as h:
        report_ = await import_roster(
            h.s.db, roster_path, roster_path.name, actor="cli:demo", clock=h.clock, timezone=TZ
        )
        transcript.story(t("The education bureau imports the district's roster"))
        for line in render_report(report_, t):
            transcript.said("kcbx import", line)
        progress.step()
        demo = Demo(h, out, lang, transcript, progress)
        cast = await choose_cast(h)
        artefacts = await play(demo, cast)
    artefacts["roster"] = roster_path
    artefacts["transcript"] = write_file(out / "transcript.txt", transcript.text())
    if keep:
        artefacts["database"] = db
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    progress.done = progress.total
    elapsed = time.monotonic() - started
    print(t("Demo finished in {seconds:.0f} s.").format(seconds=elapsed), file=sys.stderr)
    return artefacts
