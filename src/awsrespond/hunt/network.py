"""Source addresses as networks: calls from the same /24 (IPv4) or /48 (IPv6) are one place."""

from __future__ import annotations

import ipaddress


def network_of(address: str | None) -> str | None:
    """The network of an IP address, or None for what is not one (``ec2.amazonaws.com``, ``AWS Internal``)."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
