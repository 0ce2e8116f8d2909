"""Instances launched where or as the account never does: unused regions, unusual instance families."""

from __future__ import annotations

import re
from typing import Any

import duckdb

from awsrespond.findings import Severity
from awsrespond.hunt.analytics.history import MIN_HISTORY_EVENTS, account_regions_cte
from awsrespond.hunt.analytics.prepare import HISTORY, VIEW, Scope, prepared
from awsrespond.hunt.analytics.registry import AnalyticResult, analytic, detection
from awsrespond.hunt.detections import Window
from awsrespond.timeutil import iso

LAUNCH_EVENTS = ("RunInstances", "RequestSpotInstances", "RequestSpotFleet", "CreateFleet")
ACCELERATED = re.compile(r"^(p\d|g\d|gr\d|inf\d|trn\d|dl\d|f\d|vt\d)", re.IGNORECASE)
"""GPU and accelerator families: what mining and model abuse launch."""
BIG_XLARGE = 8
"""Sizes from 8xlarge (and bare metal) up: what CPU mining launches."""


def is_big(instance_type: str) -> bool:
    size = instance_type.partition(".")[2].lower()
    if size.startswith("metal"):
        return True
    multiple = size.removesuffix("xlarge")
    return size.endswith("xlarge") and multiple.isdigit() and int(multiple) >= BIG_XLARGE


def _launches_cte(scope: Scope) -> str:
    names = ", ".join(f"'{n}'" for n in LAUNCH_EVENTS)
    # Instance types sit at different depths (launchSpecification, fleet overrides): search the text.
    return rf"""launches AS (
        SELECT rid, t, acct, region, coalesce(principal, arn, ptype) AS caller, name, err, akey,
               list_distinct(regexp_extract_all(CAST(params AS VARCHAR),
                                                '"instanceType"\s*:\s*"([^"]+)"', 1)) AS types
        FROM {VIEW} WHERE name IN ({names}))"""


