"""The English texts of the ``findings`` catalog, read from their sources.

``python tools/findings_catalog.py`` rewrites ``src/awsrespond/i18n/en/findings.yaml`` and lists the keys
the Korean catalog lacks or no longer needs; ``tests/test_report_localize.py`` uses :func:`english_texts`
to keep the catalog in step with the sources. Texts an analytic builds at run time become templates:
each f-string value is a ``{placeholder}`` named after the expression.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import yaml

from awsrespond.detect.catalog import triage_rules
from awsrespond.harden.registry import all_checks
from awsrespond.hunt.analytics import ANALYTICS
from awsrespond.hunt.hunt_findings import SESSION_RULES
from awsrespond.sigma import load_rules

SRC = Path(__file__).resolve().parents[1] / "src" / "awsrespond"
EN = SRC / "i18n" / "en" / "findings.yaml"
KO = SRC / "i18n" / "ko" / "findings.yaml"
_NOT_NAMES = {"sorted", "str", "len", "list", "set", "p"}


def _braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _name(expr: ast.expr, taken: set[str]) -> str:
    if isinstance(expr, ast.Name):
        base = expr.id
    elif isinstance(expr, ast.Attribute):
        base = expr.attr
    elif isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant):
        base = str(expr.slice.value)
    else:
        names = [n.id for n in ast.walk(expr) if isinstance(n, ast.Name) and n.id not in _NOT_NAMES]
        base = names[0] if names else "value"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}{number}", number + 1
    taken.add(name)
    return name


def template(expr: ast.expr, constants: dict[str, str]) -> str | None:
    """The text of a string expression with each run-time value as ``{name}``; None when it is not one."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return _braces(expr.value)
    if isinstance(expr, ast.JoinedStr):
        taken: set[str] = set()
        parts: list[str] = []
        for value in expr.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(_braces(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append("{" + _name(value.value, taken) + "}")
        return "".join(parts)
    if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format"
            and isinstance(expr.func.value, ast.Name) and expr.func.value.id in constants):
        return constants[expr.func.value.id]  # str.format template: its {names} are the placeholders
    if isinstance(expr, ast.Name) and expr.id in constants:
        return _braces(constants[expr.id])
    return None


def _constants(tree: ast.Module) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    return found


def analytic_recommendations() -> dict[str, list[str]]:
    """Analytic id -> the recommendation templates its detections carry (from the modules' source)."""
    found: dict[str, list[str]] = {}
    for path in sorted((SRC / "hunt" / "analytics").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _constants(tree)
        for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
            ids = [d.args[0].value for d in function.decorator_list
                   if isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "analytic"
                   and d.args and isinstance(d.args[0], ast.Constant)]
            if not ids:
                continue
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                for keyword in call.keywords:
                    if keyword.arg == "recommendation":
                        text = template(keyword.value, constants)
                        if text is None:
                            raise ValueError(f"{path.name}: recommendation of {ids[0]} is not a string or f-string")
                        found.setdefault(str(ids[0]), []).append(text)
    return found


def checklist_titles() -> dict[str, str]:
    """Recovery checklist item id -> title, for the items ``recover/checklist.py`` writes itself."""
    tree = ast.parse((SRC / "recover" / "checklist.py").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        local = {n.targets[0].id: n.value.value for n in ast.walk(function)
                 if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
                 and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            if not (isinstance(call.func, ast.Name) and call.func.id == "ChecklistItem"):
                continue
            args = {k.arg: k.value for k in call.keywords}
            item_id, title = args.get("id"), args.get("title")
            if not isinstance(item_id, ast.Constant):
                continue  # an item built from a harden check: its title is the check's
            if isinstance(title, ast.Constant):
                found[str(item_id.value)] = str(title.value)
            elif isinstance(title, ast.Name) and title.id in local:
                found[str(item_id.value)] = str(local[title.id])
    return found


def english_texts() -> dict[str, str]:
    """Every key of the ``findings`` catalog with its English text, as the sources have it now."""
    texts: dict[str, str] = {}

    def rule(rule_id: str, title: str, recommendations: list[str]) -> None:
        texts[f"rule.{rule_id}.title"] = _braces(title)
        for number, text in enumerate(dict.fromkeys(r for r in recommendations if r)):
            texts[f"rule.{rule_id}.recommendation" + (f".{number + 1}" if number else "")] = text

    for meta in triage_rules().values():
        rule(meta.id, meta.title, [_braces(meta.recommendation)])
    for hunt_rule in load_rules([], include_builtin=True).rules:
        rule(hunt_rule.id, hunt_rule.title, [_braces(hunt_rule.recommendation)])
    for session_rule in SESSION_RULES:
        rule(session_rule.id, session_rule.title, [_braces(session_rule.recommendation)])
    recommendations = analytic_recommendations()
    for spec in ANALYTICS.values():
        rule(spec.id, spec.title, recommendations.get(spec.id, []))
    for item_id, title in checklist_titles().items():
        texts[f"checklist.{item_id}.title"] = _braces(title)
    for check in all_checks():
        texts[f"harden.{check.id}.title"] = _braces(check.title)
    return texts


def main() -> int:
    texts = english_texts()
    lines = ["# Finding, checklist and harden texts (en), generated by tools/findings_catalog.py from the sources."]
    lines += [f"{key}: {json.dumps(text, ensure_ascii=False)}" for key, text in texts.items()]
    EN.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if KO.exists():
        korean = yaml.safe_load(KO.read_text(encoding="utf-8")) or {}
        for key in texts:
            if key not in korean:
                print(f"missing in ko: {key}", file=sys.stderr)
        for key in korean:
            if key not in texts:
                print(f"not needed in ko: {key}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
