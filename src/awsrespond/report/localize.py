"""Finding, checklist and harden texts in the report's language (the ``findings`` catalog).

A finding carries its rule's English title and recommendation. In another language the catalog's text
replaces it only when the English catalog text is the finding's own text: a rule changed since (or a
custom Sigma rule that reuses an id) keeps its own words rather than a translation of other words.
A catalog text may be a template (``Remove {user} from {group} ...``) for a recommendation an analytic
builds at run time: the values are read back from the finding's text and put into the translation.
"""

from __future__ import annotations

import re
from functools import cache
from string import Formatter

from awsrespond.findings import Finding
from awsrespond.i18n import Lang, catalog
from awsrespond.recover.checklist import ChecklistItem

DOMAIN = "findings"
MAX_VARIANTS = 9
"""A rule may have several recommendation texts (``.recommendation``, ``.recommendation.2``, ...)."""


@cache
def _pattern(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A regular expression matching what ``template.format(...)`` gives, with a group per placeholder."""
    parts: list[str] = []
    names: list[str] = []
    for literal, field, _, _ in Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field in names:
            parts.append(f"(?P={field})")
        else:
            names.append(field)
            parts.append(f"(?P<{field}>.+?)")
    return re.compile("".join(parts), re.DOTALL), tuple(names)


def lookup(key: str, own: str, lang: Lang) -> str | None:
    """The catalog text of ``key`` in ``lang`` when its English text is ``own`` (values filled in), else None."""
    if lang is Lang.EN or not own:
        return None
    english, target = catalog(Lang.EN, DOMAIN).get(key), catalog(lang, DOMAIN).get(key)
    if english is None or target is None:
        return None
    pattern, names = _pattern(english)
    match = pattern.fullmatch(own)
    if match is None:
        return None
    if not names:
        return target
    try:
        return target.format(**match.groupdict())
    except (KeyError, IndexError, ValueError):
        return None


def translate(key: str, own: str, lang: Lang) -> str:
    found = lookup(key, own, lang)
    return own if found is None else found


def _variants(prefix: str) -> list[str]:
    return [prefix] + [f"{prefix}.{number}" for number in range(2, MAX_VARIANTS + 1)]


def finding_title(finding: Finding, lang: Lang) -> str:
    return translate(f"rule.{finding.rule}.title", finding.title, lang)


def finding_recommendation(finding: Finding, lang: Lang) -> str:
    for key in _variants(f"rule.{finding.rule}.recommendation"):
        found = lookup(key, finding.recommendation, lang)
        if found is not None:
            return found
    return finding.recommendation


def harden_title(check_id: str, title: str, lang: Lang) -> str:
    return translate(f"harden.{check_id}.title", title, lang)


def checklist_title(item: ChecklistItem, lang: Lang) -> str:
    """Items built from a harden check carry its id (``harden.<id>`` or the check id itself)."""
    found = lookup(f"checklist.{item.id}.title", item.title, lang)
    if found is not None:
        return found
    return harden_title(item.id.removeprefix("harden."), item.title, lang)
