"""A Simplified-Chinese font for the documents and the charts, from the installed collection only.

The only CJK font the project may rely on is the one pyproject declares: the
``noto-cjk-sans-otc`` package's ``NotoSansCJK-Regular.ttc``, a collection of CFF-outline faces
(JP, KR, SC, TC, HK and their Mono variants). Nothing else is assumed to be installed.

- **matplotlib** (3.11 and later) reads a face of a collection directly, so the charts use the
  "Noto Sans CJK SC" face of the collection as it is: nothing is built, every character of the
  font is there.
- **reportlab** embeds TrueType outlines (``glyf``) only, so the SC face is converted: its CFF
  cubic outlines are turned into quadratic ones with fontTools' cu2qu pen, as fontTools'
  ``otf2ttf`` recipe does. Converting is pure Python (about 1 ms a glyph), so:

  * a document passes its own text and gets a small font with exactly its characters (a few
    hundred glyphs, about 0.1 s, held in memory; reportlab keeps each one registered for the
    life of the process, some 100 KB); this also covers the characters outside GB2312 that
    children's names often use (玥, 婧, 祎, 璟...);
  * :func:`cjk_font_path` builds once, and caches on disk, a general font with
    :data:`BASE_DESCRIPTION` (7,700 glyphs, 2 MB): about 5 s the first time on one core,
    then only a look at the file.

The cache lives in ``$KCBX_CACHE_DIR``, else ``$XDG_CACHE_HOME/kcbx``, else ``~/.cache/kcbx``.
Files are written to a temporary name and renamed into place, so processes that build at the
same time each produce a complete file and the last rename wins.

The fonts keep the Noto copyright and SIL Open Font License records of the original.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import noto_cjk_sans_otc
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

log = logging.getLogger(__name__)

FAMILY = "Noto Sans CJK SC"
"""The family name, in the collection and in the fonts built here."""

SOURCE_PS_NAME = "NotoSansCJKsc-Regular"
REPORTLAB_NAME = "NotoSansCJKsc"
"""The reportlab name of the cached base font; per-text fonts get a suffix."""

BASE_DESCRIPTION = "GB2312, ASCII, Latin-1, general and CJK punctuation, full-width forms"

# Bump when the way fonts are built changes, so stale cache files are not used.
_BUILD_VERSION = 1
# cu2qu's maximum distance from the cubic curve, in font units (1000 per em).
_MAX_ERROR = 1.0
# The build reads the shared, lazily loaded source face; fontTools is not thread-safe.
_lock = threading.RLock()
_reportlab_names: set[str] = set()
_matplotlib_ready = False


def collection_path() -> Path:
    """The installed Noto Sans CJK collection (``.ttc``)."""
    return Path(str(noto_cjk_sans_otc.FONT_PATH))


def cache_dir() -> Path:
    """The cache directory: ``$KCBX_CACHE_DIR``, ``$XDG_CACHE_HOME/kcbx`` or ``~/.cache/kcbx``."""
    explicit = os.environ.get("KCBX_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "kcbx"


@cache
def base_codepoints() -> frozenset[int]:
    """The characters of the cached base font: GB2312 and the Latin and punctuation around it."""
    points: set[int] = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    points |= set(range(0x2000, 0x2070))  # general punctuation: — ‘’ “” … ‰ ※
    points |= set(range(0x3000, 0x3040))  # CJK symbols and punctuation: 、。〈〉《》「」〔〕
    points |= set(range(0xFF01, 0xFF5F)) | set(range(0xFFE0, 0xFFE7))  # full-width forms
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(points)


def cjk_font_path() -> Path:
    """The cached TrueType base font (:data:`BASE_DESCRIPTION`), built on first use.

    Returns:
        The path of a ``.ttf`` file with ``glyf`` outlines, family :data:`FAMILY`.
    """
    return _cached_font(f"NotoSansCJKsc-base-{_source_fingerprint()}.ttf", base_codepoints())


def subset_font(text: str) -> bytes:
    """A TrueType font with the characters of ``text`` (and printable ASCII), in memory.

    Args:
        text: everything the font will be asked to draw.

    Returns:
        The ``.ttf`` file's bytes.
    """
    codepoints = {ord(c) for c in text} | set(range(0x20, 0x7F))
    # reportlab takes fonts with one PostScript name for one font: each subset needs its own.
    return _build_truetype(codepoints, ps_name=f"{REPORTLAB_NAME}-{_text_digest(text)}")


def missing_characters(text: str) -> str:
    """The printable characters of ``text`` the SC face has no glyph for, in order, once each."""
    with _lock:
        cmap = _source_face().getBestCmap()
    seen: dict[str, None] = {}
    for char in text:
        if char.isprintable() and ord(char) not in cmap:
            seen.setdefault(char, None)
    return "".join(seen)


def register_reportlab_font(text: str | None = None) -> str:
    """Register a Chinese TrueType font with reportlab and return its name.

    Args:
        text: all the text the document will draw. Given, a small font with exactly these
            characters is built in memory (fast, and covers characters outside GB2312);
            fonts are registered once per distinct set of characters. ``None`` registers the
            cached base font (slow the very first time, see :func:`cjk_font_path`).

    Returns:
        The font name to use in reportlab styles and ``<font name=...>`` markup.
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont as ReportlabTTFont

    if text is None:
        name: str = REPORTLAB_NAME
        source: Any = str(cjk_font_path())
    else:
        name = f"{REPORTLAB_NAME}-{_text_digest(text)}"
        source = None
    with _lock:
        if name in _reportlab_names:
            return name
    if source is None:
        assert text is not None
        source = io.BytesIO(subset_font(text))
    font = ReportlabTTFont(name, source)
    with _lock:
        if name not in _reportlab_names:
            pdfmetrics.registerFont(font)
            _reportlab_names.add(name)
    return name


