"""Judging what was collected (and, later, what CloudTrail shows) into findings."""
