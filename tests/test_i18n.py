"""Every user-facing text has a zh_CN translation, and the compiled catalogues are current."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from babel.messages.pofile import read_po

from kcbx.bot.domain.i18n import normalize_language, translator

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "kcbx" / "locales"


def _tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "tools" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ids(catalog) -> set[str]:  # type: ignore[no-untyped-def]
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_every_text_in_the_code_has_a_chinese_translation() -> None:
    template = _tool().extract()
    with open(LOCALES / "zh_CN" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        zh = read_po(handle, locale="zh_CN")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in zh
        if m.id and m.string and "fuzzy" not in m.flags
    }
    missing = sorted(_ids(template) - translated)
    assert not missing, f"{len(missing)} texts lack zh_CN: run tools/i18n.py; first: {missing[:5]}"


def test_english_catalogue_is_complete() -> None:
    template = _tool().extract()
    with open(LOCALES / "en" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        en = read_po(handle, locale="en")
    assert _ids(template) <= {
        (m.id if isinstance(m.id, str) else m.id[0]) for m in en if m.id and m.string
    }


def test_placeholders_survive_translation() -> None:
    with open(LOCALES / "zh_CN" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        zh = read_po(handle, locale="zh_CN")
    field = re.compile(r"\{[a-z_0-9]*(?:[:!][^}]*)?\}")
    tag = re.compile(r"</?[a-z]+>")
    for message in zh:
        if not message.id or not message.string or isinstance(message.id, tuple):
            continue
        assert sorted(field.findall(message.id)) == sorted(field.findall(message.string)), (
            message.id
        )
        assert sorted(tag.findall(message.id)) == sorted(tag.findall(str(message.string))), (
            message.id
        )


def test_compiled_catalogues_match_the_sources() -> None:
    for lang in ("zh_CN", "en"):
        po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        with open(po, "rb") as handle:
            catalog = read_po(handle, locale=lang)
        t = translator(lang)
        for message in catalog:
            if message.id and isinstance(message.id, str) and message.string:
                assert t(message.id) == message.string, f"{lang} .mo is stale: run tools/i18n.py"


def test_telegram_language_codes_pick_our_languages() -> None:
    assert normalize_language("zh-hans") == "zh_CN"
    assert normalize_language("en-US") == "en"
    assert normalize_language("ru") == "zh_CN"
    assert normalize_language(None, "en") == "en"
