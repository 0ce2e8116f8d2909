"""User agents as families: the client, not its version (``aws-cli/2.15.3 ...`` and ``aws-cli/2.17.0`` are one).

The family is the client (aws-cli, boto3, terraform, a browser...) plus the execution environment the
SDK reports (``exec-env/AWS_Lambda_python3.12`` -> ``+lambda``): an application's credentials used from
outside its Lambda function or container show up as a new family even with the same SDK.
AWS services acting for the caller (``cloudformation.amazonaws.com``, ``AWS Internal``) have no family.
"""

from __future__ import annotations

import re

# Most specific first: Terraform's agent also names the Go SDK, the AWS CLI v1 names botocore.
_KNOWN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), family)
    for pattern, family in (
        (r"terraform", "terraform"),
        (r"pulumi", "pulumi"),
        (r"aws-cdk|awscdk", "aws-cdk"),
        (r"aws-cli/", "aws-cli"),
        (r"aws-powershell|awspowershell", "aws-powershell"),
        (r"boto3/", "boto3"),
        (r"botocore/", "botocore"),
        (r"aws-sdk-go-v2", "aws-sdk-go-v2"),
        (r"aws-sdk-go/", "aws-sdk-go"),
        (r"aws-sdk-java", "aws-sdk-java"),
        (r"aws-sdk-js|aws-sdk-nodejs", "aws-sdk-js"),
        (r"aws-sdk-dotnet|aws-sdk-net", "aws-sdk-dotnet"),
        (r"aws-sdk-ruby", "aws-sdk-ruby"),
        (r"aws-sdk-php", "aws-sdk-php"),
        (r"aws-sdk-rust", "aws-sdk-rust"),
        (r"aws-sdk-cpp", "aws-sdk-cpp"),
    )
)
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
    family = next((name for pattern, name in _KNOWN if pattern.search(text)), None)
    if family is None:
        product = _PRODUCT.search(text.lstrip("[("))
        if product is None:
            return None
        family = _VERSION_TAIL.sub("", product.group(0)).lower() or product.group(0).lower()
    env = _EXEC_ENV.search(text)
    return f"{family}+{env.group(1).lower()}" if env else family
