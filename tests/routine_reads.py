"""Read calls the routine personas make: what a console page, a CLI session or a Terraform plan reads.

Each entry is ``(service, operation, request builder)``; builders take the account and return the
``requestParameters`` CloudTrail records (None where it records none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.routine_account import Account

Request = Callable[[Account], dict[str, Any] | None]
Read = tuple[str, str, Request]


def _none(_: Account) -> None:
    return None


def _instances(account: Account) -> dict[str, Any]:
    return {"instancesSet": {}, "filterSet": {"items": [{"name": "tag:Name", "valueSet": {"items": [
        {"value": f"{account.env}-*"}]}}]}}


def _function(account: Account) -> dict[str, Any]:
    return {"functionName": account.rng.choice(account.functions)}


def _bucket(account: Account) -> dict[str, Any]:
    bucket = account.rng.choice(account.buckets)
    return {"bucketName": bucket, "Host": f"{bucket}.s3.{account.home}.amazonaws.com"}


def _table(account: Account) -> dict[str, Any]:
    return {"tableName": account.rng.choice(account.tables)}


def _queue(account: Account) -> dict[str, Any]:
    return {"queueUrl": account.queue_url(account.rng.choice(account.queues)), "attributeNames": ["All"]}


def _log_group(account: Account) -> dict[str, Any]:
    return {"logGroupName": f"/aws/lambda/{account.rng.choice(account.functions)}",
            "startTime": 0, "interleaved": True}


def _key(account: Account) -> dict[str, Any]:
    return {"keyId": account.rng.choice(account.kms_keys)}


def _cost(_: Account) -> dict[str, Any]:
    return {"granularity": "DAILY", "metrics": ["UnblendedCost"], "groupBy": [{"type": "DIMENSION", "key": "SERVICE"}]}


def _secret(account: Account) -> dict[str, Any]:
    return {"secretId": account.rng.choice(list(account.secrets))}


CONSOLE: list[Read] = [
    ("ec2", "DescribeInstances", _instances),
    ("ec2", "DescribeInstanceStatus", lambda a: {"instancesSet": {}, "filterSet": {}, "includeAllInstances": True}),
    ("ec2", "DescribeSecurityGroups", lambda a: {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}),
    ("ec2", "DescribeVolumes", lambda a: {"volumeSet": {}, "filterSet": {}}),
    ("ec2", "DescribeVpcs", lambda a: {"vpcSet": {}, "filterSet": {}}),
    ("ec2", "DescribeSubnets", lambda a: {"subnetSet": {}, "filterSet": {}}),
    ("ec2", "DescribeAddresses", lambda a: {"publicIpsSet": {}, "allocationIdsSet": {}, "filterSet": {}}),
    ("ec2", "DescribeLaunchTemplates", lambda a: {"DescribeLaunchTemplatesRequest": {"MaxResults": 100}}),
    ("cloudwatch", "GetMetricData", lambda a: {"startTime": "", "endTime": "", "scanBy": "TimestampAscending"}),
    ("cloudwatch", "DescribeAlarms", lambda a: {"maxRecords": 100}),
    ("logs", "DescribeLogGroups", lambda a: {"limit": 50}),
    ("logs", "FilterLogEvents", _log_group),
    ("logs", "GetLogEvents", _log_group),
    ("logs", "StartQuery", lambda a: {"logGroupNames": [f"/aws/lambda/{a.rng.choice(a.functions)}"],
                                      "queryString": "fields @timestamp, @message | sort @timestamp desc"}),
    ("lambda", "ListFunctions20150331", _none),
    ("lambda", "GetFunction20150331v2", _function),
    ("lambda", "GetFunctionConfiguration20150331v2", _function),
    ("s3", "ListBuckets", lambda a: {"Host": "s3.amazonaws.com"}),
    ("s3", "GetBucketLocation", lambda a: dict(_bucket(a), location="")),
    ("s3", "GetBucketVersioning", lambda a: dict(_bucket(a), versioning="")),
    ("dynamodb", "DescribeTable", _table),
    ("dynamodb", "ListTables", _none),
    ("ecs", "ListClusters", _none),
    ("ecs", "DescribeServices", lambda a: {"cluster": f"{a.env}-cluster", "services": [a.rng.choice(a.tables)]}),
    ("cloudformation", "DescribeStacks", _none),
    ("cloudformation", "ListStacks", lambda a: {"stackStatusFilter": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]}),
    ("sqs", "ListQueues", _none),
    ("sqs", "GetQueueAttributes", _queue),
    ("rds", "DescribeDBInstances", _none),
    ("ssm", "DescribeInstanceInformation", lambda a: {"maxResults": 50}),
    ("iam", "GetRole", lambda a: {"roleName": f"{a.env}-{a.rng.choice(a.tables).split('-')[-1]}-instance-role"}),
    ("iam", "ListRoles", lambda a: {"maxItems": 100}),
    ("ce", "GetCostAndUsage", _cost),
]

CLI: list[Read] = [
    ("sts", "GetCallerIdentity", _none),
    ("ec2", "DescribeInstances", _instances),
    ("ec2", "DescribeSecurityGroups", lambda a: {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}),
    ("ec2", "DescribeImages", lambda a: {"ownersSet": {"items": [{"owner": "self"}]}, "imagesSet": {}}),
    ("logs", "FilterLogEvents", _log_group),
    ("logs", "DescribeLogStreams", lambda a: {"logGroupName": f"/aws/lambda/{a.rng.choice(a.functions)}",
                                             "orderBy": "LastEventTime", "descending": True}),
    ("lambda", "GetFunction20150331v2", _function),
    ("lambda", "ListFunctions20150331", _none),
    ("s3", "ListBuckets", lambda a: {"Host": "s3.amazonaws.com"}),
    ("ecr", "GetAuthorizationToken", lambda a: {"registryIds": [a.account_id]}),
    ("ecr", "DescribeImages", lambda a: {"repositoryName": f"{a.slug}/{a.rng.choice(a.tables).split('-')[-1]}"}),
    ("ecs", "DescribeTasks", lambda a: {"cluster": f"{a.env}-cluster", "tasks": [a.ids.hex(32)]}),
    ("ecs", "ListTasks", lambda a: {"cluster": f"{a.env}-cluster"}),
    ("dynamodb", "DescribeTable", _table),
    ("sqs", "GetQueueAttributes", _queue),
    ("cloudformation", "DescribeStackEvents", lambda a: {"stackName": f"{a.slug}-{a.rng.choice(a.tables)}"}),
    ("ssm", "DescribeParameters", lambda a: {"maxResults": 50}),
    ("kms", "DescribeKey", _key),
    ("secretsmanager", "DescribeSecret", _secret),
]


def _role_name(account: Account) -> dict[str, Any]:
    return {"roleName": f"{account.env}-{account.rng.choice(account.tables).split('-')[-1]}-instance-role"}


def _sg(account: Account) -> dict[str, Any]:
    return {"securityGroupIdSet": {"items": [{"groupId": account.app_security_group}]}, "filterSet": {}}


def _policy(account: Account) -> dict[str, Any]:
    return {"policyArn": f"arn:aws:iam::{account.account_id}:policy/{account.slug}-"
                         f"{account.rng.choice(account.tables).split('-')[-1]}-access"}


def _bucket_read(field: str) -> Request:
    return lambda a: dict(_bucket(a), **{field: ""})


TERRAFORM: list[Read] = [
    ("iam", "GetRole", _role_name),
    ("iam", "ListRolePolicies", _role_name),
    ("iam", "ListAttachedRolePolicies", _role_name),
    ("iam", "GetRolePolicy", lambda a: dict(_role_name(a), policyName="inline")),
    ("iam", "GetPolicy", _policy),
    ("iam", "GetPolicyVersion", lambda a: dict(_policy(a), versionId=f"v{a.rng.randint(1, 5)}")),
    ("iam", "ListInstanceProfilesForRole", _role_name),
    ("iam", "GetOpenIDConnectProvider", lambda a: {
        "openIDConnectProviderArn": f"arn:aws:iam::{a.account_id}:oidc-provider/token.actions.githubusercontent.com"}),
    ("ec2", "DescribeSecurityGroups", _sg),
    ("ec2", "DescribeSecurityGroupRules", lambda a: {"DescribeSecurityGroupRulesRequest": {
        "Filter": {"Name": "group-id", "Value": {"content": a.app_security_group, "tag": 1}}}}),
    ("ec2", "DescribeVpcs", lambda a: {"vpcSet": {"items": [{"vpcId": a.vpc_id}]}, "filterSet": {}}),
    ("ec2", "DescribeVpcAttribute", lambda a: {"vpcId": a.vpc_id, "attribute": "enableDnsSupport"}),
    ("ec2", "DescribeSubnets", lambda a: {"subnetSet": {"items": [{"subnetId": s} for s in a.subnets]}}),
    ("ec2", "DescribeRouteTables", lambda a: {"routeTableIdSet": {}, "filterSet": {}}),
    ("ec2", "DescribeNetworkAcls", lambda a: {"networkAclIdSet": {}, "filterSet": {}}),
    ("ec2", "DescribeVpcEndpoints", lambda a: {"DescribeVpcEndpointsRequest": {}}),
    ("ec2", "DescribeNatGateways", lambda a: {"DescribeNatGatewaysRequest": {}}),
    ("ec2", "DescribeLaunchTemplateVersions", lambda a: {"DescribeLaunchTemplateVersionsRequest": {}}),
    ("lambda", "GetFunction20150331v2", _function),
    ("lambda", "GetPolicy20150331v2", _function),
    ("lambda", "ListVersionsByFunction20150331", _function),
    ("lambda", "GetFunctionCodeSigningConfig", _function),
    ("s3", "GetBucketPolicy", _bucket_read("policy")),
    ("s3", "GetBucketAcl", _bucket_read("acl")),
    ("s3", "GetBucketVersioning", _bucket_read("versioning")),
    ("s3", "GetBucketEncryption", _bucket_read("encryption")),
    ("s3", "GetBucketTagging", _bucket_read("tagging")),
    ("s3", "GetBucketLogging", _bucket_read("logging")),
    ("s3", "GetBucketPublicAccessBlock", _bucket_read("publicAccessBlock")),
    ("s3", "GetBucketLifecycle", _bucket_read("lifecycle")),
    ("s3", "GetBucketCors", _bucket_read("cors")),
    ("s3", "GetBucketWebsite", _bucket_read("website")),
    ("s3", "GetBucketOwnershipControls", _bucket_read("ownershipControls")),
    ("s3", "GetBucketReplication", _bucket_read("replication")),
    ("s3", "GetAccelerateConfiguration", _bucket_read("accelerate")),
    ("s3", "GetBucketRequestPayment", _bucket_read("requestPayment")),
    ("s3", "GetBucketObjectLockConfiguration", _bucket_read("object-lock")),
    ("dynamodb", "DescribeTable", _table),
    ("dynamodb", "DescribeContinuousBackups", _table),
    ("dynamodb", "DescribeTimeToLive", _table),
    ("dynamodb", "ListTagsOfResource", lambda a: {
        "resourceArn": f"arn:aws:dynamodb:{a.home}:{a.account_id}:table/{a.rng.choice(a.tables)}"}),
    ("sqs", "GetQueueAttributes", _queue),
    ("sqs", "ListQueueTags", lambda a: {"queueUrl": a.queue_url(a.rng.choice(a.queues))}),
    ("kms", "DescribeKey", _key),
    ("kms", "GetKeyPolicy", lambda a: dict(_key(a), policyName="default")),
    ("kms", "GetKeyRotationStatus", _key),
    ("kms", "ListResourceTags", _key),
    ("logs", "DescribeLogGroups", lambda a: {"logGroupNamePrefix": f"/aws/lambda/{a.slug}"}),
    ("logs", "ListTagsForResource", lambda a: {
        "resourceArn": f"arn:aws:logs:{a.home}:{a.account_id}:log-group:/aws/lambda/{a.rng.choice(a.functions)}"}),
    ("secretsmanager", "DescribeSecret", _secret),
    ("secretsmanager", "GetResourcePolicy", _secret),
    ("ssm", "GetParameter", lambda a: {"name": a.rng.choice(a.parameters), "withDecryption": True}),
    ("ssm", "DescribeParameters", lambda a: {"maxResults": 50}),
    ("ecs", "DescribeServices", lambda a: {"cluster": f"{a.env}-cluster", "services": [a.rng.choice(a.tables)]}),
    ("ecs", "DescribeTaskDefinition", lambda a: {"taskDefinition": a.rng.choice(a.tables)}),
    ("autoscaling", "DescribeAutoScalingGroups", lambda a: {"autoScalingGroupNames": [f"{a.env}-asg"]}),
    ("elasticloadbalancing", "DescribeLoadBalancers", _none),
    ("elasticloadbalancing", "DescribeTargetGroups", _none),
    ("elasticloadbalancing", "DescribeListeners", _none),
    ("cloudwatch", "DescribeAlarms", lambda a: {"alarmNames": [f"{a.env}-5xx"]}),
    ("sns", "GetTopicAttributes", lambda a: {"topicArn": f"arn:aws:sns:{a.home}:{a.account_id}:{a.env}-alerts"}),
]

MONITORING: list[Read] = [
    ("cloudwatch", "GetMetricData", lambda a: {"startTime": "", "endTime": "", "scanBy": "TimestampDescending"}),
    ("cloudwatch", "ListMetrics", lambda a: {"namespace": a.rng.choice(("AWS/EC2", "AWS/Lambda", "AWS/SQS"))}),
    ("ec2", "DescribeInstances", lambda a: {"instancesSet": {}, "filterSet": {}}),
    ("ec2", "DescribeVolumes", lambda a: {"volumeSet": {}, "filterSet": {}}),
    ("tagging", "GetResources", lambda a: {"resourcesPerPage": 100}),
    ("rds", "DescribeDBInstances", _none),
    ("elasticloadbalancing", "DescribeLoadBalancers", _none),
    ("lambda", "ListFunctions20150331", _none),
    ("sqs", "ListQueues", _none),
    ("dynamodb", "ListTables", _none),
    ("s3", "ListBuckets", lambda a: {"Host": "s3.amazonaws.com"}),
    ("s3", "GetBucketTagging", _bucket_read("tagging")),
    ("iam", "ListAccountAliases", _none),
]

CONFIG: list[Read] = [
    ("ec2", "DescribeInstances", lambda a: {"instancesSet": {}, "filterSet": {}}),
    ("ec2", "DescribeSecurityGroups", _sg),
    ("ec2", "DescribeVolumes", lambda a: {"volumeSet": {}, "filterSet": {}}),
    ("ec2", "DescribeNetworkInterfaces", lambda a: {"networkInterfaceIdSet": {}, "filterSet": {}}),
    ("ec2", "DescribeSubnets", lambda a: {"subnetSet": {}, "filterSet": {}}),
    ("ec2", "DescribeRouteTables", lambda a: {"routeTableIdSet": {}, "filterSet": {}}),
    ("iam", "GetRole", _role_name),
    ("iam", "ListAttachedRolePolicies", _role_name),
    ("iam", "ListRolePolicies", _role_name),
    ("iam", "GetPolicy", _policy),
    ("iam", "GetAccountAuthorizationDetails", lambda a: {"filter": ["Role", "User", "Group", "LocalManagedPolicy"]}),
    ("s3", "GetBucketAcl", _bucket_read("acl")),
    ("s3", "GetBucketPolicy", _bucket_read("policy")),
    ("s3", "GetBucketEncryption", _bucket_read("encryption")),
    ("s3", "GetBucketPublicAccessBlock", _bucket_read("publicAccessBlock")),
    ("lambda", "GetFunction20150331v2", _function),
    ("lambda", "GetPolicy20150331v2", _function),
    ("dynamodb", "DescribeTable", _table),
    ("kms", "DescribeKey", _key),
    ("sqs", "GetQueueAttributes", _queue),
]

GUARDDUTY: list[Read] = [
    ("ec2", "DescribeInstances", lambda a: {"instancesSet": {}, "filterSet": {}}),
    ("ec2", "DescribeImages", lambda a: {"imagesSet": {}, "ownersSet": {}}),
    ("s3", "ListBuckets", lambda a: {"Host": "s3.amazonaws.com"}),
    ("s3", "GetBucketPolicy", _bucket_read("policy")),
    ("s3", "GetBucketAcl", _bucket_read("acl")),
    ("s3", "GetBucketPublicAccessBlock", _bucket_read("publicAccessBlock")),
    ("s3", "GetBucketEncryption", _bucket_read("encryption")),
    ("eks", "ListClusters", _none),
    ("organizations", "DescribeOrganization", _none),
]
