"""The ``cidr`` modifier in plain DuckDB SQL, IPv4 and IPv6, without the ``inet`` extension (which would
have to be downloaded).

An address is put in a canonical fixed-width text form in SQL - IPv4 as twelve decimal digits (three
per octet, zero-padded), IPv6 as 32 lowercase hex digits with ``::`` expanded - so a network is a
lexicographic range of that text. Anything that is not a well-formed address of the network's family
(``AWS Internal``, a service name, an IPv6 zone id) does not match. IPv6 addresses written with an
embedded IPv4 tail (``::ffff:1.2.3.4``) are not recognised.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
_IPV6 = r"[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}"


def _ipv4_key(value: str) -> str:
    parts = ", ".join(f"lpad(split_part({value}, '.', {i}), 3, '0')" for i in range(1, 5))
    return f"concat({parts})"


def _ipv6_key(value: str, var: str) -> str:
    """32 hex digits: split on ``::`` (at most once), pad the missing groups with zeros."""
    halves = f"string_split(lower({value}), '::')"
    left = f"list_filter(string_split({halves}[1], ':'), lambda {var}: {var} <> '')"
    right = f"list_filter(string_split(coalesce({halves}[2], ''), ':'), lambda {var}: {var} <> '')"
    zeros = f"list_resize(CAST([] AS VARCHAR[]), greatest(0, 8 - len({left}) - len({right})), '0')"
    groups = (
        f"CASE WHEN len({halves}) = 1 THEN string_split(lower({value}), ':') "
        f"ELSE list_concat({left}, {zeros}, {right}) END"
    )
    return f"array_to_string(list_transform({groups}, lambda {var}: lpad({var}, 4, '0')), '')"


def cidr_predicate(network: IPv4Network | IPv6Network, value: str, var: str) -> str:
    """SQL that is true when the VARCHAR ``value`` is an address inside ``network``."""
    low, high = network.network_address, network.broadcast_address
    if isinstance(network, IPv4Network):
        lo = "".join(f"{int(octet):03d}" for octet in str(low).split("."))
        hi = "".join(f"{int(octet):03d}" for octet in str(high).split("."))
        return f"(regexp_full_match({value}, '{_IPV4}') AND {_ipv4_key(value)} BETWEEN '{lo}' AND '{hi}')"
    lo6, hi6 = f"{int(low):032x}", f"{int(high):032x}"
    valid = (
        f"regexp_full_match({value}, '{_IPV6}') AND len(string_split({value}, '::')) <= 2 "
        f"AND (strpos({value}, '::') > 0 OR len(string_split({value}, ':')) = 8)"
    )
    return f"({valid} AND {_ipv6_key(value, var)} BETWEEN '{lo6}' AND '{hi6}')"
