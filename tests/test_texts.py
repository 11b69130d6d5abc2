"""The text style of docs/texts.md, checked on every text of both catalogues.

Chinese: no ASCII space beside a Chinese character, no half-width colon after one, no rule ID
(A7.3: users read the action and the article, 第七条), the glossary's terms and not the forms
that drift from them. English: no Chinese outside the placeholders (names and places come in
through them). What a placeholder brings in is not the text's own and is not checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kcbx.bot.domain.glossary import RULE_ID, TERMS

pytestmark = pytest.mark.single_backend

LOCALES = Path(__file__).resolve().parent.parent / "kcbx" / "locales"
HAN = "\u3400-\u4dbf\u4e00-\u9fff"
CJK = HAN + "\u3000-\u303f\uff00-\uffef\u2018-\u201f\u2026\u2014"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# a /command and its arguments up to the end of the clause keep their spaces (Telegram)
COMMAND = re.compile(r" ?(?<![<\w/:.])/[a-z_]+[^，。；？！）\n]*")
# beside a Chinese character, a space is wrong before or after any of these
NEIGHBOUR = rf"[{CJK}A-Za-z0-9\x00<>()\[\]\"'#@&+*=~.,;:!?%-]"
SPACE = re.compile(rf"[{CJK}] (?={NEIGHBOUR})|(?<={NEIGHBOUR}) [{CJK}]")
COLON = re.compile(rf"[{CJK}]:(?!//)")
# the one English text that must name a language in its own script
OWN_SCRIPT = {"Switch language (中文 / English)"}


def _texts(lang: str) -> list[tuple[str, str]]:
    with open(LOCALES / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle, locale=lang)
    pairs = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs.extend((msgid, text) for text in strings if text)
    return pairs


def _own(text: str) -> str:
    """The text without what placeholders bring in (\x00 stands where one was)."""
    return PLACEHOLDER.sub("\x00", text)


def problems(text: str) -> list[str]:
    """What breaks the style in one Chinese text."""
    own = _own(text)
    found = []
    spaced = COMMAND.sub("\x01", own)
    if match := SPACE.search(spaced):
        found.append(
            f"space beside Chinese: {spaced[max(0, match.start() - 6) : match.end() + 6]!r}"
        )
    if match := COLON.search(own):
        found.append(f"half-width colon: {own[max(0, match.start() - 6) : match.end() + 2]!r}")
    if match := RULE_ID.search(own):
        found.append(f"rule ID {match.group()} (write the action, or 第{match.group(1)}条)")
    for term, forms in TERMS.items():
        found.extend(f"{form} (the measures say {term})" for form in forms if form in own)
    return found


def test_the_checks_catch_what_the_issue_quoted() -> None:
    assert problems("自 {date} 起未到校")
    assert problems("<b>{name}</b> 今天是否已返校")
    assert problems("KC-2024-0003: 已签发")
    assert problems("（第 {first}-{last} 件，共 {total} 件）")
    assert problems("下一步：A7.1") and problems("依据：A9") and problems("通知书（A7.4）")
    assert problems("班主任报告四名无故缺课的学生") and problems("重点关注学生")
    assert not problems("请于{date}前家访{name}（{klass}）")
    assert not problems("请发送 /cancel 取消。") and not problems("用法：/invite 角色 单位 [姓名]")
    assert not problems("⏰ 待办提醒") and not problems("下一页 ›")
    assert not problems("{name}：{value}")  # Chinese inside a placeholder's value is not the text's


def test_every_chinese_text_follows_the_style() -> None:
    bad = [f"{text!r}: {'; '.join(p)}" for _, text in _texts("zh_CN") if (p := problems(text))]
    assert not bad, f"{len(bad)} zh_CN texts (python tools/zh_style.py fixes most):\n" + "\n".join(
        bad
    )


def test_english_has_no_chinese_outside_placeholders() -> None:
    han = re.compile(f"[{HAN}]")
    bad = [
        text for msgid, text in _texts("en") if msgid not in OWN_SCRIPT and han.search(_own(text))
    ]
    assert not bad, f"{len(bad)} English texts with Chinese of their own:\n" + "\n".join(bad)
