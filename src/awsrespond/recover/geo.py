"""Country, ASN and hosting/VPN/Tor hints for an IP address, offline.

The data is the GeoLite2 Country and ASN database by MaxMind, as packaged by ``geoip2fast`` (its data
files ship inside the package; the code is MIT-licensed, the GeoLite2 data is under MaxMind's GeoLite2
End User License Agreement, which requires the attribution "This product includes GeoLite2 data
created by MaxMind, available from https://www.maxmind.com"). No lookup leaves the machine: the
package's hostname and update functions are never called.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

IPV4_DATA = "geoip2fast-asn.dat.gz"
IPV6_DATA = "geoip2fast-asn-ipv6.dat.gz"
LICENCE = ("GeoLite2 data created by MaxMind (https://www.maxmind.com), GeoLite2 End User License Agreement; "
           "packaged by geoip2fast (MIT)")

# RFC 5737 (IPv4) and RFC 3849 (IPv6) documentation ranges: examples, never a real host.
_DOCUMENTATION = tuple(ipaddress.ip_network(n) for n in
                       ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))


class AddressKind(StrEnum):
    PUBLIC = "public"
    DOCUMENTATION = "documentation"  # RFC 5737 / RFC 3849
    PRIVATE = "private"  # RFC 1918, RFC 4193, shared address space (RFC 6598)
    LOOPBACK = "loopback"
    LINK_LOCAL = "link-local"
    RESERVED = "reserved"  # multicast, unspecified, reserved
    INVALID = "invalid"  # not an IP address (an AWS service name in sourceIPAddress, ...)


class HostingHint(StrEnum):
    HOSTING = "hosting"
    HOSTING_VPN = "hosting/vpn"
    TOR = "tor"


class IpInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ip: str
    kind: AddressKind
    country_code: str | None = None
    country_name: str | None = None
    asn_name: str | None = None
    asn_network: str | None = None
    hints: list[HostingHint] = Field(default_factory=list, description="What the ASN name suggests")
    matched: list[str] = Field(default_factory=list, description="The keywords the ASN name matched")
    note: str = ""


class GeoSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database: str = Field(description="The data file's own source line, with its date")
    licence: str
    hint_keywords: str = "awsrespond recover/data/hosting_asns.yaml (hints, not verdicts)"


def classify_address(value: str) -> AddressKind:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return AddressKind.INVALID
    if any(address in network for network in _DOCUMENTATION):
        return AddressKind.DOCUMENTATION
    if address.is_loopback:
        return AddressKind.LOOPBACK
    if address.is_link_local:
        return AddressKind.LINK_LOCAL
    if address.is_private or (address.version == 4 and address in ipaddress.ip_network("100.64.0.0/10")):
        return AddressKind.PRIVATE
    if address.is_multicast or address.is_unspecified or address.is_reserved or not address.is_global:
        return AddressKind.RESERVED
    return AddressKind.PUBLIC


@cache
def _keywords() -> dict[HostingHint, list[tuple[str, re.Pattern[str]]]]:
    text = resources.files("awsrespond.recover").joinpath("data", "hosting_asns.yaml").read_text(encoding="utf-8")
    document: dict[str, list[str]] = yaml.safe_load(text)
    categories = {"hosting": HostingHint.HOSTING, "hosting_vpn": HostingHint.HOSTING_VPN, "tor": HostingHint.TOR}
    return {hint: [(word, re.compile(rf"(?<![\w]){re.escape(word)}(?![\w])", re.IGNORECASE))
                   for word in document.get(key, [])]
            for key, hint in categories.items()}


def hosting_hints(asn_name: str) -> tuple[list[HostingHint], list[str]]:
    hints: list[HostingHint] = []
    matched: list[str] = []
    for hint, words in _keywords().items():
        for word, pattern in words:
            if pattern.search(asn_name):
                matched.append(word)
                if hint not in hints:
                    hints.append(hint)
    return hints, matched


class GeoLookup:
    """Loads each data file once, on first use (about 0.25 s for IPv4); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers: dict[int, Any] = {}

    def _reader(self, version: int) -> Any:
        with self._lock:
            reader = self._readers.get(version)
            if reader is None:
                from geoip2fast import GeoIP2Fast  # type: ignore[import-untyped]  # noqa: PLC0415 - loads on first use

                reader = GeoIP2Fast(geoip2fast_data_file=IPV4_DATA if version == 4 else IPV6_DATA, verbose=False)
                self._readers[version] = reader
            return reader

    def source(self) -> GeoSource:
        info = self._reader(4).get_database_info()
        return GeoSource(database=str(info.get("source_info", "unknown")), licence=LICENCE)

    def lookup(self, value: str) -> IpInfo:
        ip = value.strip()
        kind = classify_address(ip)
        if kind is AddressKind.DOCUMENTATION:
            return IpInfo(ip=ip, kind=kind, note="documentation range (RFC 5737/3849): an example, not a real host")
        if kind is AddressKind.INVALID:
            return IpInfo(ip=ip, kind=kind, note="not an IP address (CloudTrail names an AWS service here)")
        if kind is not AddressKind.PUBLIC:
            return IpInfo(ip=ip, kind=kind, note=f"{kind.value} address: inside a network, not on the internet")
        result = self._reader(ipaddress.ip_address(ip).version).lookup(ip)
        country = str(getattr(result, "country_code", "") or "")
        asn_name = str(getattr(result, "asn_name", "") or "")
        hints, matched = hosting_hints(asn_name) if asn_name else ([], [])
        found = country not in ("", "--")
        return IpInfo(
            ip=ip, kind=kind,
            country_code=country if found else None,
            country_name=str(getattr(result, "country_name", "")) if found else None,
            asn_name=asn_name or None,
            asn_network=str(getattr(result, "asn_cidr", "") or "") or None,
            hints=hints, matched=matched,
            note="" if found or asn_name else "not found in the offline database",
        )
