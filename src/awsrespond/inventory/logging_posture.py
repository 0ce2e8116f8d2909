"""Logging and detection posture: CloudTrail trails and GuardDuty detectors, region by region.

Attackers stop trails and disable detectors; the judge needs every region's posture, including the
regions where nothing is configured.
"""

from __future__ import annotations

from awsrespond.inventory.base import CollectContext, Collector, Item, collector
from awsrespond.inventory.helpers import SubCalls, all_pages, items_of, when, when_iso


@collector
class Trails(Collector):
    name = "cloudtrail.trails"
    scope = "regional"
    resource_types = ("AWS::CloudTrail::Trail",)
    permissions = ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus")

    def collect(self, ctx: CollectContext) -> None:
        # Shadow trails are included because an organization trail seen from a member account is
        # one; each trail is then reported only by its home region, so it appears once.
        response = ctx.client("cloudtrail").describe_trails(includeShadowTrails=True)
        listing = ctx.keep("cloudtrail", "DescribeTrails", response)
        status_calls = SubCalls(ctx, self.name)
        for trail in response.get("trailList", []):
            home_region = trail.get("HomeRegion") or ctx.region
            if home_region != ctx.region:
                continue
            trail_name = trail["Name"]
            trail_arn = trail.get("TrailARN")
            evidence = [listing]
            # Another account's (organization) trail is only addressable by its ARN.
            status, ref = status_calls.call(
                "cloudtrail", "GetTrailStatus", trail_name, Name=trail_arn or trail_name
            )
            if ref is not None:
                evidence.append(ref)
            status = status or {}
            owner = trail_arn.split(":")[4] if trail_arn and trail_arn.count(":") >= 5 else ctx.account_id
            ctx.add(
                Item(
                    type="AWS::CloudTrail::Trail",
                    id=trail_arn or trail_name,
                    region=ctx.region,
                    arn=trail_arn,
                    name=trail_name,
                    data={
                        "name": trail_name,
                        "home_region": home_region,
                        "owner_account_id": owner,
                        "is_multi_region": trail.get("IsMultiRegionTrail"),
                        "is_organization_trail": trail.get("IsOrganizationTrail"),
                        "include_global_service_events": trail.get("IncludeGlobalServiceEvents"),
                        "log_file_validation": trail.get("LogFileValidationEnabled"),
                        "s3_bucket": trail.get("S3BucketName"),
                        "s3_key_prefix": trail.get("S3KeyPrefix"),
                        "is_logging": status.get("IsLogging"),
                        "latest_delivery_time": when_iso(status.get("LatestDeliveryTime")),
                        "latest_delivery_error": status.get("LatestDeliveryError"),
                        "stop_logging_time": when_iso(status.get("StopLoggingTime")),
                        "start_logging_time": when_iso(status.get("StartLoggingTime")),
                    },
                    evidence=evidence,
                )
            )


@collector
class GuardDutyDetectors(Collector):
    name = "guardduty.detectors"
    scope = "regional"
    resource_types = ("AWS::GuardDuty::Detector",)
    permissions = ("guardduty:ListDetectors", "guardduty:GetDetector")

    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "guardduty", "ListDetectors")
        listing = ctx.keep("guardduty", "ListDetectors", pages)
        detector_ids = [str(d) for d in items_of(pages, "DetectorIds")]
        if not detector_ids:
            ctx.add(
                Item(
                    type="AWS::GuardDuty::Detector",
                    id="none",
                    region=ctx.region,
                    data={"status": "NONE"},
                    evidence=[listing],
                )
            )
            return
        detector_calls = SubCalls(ctx, self.name)
        for detector_id in detector_ids:
            evidence = [listing]
            detector, ref = detector_calls.call(
                "guardduty", "GetDetector", detector_id, DetectorId=detector_id
            )
            if ref is not None:
                evidence.append(ref)
            detector = detector or {}
            ctx.add(
                Item(
                    type="AWS::GuardDuty::Detector",
                    id=detector_id,
                    region=ctx.region,
                    arn=ctx.arn("guardduty", f"detector/{detector_id}"),
                    created=when(detector.get("CreatedAt")),
                    data={
                        "detector_id": detector_id,
                        "status": detector.get("Status"),
                        "created_at": when_iso(detector.get("CreatedAt")),
                        "updated_at": when_iso(detector.get("UpdatedAt")),
                        "finding_publishing_frequency": detector.get("FindingPublishingFrequency"),
                    },
                    evidence=evidence,
                )
            )
