"""CloudTrail sources: files on disk (this module), and later S3, LookupEvents and the case's store."""

from awsrespond.trail.files import FileProblem, TrailFile, find_trail_files, read_trail_file

__all__ = ["FileProblem", "TrailFile", "find_trail_files", "read_trail_file"]
