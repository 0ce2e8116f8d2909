"""Public IPv4 addresses in use per region, which are new in the incident window, which belong to the
attacker's resources, and what they cost per hour; and the attacker's source addresses, enriched.

The main source is ``DescribeNetworkInterfaces``: every public address attached to the account's
network (instances, Elastic IPs, NAT gateways, load balancers) sits on an interface. Elastic IPs not
associated with anything appear only in ``DescribeAddresses`` (and are billed too). Instances, NAT
gateways and load balancers are described as well, for when each was created.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import REGION_NOT_ENABLED_CODES, ErrorKind, classify_error, describe_error, error_code
from awsrespond.case.workspace import Case
from awsrespond.coverage import CoverageGap, GapKind, gap_kind
from awsrespond.recover.case_facts import CaseFacts, case_events, items_of, read_facts
from awsrespond.recover.geo import GeoLookup, GeoSource, IpInfo
from awsrespond.recover.prices import PriceTable, shipped_prices
from awsrespond.timeutil import as_utc, now_utc

DOCUMENT = "recovery/public_ips.json"
CREATION_EVENTS = ("RunInstances", "AllocateAddress", "CreateNatGateway", "CreateLoadBalancer")


class IpOwner(StrEnum):
    ELASTIC_IP = "elastic-ip"  # not associated with anything: billed while idle
    INSTANCE = "instance"
    NAT_GATEWAY = "nat-gateway"
    LOAD_BALANCER = "load-balancer"
    OTHER = "other"  # a service-managed interface (VPC endpoint, Global Accelerator, ...)


class PublicIp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ip: str
    region: str
    owner: IpOwner
    resource_id: str | None = Field(description="Instance, NAT gateway, load balancer name or allocation id")
    elastic_ip: bool
    allocation_id: str | None = None
    network_interface_id: str | None = None
    interface_type: str | None = None
    created: datetime | None = Field(default=None, description="When the owning resource was created, if known")
    new_in_window: bool | None = Field(description="Created at or after the window start; None when not known")
    new_because: str = ""
    attacker: bool
    attacker_classification: str | None = None
    attacker_because: str = ""
    usd_per_hour: Decimal


class SourceIp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ip: str
    seen_in: list[str]
    info: IpInfo


class PublicIpTotals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_ips: int
    new_in_window: int
    attacker: int
    usd_per_hour: Decimal
    attacker_usd_per_hour: Decimal


class PublicIpDocument(BaseModel):
    """``recover ips --format json`` and ``recovery/public_ips.json`` in the case."""

    model_config = ConfigDict(extra="forbid")

    generated: datetime
    window_since: datetime | None
    regions: list[str]
    not_enabled: list[str]
    public_ips: list[PublicIp]
    totals: PublicIpTotals
    price_per_ip_hour: Decimal
    price_effective: str
    price_source: str
    attacker_source_ips: list[SourceIp]
    geo_source: GeoSource | None = Field(description="None when no address needed a lookup")
    coverage: list[CoverageGap]
    notes: list[str] = Field(default_factory=list)

    @property
    def attention(self) -> bool:
        return self.totals.attacker > 0 or bool(self.attacker_source_ips)


@dataclass
class _Region:
    region: str
    addresses: list[PublicIp] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)
    not_enabled: bool = False


@dataclass
class _Created:
    """Creation times the case's CloudTrail events give, by resource id (all regions)."""

    times: dict[tuple[str, str], tuple[datetime, str]] = field(default_factory=dict)

    def add(self, resource_id: str, region: str, when: Any, event: str) -> None:
        if isinstance(when, datetime) and (resource_id, region) not in self.times:
            self.times[(resource_id, region)] = (as_utc(when), event)


def _created_from_events(case: Case) -> _Created:
    created = _Created()
    for record in case_events(case, CREATION_EVENTS):
        region, when, name = str(record["awsRegion"]), record["eventTime"], str(record["eventName"])
        response = record.get("responseElements") or {}
        if name == "RunInstances":
            for instance_id in items_of(response, "instancesSet.instanceId"):
                created.add(instance_id, region, when, name)
        elif name == "AllocateAddress" and response.get("allocationId"):
            created.add(str(response["allocationId"]), region, when, name)
        elif name == "CreateNatGateway":
            gateway = (response.get("CreateNatGatewayResponse") or response).get("natGateway") or {}
            if isinstance(gateway, dict) and gateway.get("natGatewayId"):
                created.add(str(gateway["natGatewayId"]), region, when, name)
        elif name == "CreateLoadBalancer":
            for balancer in response.get("loadBalancers") or []:
                if isinstance(balancer, dict) and balancer.get("loadBalancerName"):
                    created.add(str(balancer["loadBalancerName"]), region, when, name)
    return created


