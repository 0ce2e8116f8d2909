"""Containment and eradication: plan, apply, undo (issue 4; DESIGN.md section 3)."""
