"""Keep the gettext catalogues in step with the code.

    python tools/i18n.py sync              extract, update zh_CN and en, compile
    python tools/i18n.py translate F.json  sync, then fill zh_CN from {"msgid": "中文"} (restyled
                                           by tools/zh_style.py), compile
    python tools/i18n.py check             list msgids with no zh_CN text (exit 1 if any)

Everything runs under a file lock, so several developers may run it at once.
English msgids are their own English text: the en catalogue is filled with the msgid.
"""

from __future__ import annotations

import fcntl
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zh_style import restyle

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "kcbx" / "locales"
POT = LOCALES / "messages.pot"
LANGS = ("zh_CN", "en")
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "t": None}


@contextmanager
def locked() -> Iterator[None]:
    LOCALES.mkdir(parents=True, exist_ok=True)
    with open(LOCALES / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


def extract() -> Catalog:
    template = Catalog(project="kcbx", charset="utf-8")
    method_map = [("kcbx/**.py", "python")]
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS, comment_tags=("i18n:",)
    ):
        if filename.startswith("kcbx/testing"):
            continue
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, project="kcbx", charset="utf-8")
    with open(path, "rb") as handle:
        return read_po(handle, locale=lang)


def save(lang: str, catalog: Catalog) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, omit_header=False)
    with open(path.with_suffix(".mo"), "wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)


def _key(msgid: str | tuple[str, ...] | list[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def sync(zh: dict[str, str] | None = None) -> list[str]:
    """Extract, update both catalogues, apply translations; return msgids lacking zh_CN."""
    template = extract()
    with open(POT, "wb") as handle:
        write_po(handle, template, width=100, sort_output=True, omit_header=True)
    missing: list[str] = []
    for lang in LANGS:
        catalog = load(lang)
        # remember every translation, obsolete ones too, so that a string that disappears
        # while someone edits a file gets its text back when it reappears
        known = {_key(m.id): m.string for m in catalog if m.id and m.string}
        known.update({_key(k): m.string for k, m in catalog.obsolete.items() if m.string})
        catalog.update(template, no_fuzzy_matching=True)
        for message in catalog:
            if not message.id:
                continue
            message.flags.discard("fuzzy")
            key = _key(message.id)
            if not message.string and key in known:
                message.string = known[key]
            if lang == "en":
                if isinstance(message.id, tuple):
                    message.string = tuple(message.id)
                else:
                    message.string = message.id
            else:
                if zh and key in zh:
                    value = restyle(zh[key])  # the text style of docs/texts.md
                    if isinstance(message.id, tuple):
                        message.string = (value, value)
                    else:
                        message.string = value
                text = message.string
                if not text or (isinstance(text, tuple) and not all(text)):
                    missing.append(key)
        save(lang, catalog)
    return missing


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"sync", "translate", "check"}:
        print(__doc__)
        return 2
    with locked():
        if argv[0] == "check":
            template = extract()
            catalog = load("zh_CN")
            known = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog}
            missing = []
            for message in template:
                if not message.id:
                    continue
                key = message.id if isinstance(message.id, str) else message.id[0]
                if not known.get(key):
                    missing.append(key)
        else:
            zh = None
            if argv[0] == "translate":
                zh = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
            missing = sync(zh)
    for key in missing:
        print(f"missing zh_CN: {key!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
