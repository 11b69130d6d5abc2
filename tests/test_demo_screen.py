"""A phone's screen (docs/texts.md, "On a phone"), measured on the demo district's month as
its people saw it: the transcript of `kcbx demo`. Its longest case, KC-2024-0003 (朱可), goes
through the whole ladder (A7.1-A7.5, A5.1, A6) and is closed at the end."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.single_backend  # the texts, not the storage

LONGEST = "KC-2024-0003"
HEAD = re.compile(r"^\[[^\]]*\] (?:🤖|💬) → ([^:]+): (.*)$")
CARD = re.compile(r"^(✎ )?案件KC-\d{4}-\d{4} · ")
REMINDER = ("⏰", "⚠️", "📣")
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


@dataclass
class Shown:
    to: str
    lines: list[str]
    buttons: list[str] = field(default_factory=list)

    @property
    def edit(self) -> bool:
        return self.lines[0].startswith("✎ ")

    @property
    def first(self) -> str:
        return self.lines[0].removeprefix("✎ ")


def shown(transcript: str) -> list[Shown]:
    """The bot's messages (and edits) as the transcript shows them: text lines, buttons."""
    out: list[Shown] = []
    current: Shown | None = None
    for line in transcript.splitlines():
        head = HEAD.match(line)
        if head:
            current = Shown(head.group(1), [head.group(2)])
            out.append(current)
        elif current is not None and line.startswith(" " * 6):
            body = line[6:]
            if body.startswith("  [") and body.rstrip().endswith("]"):
                current.buttons = re.findall(r"\[([^\]]*)\]", body)
            else:
                current.lines.append(body)
        else:
            current = None
    return out


def width(label: str) -> int:
    """A button label's length, a Chinese character counted as one."""
    return len(label)


@pytest.fixture(scope="module")
def messages(demo_month: dict[str, Path]) -> list[Shown]:
    return shown(demo_month["transcript"].read_text(encoding="utf-8"))


def test_the_longest_case_card_fits_a_phone(messages: list[Shown]) -> None:
    cards = [m for m in messages if CARD.match(m.lines[0])]
    details = [m for m in cards if "办理记录" in m.lines]  # [详情]: the whole record, paged
    cards = [m for m in cards if m not in details]
    assert any(LONGEST in m.first for m in cards) and any(LONGEST in m.first for m in details)
    for card in cards:
        assert len(card.lines) <= 12, "\n".join(card.lines)
        if not card.edit:
            assert "详情" in card.buttons, card.buttons  # the whole record, one tap away


def test_reminders_of_the_longest_case_fit_a_phone(messages: list[Shown]) -> None:
    reminders = [
        m
        for m in messages
        if m.first.startswith(REMINDER) and any(LONGEST in line for line in m.lines[1:4])
    ]
    assert len(reminders) >= 5  # the call, the visit, the mark, the notice, the order...
    for reminder in reminders:
        assert len(reminder.lines) <= 8, "\n".join(reminder.lines)
        # the rest behind [查看案件]; a department reads only its referral (need to know, A6)
        referral = "转介（" in reminder.lines[1]
        assert referral or reminder.edit or "查看案件" in reminder.buttons, reminder.buttons


def test_messages_about_the_longest_case_have_six_buttons_at_most(messages: list[Shown]) -> None:
    about = [m for m in messages if any(LONGEST in line for line in m.lines) and m.buttons]
    assert len(about) >= 10
    for message in about:
        assert len(message.buttons) <= 6, (message.lines[0], message.buttons)


def test_every_button_label_is_short(messages: list[Shown]) -> None:
    labels = {b for m in messages for b in m.buttons}
    assert any(CJK.search(b) for b in labels)
    assert not [b for b in labels if width(b) > 12]