def _pages(client: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**params):
            items.extend(page.get(key, []))
    else:
        items.extend(getattr(client, operation)(**params).get(key, []))
    return items


class _Sweep:
    def __init__(self, factory: ClientFactory, facts: CaseFacts, created: _Created, price: Decimal) -> None:
        self.factory = factory
        self.facts = facts
        self.created = created
        self.price = price

    def region(self, region: str) -> _Region:
        out = _Region(region)

        def call(service: str, operation: str, key: str) -> list[dict[str, Any]] | None:
            try:
                return _pages(self.factory.client(service, region), operation, key)
            except (ClientError, BotoCoreError) as exc:
                kind = classify_error(exc)
                if kind is ErrorKind.NOT_ENABLED and error_code(exc) in REGION_NOT_ENABLED_CODES:
                    out.not_enabled = True
                    return None
                api = f"{service}:{''.join(p.capitalize() for p in operation.split('_'))}"
                out.gaps.append(CoverageGap(kind=gap_kind(kind), scope=api, region=region,
                                            message=f"{describe_error(exc)}; public IPs from this API not listed"))
                return None

        interfaces = call("ec2", "describe_network_interfaces", "NetworkInterfaces")
        if out.not_enabled:
            return out
        addresses = call("ec2", "describe_addresses", "Addresses") or []
        reservations = call("ec2", "describe_instances", "Reservations") or []
        gateways = call("ec2", "describe_nat_gateways", "NatGateways") or []
        balancers = call("elbv2", "describe_load_balancers", "LoadBalancers") or []
        launched = {i["InstanceId"]: i.get("LaunchTime") for r in reservations for i in r.get("Instances", [])}
        gateway_times = {g["NatGatewayId"]: g.get("CreateTime") for g in gateways}
        gateway_by_eni = {a["NetworkInterfaceId"]: g["NatGatewayId"] for g in gateways
                          for a in g.get("NatGatewayAddresses", []) if a.get("NetworkInterfaceId")}
        balancer_times = {b["LoadBalancerName"]: b.get("CreatedTime") for b in balancers}
        seen: set[str] = set()
        for eni in interfaces or []:
            association = eni.get("Association") or {}
            ip = association.get("PublicIp")
            if not ip or ip in seen:
                continue
            seen.add(ip)
            owner, resource_id, when = self._owner(eni, launched, gateway_times, gateway_by_eni, balancer_times)
            out.addresses.append(self._address(
                region, ip, owner, resource_id, when, allocation_id=association.get("AllocationId"),
                eni=eni.get("NetworkInterfaceId"), interface_type=eni.get("InterfaceType")))
        for address in addresses:
            ip = address.get("PublicIp")
            if not ip or ip in seen:
                continue
            seen.add(ip)
            instance_id = address.get("InstanceId") or None
            owner = IpOwner.INSTANCE if instance_id else IpOwner.ELASTIC_IP
            out.addresses.append(self._address(
                region, ip, owner, instance_id or address.get("AllocationId"),
                launched.get(instance_id) if instance_id else None, allocation_id=address.get("AllocationId"),
                eni=address.get("NetworkInterfaceId") or None, interface_type=None))
        return out

    @staticmethod
    def _owner(eni: dict[str, Any], launched: dict[str, Any], gateway_times: dict[str, Any],
               gateway_by_eni: dict[str, str], balancer_times: dict[str, Any]) -> tuple[IpOwner, str | None, Any]:
        attachment = eni.get("Attachment") or {}
        instance_id = attachment.get("InstanceId")
        if instance_id:
            return IpOwner.INSTANCE, instance_id, launched.get(instance_id) or attachment.get("AttachTime")
        eni_id = eni.get("NetworkInterfaceId", "")
        interface_type = str(eni.get("InterfaceType") or "")
        description = str(eni.get("Description") or "")
        if eni_id in gateway_by_eni or interface_type in ("nat_gateway", "natGateway"):
            gateway = gateway_by_eni.get(eni_id) or description.rpartition(" ")[2] or None
            return IpOwner.NAT_GATEWAY, gateway, gateway_times.get(gateway or "")
        if description.startswith("ELB ") or interface_type in ("network_load_balancer", "gateway_load_balancer"):
            # "ELB app/<name>/<id>", "ELB net/<name>/<id>" (v2) or "ELB <name>" (classic)
            parts = description[4:].split("/")
            name = parts[1] if len(parts) >= 3 else parts[0]
            return IpOwner.LOAD_BALANCER, name or None, balancer_times.get(name)
        return IpOwner.OTHER, eni_id or None, None

    def _address(self, region: str, ip: str, owner: IpOwner, resource_id: str | None, when: Any, *,
                  allocation_id: str | None, eni: str | None, interface_type: str | None) -> PublicIp:
        since = self.facts.since
        created = as_utc(when) if isinstance(when, datetime) else None
        new: bool | None = None
        because = ""
        event = self.created.times.get((resource_id or "", region)) or self.created.times.get(
            (allocation_id or "", region))
        if since is not None:
            if event is not None and event[0] >= since:
                new, because = True, f"{event[1]} at {event[0].isoformat()} in the case's events"
            elif created is not None:
                new = created >= since
                because = f"{owner.value} created {created.isoformat()}"
            elif event is not None:
                new, because = False, f"{event[1]} at {event[0].isoformat()}, before the window"
            else:
                because = "creation time not available (AWS does not report when an Elastic IP was allocated)"
        else:
            because = "no incident window in the case (run triage or hunt with --since)"
        attacker = self.facts.attacker(resource_id, region) or self.facts.attacker(allocation_id, region)
        return PublicIp(
            ip=ip, region=region, owner=owner, resource_id=resource_id, elastic_ip=allocation_id is not None,
            allocation_id=allocation_id, network_interface_id=eni, interface_type=interface_type,
            created=created or (event[0] if event else None), new_in_window=new, new_because=because,
            attacker=attacker is not None,
            attacker_classification=attacker.classification if attacker else None,
            attacker_because=f"{attacker.type} {attacker.id}: {attacker.why}" if attacker else "",
            usd_per_hour=self.price,
        )


