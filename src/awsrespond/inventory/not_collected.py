"""Resource types awsrespond does not collect yet. They are named in every output as coverage gaps."""

from __future__ import annotations

from awsrespond.coverage import CoverageGap, GapKind

NOT_COLLECTED: tuple[tuple[str, str], ...] = (
    ("AWS::ECS::Cluster", "ECS clusters, services and task definitions"),
    ("AWS::EKS::Cluster", "EKS clusters and node groups"),
    ("AWS::SageMaker::NotebookInstance", "SageMaker notebooks, endpoints and training jobs"),
    ("AWS::Lightsail::Instance", "Lightsail instances"),
    ("AWS::SES::EmailIdentity", "SES identities and sending quota (spam abuse)"),
    ("AWS::SSO::PermissionSet", "IAM Identity Center users, groups and permission sets"),
    ("AWS::S3::BucketPolicy", "S3 bucket policies and ACLs (resource policies)"),
    ("AWS::KMS::Key", "KMS key policies and grants"),
    ("AWS::SQS::QueuePolicy", "SQS queue policies"),
    ("AWS::SNS::TopicPolicy", "SNS topic policies"),
    ("AWS::SecretsManager::Secret", "Secrets Manager secrets and resource policies"),
    ("AWS::RDS::DBInstance", "RDS instances and shared DB snapshots"),
    ("AWS::Batch::ComputeEnvironment", "AWS Batch compute environments"),
    ("AWS::Bedrock::ModelInvocation", "Bedrock model access and invocation logging"),
    ("AWS::RolesAnywhere::TrustAnchor", "IAM Roles Anywhere trust anchors"),
    ("AWS::Organizations::Account", "Organizations membership changes (run per account)"),
)


def not_collected_gaps() -> list[CoverageGap]:
    return [
        CoverageGap(kind=GapKind.NOT_COLLECTED, scope=rtype, region="*", message=f"not collected yet: {what}")
        for rtype, what in NOT_COLLECTED
    ]
