"""User agents as families: the client, not its version (``aws-cli/2.15.3 ...`` and ``aws-cli/2.17.0`` are one).

The family is the client (aws-cli, boto3, terraform, a browser...) plus the execution environment the
SDK reports (``exec-env/AWS_Lambda_python3.12`` -> ``+lambda``): an application's credentials used from
outside its Lambda function or container show up as a new family even with the same SDK.
AWS services acting for the caller (``cloudformation.amazonaws.com``, ``AWS Internal``) have no family.
"""

from __future__ import annotations

import re

# The leftmost known product names the client: Terraform's agent names the Go SDK after it, the AWS
# CLI v1 names botocore after it, boto3 names botocore after it.
_KNOWN_FAMILIES = {
    "terraform": r"terraform",
    "pulumi": r"pulumi",
    "aws_cdk": r"aws-cdk|awscdk",
    "aws_cli": r"aws-cli/",
    "aws_powershell": r"aws-powershell|awspowershell",
    "boto3": r"boto3/",
    "botocore": r"botocore/",
    "aws_sdk_go_v2": r"aws-sdk-go-v2",
    "aws_sdk_go": r"aws-sdk-go/",
    "aws_sdk_java": r"aws-sdk-java",
    "aws_sdk_js": r"aws-sdk-js|aws-sdk-nodejs",
    "aws_sdk_dotnet": r"aws-sdk-dotnet|aws-sdk-net",
    "aws_sdk_ruby": r"aws-sdk-ruby",
    "aws_sdk_php": r"aws-sdk-php",
    "aws_sdk_rust": r"aws-sdk-rust",
    "aws_sdk_cpp": r"aws-sdk-cpp",
}
_KNOWN = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _KNOWN_FAMILIES.items()), re.IGNORECASE)
_SERVICE = re.compile(r"[a-z0-9.-]+\.amazonaws\.com", re.IGNORECASE)
_CONSOLE = re.compile(r"s3console|aws-internal/|^console\.|signin\.aws", re.IGNORECASE)
_EXEC_ENV = re.compile(r"exec-env/(?:AWS_)?([A-Za-z]+)", re.IGNORECASE)
_PRODUCT = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
_VERSION_TAIL = re.compile(r"[-_.]?(?:v?\d[\w.]*|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})$", re.IGNORECASE)


def ua_family(user_agent: str | None) -> str | None:
    """The client family of a ``userAgent``, or None for AWS services and empty agents."""
    if not user_agent:
        return None
    text = user_agent.strip()
    if _CONSOLE.search(text):
        return "console"
    if not text or text.lower().startswith("aws internal") or _SERVICE.fullmatch(text):
        return None
    if text.lower().startswith("mozilla/"):
        return "browser"
    known = _KNOWN.search(text)
    family = known.lastgroup.replace("_", "-") if known and known.lastgroup else None
    if family is None:
        product = _PRODUCT.search(text.lstrip("[("))
        if product is None:
            return None
        family = _VERSION_TAIL.sub("", product.group(0)).lower() or product.group(0).lower()
    env = _EXEC_ENV.search(text)
    return f"{family}+{env.group(1).lower()}" if env else family
