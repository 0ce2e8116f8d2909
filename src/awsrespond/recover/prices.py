"""The shipped price table (``recover/data/ec2_prices.yaml``): on-demand EC2 and public IPv4, dated.

Prices are Decimal; a (region, type) pair the table does not hold has no price (None), never 0.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from awsrespond.errors import UsageError

PRICE_FILE = "ec2_prices.yaml"


class PriceSource(BaseModel):
    """Where the figures come from, as the output states it."""

    model_config = ConfigDict(extra="forbid")
    as_of: date
    currency: str
    source: str
    terms: str
    public_ipv4_usd_per_hour: Decimal
    public_ipv4_effective: date
    public_ipv4_source: str


class PriceTable:
    def __init__(self, document: dict[str, Any]) -> None:
        try:
            ipv4 = document["public_ipv4"]
            self.info = PriceSource(
                as_of=document["as_of"], currency=document["currency"], source=document["source"],
                terms=document["terms"], public_ipv4_usd_per_hour=Decimal(str(ipv4["usd_per_hour"])),
                public_ipv4_effective=ipv4["effective"], public_ipv4_source=ipv4["source"])
            self._hourly = {(str(region), str(itype)): Decimal(str(price))
                            for region, types in (document.get("regions") or {}).items()
                            for itype, price in (types or {}).items()}
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise UsageError(f"the price table is malformed: {type(exc).__name__}: {exc}") from exc

    def hourly(self, region: str, instance_type: str) -> Decimal | None:
        """On-demand Linux USD per hour, or None when the table has no price for the pair."""
        return self._hourly.get((region, instance_type))

    @property
    def public_ipv4_hourly(self) -> Decimal:
        return self.info.public_ipv4_usd_per_hour

    def pairs(self) -> list[tuple[str, str]]:
        return sorted(self._hourly)


@cache
def shipped_prices() -> PriceTable:
    text = resources.files("awsrespond.recover").joinpath("data", PRICE_FILE).read_text(encoding="utf-8")
    return PriceTable(yaml.safe_load(text))
