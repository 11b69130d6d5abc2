"""What the guardians' notices say (A7.4, A7.5): the data in, the wording out.

The texts are Chinese official documents and stay Chinese whatever language the person who
asks for them reads the bot in: the county's notice to a family is legally a Chinese document.
So they are not gettext messages. They follow GB/T 9704-2012 practice: the document number
as 沙教控辍〔2024〕1号, the issuing organs' full names signed side by side with room for each
seal, the date in Arabic numerals (2024年3月4日). Each document ends with a receipt
(送达回证) to cut off, which the guardian signs and which goes back into the case file.

:func:`compose_notice` writes the wording once; kcbx/bot/documents/notice.py lays it out as
a PDF and as a Word file, so both say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from kcbx.bot.domain.kinship import Address, address_guardians
from kcbx.bot.domain.model import Guardian

NoticeKind = Literal["notice", "correction"]

DEFAULT_LEGAL_BASIS = (
    "《中华人民共和国义务教育法》第五条第二款规定：“适龄儿童、少年的父母或者其他法定监护人"
    "应当依法保证其按时入学接受并完成义务教育。”"
    "《沙坡头区义务教育控辍保学管理办法》第七条规定：“对超过15日仍未送子女复学的父母或其他监护人，"
    "由教育行政部门联合属地乡镇下发《限期入学通知书》，责令限期复学，在限期内仍不能按期入学的，"
    "对不履行职责和劝返无果的学生父母或其他监护人给予批评教育，并责令限期改正。”"
)
"""The guardians' duty and the county's rule, quoted; another county passes its own text."""

TITLES: dict[NoticeKind, str] = {
    "notice": "限期入学通知书",
    "correction": "批评教育，责令限期改正通知书",
}
SHORT_TITLES: dict[NoticeKind, str] = {
    "notice": "限期入学通知书",
    "correction": "责令限期改正通知书",
}
SEAL_MARK = "（盖章）"
"""Printed where each organ's seal is pressed over its name (GB/T 9704-2012, 7.3.5)."""
CUT_LINE_LABEL = "沿此线剪下"
RECEIPT_TITLE = "送达回证"
_BLANKS = frozenset("＿_ ")


@dataclass(frozen=True)
class NoticeData:
    """What a notice says.

    Attributes:
        kind: ``"notice"`` (限期入学通知书, A7.4) or ``"correction"`` (A7.5).
        number: the document number as the register holds it, e.g. ``沙教控辍〔2024〕7号``.
        guardians: every guardian, as on the household register: a name, or a
            :class:`Guardian` with the relation to the child (父亲, 奶奶 ...), by which the
            document addresses them (你们的子女, 你的孙女).
        student: the child's name.
        gender: ``男`` or ``女``.
        school: the school's full name.
        grade_class: grade and class as the school writes them, e.g. ``八年级2班``.
        address: household address (township, village, group), e.g. ``滨河镇黄湾村三组``.
        absent_since: the first day of unexplained absence (day 0).
        days_absent: days absent so far, counted as the policy counts them.
        deadline: the day by which the child must be back at school; None while it is not
            known (the deadline runs from delivery, A7.4): the document then gives
            ``deadline_days`` counted from the day it is delivered.
        issuers: the issuing organs' full names, the bureau first, e.g.
            ``("中卫市沙坡头区教育局", "中卫市沙坡头区滨河镇人民政府")``.
        issue_date: the date of the document.
        previous_number: for a correction, the number of the notice whose deadline passed
            (required); for a notice, the number of the notice it replaces, if any.
        legal_basis: the legal provisions quoted in the document.
        contact: who to call and the number, printed if given.
        deadline_days: the days from delivery the guardians have, when ``deadline`` is None.
        previous_deadline: for a correction, the deadline of the notice it follows: the
            order is dated after it (A7.5: it follows the deadline's passing).
    """

    kind: NoticeKind
    number: str
    guardians: Sequence[str | Guardian]
    student: str
    gender: str
    school: str
    grade_class: str
    address: str
    absent_since: date
    days_absent: int
    deadline: date | None
    issuers: Sequence[str]
    issue_date: date
    previous_number: str | None = None
    legal_basis: str = DEFAULT_LEGAL_BASIS
    contact: str = ""
    deadline_days: int | None = None
    previous_deadline: date | None = None

    def __post_init__(self) -> None:
        if self.kind not in TITLES:
            raise ValueError(f"unknown notice kind {self.kind!r}")
        if isinstance(self.guardians, str) or isinstance(self.issuers, str):
            raise TypeError("guardians and issuers are lists of names, not one string")
        if not self.guardians or not all(_name(g).strip() for g in self.guardians):
            raise ValueError("a notice needs the guardians' names")
        if not self.issuers:
            raise ValueError("a notice needs its issuing bodies")
        if self.kind == "correction" and not self.previous_number:
            raise ValueError("an order to correct cites the notice whose deadline passed")
        if (
            self.kind == "correction"
            and self.previous_deadline is not None
            and self.issue_date <= self.previous_deadline
        ):
            raise ValueError("an order to correct is dated after the deadline it follows")
        if self.deadline is None:
            if self.deadline_days is None or self.deadline_days < 1:
                raise ValueError("without a deadline date, give the days from delivery")
        elif self.deadline <= self.issue_date:
            raise ValueError("the deadline must come after the issue date")

    @property
    def guardian_names(self) -> list[str]:
        return [_name(g) for g in self.guardians]

    @property
    def relations(self) -> list[str | None]:
        return [g.relation if isinstance(g, Guardian) else None for g in self.guardians]


