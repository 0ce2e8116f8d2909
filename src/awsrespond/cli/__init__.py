"""The command line: argument parsing and rendering only; the work is in the library."""

from awsrespond.cli.app import app, main

__all__ = ["app", "main"]