def matplotlib_font_properties(size: float | None = None) -> FontProperties:
    """Font properties that draw Chinese (and Latin) text in matplotlib.

    The collection's SC face is added to matplotlib's font manager once per process (the
    registry of known fonts; no ``rcParams`` are changed). A matplotlib without collection
    support (before 3.11) gets the cached base font instead.

    Args:
        size: the font size in points; ``None`` for matplotlib's default.

    Returns:
        ``FontProperties`` for family :data:`FAMILY`.
    """
    from matplotlib.font_manager import FontProperties

    _ensure_matplotlib_font()
    return FontProperties(family=FAMILY, size=size)


def _ensure_matplotlib_font() -> None:
    global _matplotlib_ready
    from matplotlib import font_manager

    with _lock:
        if _matplotlib_ready:
            return
        font_manager.fontManager.addfont(_matplotlib_font_file())
        found = font_manager.fontManager.findfont(
            font_manager.FontProperties(family=FAMILY), fallback_to_default=False
        )
        log.debug("matplotlib draws %s from %s", FAMILY, found)
        _matplotlib_ready = True


def _matplotlib_font_file() -> str:
    """The file matplotlib should load: the collection itself when it can read collections."""
    from matplotlib import font_manager

    if hasattr(font_manager, "FontPath"):  # matplotlib >= 3.11 reads every face of a .ttc
        return str(collection_path())
    return str(cjk_font_path())


def _text_digest(text: str) -> str:
    """Names the font built for ``text``: the same characters give the same name."""
    characters = "".join(sorted(set(text)))
    return hashlib.sha256(characters.encode("utf-8")).hexdigest()[:12]


def _source_fingerprint() -> str:
    """Identifies the source collection and the build recipe, to name cache files."""
    try:
        version = metadata.version("noto-cjk-sans-otc")
    except metadata.PackageNotFoundError:
        version = "unknown"
    size = collection_path().stat().st_size
    key = f"{_BUILD_VERSION}:{version}:{size}"
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:12]


def _cached_font(filename: str, codepoints: Iterable[int]) -> Path:
    """Return ``cache_dir()/filename``, building it from ``codepoints`` if it is not there."""
    target = cache_dir() / filename
    if target.is_file() and target.stat().st_size > 0:
        return target
    with _lock:  # threads of one process build once; other processes may race (see module doc)
        if target.is_file() and target.stat().st_size > 0:
            return target
        started = time.perf_counter()
        data = _build_truetype(codepoints)
        _write_atomically(target, data)
        log.info(
            "built %s (%d KB) in %.1f s",
            target,
            len(data) // 1024,
            time.perf_counter() - started,
        )
    return target


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a font is not a secret
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@cache
def _source_face_index() -> int:
    collection = TTCollection(str(collection_path()), lazy=True)
    try:
        for index, face in enumerate(collection.fonts):
            if face["name"].getDebugName(6) == SOURCE_PS_NAME:
                return index
    finally:
        collection.close()
    raise LookupError(f"{SOURCE_PS_NAME} is not in {collection_path()}")


