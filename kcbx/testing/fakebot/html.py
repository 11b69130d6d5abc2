"""Telegram's HTML parse mode: the parser that rejects what Telegram rejects, and UTF-16 lengths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kcbx.testing.fakebot.limits import (
    _BUTTON_URL,
    ApiError,
    JSONDict,
    _bad,
)

_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")


_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units, as Telegram counts it."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _decode_entity(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _unescape_lenient(text: str) -> str:
    return _HTML_ENTITY.sub(lambda m: _decode_entity(m) or m.group(0), text)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int
    language: str | None = None


class _HtmlParser:
    """Telegram's HTML parse mode (after tdlib's parse_html), with its error texts."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.pos16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JSONDict] = []

    def fail(self, message: str) -> ApiError:
        return _bad(f"can't parse entities: {message}")

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode())

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.pos16 += utf16_len(text)

    def run(self) -> tuple[str, list[JSONDict]]:
        source, i = self.source, 0
        while i < len(source):
            ch = source[i]
            if ch == "&":
                match = _HTML_ENTITY.match(source, i)
                decoded = _decode_entity(match)
                if match is None or decoded is None:
                    raise self.fail(
                        f'Unescaped "&" at byte offset {self.byte_offset(i)}; write "&amp;" '
                        "(stricter than Telegram: this is nearly always unescaped user text)"
                    )
                self.emit(decoded)
                i = match.end()
            elif ch != "<":
                self.emit(ch)
                i += 1
            elif source.startswith("</", i):
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.stack:
            raise self.fail(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def skip_spaces(self, j: int) -> int:
        while j < len(self.source) and self.source[j].isspace():
            j += 1
        return j

    def end_tag(self, i: int) -> int:
        source, j = self.source, i + 2
        while j < len(source) and not source[j].isspace() and source[j] != ">":
            j += 1
        name = source[i + 2 : j].lower()
        j = self.skip_spaces(j)
        if j >= len(source) or source[j] != ">":
            raise self.fail(f"Unclosed end tag at byte offset {self.byte_offset(i)}")
        if not self.stack:
            raise self.fail(f"Unexpected end tag at byte offset {self.byte_offset(i)}")
        top = self.stack.pop()
        if name and name != top.name:
            raise self.fail(
                f"Unmatched end tag at byte offset {self.byte_offset(i)}, "
                f'expected "</{top.name}>", found "</{name}>"'
            )
        self.close(top)
        return j + 1

    def start_tag(self, i: int) -> int:
        source, j = self.source, i + 1
        while j < len(source) and not source[j].isspace() and source[j] != ">":
            j += 1
        if j >= len(source):
            raise self.fail(f"Unclosed start tag at byte offset {self.byte_offset(i)}")
        name = source[i + 1 : j].lower()
        if name not in _TAG_ENTITY:
            raise self.fail(f'Unsupported start tag "{name}" at byte offset {self.byte_offset(i)}')
        attrs, j = self.attributes(j, name, i)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self.fail(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(i)}'
            )
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise self.fail("Invalid custom emoji identifier specified")
        self.stack.append(_OpenTag(name, attrs, self.pos16))
        return j

    def attributes(self, j: int, tag: str, tag_start: int) -> tuple[dict[str, str], int]:
        source, attrs = self.source, dict[str, str]()
        unclosed = f"Unclosed start tag at byte offset {self.byte_offset(tag_start)}"
        while True:
            j = self.skip_spaces(j)
            if j >= len(source):
                raise self.fail(unclosed)
            if source[j] == ">":
                return attrs, j + 1
            k = j
            while k < len(source) and not source[k].isspace() and source[k] not in "=>/\"'":
                k += 1
            name = source[j:k].lower()
            if not name:
                raise self.fail(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{self.byte_offset(tag_start)}"
                )
            j = self.skip_spaces(k)
            if j >= len(source):
                raise self.fail(unclosed)
            if source[j] != "=":
                attrs[name] = ""
                continue
            j = self.skip_spaces(j + 1)
            if j >= len(source):
                raise self.fail(unclosed)
            quote = source[j]
            if quote in "\"'":
                end = source.find(quote, j + 1)
                if end < 0:
                    raise self.fail(unclosed)
                attrs[name] = _unescape_lenient(source[j + 1 : end])
                j = end + 1
                continue
            k = j
            while k < len(source) and (
                (source[k].isascii() and source[k].isalnum()) or source[k] in ".-"
            ):
                k += 1
            if k >= len(source):
                raise self.fail(unclosed)
            if not source[k].isspace() and source[k] != ">":
                raise self.fail(
                    f"Unexpected end of name token at byte offset {self.byte_offset(k)}"
                )
            attrs[name] = source[j:k].lower()
            j = k

    def close(self, tag: _OpenTag) -> None:
        parent = self.stack[-1] if self.stack else None
        if tag.name == "code" and parent and parent.name == "pre" and parent.start == tag.start:
            language = tag.attrs.get("class", "")
            if language.startswith("language-"):
                parent.language = language.removeprefix("language-")
            return
        length = self.pos16 - tag.start
        if length == 0:
            return
        entity: JSONDict = {"type": _TAG_ENTITY[tag.name], "offset": tag.start, "length": length}
        if tag.name == "a":
            href = tag.attrs.get("href", "")
            if not _BUTTON_URL.fullmatch(href) and not href.startswith("mailto:"):
                return
            entity["url"] = href
        elif tag.name == "pre" and tag.language:
            entity["language"] = tag.language
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attrs["emoji-id"]
        self.entities.append(entity)


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram HTML into plain text and entities; raise `ApiError` where Telegram would."""
    return _HtmlParser(source).run()


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip surrounding whitespace as Telegram does, moving the entities along."""
    left = text.lstrip()
    lead = utf16_len(text) - utf16_len(left)
    stripped = left.rstrip()
    total = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _format(
    source: str, parse_mode: str | None, entities: Any
) -> tuple[str, list[JSONDict], str | None]:
    """Plain text, entities and normalised parse mode of a text or caption parameter."""
    if parse_mode:
        if parse_mode.lower() != "html":
            raise _bad("unsupported parse_mode")
        text, parsed = parse_html(source)
        return (*_trim(text, parsed), "HTML")
    if entities is not None and not isinstance(entities, list):
        raise _bad("can't parse entities JSON object")
    return (*_trim(source, list(entities or [])), None)
