"""Subcommands imported when they are run, not when ``awsrespond`` starts.

Importing every command module costs about 1.6 s (boto3 models, the containment registry, the
emulator's helpers); ``awsrespond report`` needs none of that. The root group knows each command by
name and imports its module only when that command is looked up (``--help`` of the root looks all
of them up, which is fine).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import typer
from typer.core import TyperGroup

from awsrespond.errors import AwsRespondError

if TYPE_CHECKING:
    from typer._click.core import Command, Context  # Typer 0.29 vendors click: these are its own types


@dataclass(frozen=True)
class LazyCommand:
    module: str
    attribute: str  # a command function, or a ``typer.Typer`` group
    also: tuple[str, ...] = ()  # modules that register subcommands on that group when imported


class LazyGroup(TyperGroup):
    """A Typer root group whose commands come from ``commands_by_name`` (set on a subclass by ``lazy_group``)."""

    commands_by_name: ClassVar[dict[str, LazyCommand]] = {}

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands_by_name)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        spec = self.commands_by_name.get(cmd_name)
        if spec is None:
            return None
        return load_command(cmd_name, spec)


def load_command(name: str, spec: LazyCommand) -> Command:
    module = importlib.import_module(spec.module)
    for extra in spec.also:
        importlib.import_module(extra)
    target = getattr(module, spec.attribute)
    holder = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    elif callable(target):
        holder.command(name)(target)
        holder.command("_")(_placeholder)  # two commands, so Typer builds a group and not the command alone
    else:
        raise AwsRespondError(f"command {name}: {spec.module}.{spec.attribute} is not a command")
    group = typer.main.get_command(holder)
    command: Command = group.commands[name]  # type: ignore[attr-defined]
    return command


def _placeholder() -> None:
    """Never run: it only makes the holder a group."""


def lazy_group(commands: dict[str, LazyCommand]) -> type[LazyGroup]:
    return type("AwsRespondCommands", (LazyGroup,), {"commands_by_name": dict(commands)})
