"""The demo's transcript: who did what, when in the story, and what the bot said to whom."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from kcbx.testing.fakebot import FakeGroup, FakeUser, SentMessage


@dataclass
class Line:
    at: datetime
    who: str
    kind: str  # 'say' (a person's action), 'bot' (a message to a person), 'story', 'file'
    text: str


@dataclass
class Transcript:
    """Collects lines; `bot_messages` picks up what the fake server delivered since last time."""

    story_time: Callable[[], datetime]
    lines: list[Line] = field(default_factory=list)
    echo: TextIO | None = None
    lang: str = "zh_CN"
    _seen: dict[int, int] = field(default_factory=dict)  # chat id -> messages already shown
    _edits: dict[tuple[int, int], int] = field(default_factory=dict)

    def story(self, text: str) -> None:
        self._add(Line(self.story_time(), "", "story", text))

    def alert(self, who: str, text: str) -> None:
        self._add(Line(self.story_time(), who, "alert", text))

    def said(self, who: str, text: str) -> None:
        self._add(Line(self.story_time(), who, "say", text))

    def collect(self, who: str, chat: FakeUser | FakeGroup) -> list[SentMessage]:
        """Lines for the messages (and edits) the bot sent to one chat since the last call."""
        messages = chat.messages
        new = messages[self._seen.get(chat.chat_id, 0) :]
        for message in messages[: self._seen.get(chat.chat_id, 0)]:
            key = (chat.chat_id, message.message_id)
            if message.edits and self._edits.get(key, 0) < message.edits:
                self._edits[key] = message.edits
                self._add(Line(self.story_time(), who, "bot", "✎ " + _render(message)))
        for message in new:
            self._edits[(chat.chat_id, message.message_id)] = message.edits
            kind = "file" if message.kind in ("document", "photo", "location") else "bot"
            self._add(Line(self.story_time(), who, kind, _render(message)))
        self._seen[chat.chat_id] = len(messages)
        return list(new)

    def _add(self, line: Line) -> None:
        self.lines.append(line)
        if self.echo is not None:
            self.echo.write(format_line(line, self.lang) + "\n")
            self.echo.flush()

    def text(self) -> str:
        return "\n".join(format_line(line, self.lang) for line in self.lines) + "\n"


def _render(message: SentMessage) -> str:
    parts = []
    if message.kind == "document":
        parts.append(f"[file {message.filename}]")
    elif message.kind == "photo":
        parts.append("[photo]")
    elif message.kind == "location" and message.location is not None:
        parts.append("📍 {:.4f}, {:.4f}".format(*message.location))
    body = message.plain  # what the chat shows: the caption too, its parse mode applied
    if body:
        parts.append(body)
    buttons = message.buttons or []
    if buttons:
        parts.append("  " + " ".join(f"[{b}]" for b in buttons))
    return "\n".join(parts)


def format_line(line: Line, lang: str = "zh_CN") -> str:
    if lang == "en":
        stamp = f"{line.at.day} {line.at:%b %H:%M}"
    else:
        stamp = f"{line.at.month}月{line.at.day}日 {line.at:%H:%M}"
    if line.kind == "story":
        return f"\n== {stamp} {line.text}"
    if line.kind == "say":
        return f"[{stamp}] {line.who} ▶ {line.text}"
    arrow = {"file": "📎", "alert": "💬"}.get(line.kind, "🤖")
    body = line.text.replace("\n", "\n      ")
    return f"[{stamp}] {arrow} → {line.who}: {body}"


class Progress:
    """A one-line progress bar on a terminal (stderr), quiet elsewhere."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr

    def step(self, label: str = "") -> None:
        self.done = min(self.done + 1, self.total)
        if not self.stream.isatty():
            return
        width = 30
        filled = width * self.done // self.total
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {label[:40]:<40}"
        )
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()
