"""An independent reference for the Sigma engine, and synthetic events derived from each rule.

Reference: pySigma's SQLite backend (``pysigma-backend-sqlite``) over the same events, flattened into
one SQLite table whose columns are dotted paths (``requestParameters.policyArn``), every column
``TEXT COLLATE NOCASE``, with ``REGEXP`` registered as Python's ``re.search``. DESIGN.md section 4
measured that setup correct on all 57 SigmaHQ AWS rules. The events are read back from the DuckDB
``events`` table, so both engines see the same normalised data.

What a flat table cannot say: a path through an array with several elements holds several values
(the engine matches if any does). Such paths are recorded per event as *ambiguous* and the test
leaves those (rule, event) pairs out of the comparison. A one-element array is flattened through its
element, which is exactly the engine's any-element semantics; an empty array is missing in both.

Synthesis: a rule's parsed condition is solved for assignments that satisfy it (positives) and that
falsify it (near misses: one test failing, a negated filter matching, a value one character off),
with random letter case, and values sometimes wrapped in one-element arrays.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from sigma.backends.sqlite.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
)
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from awsrespond.emulator.cloudtrail import cloudtrail_record
from awsrespond.trail.events import BLOBS, EXTRA, SCALARS

# ---------------------------------------------------------------------------------------------------
# Events as the engine sees them, flattened


def table_events(con: duckdb.DuckDBPyConnection) -> list[tuple[int, dict[str, Any]]]:
    """(rowid, record) for every row of ``events``, rebuilt from the normalised columns."""
    names = [*SCALARS, "userIdentity", *BLOBS, EXTRA]
    cursor = con.execute(f"SELECT rowid, {', '.join(repr(n).replace(chr(39), chr(34)) for n in names)} FROM events")
    out: list[tuple[int, dict[str, Any]]] = []
    for row in cursor.fetchall():
        record: dict[str, Any] = {}
        for name, value in zip(names, row[1:], strict=True):
            if value is None:
                continue
            if name == "eventTime":
                record[name] = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            elif name in ("readOnly", "managementEvent"):
                record[name] = "true" if value else "false"
            elif name == "userIdentity":
                identity = {k: v for k, v in value.items() if v is not None and k != "sessionContext"}
                if value.get("sessionContext") is not None:
                    identity["sessionContext"] = json.loads(value["sessionContext"])
                record[name] = identity
            elif name == EXTRA:
                for key, item in json.loads(value).items():
                    record.setdefault(key, item)
            elif name in BLOBS:
                record[name] = json.loads(value)
            else:
                record[name] = value
        out.append((int(row[0]), record))
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    # DuckDB stores JSON minified, as yyjson writes it.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def flatten(record: dict[str, Any]) -> tuple[dict[str, str], set[str]]:
    """Dotted path -> text, and the paths that hold several values (through multi-element arrays)."""
    flat: dict[str, str] = {}
    ambiguous: set[str] = set()

    def walk(path: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, list):
            if len(value) == 1:
                walk(path, value[0])
            elif len(value) > 1:
                ambiguous.add(path)
            return
        flat[path] = _text(value)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{path}.{key}", item)

    for key, value in record.items():
        walk(key, value)
    return flat, ambiguous


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class Reference:
    """The flattened events in SQLite, queried with pySigma's SQLite backend."""

    def __init__(self, events: list[tuple[int, dict[str, Any]]]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.create_function("regexp", 2, _regexp, deterministic=True)
        self.ambiguous: dict[int, set[str]] = {}
        rows: list[tuple[int, dict[str, str]]] = []
        columns: set[str] = set()
        for rowid, record in events:
            flat, ambiguous = flatten(record)
            rows.append((rowid, flat))
            self.ambiguous[rowid] = ambiguous
            columns.update(flat)
        self.columns: set[str] = {c.lower() for c in columns}
        self.db.execute("CREATE TABLE events (rid INTEGER PRIMARY KEY)")
        for column in sorted(columns, key=str.lower):
            self._add_column(column)
        for rowid, flat in rows:
            names = ["rid", *flat]
            marks = ", ".join("?" for _ in names)
            self.db.execute(
                f"INSERT INTO events ({', '.join(quote(n) for n in names)}) VALUES ({marks})", [rowid, *flat.values()]
            )

    def _add_column(self, column: str) -> None:
        if column.lower() in getattr(self, "_seen", set()):
            return
        self.__dict__.setdefault("_seen", set()).add(column.lower())
        self.db.execute(f"ALTER TABLE events ADD COLUMN {quote(column)} TEXT COLLATE NOCASE")

    def fields(self, text: str) -> list[str]:
        rule = SigmaCollection.from_yaml(text).rules[0]
        assert isinstance(rule, SigmaRule)
        return list(_backend().required_fields(rule))

    def matches(self, text: str) -> set[int]:
        """Rowids the SQLite backend matches for the (single-rule) Sigma YAML ``text``."""
        for field in self.fields(text):
            self._add_column(field)
        (query,) = _backend().convert(SigmaCollection.from_yaml(text))
        return {row[0] for row in self.db.execute(f"SELECT rid FROM ({query})")}

    def comparable(self, rowid: int, fields: Iterable[str]) -> bool:
        """False when a field of the rule runs through a multi-element array of this event."""
        paths = self.ambiguous.get(rowid, set())
        for field in fields:
            for path in paths:
                if field == path or field.startswith(path + ".") or path.startswith(field + "."):
                    return False
        return True


def _backend() -> Any:
    """The reference backend (untyped package): queries over the ``events`` table."""
    backend: Any = sqliteBackend(table="events")  # type: ignore[no-untyped-call]
    return backend


def _regexp(pattern: str, value: str | None) -> bool | None:
    if value is None:
        return None
    return re.search(pattern, value) is not None


# ---------------------------------------------------------------------------------------------------
# Synthetic events from a rule


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True)
class FieldRef:
    other: str
    starts: bool
    ends: bool
    equal: bool  # False: make the two fields differ


