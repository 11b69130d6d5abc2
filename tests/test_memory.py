"""A running bot does not carry the document libraries until it renders a document: they are
imported where they are used (RSS at start stays small, see tools/bench.py)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("reportlab", "docx", "matplotlib", "openpyxl", "msoffcrypto", "fontTools", "pypinyin")


def test_starting_the_bot_imports_no_document_library() -> None:
    probe = (
        "import sys, kcbx.bot.cli.main, kcbx.handlers.app\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
