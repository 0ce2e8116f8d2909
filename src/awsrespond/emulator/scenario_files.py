"""Scenarios read from YAML: the ones shipped in ``scenarios/``, or a file given by path."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from awsrespond.emulator.scenario import Scenario
from awsrespond.errors import InputError, UsageError


def _scenario_dir() -> Any:
    return resources.files("awsrespond.emulator").joinpath("scenarios")


def list_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    return sorted(
        entry.name.removesuffix(".yaml") for entry in _scenario_dir().iterdir() if entry.name.endswith(".yaml")
    )


def _parse(text: str, origin: str) -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", path=origin) from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"not a valid scenario: {exc}", path=origin) from exc


def load_scenario(name: str) -> Scenario:
    """A shipped scenario by name, or a scenario file by path (``*.yaml``/``*.yml``)."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read scenario: {exc.strerror}", path=str(path)) from exc
        return _parse(text, str(path))
    entry = _scenario_dir().joinpath(f"{name}.yaml")
    if not entry.is_file():
        raise UsageError(f"no scenario named {name!r}; available: {', '.join(list_scenarios())}")
    return _parse(entry.read_text(encoding="utf-8"), f"scenarios/{name}.yaml")
