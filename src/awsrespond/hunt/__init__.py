"""Hunting in CloudTrail: Sigma rules and behaviour analytics over the events table, attacker
sessions, the timeline and attribution (manual step 1.3)."""