def _name(guardian: str | Guardian) -> str:
    return guardian.name if isinstance(guardian, Guardian) else guardian


@dataclass(frozen=True)
class NoticeText:
    """The wording of one document, ready to lay out.

    ``receipt_rows`` are the receipt's table rows: ``(label, value)`` spans the row,
    ``(label, value, label, value)`` holds two fields.
    """

    title: str
    number: str
    subject: str
    salutation: str
    paragraphs: tuple[str, ...]
    issuers: tuple[str, ...]
    date: str
    receipt_title: str
    receipt_rows: tuple[tuple[str, ...], ...]
    receipt_note: str
    seal_mark: str = SEAL_MARK

    def all_text(self) -> str:
        """Every character the document draws (to build its fonts)."""
        return "".join(
            (
                self.title,
                self.number,
                self.salutation,
                *self.paragraphs,
                *self.issuers,
                self.date,
                self.receipt_title,
                *(cell for row in self.receipt_rows for cell in row),
                self.receipt_note,
                self.seal_mark,
                CUT_LINE_LABEL,
                "年月日：",
            )
        )


def chinese_date(day: date) -> str:
    """``2024年3月5日``: dates in official documents use Arabic numerals (GB/T 9704-2012)."""
    return f"{day.year}年{day.month}月{day.day}日"


def clean(text: str) -> str:
    """Drop control characters (Word refuses them in XML) and surrounding blanks."""
    return "".join(char for char in text if char.isprintable() or char == "\u3000").strip()


def _cleaned(data: NoticeData) -> NoticeData:
    guardians = [
        replace(g, name=clean(g.name), relation=clean(g.relation) if g.relation else None)
        if isinstance(g, Guardian)
        else clean(g)
        for g in data.guardians
    ]
    return replace(
        data,
        number=clean(data.number),
        guardians=guardians,
        student=clean(data.student),
        gender=clean(data.gender),
        school=clean(data.school),
        grade_class=clean(data.grade_class),
        address=clean(data.address),
        issuers=[clean(issuer) for issuer in data.issuers],
        previous_number=clean(data.previous_number) if data.previous_number else None,
        contact=clean(data.contact),
    )


