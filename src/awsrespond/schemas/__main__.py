"""Regenerate the shipped JSON Schemas: ``python -m awsrespond.schemas``."""

from pathlib import Path

from awsrespond.schemas import write_all

write_all(Path(__file__).parent)
