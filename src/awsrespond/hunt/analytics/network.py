"""Source addresses as networks: the /24 (IPv4) or /48 (IPv6) a caller sits in, and the wider /16 (/32).

CloudTrail's ``sourceIPAddress`` also holds AWS service names (``ec2.amazonaws.com``), ``AWS Internal``
and, in anonymised corpora, IPv4 with leading zeros (``06.237.252.245``): only addresses are networks.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
# Addresses that never reach AWS's public endpoints from the internet: VPC endpoints, on-premises links.
_INTERNAL_V4 = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
                                      "169.254.0.0/16", "100.64.0.0/10")
)
_INTERNAL_V6 = tuple(ipaddress.ip_network(n) for n in ("fc00::/7", "fe80::/10", "::1/128"))


@dataclass(frozen=True)
class Network:
    net: str
    """The caller's network: ``a.b.c.0/24`` or ``xxxx:xxxx:xxxx::/48``."""
    wide: str
    """The wider network: ``a.b.0.0/16`` or ``xxxx:xxxx::/32``."""
    internal: bool
    """Private, loopback, link-local or shared (CGNAT) space: a VPC endpoint or an on-premises link."""


def _v4(octets: tuple[int, int, int, int]) -> Network:
    a, b, c, d = octets
    address = ipaddress.IPv4Address(f"{a}.{b}.{c}.{d}")
    return Network(f"{a}.{b}.{c}.0/24", f"{a}.{b}.0.0/16", any(address in n for n in _INTERNAL_V4))


def network_of(text: str | None) -> Network | None:
    """The network of a ``sourceIPAddress``, or None when it is not an address."""
    if not text:
        return None
    value = text.strip().strip("[]")
    if match := _IPV4.fullmatch(value):
        octets = tuple(int(part) for part in match.groups())
        if all(part <= 255 for part in octets):
            return _v4((octets[0], octets[1], octets[2], octets[3]))
        return None
    if ":" not in value:
        return None
    try:
        address = ipaddress.IPv6Address(value.split("%", 1)[0])
    except ValueError:
        return None
    if address.ipv4_mapped is not None:
        mapped = address.ipv4_mapped.packed
        return _v4((mapped[0], mapped[1], mapped[2], mapped[3]))
    groups = address.exploded.split(":")
    return Network(
        ":".join(groups[:3]) + "::/48",
        ":".join(groups[:2]) + "::/32",
        any(address in n for n in _INTERNAL_V6),
    )