def source_ips(facts: CaseFacts, geo: GeoLookup) -> list[SourceIp]:
    return [SourceIp(ip=ip, seen_in=sorted(set(where)), info=geo.lookup(ip))
            for ip, where in sorted(facts.source_ips.items())]


def public_ip_insights(case: Case, factory: ClientFactory, regions: list[str], *, not_enabled: list[str] | None = None,
                       prices: PriceTable | None = None, geo: GeoLookup | None = None, max_workers: int = 8,
                       progress: Callable[[str], None] | None = None, notes: list[str] | None = None,
                       ) -> PublicIpDocument:
    """Every region is tried; an API that fails is a coverage gap naming it and the region."""
    table = prices or shipped_prices()
    lookup = geo or GeoLookup()
    facts = read_facts(case)
    sweep = _Sweep(factory, facts, _created_from_events(case), table.public_ipv4_hourly)

    def run(region: str) -> _Region:
        result = sweep.region(region)
        if progress is not None:
            progress(region)
        return result

    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="public-ips") as pool:
        results = list(pool.map(run, regions))
    addresses = sorted((a for r in results for a in r.addresses), key=lambda a: (not a.attacker, a.region, a.ip))
    gaps = [g for r in results for g in r.gaps]
    off = sorted({*(not_enabled or []), *(r.region for r in results if r.not_enabled)})
    gaps += [CoverageGap(kind=GapKind.NOT_ENABLED, scope="region", region=r,
                         message="region not enabled for this account: no public IPs can exist there") for r in off]
    attacker_sources = source_ips(facts, lookup)
    price = table.public_ipv4_hourly
    all_notes = list(notes or [])
    if facts.since is None:
        all_notes.append("the case has no incident window: run triage or hunt with --since to tell new addresses")
    if not facts.findings:
        all_notes.append("the case has no findings: no address can be tied to the attacker's resources")
    if not facts.source_ips:
        all_notes.append("the case names no attacker source address (they come from CloudTrail: run hunt)")
    return PublicIpDocument(
        generated=now_utc(),
        window_since=facts.since,
        regions=[r.region for r in results if not r.not_enabled],
        not_enabled=off,
        public_ips=addresses,
        totals=PublicIpTotals(
            public_ips=len(addresses),
            new_in_window=sum(1 for a in addresses if a.new_in_window),
            attacker=sum(1 for a in addresses if a.attacker),
            usd_per_hour=price * len(addresses),
            attacker_usd_per_hour=price * sum(1 for a in addresses if a.attacker),
        ),
        price_per_ip_hour=price,
        price_effective=table.info.public_ipv4_effective.isoformat(),
        price_source=table.info.public_ipv4_source,
        attacker_source_ips=attacker_sources,
        geo_source=lookup.source() if attacker_sources else None,
        coverage=gaps,
        notes=all_notes,
    )


def write_document(case: Case, document: PublicIpDocument) -> None:
    case.write_json(DOCUMENT, document.model_dump(mode="json"))