def _paragraphs(data: NoticeData) -> list[str]:
    """The body: the facts, the law, the order with its deadline, the consequence, help."""
    if all(set(name) <= _BLANKS for name in data.guardian_names):
        address = Address("你们", "你们监护的")  # names to be written in by hand: any number
    else:
        address = address_guardians(data.relations, data.gender)
    you, student, school = address.you, data.student, data.school
    facts = (
        f"{address.child}{student}（{data.gender}），系{school}{data.grade_class}学生，"
        f"家庭住址：{data.address}。该生自{chinese_date(data.absent_since)}起无故未到校上学，"
        f"至今已{data.days_absent}天。"
    )
    if data.deadline is not None:
        back_by = f"请于{chinese_date(data.deadline)}前送{student}到{school}报到复学。"
    else:
        back_by = f"请自本通知书送达之日起{data.deadline_days}日内送{student}到{school}报到复学。"
    help_text = "如有特殊困难，请及时向学校或乡镇人民政府说明，我们将依照有关政策帮助解决。"
    if data.contact:
        help_text += f"联系人及电话：{data.contact}。"
    if data.kind == "notice":
        paragraphs = [
            facts + f"{you}作为监护人，至今未送其返校复学。",
            data.legal_basis,
            f"依据上述规定，现责令{you}限期送其入学：" + back_by,
            "逾期仍不送其入学的，将依照《中华人民共和国义务教育法》第五十八条的规定，"
            f"由教育行政部门和乡镇人民政府对{you}给予批评教育，并责令限期改正。",
            help_text,
        ]
        if data.previous_number:
            paragraphs.append(
                f"本通知书替代{data.previous_number}《限期入学通知书》，原通知书同时作废。"
            )
        return paragraphs
    by = f"于{chinese_date(data.previous_deadline)}前" if data.previous_deadline else "限期"
    return [
        facts + f"此前已向{you}送达{data.previous_number}《限期入学通知书》，责令{by}送其"
        f"复学，{you}在规定期限内仍未送其入学，未履行监护人依法保证其接受义务教育的职责。",
        data.legal_basis,
        f"依照《中华人民共和国义务教育法》第五十八条和上述规定，现对{you}提出批评教育，"
        f"并责令{you}限期改正：" + back_by,
        "逾期仍拒不改正的，将依照有关法律法规作进一步处理。",
        help_text,
    ]


def _addressees(data: NoticeData) -> str:
    """``王建国（父亲）、马玉兰（母亲）``: the receipt names whom it was served on."""
    return "、".join(
        f"{name}（{relation}）" if relation else name
        for name, relation in zip(data.guardian_names, data.relations, strict=True)
    )


def compose_notice(data: NoticeData) -> NoticeText:
    """Write the document's text from its data."""
    data = _cleaned(data)
    title = TITLES[data.kind]
    blank = ""
    return NoticeText(
        title=title,
        number=data.number,
        subject=f"{data.student} {data.school}{data.grade_class}",
        salutation="、".join(data.guardian_names) + "：",
        paragraphs=tuple(_paragraphs(data)),
        issuers=tuple(data.issuers),
        date=chinese_date(data.issue_date),
        receipt_title=RECEIPT_TITLE,
        receipt_rows=(
            ("送达文书", f"《{title}》{data.number}"),
            ("学生", f"{data.student}（{data.school}{data.grade_class}）"),
            ("受送达人", _addressees(data)),
            ("送达机关", "、".join(data.issuers)),
            ("受送达人（签名）", blank, "签收日期", "　　年　　月　　日"),
            ("代收人（签名）", blank, "代收理由", blank),
            ("送达人（签名）", blank, "见证人（签名）", blank),
            ("送达地点", blank, "联系电话", blank),
        ),
        receipt_note=(
            "受送达人签名后，本回证交回学校或乡镇人民政府存档。受送达人拒绝签收的，"
            "由送达人注明情况和日期，并由见证人签名。"
        ),
    )
