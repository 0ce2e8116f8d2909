"""Neutralising attacker-controlled strings before they reach a terminal, Markdown or a spreadsheet.

Every name, tag, description or user agent that came from AWS or a log may have been written
by the attacker: it can carry Rich markup, ANSI escape sequences or control characters.
"""

from __future__ import annotations

import re

from rich.markup import escape as _rich_escape

# CSI / OSC / other ESC sequences, then any remaining C0/C1 control character except TAB and LF.
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """Remove ANSI escape sequences and control characters (keeps TAB and newline)."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def for_terminal(value: object) -> str:
    """A value safe to embed in a Rich markup string: controls stripped, markup escaped."""
    text = strip_control(str(value))
    # rich.markup.escape leaves a trailing backslash alone, which would escape our own closing tag.
    escaped = _rich_escape(text)
    if escaped.endswith("\\"):
        escaped += "\\"
    return escaped


def one_line(value: object, limit: int = 120) -> str:
    text = " ".join(strip_control(str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
