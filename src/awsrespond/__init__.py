"""awsrespond: incident response for a compromised AWS account.

The library is the product; ``awsrespond.cli`` is a thin layer over it.
"""

from awsrespond.errors import AwsCallError, AwsRespondError, InputError, UsageError
from awsrespond.findings import Classification, Finding, ResourceRef, Severity

__version__ = "0.1.0"

__all__ = [
    "AwsCallError",
    "AwsRespondError",
    "Classification",
    "Finding",
    "InputError",
    "ResourceRef",
    "Severity",
    "UsageError",
    "__version__",
]