@cache
def _source_face() -> TTFont:
    """The SC face, loaded lazily and kept open; use only while holding ``_lock``."""
    face = TTFont(str(collection_path()), fontNumber=_source_face_index(), lazy=True)
    atexit.register(face.close)
    return face


def _build_truetype(codepoints: Iterable[int], *, ps_name: str = SOURCE_PS_NAME) -> bytes:
    """Convert the SC face's glyphs for ``codepoints`` to a TrueType font file.

    Args:
        codepoints: the characters to keep; those the face lacks are left out.
        ps_name: the PostScript name. reportlab registers one font per PostScript name and
            hands out the first font for any later one with the same name, so fonts with
            different characters must have different names.
    """
    with _lock:
        source = _source_face()
        cmap = source.getBestCmap()
        mapping = {point: cmap[point] for point in sorted(set(codepoints)) if point in cmap}
        # Glyphs in code point order keep the cmap's format 4 segments few.
        order = list(dict.fromkeys([".notdef", *mapping.values()]))
        glyph_set = source.getGlyphSet()
        glyphs = {}
        for glyph_name in order:
            pen = TTGlyphPen(None)
            glyph_set[glyph_name].draw(Cu2QuPen(pen, _MAX_ERROR, reverse_direction=True))
            glyphs[glyph_name] = pen.glyph()
        advances = {name: source["hmtx"][name][0] for name in order}
        head, hhea, os2, post = source["head"], source["hhea"], source["OS/2"], source["post"]
        # Copyright, version, trademark, makers, URLs and the licence stay as in the original.
        kept: dict[int | str, str] = {}
        for name_id in (0, 5, 7, 8, 9, 11, 12, 13, 14):
            record = source["name"].getDebugName(name_id)
            if record:
                kept[name_id] = record

    builder = FontBuilder(head.unitsPerEm, isTTF=True)
    builder.font.recalcTimestamp = False
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap(mapping, allowFallback=True)
    builder.setupGlyf(glyphs)
    glyf = builder.font["glyf"]
    builder.setupHorizontalMetrics(
        {name: (advances[name], getattr(glyf[name], "xMin", 0)) for name in order}
    )
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent, lineGap=hhea.lineGap)
    builder.setupNameTable(
        {
            **kept,
            "familyName": FAMILY,
            "styleName": "Regular",
            "uniqueFontIdentifier": f"{ps_name};kcbx-truetype-{_BUILD_VERSION}",
            "fullName": FAMILY,
            "psName": ps_name,
            "description": "Noto Sans CJK SC, a subset with TrueType outlines made by kcbx",
        }
    )
    builder.setupOS2(
        version=os2.version,
        usWeightClass=os2.usWeightClass,
        usWidthClass=os2.usWidthClass,
        fsType=os2.fsType,
        fsSelection=os2.fsSelection,
        achVendID=os2.achVendID,
        panose=os2.panose,
        ulCodePageRange1=os2.ulCodePageRange1,
        ulCodePageRange2=os2.ulCodePageRange2,
        sTypoAscender=os2.sTypoAscender,
        sTypoDescender=os2.sTypoDescender,
        sTypoLineGap=os2.sTypoLineGap,
        usWinAscent=os2.usWinAscent,
        usWinDescent=os2.usWinDescent,
        sxHeight=os2.sxHeight,
        sCapHeight=os2.sCapHeight,
    )
    builder.setupPost(
        keepGlyphNames=False,
        underlinePosition=post.underlinePosition,
        underlineThickness=post.underlineThickness,
    )
    builder.updateHead(fontRevision=head.fontRevision, created=head.created, modified=head.modified)
    stream = io.BytesIO()
    builder.save(stream)
    return stream.getvalue()
