"""The shipped on-demand price table: every attacker instance the emulator can launch is priced, or the
table says the source has no price for that type in that region; figures are positive Decimals that
equal the cited sources."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
import yaml

from awsrespond.emulator import Scenario, generate_scenario, list_scenarios, load_scenario
from awsrespond.emulator.instance_types import ACCELERATED_TYPES
from awsrespond.emulator.scenario_generator import ATTACKER_REGION_POOL
from awsrespond.recover.prices import PriceTable, shipped_prices


def _document() -> dict[str, Any]:
    text = resources.files("awsrespond.recover").joinpath("data", "ec2_prices.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def _not_offered() -> set[tuple[str, str]]:
    return {(region, itype) for region, types in (_document().get("not_offered") or {}).items() for itype in types}


def _attacker_pairs(scenario: Scenario) -> set[tuple[str, str]]:
    attacker = scenario.attacker
    return ({(group.region, group.instance_type) for group in attacker.instances}
            | {(spot.region, spot.instance_type) for spot in attacker.spot_requests})


def _generated_pairs() -> set[tuple[str, str]]:
    return {pair for seed in range(200) for pair in _attacker_pairs(generate_scenario(seed))}


def test_every_generated_attacker_pair_is_priced_or_documented_as_not_offered() -> None:
    table = shipped_prices()
    not_offered = _not_offered()
    pairs = _generated_pairs()
    assert len(pairs) > 100, "the generator should produce many (region, type) pairs over 200 seeds"
    unexplained = sorted(p for p in pairs if table.hourly(*p) is None and p not in not_offered)
    assert unexplained == [], f"attacker pairs with neither a price nor a not_offered entry: {unexplained}"
    priced = [p for p in pairs if table.hourly(*p) is not None]
    assert len(priced) >= 0.7 * len(pairs)


@pytest.mark.parametrize("name", list_scenarios())
def test_shipped_scenario_attacker_pairs_are_priced_or_documented(name: str) -> None:
    table = shipped_prices()
    not_offered = _not_offered()
    for pair in _attacker_pairs(load_scenario(name)):
        assert table.hourly(*pair) is not None or pair in not_offered, pair


def test_not_offered_pairs_carry_no_price_and_name_known_types_and_regions() -> None:
    table = shipped_prices()
    known = {itype for types in ACCELERATED_TYPES.values() for itype in types}
    for region, itype in _not_offered():
        assert region in ATTACKER_REGION_POOL and itype in known, (region, itype)
        assert table.hourly(region, itype) is None, (region, itype)


def test_every_accelerated_pair_is_either_priced_or_not_offered() -> None:
    """The table is complete over the pools the generator draws from, not only over the seeds tried."""
    table = shipped_prices()
    not_offered = _not_offered()
    for region in ATTACKER_REGION_POOL:
        for itype in (t for types in ACCELERATED_TYPES.values() for t in types):
            assert (table.hourly(region, itype) is None) == ((region, itype) in not_offered), (region, itype)


def test_prices_are_positive_decimals_quoted_as_strings() -> None:
    document = _document()
    for region, types in document["regions"].items():
        assert region in ATTACKER_REGION_POOL, region
        for itype, price in types.items():
            assert isinstance(price, str), (region, itype, price)
            assert Decimal(price) > 0 and Decimal(price).is_finite(), (region, itype, price)
    table = PriceTable(document)
    assert all(isinstance(table.hourly(*pair), Decimal) for pair in table.pairs())


# Figures as they stand in the cited files (tsaol/aws-gpu data/*_instances.js; us-east-1 also karpenter).
SPOT_CHECKS = {
    ("us-east-1", "p4d.24xlarge"): "21.957642",
    ("eu-central-1", "p4d.24xlarge"): "27.43298",
    ("us-east-1", "p5.48xlarge"): "55.04",
    ("sa-east-1", "p5.48xlarge"): "92.4672",
    ("eu-west-1", "g5.12xlarge"): "6.33167",
    ("eu-west-1", "g5.48xlarge"): "18.18233",
    ("sa-east-1", "g4dn.12xlarge"): "6.649",
    ("us-west-1", "g4dn.metal"): "9.389",
    ("ap-northeast-1", "g6.xlarge"): "1.1672",
    ("us-east-2", "g6.48xlarge"): "13.3504",
    ("ap-southeast-1", "inf2.48xlarge"): "18.17377",
    ("us-east-2", "trn1.32xlarge"): "21.5",
    ("ap-northeast-2", "p3.2xlarge"): "4.234",
    ("ca-central-1", "p3.16xlarge"): "26.928",
    ("us-east-1", "t3.micro"): "0.0104",
    ("us-east-1", "m5.large"): "0.096",
}


def test_spot_checked_figures_equal_the_source() -> None:
    table = shipped_prices()
    checks = list(SPOT_CHECKS.items())
    random.Random(5).shuffle(checks)
    for (region, itype), expected in checks:
        assert table.hourly(region, itype) == Decimal(expected), (region, itype)


def test_the_table_is_dated_and_names_its_sources() -> None:
    document = _document()
    table = shipped_prices()
    assert isinstance(table.info.as_of, date) and table.info.as_of == date.fromisoformat(str(document["as_of"]))
    sources = document["sources"]
    assert sources and all(len(s["commit"]) == 40 and date.fromisoformat(s["date"]) >= table.info.as_of
                           for s in sources)
