"""Redaction of secrets that AWS returns inside otherwise harmless descriptions (DESIGN.md 3.16).

The value is replaced by a marker carrying its SHA-256, so two captures can still be compared
without the secret ever being written to the case.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Keys whose values are secrets wherever they appear in an AWS response.
SECRET_KEYS = frozenset(
    {
        "SecretAccessKey",
        "SessionToken",
        "Password",
        "PasswordData",
        "UserData",
        "SecretString",
        "SecretBinary",
        "PrivateKey",
        "KeyMaterial",
        "Base32StringSeed",
        "QRCodePNG",
    }
)
# Keys whose *children* are secret: Lambda ``Environment.Variables``, container ``environment``.
SECRET_CONTAINERS = frozenset({"Variables", "environment", "secrets"})


def _marker(value: Any) -> dict[str, str]:
    blob = json.dumps(value, sort_keys=True, default=str).encode()
    return {"redacted": "sha256:" + hashlib.sha256(blob).hexdigest()}


def redact(value: Any) -> Any:
    """A deep copy of ``value`` with secret values replaced by a hash marker."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in SECRET_KEYS and item not in (None, ""):
                out[key] = _marker(item)
            elif key in SECRET_CONTAINERS and isinstance(item, dict | list):
                out[key] = _redact_container(item)
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _redact_container(item: dict[str, Any] | list[Any]) -> Any:
    if isinstance(item, dict):
        return {name: _marker(val) for name, val in item.items()}
    # ECS-style [{"name": ..., "value": ...}]: keep names, hash values.
    return [
        {**entry, "value": _marker(entry.get("value"))} if isinstance(entry, dict) else _marker(entry)
        for entry in item
    ]
