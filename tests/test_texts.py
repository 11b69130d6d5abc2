"""The text style as tests (docs/texts.md): every zh_CN text in Chinese typography and the
measures' words.

A text's placeholders ({name}) and tags (<b>) are left out: names and places come in through
them, as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kcbx.bot.domain.glossary import RULE_ID, TERMS

LOCALES = Path(__file__).resolve().parent.parent / "kcbx" / "locales"
CJK = "\u3400-\u9fff\u3000-\u303f\uff00-\uffef"
LATIN = re.compile(r"""[A-Za-z0-9{}<>()\[\]"'#@&+*=~.,;:!?%-]""")


def _texts(lang: str) -> list[tuple[str, str]]:
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    out = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        out += [(msgid, s) for s in strings]
    return out


def _plain(text: str) -> str:
    return re.sub(r"\{[^{}]*\}", "{}", text)


def _cjk(char: str) -> bool:
    return re.match(rf"[{CJK}]", char) is not None


def _space_problem(text: str) -> bool:
    """A space between Chinese and Chinese, Latin, a digit, a placeholder or a tag; one beside a
    /command stays (Telegram needs it to see the command), and so does one beside an emoji."""
    plain = _plain(text)
    for i, char in enumerate(plain):
        if char != " " or i == 0 or i == len(plain) - 1:
            continue
        left, right = plain[i - 1], plain[i + 1]
        if _cjk(left) == _cjk(right):
            continue  # Latin beside Latin; Chinese beside Chinese (arguments: /invite 角色 单位)
        other = right if _cjk(left) else left
        if not LATIN.match(other):
            continue  # an emoji, an arrow
        if plain[i + 1 :].startswith("/") or re.search(r"/[a-z_]+$", plain[:i]):
            continue
        return True
    return False


ZH = _texts("zh_CN")


@pytest.mark.parametrize(
    ("why", "bad"),
    [
        ("an ASCII space beside Chinese", lambda s: _space_problem(s)),
        ("a rule ID instead of the article", lambda s: RULE_ID.search(_plain(s)) is not None),
        ("a half-width colon after Chinese", lambda s: re.search(rf"[{CJK}]:", s) is not None),
        (
            "a glossary term in a drifting form",
            lambda s: any(form in s for forms in TERMS.values() for form in forms),
        ),
    ],
)
def test_chinese_texts(why: str, bad: object) -> None:
    found = [s for _, s in ZH if bad(s)]  # type: ignore[operator]
    assert found == [], f"{len(found)} zh_CN texts with {why}, e.g. {found[:5]}"
