"""Sigma field names (dotted paths) to SQL over the ``events`` table.

A field is read one of two ways:

* a *scalar* column (``eventName``, ``userIdentity.type``...): one VARCHAR per event;
* a path into a JSON column (``requestParameters.policyArn``, ``userIdentity.sessionContext.attributes.x``,
  and any top-level name the schema does not type, which lives in ``extra``).

Array semantics: walking the path, an array met on the way is mapped over (``resources.ARN`` is the ARN
of every resource), and an array at the end of the path contributes each element. A predicate holds
when *any* value satisfies it; ``field: null`` holds when there is no non-null value (so an empty array
counts as missing). An object at the end of the path is its minified JSON text, the form DuckDB
stores. Arrays nested directly in arrays are not flattened further (CloudTrail has none).

Speed: most paths cross no array, so one ``json_type`` over the path's prefixes (one parse) decides
between a direct ``json_extract_string`` and the general walk, which builds lists with lambdas and
costs several times more.

JSON keys are matched exactly (case-sensitive) and always quoted in the JSON path, so keys with dots,
dashes, spaces or quotes work; a Sigma field name cannot address a key that itself contains a dot.
Top-level names are matched case-insensitively against the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from awsrespond.trail.events import BLOBS, EXTRA, SCALARS

Predicate = Callable[[str], str]
"""SQL for "this VARCHAR value matches", given the SQL of the value."""

_STRUCT_FIELDS = ("type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy")
_SESSION_CONTEXT = "sessionContext"
_SCALAR_BY_LOWER = {name.lower(): name for name in SCALARS}
_BLOB_BY_LOWER = {name.lower(): name for name in BLOBS}
_STRUCT_BY_LOWER = {name.lower(): name for name in _STRUCT_FIELDS}
SCALAR_COST = 1
JSON_COST = 10


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_key(key: str) -> str:
    """One JSON path step, quoted so that any character is allowed."""
    return '."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class FieldSQL:
    """How to read one Sigma field: a scalar column, or a JSON document and a key path in it."""

    name: str
    scalar: str | None = None
    document: str | None = None
    keys: tuple[str, ...] = ()
    depth: int = 0
    """Nesting level of the expression, so that lambda variables of nested reads stay apart."""

    @property
    def cost(self) -> int:
        return SCALAR_COST if self.scalar is not None else JSON_COST

    @property
    def _path(self) -> str:
        return "$" + "".join(json_key(key) for key in self.keys)

    @property
    def _crosses_array(self) -> str:
        prefixes = ["$" + "".join(json_key(key) for key in self.keys[:n]) for n in range(len(self.keys) + 1)]
        paths = ", ".join(quote_literal(path) for path in prefixes)
        return f"coalesce(list_contains(json_type({self.document}, [{paths}]), 'ARRAY'), false)"

    @property
    def _direct(self) -> str:
        return f"json_extract_string({self.document}, {quote_literal(self._path)})"

    def values(self) -> str:
        """``VARCHAR[]`` of every value at the path, mapping over arrays (the general, slower walk)."""
        assert self.document is not None
        var = f"_sj{self.depth}"
        items = f"[{self.document}]"
        for key in self.keys:
            step = json_key(key)
            items = (
                f"flatten(list_transform({items}, lambda {var}: CASE WHEN json_type({var}) = 'ARRAY' "
                f"THEN json_extract({var}, {quote_literal('$[*]' + step)}) "
                f"ELSE [json_extract({var}, {quote_literal('$' + step)})] END))"
            )
        return (
            f"flatten(list_transform({items}, lambda {var}: CASE WHEN json_type({var}) = 'ARRAY' "
            f"THEN json_extract_string({var}, '$[*]') ELSE [json_extract_string({var}, '$')] END))"
        )

    def any(self, predicate: Predicate) -> str:
        """SQL true when some value of the field satisfies ``predicate`` (NULL or false otherwise)."""
        if self.scalar is not None:
            return f"({predicate(self.scalar)})"
        var = f"_sv{self.depth}"
        test = predicate(var)
        # A predicate that reads its value more than once would parse the document each time.
        direct = (
            predicate(self._direct)
            if test.count(var) == 1
            else f"len(list_filter([{self._direct}], lambda {var}: {test})) > 0"
        )
        return (
            f"(CASE WHEN {self._crosses_array} "
            f"THEN len(list_filter({self.values()}, lambda {var}: {test})) > 0 "
            f"ELSE {direct} END)"
        )

    def present(self) -> str:
        if self.scalar is not None:
            return f"({self.scalar} IS NOT NULL)"
        var = f"_sv{self.depth}"
        return (
            f"(CASE WHEN {self._crosses_array} "
            f"THEN len(list_filter({self.values()}, lambda {var}: {var} IS NOT NULL)) > 0 "
            f"ELSE {self._direct} IS NOT NULL END)"
        )

    def absent(self) -> str:
        return f"(CASE WHEN {self.present()} THEN false ELSE true END)"

    @property
    def single(self) -> str:
        """One VARCHAR per event, for GROUP BY keys and aggregated values: the scalar, or the value
        at the path (an array there stays one JSON text)."""
        return self.scalar if self.scalar is not None else self._direct


def resolve(name: str, depth: int = 0) -> FieldSQL:
    """The SQL that reads Sigma field ``name``."""
    head, _, rest = name.partition(".")
    keys = tuple(rest.split(".")) if rest else ()
    lower = head.lower()
    if lower in _SCALAR_BY_LOWER and not keys:
        column = _SCALAR_BY_LOWER[lower]
        kind = SCALARS[column]
        if kind == "VARCHAR":
            return FieldSQL(name, scalar=quote_identifier(column))
        if kind == "TIMESTAMPTZ":
            return FieldSQL(name, scalar=f"strftime(timezone('UTC', {quote_identifier(column)}), '%Y-%m-%dT%H:%M:%SZ')")
        return FieldSQL(name, scalar=f"CAST({quote_identifier(column)} AS VARCHAR)")
    if lower == "useridentity":
        if not keys:
            return FieldSQL(name, scalar='CAST(to_json("userIdentity") AS VARCHAR)')
        if keys[0].lower() in _STRUCT_BY_LOWER and len(keys) == 1:
            return FieldSQL(name, scalar=f'"userIdentity".{quote_identifier(_STRUCT_BY_LOWER[keys[0].lower()])}')
        if keys[0] == _SESSION_CONTEXT:
            return FieldSQL(name, document='"userIdentity"."sessionContext"', keys=keys[1:], depth=depth)
        # The table keeps only the STRUCT's fields of userIdentity; anything else was not stored.
        return FieldSQL(name, scalar="CAST(NULL AS VARCHAR)")
    if lower in _BLOB_BY_LOWER:
        return FieldSQL(name, document=quote_identifier(_BLOB_BY_LOWER[lower]), keys=keys, depth=depth)
    return FieldSQL(name, document=quote_identifier(EXTRA), keys=(head, *keys), depth=depth)
