"""From the case's findings to a reviewed containment plan."""