Spec = Any  # list of Sigma values a string must satisfy, MISSING, a FieldRef, or ("present",)
Assignment = dict[str, Spec]
_LIMIT = 6


def _regex_sample(pattern: str, rng: random.Random) -> str | None:
    parser: Any = __import__("re._parser", fromlist=["parse"])
    constants: Any = __import__("re._constants", fromlist=["LITERAL"])
    try:
        tree = parser.parse(pattern)
    except re.error:
        return None

    def emit(items: Any) -> str:
        out = ""
        for opcode, arg in items:
            if opcode is constants.LITERAL:
                out += chr(arg)
            elif opcode is constants.ANY:
                out += rng.choice("xyz7")
            elif opcode in (constants.MAX_REPEAT, constants.MIN_REPEAT):
                low, _high, sub = arg
                out += "".join(emit(sub) for _ in range(max(low, 1)))
            elif opcode is constants.SUBPATTERN:
                out += emit(arg[-1])
            elif opcode is constants.BRANCH:
                out += emit(rng.choice(arg[1]))
            elif opcode is constants.IN:
                for kind, value in arg:
                    if kind is constants.LITERAL:
                        out += chr(value)
                        break
                    if kind is constants.RANGE:
                        out += chr(value[0])
                        break
                    if kind is constants.CATEGORY:
                        out += "a" if "WORD" in str(value) else "1" if "DIGIT" in str(value) else " "
                        break
                else:
                    out += "x"
            elif opcode is constants.AT:
                continue
            else:
                out += "x"
        return out

    return emit(list(tree))


