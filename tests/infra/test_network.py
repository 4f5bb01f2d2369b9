"""Reachable by WeChat and by customers (infra/plugins/network.js), read from the packaged
templates: prod's functions that call WeChat's API leave through a NAT gateway with an
Elastic IP in each zone (WeChat's IP whitelist), reach DynamoDB, SQS, KMS and SSM through VPC
endpoints, and may place themselves in the subnets; the stage's custom domain maps to it.
dev has neither. cfn-lint checks the prod template in cn-north-1, cn-northwest-1 and
ap-east-1 (test_template.py)."""
from __future__ import annotations

import json
import re

import pytest

from tests.infra import code_map
from tests.infra.test_package import PROD_DOMAIN, Package, packaged, packaged_prod  # noqa: F401 - fixtures

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]

ENI_ACTIONS = {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
               "ec2:DeleteNetworkInterface",
               "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}


def _in_vpc(pkg: Package) -> set[str]:
    return {key for key in pkg.config.functions if "VpcConfig" in pkg.function_resource(key)[1]["Properties"]}


def _ref_ids(values) -> list[str]:
    return [v["Ref"] for v in values]


def test_the_functions_that_call_wechats_api_and_only_they_leave_through_the_nat(packaged_prod):  # noqa: F811
    callers = {key for key, f in packaged_prod.config.functions.items()
               if code_map.reach(f.handler).calls_wechat_api}
    assert callers == {"webhook", "branchLookupApi", "notifyEvents", "notifyBills", "notifyPending"}
    assert _in_vpc(packaged_prod) == callers
    flagged = {key for key, spec in packaged_prod.config.raw["functions"].items() if spec.get("fixedEgress")}
    assert flagged == callers
    subnets = {f"EgressPrivateSubnet{n}" for n in (1, 2)}
    for key in callers:
        config = packaged_prod.function_resource(key)[1]["Properties"]["VpcConfig"]
        assert set(_ref_ids(config["SubnetIds"])) == subnets, key
        assert _ref_ids(config["SecurityGroupIds"]) == ["EgressFunctionSecurityGroup"], key


def test_only_the_functions_in_the_vpc_may_manage_network_interfaces(packaged_prod):  # noqa: F811
    for key in packaged_prod.config.functions:
        _, function = packaged_prod.function_resource(key)
        role = packaged_prod.resources[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        network = [p for p in role["Properties"]["Policies"] if p["PolicyName"] == "network"]
        if key in _in_vpc(packaged_prod):
            [policy] = network
            [statement] = policy["PolicyDocument"]["Statement"]
            assert statement["Effect"] == "Allow" and statement["Resource"] == "*", key
            assert set(statement["Action"]) == ENI_ACTIONS, key
        else:
            assert not network, key


def test_each_zone_has_its_nat_gateway_and_elastic_ip_and_the_ips_are_an_output(packaged_prod):  # noqa: F811
    r = packaged_prod.resources
    zones = int(packaged_prod.config.raw["custom"]["network"]["zones"])
    assert zones == 2
    for n in range(1, zones + 1):
        nat = r[f"EgressNatGateway{n}"]["Properties"]
        assert nat["SubnetId"] == {"Ref": f"EgressPublicSubnet{n}"}
        assert nat["AllocationId"] == {"Fn::GetAtt": [f"EgressNatIp{n}", "AllocationId"]}
        assert r[f"EgressNatIp{n}"]["Properties"]["Domain"] == "vpc"
        route = r[f"EgressPrivateRoute{n}"]["Properties"]
        assert route == {"RouteTableId": {"Ref": f"EgressPrivateRouteTable{n}"}, "DestinationCidrBlock": "0.0.0.0/0",
                         "NatGatewayId": {"Ref": f"EgressNatGateway{n}"}}
        private, public = r[f"EgressPrivateSubnet{n}"]["Properties"], r[f"EgressPublicSubnet{n}"]["Properties"]
        assert private["AvailabilityZone"] == public["AvailabilityZone"] == {"Fn::Select": [n - 1, {"Fn::GetAZs": ""}]}
    assert len(packaged_prod.of_type("AWS::EC2::NatGateway")) == len(packaged_prod.of_type("AWS::EC2::EIP")) == zones
    output = packaged_prod.template["Outputs"]["NatEgressIps"]
    assert output["Value"] == {"Fn::Join": [",", [{"Ref": f"EgressNatIp{n}"} for n in range(1, zones + 1)]]}
    assert "whitelist" in output["Description"]


def test_aws_is_reached_through_endpoints_open_to_the_functions_alone(packaged_prod):  # noqa: F811
    endpoints = packaged_prod.of_type("AWS::EC2::VPCEndpoint").values()
    services = {}
    for spec in endpoints:
        named = json.dumps(spec["Properties"]["ServiceName"])
        [service] = set(re.findall(r"com\.amazonaws\.\$\{AWS::Region\}\.(\w+)", named))
        services[service] = spec["Properties"]["VpcEndpointType"]
    assert services == {"dynamodb": "Gateway", "sqs": "Interface", "kms": "Interface", "ssm": "Interface"}
    for spec in endpoints:
        props = spec["Properties"]
        if props["VpcEndpointType"] == "Gateway":
            assert set(_ref_ids(props["RouteTableIds"])) == {"EgressPrivateRouteTable1", "EgressPrivateRouteTable2"}
        else:
            assert props["PrivateDnsEnabled"] is True
            assert _ref_ids(props["SecurityGroupIds"]) == ["EgressEndpointSecurityGroup"]
    [ingress] = packaged_prod.resources["EgressEndpointSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert ingress["SourceSecurityGroupId"] == {"Ref": "EgressFunctionSecurityGroup"} and ingress["FromPort"] == 443
    assert "SecurityGroupIngress" not in packaged_prod.resources["EgressFunctionSecurityGroup"]["Properties"]


def test_sqs_takes_its_china_name_in_the_china_partition(packaged_prod):  # noqa: F811
    assert packaged_prod.template["Conditions"]["InChina"] == {"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws-cn"]}
    sqs = packaged_prod.resources["EgressSqsEndpoint"]["Properties"]["ServiceName"]
    assert sqs == {"Fn::If": ["InChina", {"Fn::Sub": "cn.com.amazonaws.${AWS::Region}.sqs"},
                              {"Fn::Sub": "com.amazonaws.${AWS::Region}.sqs"}]}


def test_the_custom_domain_maps_the_stage_at_its_base_path(packaged_prod):  # noqa: F811
    r = packaged_prod.resources
    domain = r["ApiDomainName"]["Properties"]
    assert domain["DomainName"] == PROD_DOMAIN["domainName"]
    assert domain["RegionalCertificateArn"] == PROD_DOMAIN["certificateArn"]
    assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    mapping = r["ApiBasePathMapping"]
    assert mapping["Properties"] == {"DomainName": {"Ref": "ApiDomainName"}, "RestApiId": {"Ref": "ApiGatewayRestApi"},
                                     "Stage": "prod", "BasePath": PROD_DOMAIN["basePath"]}
    assert mapping["DependsOn"] == list(packaged_prod.of_type("AWS::ApiGateway::Deployment"))
    assert packaged_prod.template["Outputs"]["ApiDomainTarget"]["Value"] == {
        "Fn::GetAtt": ["ApiDomainName", "RegionalDomainName"]}


def test_dev_has_no_vpc_and_no_domain(packaged):  # noqa: F811
    assert not _in_vpc(packaged)
    assert not [k for k, v in packaged.resources.items() if v["Type"].startswith("AWS::EC2::")]
    assert "ApiDomainName" not in packaged.resources and "NatEgressIps" not in packaged.template["Outputs"]
