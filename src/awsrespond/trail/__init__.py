"""CloudTrail sources (local files so far; S3, LookupEvents and the case's store come with hunt)
normalised into one DuckDB events table."""

from awsrespond.trail.events import EventStore, LoadReport
from awsrespond.trail.files import FileProblem, TrailFile, find_trail_files, read_trail_file

__all__ = ["EventStore", "FileProblem", "LoadReport", "TrailFile", "find_trail_files", "read_trail_file"]