def _flip_case(text: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def _string_sample(value: SigmaString, rng: random.Random) -> str:
    out = ""
    cased = isinstance(value, SigmaCasedString)
    for part in value.s:
        if isinstance(part, str):
            out += part if cased else _flip_case(part, rng)
        elif part is SpecialChars.WILDCARD_MULTI:
            out += rng.choice(["", "q", "Zz-9", "%_"])
        elif part is SpecialChars.WILDCARD_SINGLE:
            out += rng.choice("k_%")
    return out


def _string_regex(value: SigmaString) -> re.Pattern[str]:
    out = ""
    for part in value.s:
        if isinstance(part, str):
            out += re.escape(part)
        elif part is SpecialChars.WILDCARD_MULTI:
            out += ".*"
        elif part is SpecialChars.WILDCARD_SINGLE:
            out += "."
    return re.compile(out, re.DOTALL | (0 if isinstance(value, SigmaCasedString) else re.IGNORECASE))


def sample(value: Any, rng: random.Random) -> str | None:
    """A text satisfying one Sigma value, or None when this generator cannot make one."""
    if isinstance(value, SigmaString):
        return _string_sample(value, rng)
    if isinstance(value, SigmaBool):
        return _flip_case("true" if value.boolean else "false", rng)
    if isinstance(value, SigmaCompareExpression):
        number = value.number.number
        op = value.op
        delta = {op.GT: 1, op.GTE: 0, op.LT: -1, op.LTE: 0}.get(op, 1)
        return str(number + delta)
    if isinstance(value, SigmaNumber):
        return str(value.number)
    if isinstance(value, SigmaRegularExpression):
        return _regex_sample(str(value.regexp), rng)
    if isinstance(value, SigmaCIDRExpression):
        network = value.network
        return str(network.network_address + min(1, network.num_addresses - 1))
    if isinstance(value, SigmaExpansion):
        return sample(rng.choice(value.values), rng)
    return None


def satisfies(text: str, value: Any) -> bool:
    if isinstance(value, SigmaString):
        return _string_regex(value).fullmatch(text) is not None
    if isinstance(value, SigmaBool):
        return text.lower() == ("true" if value.boolean else "false")
    if isinstance(value, SigmaCompareExpression):
        try:
            number = float(text)
        except ValueError:
            return False
        limit, op = value.number.number, value.op
        return {op.GT: number > limit, op.GTE: number >= limit, op.LT: number < limit, op.LTE: number <= limit}.get(
            op, number != limit
        )
    if isinstance(value, SigmaNumber):
        return text == str(value.number)
    if isinstance(value, SigmaRegularExpression):
        return re.search(str(value.regexp), text) is not None
    if isinstance(value, SigmaCIDRExpression):
        try:
            return ipaddress.ip_address(text) in value.network
        except ValueError:
            return False
    if isinstance(value, SigmaExpansion):
        return any(satisfies(text, item) for item in value.values)
    return False


def _merge(a: Assignment, b: Assignment) -> Assignment | None:
    out = dict(a)
    for path, spec in b.items():
        if path not in out:
            out[path] = spec
            continue
        mine = out[path]
        if isinstance(mine, list) and isinstance(spec, list):
            out[path] = mine + spec
        elif mine == spec or (isinstance(mine, tuple) and isinstance(spec, list)):
            out[path] = spec if isinstance(spec, list) else mine
        elif isinstance(mine, list) and isinstance(spec, tuple):
            continue
        else:
            return None
    return out


def _products(groups: list[list[Assignment]]) -> list[Assignment]:
    results: list[Assignment] = [{}]
    for options in groups:
        results = [m for r in results for o in options if (m := _merge(r, o)) is not None][:_LIMIT]
        if not results:
            return []
    return results


def solve(node: Any, want: bool) -> list[Assignment]:
    """Assignments of field specs that make ``node`` evaluate to ``want``."""
    if isinstance(node, ConditionNOT):
        return solve(node.args[0], not want)
    if isinstance(node, ConditionAND | ConditionOR):
        all_needed = isinstance(node, ConditionAND) == want
        parts = [solve(arg, want) for arg in node.args]
        if all_needed:
            return _products(parts)
        return [option for options in parts for option in options][: _LIMIT * 2]
    if isinstance(node, ConditionFieldEqualsValueExpression):
        field, value = node.field, node.value
        if isinstance(value, SigmaNull):
            return [{field: MISSING}] if want else [{field: ("present",)}]
        if isinstance(value, SigmaExists):
            return [{field: ("present",)}] if value.exists == want else [{field: MISSING}]
        if isinstance(value, SigmaFieldReference):
            return [{field: FieldRef(value.field, value.starts_with, value.ends_with, want)}]
        if want:
            return [{field: [value]}]
        return [{field: MISSING}, {field: ["~wrong~"]}]
    return []


def _realise_string(specs: list[Any], rng: random.Random) -> str | None:
    wanted = [s for s in specs if not isinstance(s, str)]
    if not wanted:
        return "zz" + rng.choice(["0", "Q", "-"]) + "nomatch"
    candidates = [c for c in (sample(v, rng) for v in wanted) if c is not None]
    if len(candidates) > 1:
        candidates.append("".join(candidates))
    for candidate in candidates:
        if all(satisfies(candidate, v) for v in wanted):
            return candidate
    return None


def _set(record: dict[str, Any], path: str, value: Any, rng: random.Random, wrap: bool) -> None:
    head, *keys = path.split(".")
    if head in SCALARS and not keys:
        record[head] = value
        return
    if not keys and head not in BLOBS:
        record[head] = value
        return
    if not keys:
        # A whole JSON column (``requestParameters|contains``): the text goes in as one more key.
        current = record.get(head)
        blob: dict[str, Any] = current if isinstance(current, dict) else {}
        text = value
        if isinstance(text, str) and len(text) > 1 and text.startswith('"') and text.endswith('"'):
            text = text[1:-1]
        blob[f"k{len(blob)}"] = text
        record[head] = blob
        return
    node = record.setdefault(head, {})
    if not isinstance(node, dict):
        node = record[head] = {}
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = [value] if wrap else value


def _remove(record: dict[str, Any], path: str) -> None:
    head, *keys = path.split(".")
    node: Any = record
    for key in [head, *keys[:-1]]:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(keys[-1] if keys else head, None)


def _get(record: dict[str, Any], path: str) -> Any:
    node: Any = record
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


_TYPES = ["IAMUser", "AssumedRole", "Root", "FederatedUser", "AWSService"]
_REGIONS = ["us-east-1", "eu-central-1", "ap-southeast-2", "sa-east-1", "ca-central-1"]


def base_record(rng: random.Random, moment: datetime) -> dict[str, Any]:
    kind = rng.choice(_TYPES)
    account = "".join(rng.choice("0123456789") for _ in range(12))
    identity: dict[str, Any] = {
        "type": kind,
        "principalId": "AID" + "".join(rng.choice("ABCDEFGHIJKLMNOP") for _ in range(12)),
        "arn": f"arn:aws:iam::{account}:user/person{rng.randrange(99)}",
        "accountId": account,
        "accessKeyId": "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)),
    }
    return cloudtrail_record(
        event_time=moment,
        event_source=rng.choice(["ec2.amazonaws.com", "iam.amazonaws.com", "s3.amazonaws.com"]),
        event_name=rng.choice(["DescribeInstances", "ListUsers", "GetObject", "CreateTags"]),
        aws_region=rng.choice(_REGIONS),
        user_identity=identity,
        source_ip=f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        user_agent=rng.choice(["aws-cli/2.17.3 Python/3.12.4", "Boto3/1.34.1 md/Botocore#1.34.1", "S3Console/0.4"]),
        request_parameters={"limit": rng.randrange(1, 50)},
    )


def realise(assignment: Assignment, rng: random.Random, moment: datetime) -> dict[str, Any] | None:
    record = base_record(rng, moment)
    wrap = rng.random() < 0.3
    refs: list[tuple[str, FieldRef]] = []
    for path, spec in assignment.items():
        if spec is MISSING:
            _remove(record, path)
        elif isinstance(spec, FieldRef):
            refs.append((path, spec))
        elif isinstance(spec, tuple):
            _set(record, path, "present" + str(rng.randrange(100)), rng, False)
        elif path in BLOBS:
            # Each text a whole JSON column must contain goes in as a key of its own.
            for wanted in spec:
                if isinstance(wanted, SigmaString):
                    # Leading/trailing wildcards of a contains test are the rest of the JSON text.
                    parts = list(wanted.s)
                    while parts and parts[0] is SpecialChars.WILDCARD_MULTI:
                        parts.pop(0)
                    while parts and parts[-1] is SpecialChars.WILDCARD_MULTI:
                        parts.pop()
                    wanted = SigmaString()  # noqa: PLW2901 - the trimmed copy replaces it
                    wanted.s = parts
                text = _realise_string([wanted], rng)
                if text is None:
                    return None
                _set(record, path, text, rng, False)
        else:
            text = _realise_string(spec, rng)
            if text is None:
                return None
            _set(record, path, text, rng, wrap and "." in path and path.split(".")[0] not in ("userIdentity",))
    for path, ref in refs:
        other = _get(record, ref.other)
        if not isinstance(other, str):
            other = "Ref" + str(rng.randrange(1000))
            _set(record, ref.other, other, rng, False)
        if not ref.equal:
            value = other + "-other" if rng.random() < 0.5 else "zz" + other[::-1]
        else:
            value = other
            if ref.starts:
                value = value + "/tail"
            if ref.ends:
                value = "head/" + value
            value = _flip_case(value, rng)
        _set(record, path, value, rng, False)
    return record


def synthesise(rule: SigmaRule, seed: int) -> Iterator[dict[str, Any]]:
    """Positive and near-miss records for ``rule``."""
    rng = random.Random(seed)
    moment = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=seed % 5000)
    for condition in rule.detection.parsed_condition:
        tree = condition.parsed
        for want in (True, False):
            for assignment in solve(tree, want)[: _LIMIT * 2]:
                for _ in range(2):
                    record = realise(assignment, rng, moment)
                    if record is not None:
                        yield record
