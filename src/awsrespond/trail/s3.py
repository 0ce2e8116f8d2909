"""CloudTrail delivered to S3, read object by object and pruned by the date in the key.

Layouts: ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz`` and, for an
organization trail, ``AWSLogs/o-xxxx/<account>/CloudTrail/...``, under an optional prefix. With
an incident window only the days in it are listed, starting the day before ``--since``: CloudTrail
delivers up to about 15 minutes late, so an event can sit in the previous day's folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error
from awsrespond.errors import UsageError
from awsrespond.timeutil import now_utc
from awsrespond.trail.files import FileProblem, TrailFile, parse_trail_bytes

CLOUDTRAIL_DIR = "CloudTrail/"
_MAX_DEPTH = 4  # prefix/AWSLogs/o-org/account/CloudTrail/
_LIST_WORKERS = 16


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        if not url.startswith("s3://") or len(url) <= len("s3://"):
            raise UsageError(f"not an S3 location: {url!r} (expected s3://bucket/prefix)")
        bucket, _, prefix = url[len("s3://"):].partition("/")
        return cls(bucket=bucket, prefix=prefix)

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


@dataclass
class S3Listing:
    keys: list[str] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)


def window_days(since: datetime, until: datetime | None) -> list[date]:
    """Every day folder that can hold events of [since, until]: from the day before ``since``."""
    first = since.date() - timedelta(days=1)
    last = (until or now_utc()).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class S3TrailSource:
    def __init__(self, factory: ClientFactory, location: S3Location) -> None:
        self.s3 = factory.client("s3")
        self.location = location

    def _prefixes(self, prefix: str) -> list[str]:
        found: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.location.bucket, Prefix=prefix, Delimiter="/"
        ):
            found.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        return found

    def _keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    def _region_folders(self) -> list[str]:
        """Every ``.../CloudTrail/<region>/`` folder under the location."""
        prefix = self.location.prefix
        if CLOUDTRAIL_DIR in prefix:  # the user pointed inside a trail already
            root = prefix[: prefix.index(CLOUDTRAIL_DIR) + len(CLOUDTRAIL_DIR)]
            region = prefix[len(root):].split("/", 1)[0]
            return [f"{root}{region}/"] if region else self._prefixes(root)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        roots: list[str] = []
        level = [prefix]
        for _ in range(_MAX_DEPTH + 1):  # prefix/AWSLogs/[o-org/]account/CloudTrail/
            children = [child for parent in level for child in self._prefixes(parent)]
            roots.extend(c for c in children if c.endswith("/" + CLOUDTRAIL_DIR) or c == CLOUDTRAIL_DIR)
            level = [c for c in children if not c.endswith(CLOUDTRAIL_DIR) and "CloudTrail-Digest" not in c]
            if not level:
                break
        return [region for root in roots for region in self._prefixes(root)]

    def find_objects(self, since: datetime | None, until: datetime | None = None) -> S3Listing:
        """The log objects of the window (all of them without ``since``)."""
        listing = S3Listing()
        try:
            folders = self._region_folders()
            if not folders:
                listing.problems.append(FileProblem(self.location.url(self.location.prefix), None,
                                                    "no AWSLogs/<account>/CloudTrail/<region>/ folder here"))
            prefixes = folders if since is None else [
                f"{folder}{day:%Y/%m/%d}/" for folder in folders for day in window_days(since, until)]
            # One listing per region and day: independent, so they go out together (at real-AWS
            # latency a 30-day, 17-region window is hundreds of round trips).
            with ThreadPoolExecutor(max_workers=max(1, min(_LIST_WORKERS, len(prefixes)))) as pool:
                for keys in pool.map(self._keys, prefixes):
                    listing.keys.extend(keys)
        except (ClientError, BotoCoreError) as exc:
            listing.problems.append(FileProblem(self.location.url(self.location.prefix), None,
                                                f"s3:ListObjectsV2: {describe_error(exc)}"))
        listing.keys = [k for k in listing.keys if k.endswith((".json.gz", ".json")) and "CloudTrail-Digest" not in k]
        return listing

    def read(self, keys: list[str]) -> Iterator[TrailFile]:
        """One object at a time, so memory holds one file, not the whole trail."""
        for key in keys:
            url = self.location.url(key)
            try:
                body = self.s3.get_object(Bucket=self.location.bucket, Key=key)["Body"].read()
            except (ClientError, BotoCoreError) as exc:
                yield TrailFile(path=url, problems=[FileProblem(url, None, f"s3:GetObject: {describe_error(exc)}")])
                continue
            yield parse_trail_bytes(body, url)
