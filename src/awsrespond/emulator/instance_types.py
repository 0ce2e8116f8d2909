"""Accelerated instance types an attacker mines on, and approximate on-demand prices."""

from __future__ import annotations

import re

ACCELERATED_FAMILIES = ("p3", "p4d", "p5", "g4dn", "g5", "g6", "inf2", "trn1")
ACCELERATED_TYPES = {
    "p3": ("p3.2xlarge", "p3.8xlarge", "p3.16xlarge"),
    "p4d": ("p4d.24xlarge",),
    "p5": ("p5.48xlarge",),
    "g4dn": ("g4dn.xlarge", "g4dn.2xlarge", "g4dn.12xlarge", "g4dn.metal"),
    "g5": ("g5.xlarge", "g5.4xlarge", "g5.12xlarge", "g5.48xlarge"),
    "g6": ("g6.xlarge", "g6.12xlarge", "g6.48xlarge"),
    "inf2": ("inf2.xlarge", "inf2.24xlarge", "inf2.48xlarge"),
    "trn1": ("trn1.2xlarge", "trn1.32xlarge"),
}
_HOURLY_USD = {
    "p3.2xlarge": 3.06,
    "p3.8xlarge": 12.24,
    "p3.16xlarge": 24.48,
    "p4d.24xlarge": 32.77,
    "p5.48xlarge": 98.32,
    "g4dn.xlarge": 0.526,
    "g4dn.2xlarge": 0.752,
    "g4dn.12xlarge": 3.912,
    "g4dn.metal": 7.824,
    "g5.xlarge": 1.006,
    "g5.4xlarge": 1.624,
    "g5.12xlarge": 5.672,
    "g5.48xlarge": 16.288,
    "g6.xlarge": 0.805,
    "g6.12xlarge": 4.602,
    "g6.48xlarge": 13.35,
    "inf2.xlarge": 0.758,
    "inf2.24xlarge": 6.49,
    "inf2.48xlarge": 12.98,
    "trn1.2xlarge": 1.34,
    "trn1.32xlarge": 21.50,
}


def hourly_price(instance_type: str) -> float:
    """Approximate on-demand USD per hour (for the Cost Explorer curve only)."""
    if instance_type in _HOURLY_USD:
        return _HOURLY_USD[instance_type]
    family, _, size = instance_type.partition(".")
    digits = re.match(r"\d*", size)
    multiplier = 96.0 if size == "metal" else float(digits.group(0) if digits and digits.group(0) else 1)
    per_unit = 0.9 if family.startswith(("p", "g", "inf", "trn")) else 0.05
    return per_unit * multiplier
