"""gettext catalogues: zh_CN first, English second.

msgids are English. Handlers get a per-person translator from the context
(``context.gettext``); pure modules mark texts with ``N_`` and translate at render time.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from importlib import resources

DOMAIN = "messages"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

Translate = Callable[[str], str]


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


def normalize_language(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map a Telegram language_code ('zh-hans', 'en-US', ...) to one of ours."""
    if not code:
        return default
    code = code.replace("-", "_").lower()
    if code.startswith("zh"):
        return "zh_CN"
    if code.startswith("en"):
        return "en"
    return default


@lru_cache(maxsize=8)
def catalogue(lang: str) -> gettext.NullTranslations:
    lang = normalize_language(lang)
    localedir = str(resources.files("kcbx") / "locales")
    return gettext.translation(DOMAIN, localedir=localedir, languages=[lang], fallback=True)


def translator(lang: str | None) -> Translate:
    """The gettext function for a language."""
    return catalogue(normalize_language(lang)).gettext


def ntranslator(lang: str | None) -> Callable[[str, str, int], str]:
    return catalogue(normalize_language(lang)).ngettext
