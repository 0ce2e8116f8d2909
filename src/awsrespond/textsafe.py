"""Neutralising attacker-controlled strings before they reach a terminal.

Every name, tag, description or user agent that came from AWS or a log may have been written
by the attacker: it can carry Rich markup, ANSI escape sequences or control characters. The CLI
gives such values to Rich only as ``Text`` (never as markup), after ``strip_control``.
"""

from __future__ import annotations

import re

# CSI / OSC / other ESC sequences, then any remaining C0/C1 control character except TAB and LF.
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """Remove ANSI escape sequences and control characters (keeps TAB and newline)."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def one_line(value: object, limit: int = 120) -> str:
    text = " ".join(strip_control(str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
