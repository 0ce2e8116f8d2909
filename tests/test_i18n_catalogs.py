"""Every message catalog: the same keys and placeholders in English and Korean, real Korean, no key used in
the code that the catalog lacks."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from awsrespond.contain.journal import StepStatus
from awsrespond.contain.model import Phase
from awsrespond.findings import Classification, Severity
from awsrespond.harden.model import CheckStatus
from awsrespond.i18n import Lang, Messages, catalog, domains, placeholders
from awsrespond.recover.checklist import ItemStatus

SRC = Path(__file__).resolve().parents[1] / "src" / "awsrespond"
HANGUL = re.compile("[\uac00-\ud7a3]")
# Korean values of more than two words that may be written without Hangul (commands, formats, names).
NOT_HANGUL_OK: set[tuple[str, str]] = set()
# Calls whose first argument is a catalog key: Messages.t / __call__, the Ui helpers, and common aliases.
KEY_CALLS = {"t", "text", "msg", "tr", "_"}
KEY_SHAPE = re.compile(r"^[a-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")


def test_there_are_catalogs() -> None:
    assert {"cli", "report", "respond"} <= set(domains())


@pytest.mark.parametrize("domain", domains())
def test_both_languages_have_the_same_keys_and_placeholders(domain: str) -> None:
    en, ko = catalog(Lang.EN, domain), catalog(Lang.KO, domain)
    assert sorted(set(en) - set(ko)) == [], "missing in ko"
    assert sorted(set(ko) - set(en)) == [], "missing in en"
    for key in en:
        assert placeholders(en[key]) == placeholders(ko[key]), key
        assert en[key].strip() and ko[key].strip(), f"empty value: {key}"


@pytest.mark.parametrize("domain", domains())
def test_korean_is_korean(domain: str) -> None:
    not_korean = [key for key, text in catalog(Lang.KO, domain).items()
                  if len(re.sub(r"\{[^}]*\}", "", text).split()) > 2 and not HANGUL.search(text)
                  and (domain, key) not in NOT_HANGUL_OK]
    assert not_korean == []


def test_a_missing_key_raises() -> None:
    for lang in Lang:
        with pytest.raises(KeyError):
            Messages(lang, "cli").t("no.such.key.anywhere")


@pytest.mark.parametrize("prefix, values", [
    ("severity", [s.value for s in Severity]),
    ("classification", [c.value for c in Classification]),
    ("phase", [p.value for p in Phase]),
    ("status", [s.value for s in StepStatus]),
    ("checklist.status", [s.value for s in ItemStatus]),
    ("harden.status", [s.value for s in CheckStatus]),
])
def test_every_enum_value_the_cli_names_has_a_text(prefix: str, values: list[str]) -> None:
    texts = catalog(Lang.EN, "cli")
    assert [v for v in values if f"{prefix}.{v}" not in texts] == []


def _domain_of(tree: ast.AST) -> str | None:
    """The one domain a module names in ``Messages(lang, "domain")`` (calls on ``ui`` are always cli)."""
    named = {node.args[1].value for node in ast.walk(tree)
             if isinstance(node, ast.Call) and _name(node.func) == "Messages" and len(node.args) >= 2
             and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)}
    return named.pop() if len(named) == 1 else None


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _on_ui(func: ast.expr) -> bool:
    """``ui.t(...)``, ``self.ui.text(...)``: the CLI's ``Ui`` always speaks the cli domain."""
    if not isinstance(func, ast.Attribute):
        return False
    owner = func.value
    return (isinstance(owner, ast.Name) and owner.id == "ui") or (isinstance(owner, ast.Attribute)
                                                                  and owner.attr == "ui")


def _used_keys() -> list[tuple[str, str | None, str, bool]]:
    """(file, domain or None, key or key prefix, is_prefix) for every key-shaped literal passed to a key call."""
    found: list[tuple[str, str | None, str, bool]] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        domain = _domain_of(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _name(node.func) in KEY_CALLS and node.args):
                continue
            first = node.args[0]
            where = f"{path.relative_to(SRC)}:{node.lineno}"
            call_domain = "cli" if _on_ui(node.func) else domain
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and KEY_SHAPE.match(first.value):
                found.append((where, call_domain, first.value, False))
            elif isinstance(first, ast.JoinedStr) and first.values and isinstance(first.values[0], ast.Constant):
                prefix = str(first.values[0].value)
                if KEY_SHAPE.match(prefix.rstrip(".") + ".x"):
                    found.append((where, call_domain, prefix, True))
            elif (isinstance(first, ast.BinOp) and isinstance(first.left, ast.Constant)
                  and isinstance(first.left.value, str) and KEY_SHAPE.match(first.left.value.rstrip(".") + ".x")):
                found.append((where, call_domain, first.left.value, True))
    return found


def test_the_scan_finds_the_cli_keys() -> None:
    used = _used_keys()
    assert any(key == "triage.head" for _, _, key, _ in used)
    assert any(key == "severity." and prefix for _, _, key, prefix in used)


def test_every_key_used_in_the_code_exists() -> None:
    catalogs = {domain: catalog(Lang.EN, domain) for domain in domains()}
    missing = []
    for where, domain, key, prefix in _used_keys():
        pool = [catalogs[domain]] if domain in catalogs else list(catalogs.values())
        if not any((k.startswith(key) if prefix else k == key) for texts in pool for k in texts):
            missing.append(f"{where} {domain or '?'}:{key}")
    assert missing == []
