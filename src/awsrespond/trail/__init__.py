"""CloudTrail sources - local files, S3 delivery, the LookupEvents API and the case's own store -
normalised into one DuckDB events table."""

from awsrespond.trail.events import EventStore, LoadReport
from awsrespond.trail.files import FileProblem, TrailFile, find_trail_files, read_trail_file
from awsrespond.trail.s3 import S3Location, S3TrailSource

__all__ = [
    "EventStore",
    "FileProblem",
    "LoadReport",
    "S3Location",
    "S3TrailSource",
    "TrailFile",
    "find_trail_files",
    "read_trail_file",
]
