"""What the fake server records and hands to tests: requests, sent messages, files, stats."""

from __future__ import annotations

import hashlib
import struct
from collections import Counter
from dataclasses import dataclass, field

from kcbx.testing.fakebot.limits import (
    JSONDict,
)


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, JPEG, BMP or WebP image; None if it is no image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return int(width), abs(int(height))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
                i += 1 if marker == 0xFF else 2
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return None


def _photo_dimensions(width: int, height: int) -> list[tuple[int, int]]:
    """The sizes Telegram keeps of a photo: thumbnails first, the largest last."""
    longest = max(width, height)
    sizes = []
    for limit in (90, 320, 800, 1280):
        scale = min(limit, longest) / longest
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size not in sizes:
            sizes.append(size)
        if limit >= longest:
            break
    return sizes


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class RecordedRequest:
    """One Bot API call as the server saw it."""

    method: str
    params: JSONDict
    time: float
    status: int
    description: str | None = None


@dataclass
class FakeStats:
    """Counts of calls per method and of error responses per HTTP status."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)

    @property
    def too_many_requests(self) -> int:
        """How many 429 responses the server served."""
        return self.errors[429]


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to one button press (answerCallbackQuery)."""

    query_id: str
    data: str | None
    text: str | None
    show_alert: bool
    url: str | None = None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_size: int
    file_path: str
    filename: str | None = None
    mime_type: str | None = None


class FileStore:
    """The files the server holds, by file_id and by download path, and each photo's sizes."""

    def __init__(self) -> None:
        self.files: dict[str, _StoredFile] = {}
        self.paths: dict[str, _StoredFile] = {}
        self.photo_sets: dict[str, list[JSONDict]] = {}

    def store(
        self,
        folder: str,
        data: bytes,
        file_size: int | None,
        filename: str | None,
        mime_type: str | None,
    ) -> _StoredFile:
        number = len(self.files) + 1
        digest = hashlib.sha1(data).hexdigest()[:16]
        prefix = "AgACAgUAAxkBAAI" if folder == "photos" else "BQACAgUAAxkBAAI"
        suffix = (filename and "." in filename and "." + filename.rsplit(".", 1)[1]) or (
            ".jpg" if folder == "photos" else ""
        )
        stored = _StoredFile(
            file_id=f"{prefix}{number:06d}{digest}",
            file_unique_id=f"AQAD{number:06d}",
            data=data,
            file_size=len(data) if file_size is None else file_size,
            file_path=f"{folder}/file_{number}{suffix}",
            filename=filename,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self.paths[stored.file_path] = stored
        return stored

    def photo_sizes(self, data: bytes, file_size: int | None) -> list[JSONDict]:
        width, height = _image_size(data) or (1280, 960)
        dimensions = _photo_dimensions(max(width, 1), max(height, 1))
        full = len(data) if file_size is None else file_size
        largest = dimensions[-1][0] * dimensions[-1][1]
        sizes: list[JSONDict] = []
        for w, h in dimensions:
            size = full if (w, h) == dimensions[-1] else max(1, full * w * h // largest)
            stored = self.store("photos", data, size, None, "image/jpeg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": w,
                    "height": h,
                    "file_size": size,
                }
            )
        for size_json in sizes:
            self.photo_sets[size_json["file_id"]] = sizes
        return sizes

    @staticmethod
    def document_json(stored: _StoredFile) -> JSONDict:
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        if stored.filename:
            document["file_name"] = stored.filename
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent to a chat, as the person sees it now (after edits)."""

    chat_id: int
    message_id: int
    date: int
    kind: str
    text: str | None = None
    caption: str | None = None
    plain: str = ""
    entities: list[JSONDict] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: JSONDict | None = None
    document: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None
    photo: bytes | None = None
    file_id: str | None = None
    media_group_id: str | None = None
    location: tuple[float, float] | None = None  # a map pin (sendLocation): latitude, longitude
    reply_to_message_id: int | None = None
    edits: int = 0
    edit_date: int | None = None
    deleted: bool = False
    history: list[str | None] = field(default_factory=list)

    @property
    def inline_keyboard(self) -> list[list[JSONDict]]:
        """Rows of inline buttons (Telegram's dicts); empty without an inline keyboard."""
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            rows: list[list[JSONDict]] = self.reply_markup["inline_keyboard"]
            return rows
        return []

    @property
    def buttons(self) -> list[str]:
        """Texts of the inline buttons, row by row."""
        return [button["text"] for row in self.inline_keyboard for button in row]

    @property
    def button_data(self) -> dict[str, str]:
        """Inline button text → callback_data, for callback buttons."""
        return {
            b["text"]: b["callback_data"]
            for row in self.inline_keyboard
            for b in row
            if "callback_data" in b
        }

    @property
    def button_urls(self) -> dict[str, str]:
        """Inline button text → url, for URL buttons."""
        return {b["text"]: b["url"] for row in self.inline_keyboard for b in row if "url" in b}

    @property
    def reply_keyboard(self) -> list[str]:
        """Texts of the reply keyboard this message brought up; empty if none."""
        if not self.reply_markup or "keyboard" not in self.reply_markup:
            return []
        return [
            button if isinstance(button, str) else button["text"]
            for row in self.reply_markup["keyboard"]
            for button in row
        ]

    def __repr__(self) -> str:
        flags = f", edits={self.edits}" if self.edits else ""
        flags += ", deleted" if self.deleted else ""
        shown = self.plain if len(self.plain) <= 80 else self.plain[:77] + "..."
        extra = f", buttons={self.buttons}" if self.buttons else ""
        extra += f", file={self.filename!r}" if self.filename else ""
        return f"SentMessage(#{self.message_id} {self.kind} {shown!r}{extra}{flags})"
