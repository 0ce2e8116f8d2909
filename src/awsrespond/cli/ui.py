"""Terminal output. stdout carries the result (only JSON with --format json); stderr everything else.

Every value that came from AWS or a log is attacker-controlled: it reaches Rich only as a ``Text``
object built with control characters stripped, never as markup.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from awsrespond.aws.identity import CallerIdentity
from awsrespond.i18n import Lang, Messages, parse_lang
from awsrespond.textsafe import strip_control


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def safe(value: Any) -> Text:
    """Attacker-controlled value as inert text."""
    return Text(strip_control("" if value is None else str(value)))


def fill(template: str, style: str = "", /, **values: Any) -> Text:
    """A catalog template as Rich ``Text``: its own words in ``style``, every value inert (``safe``).

    Values may carry a format spec in the template (``{seconds:.1f}``); they are never parsed as markup.
    """
    text = Text()
    for literal, field, spec, conversion in string.Formatter().parse(template):
        if literal:
            text.append(literal, style=style)
        if field is None:
            continue
        value = values[field]
        if conversion == "r":
            value = repr(value)
        text.append(safe(format(value, spec) if spec else value))
    return text


class Ui:
    def __init__(self, fmt: OutputFormat = OutputFormat.TEXT, *, quiet: bool = False,
                 lang: Lang | str | None = None) -> None:
        self.fmt = fmt
        self.quiet = quiet
        self.lang = parse_lang(lang)
        self.msg = Messages(self.lang, "cli")
        self.err = Console(stderr=True, highlight=False, soft_wrap=False)
        self.out = Console(highlight=False, soft_wrap=True)

    def t(self, key: str, /, **values: Any) -> str:
        """The CLI catalog's text for ``key`` in this language (plain ``str``; wrap values from AWS in safe())."""
        return self.msg.t(key, **values)

    def text(self, key: str, style: str = "", /, **values: Any) -> Text:
        """The CLI catalog's text for ``key`` as Rich ``Text``, values inert (see :func:`fill`)."""
        return fill(self.msg.t(key), style, **values)

    def info(self, *parts: Text | str) -> None:
        if not self.quiet:
            self.err.print(*parts)

    def warn(self, message: Text | str) -> None:
        self.err.print(Text(self.t("ui.warning"), style="yellow"),
                       message if isinstance(message, Text) else safe(message))

    def error(self, message: str) -> None:
        self.err.print(Text(self.t("ui.error"), style="bold red"), safe(message))

    def target(self, identity: CallerIdentity, endpoint: str | None = None) -> None:
        line = Text(self.t("ui.target.account"), style="bold")
        line.append(" ")
        line.append(self.text("ui.target.rest", account=identity.account_id,
                              alias=identity.alias or self.t("ui.target.no_alias"), arn=identity.arn))
        if endpoint:
            line.append(self.text("ui.target.endpoint", endpoint=endpoint))
        self.err.print(line)

    def json(self, document: str) -> None:
        sys.stdout.write(document)
        sys.stdout.write("\n")
        sys.stdout.flush()

    @contextmanager
    def progress(self, description: str) -> Iterator[ProgressBar]:
        """A progress bar on stderr when it is a terminal; silent otherwise."""
        if self.quiet or not self.err.is_terminal:
            yield ProgressBar(None, None)
            return
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.err, transient=True) as bar:
            yield ProgressBar(bar, bar.add_task(description, total=None))


class ProgressBar:
    def __init__(self, bar: Progress | None, task: TaskID | None) -> None:
        self._bar = bar
        self._task = task

    def set_total(self, total: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, total=total)

    def advance(self, *_: object) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task)
