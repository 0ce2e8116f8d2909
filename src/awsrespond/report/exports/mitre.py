"""The ATT&CK tactic of each technique the detections name, for OCSF ``attacks`` and ASFF ``Types``."""

from __future__ import annotations

# technique (without sub-technique) -> (tactic name, ASFF namespace/category)
TACTICS: dict[str, tuple[str, str]] = {
    "T1078": ("Initial Access", "TTPs/Initial Access"),
    "T1190": ("Initial Access", "TTPs/Initial Access"),
    "T1199": ("Initial Access", "TTPs/Initial Access"),
    "T1566": ("Initial Access", "TTPs/Initial Access"),
    "T1059": ("Execution", "TTPs/Execution"),
    "T1648": ("Execution", "TTPs/Execution"),
    "T1651": ("Execution", "TTPs/Execution"),
    "T1098": ("Persistence", "TTPs/Persistence"),
    "T1136": ("Persistence", "TTPs/Persistence"),
    "T1525": ("Persistence", "TTPs/Persistence"),
    "T1484": ("Privilege Escalation", "TTPs/Privilege Escalation"),
    "T1548": ("Privilege Escalation", "TTPs/Privilege Escalation"),
    "T1535": ("Defense Evasion", "TTPs/Defense Evasion"),
    "T1562": ("Defense Evasion", "TTPs/Defense Evasion"),
    "T1578": ("Defense Evasion", "TTPs/Defense Evasion"),
    "T1070": ("Defense Evasion", "TTPs/Defense Evasion"),
    "T1550": ("Lateral Movement", "TTPs/Lateral Movement"),
    "T1021": ("Lateral Movement", "TTPs/Lateral Movement"),
    "T1528": ("Credential Access", "TTPs/Credential Access"),
    "T1552": ("Credential Access", "TTPs/Credential Access"),
    "T1606": ("Credential Access", "TTPs/Credential Access"),
    "T1087": ("Discovery", "TTPs/Discovery"),
    "T1526": ("Discovery", "TTPs/Discovery"),
    "T1580": ("Discovery", "TTPs/Discovery"),
    "T1619": ("Discovery", "TTPs/Discovery"),
    "T1530": ("Collection", "TTPs/Collection"),
    "T1105": ("Command and Control", "TTPs/Command and Control"),
    "T1048": ("Exfiltration", "Effects/Data Exfiltration"),
    "T1537": ("Exfiltration", "Effects/Data Exfiltration"),
    "T1485": ("Impact", "Effects/Data Destruction"),
    "T1490": ("Impact", "Effects/Data Destruction"),
    "T1565": ("Impact", "Effects/Data Destruction"),
    "T1496": ("Impact", "Effects/Resource Consumption"),
    "T1531": ("Impact", "Effects/Denial of Service"),
}


def tactic(technique: str) -> tuple[str, str] | None:
    """(tactic name, ASFF namespace/category) of ``T1098.001`` or ``T1098``; None when unknown."""
    return TACTICS.get(technique.split(".", 1)[0].strip().upper())
