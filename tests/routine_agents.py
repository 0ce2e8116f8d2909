"""User agents as AWS SDKs, the CLI, Terraform, the console and AWS services send them.

Versions are drawn per persona from the seed, so no detection can key on one exact string.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

_KERNELS = (
    "5.10.210-201.852.amzn2.x86_64", "6.1.79-99.164.amzn2023.x86_64", "5.15.0-1055-aws", "6.5.0-1016-azure",
    "4.14.336-257.562.amzn2.x86_64", "6.1.84-99.169.amzn2023.x86_64",
)
_BROWSERS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
    "Safari/537.36 Edg/{v}.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} "
    "Safari/605.1.15",
)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def kebab(operation: str) -> str:
    """``DescribeInstances`` -> ``describe-instances`` (the CLI's command names)."""
    return _CAMEL.sub("-", re.sub(r"\d{8}(v\d)?$", "", operation)).lower()


def browser(rng: random.Random) -> str:
    return rng.choice(_BROWSERS).format(v=rng.randint(118, 131), m=rng.randint(1, 6))


@dataclass(frozen=True)
class Agent:
    """One client's user agent; ``for_call`` adds what that client puts per call (CLI command, SDK API)."""

    kind: str
    base: str
    sdk_version: str = ""

    def for_call(self, service: str, operation: str) -> str:
        if self.kind == "cli":
            return f"{self.base} md/command#{service}.{kebab(operation)}"
        if self.kind in ("node", "go", "terraform"):
            return f"{self.base} api/{service}#{self.sdk_version}"
        return self.base


def boto3(rng: random.Random, *, exec_env: str | None = None) -> Agent:
    minor = rng.choice(("1.28", "1.29", "1.33", "1.34", "1.35"))
    version = f"{minor}.{rng.randint(10, 160)}"
    python = rng.choice(("3.9.18", "3.10.13", "3.11.8", "3.11.9", "3.12.2", "3.12.4"))
    env = f" exec-env/{exec_env}" if exec_env else ""
    return Agent(
        "boto3",
        f"Boto3/{version} md/Botocore#{version} ua/2.0 os/linux#{rng.choice(_KERNELS)} md/arch#x86_64 "
        f"lang/python#{python} md/pyimpl#CPython{env} cfg/retry-mode#legacy Botocore/{version}",
    )


def aws_cli(rng: random.Random, *, platform: str | None = None) -> Agent:
    where = platform or rng.choice(
        ("os/macos#23.4.0 md/arch#arm64", "os/macos#24.1.0 md/arch#arm64", "os/linux#6.8.0-45-generic md/arch#x86_64",
         "os/windows#10 md/arch#amd64")
    )
    return Agent(
        "cli",
        f"aws-cli/2.{rng.randint(13, 22)}.{rng.randint(0, 40)} md/awscrt#0.{rng.randint(19, 22)}.{rng.randint(0, 19)} "
        f"ua/2.0 {where} lang/python#3.11.{rng.randint(6, 9)} md/pyimpl#CPython cfg/retry-mode#standard "
        f"md/installer#{rng.choice(('exe', 'source'))} md/prompt#off",
    )


def java(rng: random.Random, *, exec_env: str | None = None) -> Agent:
    jdk = f"17.0.{rng.randint(8, 12)}"
    env = f" exec-env/{exec_env}" if exec_env else ""
    return Agent(
        "java",
        f"aws-sdk-java/2.{rng.randint(20, 28)}.{rng.randint(1, 40)} Linux/{rng.choice(_KERNELS)} "
        f"OpenJDK_64-Bit_Server_VM/{jdk}+7-LTS Java/{jdk} vendor/Amazon.com_Inc.{env} io/sync http/Apache "
        "cfg/retry-mode/legacy",
    )


def node(rng: random.Random, *, exec_env: str | None = None) -> Agent:
    version = f"3.{rng.randint(450, 650)}.0"
    env = f" exec-env/{exec_env}" if exec_env else ""
    return Agent(
        "node",
        f"aws-sdk-js/{version} ua/2.0 os/linux#{rng.choice(_KERNELS)} lang/js "
        f"md/nodejs#{rng.choice(('18', '20', '22'))}.{rng.randint(1, 17)}.{rng.randint(0, 3)}{env}",
        version,
    )


def go(rng: random.Random) -> Agent:
    version = f"1.{rng.randint(20, 60)}.{rng.randint(0, 9)}"
    return Agent(
        "go",
        f"aws-sdk-go-v2/1.{rng.randint(24, 32)}.{rng.randint(0, 9)} os/linux lang/go#1.22.{rng.randint(0, 8)} "
        "md/GOOS#linux md/GOARCH#amd64",
        version,
    )


def terraform(rng: random.Random) -> Agent:
    return Agent(
        "terraform",
        f"APN/1.0 HashiCorp/1.0 Terraform/1.{rng.randint(5, 9)}.{rng.randint(0, 6)} (+https://www.terraform.io) "
        f"terraform-provider-aws/5.{rng.randint(30, 80)}.0 (+https://registry.terraform.io/providers/hashicorp/aws) "
        f"aws-sdk-go-v2/1.{rng.randint(24, 32)}.{rng.randint(0, 9)} os/linux lang/go#1.22.{rng.randint(0, 8)} "
        "md/GOOS#linux md/GOARCH#amd64",
        f"1.{rng.randint(20, 50)}.{rng.randint(0, 9)}",
    )


def ssm_agent(rng: random.Random) -> str:
    return (
        f"aws-sdk-go/1.{rng.randint(44, 55)}.{rng.randint(0, 300)} (go1.{rng.randint(20, 22)}.{rng.randint(0, 9)}; "
        f"linux; amd64) amazon-ssm-agent/3.3.{rng.randint(100, 1500)}.0"
    )


def sdk(rng: random.Random, *, exec_env: str | None = None) -> Agent:
    """An application's SDK: Python, Java, Node or Go."""
    kind = rng.choice(("boto3", "java", "node", "go"))
    if kind == "boto3":
        return boto3(rng, exec_env=exec_env)
    if kind == "java":
        return java(rng, exec_env=exec_env)
    if kind == "node":
        return node(rng, exec_env=exec_env)
    return go(rng)
