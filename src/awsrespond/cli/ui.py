"""Terminal output. stdout carries the result (only JSON with --format json); stderr everything else.

Every value that came from AWS or a log is attacker-controlled: it reaches Rich only as a ``Text``
object built with control characters stripped, never as markup.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from awsrespond.aws.identity import CallerIdentity
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


class Ui:
    def __init__(self, fmt: OutputFormat = OutputFormat.TEXT, *, quiet: bool = False) -> None:
        self.fmt = fmt
        self.quiet = quiet
        self.err = Console(stderr=True, highlight=False, soft_wrap=False)
        self.out = Console(highlight=False, soft_wrap=True)

    def info(self, *parts: Text | str) -> None:
        if not self.quiet:
            self.err.print(*parts)

    def warn(self, message: Text | str) -> None:
        self.err.print(Text("warning:", style="yellow"), message if isinstance(message, Text) else safe(message))

    def error(self, message: str) -> None:
        self.err.print(Text("error:", style="bold red"), safe(message))

    def target(self, identity: CallerIdentity, endpoint: str | None = None) -> None:
        line = Text("Target account ", style="bold")
        line.append(safe(identity.account_id))
        line.append(" (alias ")
        line.append(safe(identity.alias or "none"))
        line.append(")  caller ")
        line.append(safe(identity.arn))
        if endpoint:
            line.append("  endpoint ")
            line.append(safe(endpoint))
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
