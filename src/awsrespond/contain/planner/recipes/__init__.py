"""Recipe modules; importing this package registers every recipe."""

from awsrespond.contain.planner.recipes import (
    compute,
    compute_artefacts,
    iam_cut,
    iam_principals,
    iam_reverts,
    logs,
)

__all__ = ["compute", "compute_artefacts", "iam_cut", "iam_principals", "iam_reverts", "logs"]
