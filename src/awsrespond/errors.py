"""One exception root; subclasses say where the problem is."""

from __future__ import annotations


class AwsRespondError(Exception):
    """Root of every error awsrespond raises on purpose."""


class UsageError(AwsRespondError):
    """The user asked for something that cannot be done as asked (exit code 2)."""


class InputError(AwsRespondError):
    """A file or record could not be read."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class AwsCallError(AwsRespondError):
    """An AWS API call failed in a way the caller must hear about."""

    def __init__(self, message: str, *, operation: str, region: str | None, code: str = "") -> None:
        where = f"{operation} in {region}" if region else operation
        super().__init__(f"{where}: {message}")
        self.operation = operation
        self.region = region
        self.code = code


class SafetyError(AwsRespondError):
    """A safety rule refused the request (wrong account, emulator check failed, ...)."""
