"""Protected exports: the ledger names children, so the file that leaves the bot is encrypted.

The workbook is encrypted with a one-time password (ECMA-376 agile encryption, as Excel and WPS
open it, via msoffcrypto-tool), and every sheet's printed header and footer name who exported
it and when, so that a printed or forwarded copy still says where it came from.
"""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from xml.sax.saxutils import escape

# Unambiguous on a phone's keyboard and when read aloud: no 0/O, 1/I/l.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_SHEET = re.compile(r"^xl/worksheets/sheet\d+\.xml$")
_HEADER_FOOTER = re.compile(rb"<headerFooter[^>]*/>|<headerFooter.*?</headerFooter>", re.S)
_AFTER = (rb"<pageSetup[^>]*/>", rb"<pageMargins[^>]*/>")


def one_time_password(length: int = 10) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _field(text: str) -> str:
    # '&' starts a code in Excel's header language; a literal one is written '&&'
    return escape(text.replace("&", "&&"))


def mark_sheets(xlsx: bytes, header: str, footer: str) -> bytes:
    """Set every sheet's printed header (centre) and footer (left; page number right)."""
    element = (
        "<headerFooter><oddHeader>&amp;C" + _field(header) + "</oddHeader>"
        "<oddFooter>&amp;L" + _field(footer) + "&amp;R&amp;P / &amp;N</oddFooter></headerFooter>"
    ).encode("utf-8")
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if _SHEET.match(info.filename):
                data = _with_header_footer(data, element)
            target.writestr(info, data)
    return out.getvalue()


def _with_header_footer(sheet: bytes, element: bytes) -> bytes:
    if _HEADER_FOOTER.search(sheet):
        return _HEADER_FOOTER.sub(lambda _: element, sheet, count=1)
    for anchor in _AFTER:  # CT_Worksheet's order: pageMargins, pageSetup, headerFooter, ...
        match = re.search(anchor, sheet)
        if match:
            return sheet[: match.end()] + element + sheet[match.end() :]
    return sheet.replace(b"</worksheet>", element + b"</worksheet>")


def encrypt(xlsx: bytes, password: str) -> bytes:
    """The workbook encrypted so that only the password opens it."""
    from msoffcrypto.format.ooxml import OOXMLFile  # heavy: only when a ledger is exported

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(xlsx)).encrypt(password, out)
    return out.getvalue()


def decrypt(data: bytes, password: str) -> bytes:
    """The workbook again (for tests and for an operator checking a copy)."""
    from msoffcrypto import OfficeFile

    out = io.BytesIO()
    office = OfficeFile(io.BytesIO(data))
    office.load_key(password=password)
    office.decrypt(out)
    return out.getvalue()


def protect(xlsx: bytes, password: str, *, header: str, footer: str) -> bytes:
    return encrypt(mark_sheets(xlsx, header, footer), password)
