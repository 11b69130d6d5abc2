"""Rewrite the zh_CN catalogue in the text style of docs/texts.md (run after translating).

    python tools/zh_style.py          # rewrite kcbx/locales/zh_CN/.../messages.po and compile
    python tools/zh_style.py --check  # list what would change; exit 1 if anything would

- no ASCII space beside a Chinese character (a space beside a /command stays: Telegram needs it
  to see the command);
- a half-width colon after Chinese becomes ：;
- rule IDs become articles: （A7.3） -> （第七条）;
- the glossary's drifting forms become its terms (kcbx/bot/domain/glossary.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from babel.messages.mofile import write_mo  # noqa: E402
from babel.messages.pofile import read_po, write_po  # noqa: E402

from kcbx.bot.domain.glossary import RULE_ID, TERMS, article  # noqa: E402

PO = ROOT / "kcbx/locales/zh_CN/LC_MESSAGES/messages.po"
CJK = "\u3400-\u9fff\u3000-\u303f\uff00-\uffef\u2018-\u201f\u2026\u2014"
# A space is wrong between Chinese and Latin letters, digits, a placeholder, a tag or ASCII
# punctuation; beside an emoji or an arrow it stays.
_LATIN_AFTER = r"""[A-Za-z0-9{<(\["'#@&+*=~.-]"""
_LATIN_BEFORE = r"""[A-Za-z0-9}>)\]"'.,;:!?%+*=~-]"""
_SPACE_AFTER = re.compile(rf"([{CJK}]) (?!/[a-z])(?={_LATIN_AFTER})")
_COLON = re.compile(rf"([{CJK}]):(?!//)")


# A /command and what follows it up to the end of the clause (its arguments: /invite 角色 单位
# [姓名]) keep their spaces: Telegram needs them to see the command.
_COMMAND = re.compile(r"(?<![<\w/:.])/[a-z_]+[^，。；？！）\n]*")
_SPACE_BEFORE = re.compile(rf"(?<={_LATIN_BEFORE}) (?=[{CJK}])")
_SPACE_BETWEEN = re.compile(rf"(?<=[{CJK}]) (?=[{CJK}])")


def _spacing(text: str) -> str:
    """The spaces of a stretch without a /command in it."""
    text = _COLON.sub(r"\1：", text)
    text = _SPACE_BETWEEN.sub("", text)
    text = _SPACE_AFTER.sub(r"\1", text)
    return _SPACE_BEFORE.sub("", text)


def restyle(text: str) -> str:
    lead = re.match(rf"{RULE_ID.pattern} ", text)
    if lead:  # a line that starts with its rule: 【第七条】班主任：...
        text = f"【{article(int(lead.group(1)))}】" + text[lead.end() :]
    out = RULE_ID.sub(lambda m: article(int(m.group(1))), text)
    out = re.sub(r"（(第[一二三四五六七八九十]+条)）（\1）", r"（\1）", out)
    for term, forms in TERMS.items():
        for form in forms:
            out = out.replace(form, term)
    pieces = []
    last = 0
    for match in _COMMAND.finditer(out):
        pieces.append(_spacing(out[last : match.start()]))
        pieces.append(match.group())
        last = match.end()
    pieces.append(_spacing(out[last:]))
    return "".join(pieces)


def main() -> int:
    check = "--check" in sys.argv
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    changed = 0
    for message in catalog:
        if not message.id or not message.string:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        new = tuple(restyle(s) for s in strings)
        if new != strings:
            changed += 1
            if check:
                print(f"{strings[0]!r}\n  -> {new[0]!r}")
            message.string = new if isinstance(message.string, tuple) else new[0]
    if check:
        print(f"{changed} texts would change")
        return 1 if changed else 0
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True)
    with PO.with_suffix(".mo").open("wb") as handle:
        write_mo(handle, catalog)
    print(f"{changed} texts restyled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
