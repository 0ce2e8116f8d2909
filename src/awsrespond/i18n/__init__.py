"""Message catalogs: every user-facing sentence in English and Korean.

Catalogs are YAML files ``i18n/<lang>/<domain>.yaml`` holding flat ``key: text`` pairs; a text may
name ``{placeholders}`` filled by :meth:`Messages.t`. Both languages carry the same keys and the
same placeholders (a test holds them to it). Values filled into a text are plain data: the sink
escapes them (Rich ``Text``, Jinja autoescape, the CSV and Markdown writers), never the catalog.
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml

from awsrespond.errors import InputError, UsageError


class Lang(StrEnum):
    EN = "en"
    KO = "ko"


LANG_ENV = "AWSRESPOND_LANG"


def default_lang(environ: Mapping[str, str] | None = None) -> Lang:
    """``AWSRESPOND_LANG``, else the POSIX locale (LC_ALL, LC_MESSAGES, LANG): Korean for ``ko*``."""
    env = os.environ if environ is None else environ
    explicit = env.get(LANG_ENV, "").strip().lower()
    if explicit:
        return parse_lang(explicit)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").strip()
        if value:
            return Lang.KO if value.lower().startswith("ko") else Lang.EN
    return Lang.EN


def parse_lang(value: str | Lang | None, environ: Mapping[str, str] | None = None) -> Lang:
    if value is None or value == "":
        return default_lang(environ)
    if isinstance(value, Lang):
        return value
    code = value.strip().lower().replace("-", "_").split("_")[0].split(".")[0]
    try:
        return Lang(code)
    except ValueError:
        raise UsageError(f"unknown language {value!r}: use ko or en") from None


def domains() -> list[str]:
    base = resources.files("awsrespond.i18n") / Lang.EN.value
    return sorted(entry.name.removesuffix(".yaml") for entry in base.iterdir() if entry.name.endswith(".yaml"))


@cache
def catalog(lang: Lang, domain: str) -> dict[str, str]:
    """One domain's catalog for ``lang``; raises on a file that is not a flat mapping of strings."""
    source = resources.files("awsrespond.i18n") / lang.value / f"{domain}.yaml"
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no {lang.value} message catalog for {domain!r}", path=str(source)) from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InputError("message catalog is not a flat mapping of strings", path=str(source))
    return data


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


class Messages:
    """The texts of one domain in one language: ``Messages(Lang.KO, "report").t("summary.title")``."""

    def __init__(self, lang: Lang, domain: str) -> None:
        self.lang = lang
        self.domain = domain
        self._texts = catalog(lang, domain)

    def t(self, key: str, /, **values: Any) -> str:
        try:
            text = self._texts[key]
        except KeyError:
            raise KeyError(f"message {self.domain}:{key} is missing from the {self.lang.value} catalog") from None
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._texts

    def __call__(self, key: str, /, **values: Any) -> str:
        return self.t(key, **values)
