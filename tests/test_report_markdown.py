"""md_escape: whatever the attacker wrote, the Markdown renders it as plain text in one table cell."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from awsrespond.report.markdown import md_escape, md_table
from awsrespond.textsafe import strip_control
from tests.report_case import HOSTILE_PAYLOADS

PAYLOADS = [
    *HOSTILE_PAYLOADS,
    "[click](javascript:alert(1))",
    "<http://198.51.100.9/>",
    "www.example.com and http://198.51.100.9/a and a@b.example",
    "`code` **bold** _em_ ~~strike~~ | pipe \\| escaped",
    "line one\nline two\r\n# heading\n> quote\n- item\n1. item\n---",
    "&lt;script&gt; &#60;img&#62;",
    "\\",
    "trailing backslash \\",
]

# Markdown and GFM syntax characters are over-represented so hypothesis finds their combinations.
SYNTAX = st.sampled_from([*"\\`*_{}[]()#+-.!|<>&~/@$^:=\"' \n\r\t", "http://", "www.", "![", "](", "<img", "\x1b["])
TEXT = st.lists(st.one_of(SYNTAX, st.text(max_size=4)), max_size=30).map("".join)


def _md() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").enable("strikethrough")


def _expected(text: str) -> str:
    return " ".join(strip_control(text).split())


def _inline_tokens(rendered_tokens: list[Any]) -> list[Any]:
    return [child for token in rendered_tokens if token.type == "inline" for child in token.children or []]


def _plain_text(text: str) -> None:
    escaped = md_escape(text)
    assert "\n" not in escaped and "\r" not in escaped
    # not even a GFM autolink (extended www./scheme:// autolinks need an unescaped "/" or ".")
    assert "://" not in escaped and "www." not in escaped.lower()
    tokens = _md().parse("x " + escaped)  # prefixed: a value never starts a line in the reports
    kinds = {t.type for t in tokens}
    assert kinds <= {"paragraph_open", "inline", "paragraph_close"}, kinds
    children = _inline_tokens(tokens)
    assert {c.type for c in children} <= {"text", "text_special"}, [c.type for c in children]
    assert "".join(c.content for c in children) == ("x " + _expected(text)).rstrip()
    html = _md().render("x " + escaped)
    assert "<img" not in html and "<a " not in html and "<script" not in html


def test_payloads_render_as_their_own_text() -> None:
    for payload in PAYLOADS:
        _plain_text(payload)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_escaped_text_never_becomes_markup(text: str) -> None:
    _plain_text(text)


def _table_cells(markdown: str) -> list[list[str]]:
    rows: list[list[str]] = []
    for token in (tokens := _md().parse(markdown)):
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(token.content)
    assert any(t.type == "table_open" for t in tokens), markdown
    return rows


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(TEXT, min_size=3, max_size=3), min_size=1, max_size=5))
def test_tables_keep_their_columns(rows: list[list[str]]) -> None:
    markdown = md_table(["a", "b", "c"], ([md_escape(v) for v in row] for row in rows))
    parsed = _table_cells(markdown)
    assert len(parsed) == len(rows) + 1
    for cells in parsed:
        assert len(cells) == 3, (cells, markdown)
    md = _md()
    for source, cells in zip(rows, parsed[1:], strict=True):
        for value, cell in zip(source, cells, strict=True):
            rendered = "".join(c.content for c in md.parseInline(cell)[0].children or [])
            assert rendered == _expected(value)


def test_escape_can_fail() -> None:
    """The checks above do catch markup: an unescaped image is seen as one."""
    tokens = _md().parse("x ![x](http://198.51.100.9/p.png)")
    assert "image" in {c.type for c in _inline_tokens(tokens)}
