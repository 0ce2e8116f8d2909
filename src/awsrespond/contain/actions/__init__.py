"""The action modules; importing this package registers every action class."""

from awsrespond.contain.actions import base

__all__ = ["base"]