def _summary(rows: list[Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "events": len({rid for r in rows for rid in r["rowids"]}),
        "event_names": sorted({n for r in rows for n in r["names"]}),
        "denied": sum(r["denied"] for r in rows),
        "instance_types": sorted({t for r in rows for t in r["types"]}),
        "access_keys": sorted({k for r in rows for k in r["keys"] if k}),
        "first_seen": iso(min(r["first"] for r in rows)), "last_seen": iso(max(r["last"] for r in rows)),
        **extra,
    }


def _window_launches(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    rows = scope.rows(con, f"""
        WITH {_launches_cte(scope)}, {account_regions_cte()},
        launched_before AS (SELECT DISTINCT acct, region FROM launches WHERE {scope.hist()} AND err IS NULL),
        history AS (SELECT acct, sum(n) AS n FROM {HISTORY} GROUP BY acct)
        SELECT l.caller, l.acct, l.region, list(l.rid), list(DISTINCT l.name),
               count(*) FILTER (WHERE l.err IS NOT NULL),
               flatten(list(l.types)), list(DISTINCT l.akey), min(l.t), max(l.t),
               any_value(a.region) IS NOT NULL OR any_value(b.region) IS NOT NULL, coalesce(any_value(h.n), 0)
        FROM launches l
        LEFT JOIN areg a ON a.acct = l.acct AND a.region = l.region
        LEFT JOIN launched_before b ON b.acct = l.acct AND b.region = l.region
        LEFT JOIN history h ON h.acct = l.acct
        WHERE {scope.win('l.t')}
        GROUP BY l.caller, l.acct, l.region ORDER BY min(l.t)""")
    keys = ("caller", "account", "region", "rowids", "names", "denied", "types", "keys", "first", "last",
            "region_used", "history")
    return [dict(zip(keys, row, strict=True)) for row in rows]


@analytic(
    "aws-run-instances-unused-region",
    title="Instances launched in a region the account does not use",
    severity=Severity.HIGH,
    mitre=("T1535", "T1578.002", "T1496"),
)
def run_instances_unused_region(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """RunInstances, spot requests and fleets in a region where the account had no activity before
    ``since`` (no call from an address, no successful write, no launch): high, denied attempts too.
    An account without history: a note when the window's launches span several regions."""
    scope = prepared(con, window)
    result = AnalyticResult()
    launches = _window_launches(con, scope)
    bare: dict[str, set[str]] = {}
    for launch in launches:
        if launch["history"] < MIN_HISTORY_EVENTS:
            bare.setdefault(str(launch["account"]), set()).add(str(launch["region"]))
            continue
        if launch["region_used"]:
            continue
        result.detections.append(detection(
            "aws-run-instances-unused-region", Severity.HIGH, launch["rowids"], subject=launch["caller"],
            details=_summary([launch], {"caller": launch["caller"], "account": launch["account"],
                                        "region": launch["region"]}),
            recommendation=(f"List and stop what was launched in {launch['region']}; if the account never works "
                            "there, deny the region with an SCP."),
        ))
    for account, regions in sorted(bare.items()):
        if len(regions) > 1:
            result.notes.append(f"account {account} has no history before since: its usual regions are unknown; the "
                                f"window launched instances in {len(regions)} regions ({', '.join(sorted(regions))})")
    return result


@analytic(
    "aws-run-instances-unusual-type",
    title="Instances of a family the account never launched (GPU and accelerators first)",
    severity=Severity.HIGH,
    mitre=("T1496", "T1578.002"),
)
def run_instances_unusual_type(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """Launches of an instance family the account never launched before ``since``: GPU or accelerator
    families (p, g, inf, trn, dl, f, vt) high; sizes from 8xlarge or bare metal medium; other
    families low (a developer trying another small type). Without history only the first two are
    reported. Launches whose type is in a launch template are not judged."""
    scope = prepared(con, window)
    result = AnalyticResult()
    rows = scope.rows(con, f"""
        WITH {_launches_cte(scope)},
        before AS (SELECT DISTINCT acct, lower(split_part(unnest(types), '.', 1)) AS family
                   FROM launches WHERE {scope.hist()} AND err IS NULL),
        launched AS (SELECT DISTINCT acct FROM before),
        now AS (SELECT *, lower(split_part(unnest(types), '.', 1)) AS family, unnest(types) AS type
                FROM launches WHERE {scope.win()})
        SELECT n.caller, n.acct, n.family, list(DISTINCT n.rid), list(DISTINCT n.name),
               count(DISTINCT n.rid) FILTER (WHERE n.err IS NOT NULL), list(DISTINCT n.type), list(DISTINCT n.akey),
               min(n.t), max(n.t), list(DISTINCT n.region), any_value(l.acct) IS NOT NULL
        FROM now n LEFT JOIN launched l ON l.acct = n.acct
        WHERE NOT EXISTS (SELECT 1 FROM before b WHERE b.acct = n.acct AND b.family = n.family)
        GROUP BY n.caller, n.acct, n.family ORDER BY min(n.t)""")
    for caller, account, family, rowids, names, denied, types, keys, first, last, regions, launched in rows:
        accelerated = bool(ACCELERATED.match(family))
        big = any(is_big(t) for t in types)
        if not (accelerated or big or scope.has_history):
            continue  # without history every family is new: only what mining launches is worth a word
        severity = Severity.HIGH if accelerated else (Severity.MEDIUM if big else Severity.LOW)
        launch = {"rowids": rowids, "names": names, "denied": denied, "types": types, "keys": keys, "first": first,
                  "last": last}
        result.detections.append(detection(
            "aws-run-instances-unusual-type", severity, rowids, subject=caller,
            details=_summary([launch], {"caller": caller, "account": account, "family": family,
                                        "accelerated": accelerated, "big": big, "regions": sorted(regions),
                                        "account_launched_before": launched}),
            recommendation=("Check whether these instances are the account's: GPU fleets in a quiet account are "
                            "usually mining or model abuse; stop them and find the credential that launched them."),
        ))
    return result
