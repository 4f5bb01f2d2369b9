'use strict';

/**
 * How the stack meets the internet, as stage settings (`custom.network` in serverless.yml,
 * values in infra/stages.yml):
 *
 * - a fixed egress for the functions that call WeChat's API (`fixedEgress: true` in
 *   infra/functions/*.yml; tests/infra/test_network.py holds that list to the code's callers
 *   of the WeChat API client). WeChat answers only addresses on the account's IP whitelist
 *   (40164), and a Lambda function's own address changes. With `vpc: true` those functions
 *   run in private subnets of a VPC made here, one per zone, whose route to the internet is a
 *   NAT gateway with an Elastic IP in the same zone; the IPs are the stack output
 *   `NatEgressIps`, to whitelist. DynamoDB (gateway endpoint), SQS, KMS and SSM (interface
 *   endpoints, private DNS) are reached without the NAT; anything else AWS (Lambda invoke,
 *   SNS, X-Ray) goes through it. Their roles get the network-interface permissions Lambda
 *   needs to place them in the subnets. The other functions stay outside the VPC.
 * - the customers' domain: with `domainName` and `certificateArn` (an ACM certificate in the
 *   stack's region; in the China regions an imported one), a regional API Gateway custom
 *   domain mapped to the stage at `basePath` ('' for the root); its target for the DNS
 *   CNAME is the stack output `ApiDomainTarget`.
 *
 * Nothing here names a region or partition: availability zones come from Fn::GetAZs, and
 * the endpoint service names from the partition (the China regions name some services
 * `cn.com.amazonaws.<region>.<service>`).
 */
// what Lambda needs to place a function in subnets (as AWSLambdaVPCAccessExecutionRole)
const ENI_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];
// Interface endpoints, and whether the China regions name the service `cn.com.amazonaws...`.
const INTERFACE_ENDPOINTS = { sqs: true, kms: false, ssm: false };

class Network {
  constructor(serverless) {
    this.serverless = serverless;
    serverless.configSchemaHandler.defineFunctionProperties('aws', {
      properties: { fixedEgress: { type: 'boolean' } },
    });
    this.hooks = {
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.finishTemplate(),
    };
  }

  get naming() {
    return this.serverless.getProvider('aws').naming;
  }

  fail(message) {
    throw new this.serverless.classes.Error(`network: ${message}`);
  }

  finishTemplate() {
    const settings = (this.serverless.service.custom || {}).network || {};
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    if (settings.vpc === true || settings.vpc === 'true') this.addEgress(template, settings);
    if (settings.domainName || settings.certificateArn) this.addDomain(template, settings);
  }

  addEgress(template, settings) {
    const zones = Number(settings.zones);
    if (!(zones >= 1 && zones <= 3)) this.fail(`zones must be 1 to 3, not ${settings.zones}`);
    const r = template.Resources;
    const ref = (id) => ({ Ref: id });
    const zone = (i) => ({ 'Fn::Select': [i, { 'Fn::GetAZs': '' }] });
    // 2 * zones /20 subnets out of the VPC's block (a /16 gives 16 of them)
    const block = (i) => ({ 'Fn::Select': [i, { 'Fn::Cidr': [settings.cidr, 2 * zones, 12] }] });
    const tagged = (name) => [{ Key: 'Name', Value: { 'Fn::Sub': `\${AWS::StackName}-${name}` } }];

    r.EgressVpc = {
      Type: 'AWS::EC2::VPC',
      Properties: { CidrBlock: settings.cidr, EnableDnsSupport: true, EnableDnsHostnames: true, Tags: tagged('egress') },
    };
    r.EgressInternetGateway = { Type: 'AWS::EC2::InternetGateway', Properties: { Tags: tagged('egress') } };
    r.EgressGatewayAttachment = {
      Type: 'AWS::EC2::VPCGatewayAttachment',
      Properties: { VpcId: ref('EgressVpc'), InternetGatewayId: ref('EgressInternetGateway') },
    };
    r.EgressPublicRouteTable = { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: ref('EgressVpc') } };
    r.EgressPublicRoute = {
      Type: 'AWS::EC2::Route',
      DependsOn: ['EgressGatewayAttachment'],
      Properties: {
        RouteTableId: ref('EgressPublicRouteTable'),
        DestinationCidrBlock: '0.0.0.0/0',
        GatewayId: ref('EgressInternetGateway'),
      },
    };
    const privateSubnets = [];
    const privateRouteTables = [];
    const ips = [];
    for (let i = 0; i < zones; i += 1) {
      const n = i + 1;
      r[`EgressPublicSubnet${n}`] = {
        Type: 'AWS::EC2::Subnet',
        Properties: { VpcId: ref('EgressVpc'), AvailabilityZone: zone(i), CidrBlock: block(zones + i),
          Tags: tagged(`public-${n}`) },
      };
      r[`EgressPublicSubnet${n}Routes`] = {
        Type: 'AWS::EC2::SubnetRouteTableAssociation',
        Properties: { SubnetId: ref(`EgressPublicSubnet${n}`), RouteTableId: ref('EgressPublicRouteTable') },
      };
      r[`EgressNatIp${n}`] = {
        Type: 'AWS::EC2::EIP',
        DependsOn: ['EgressGatewayAttachment'],
        Properties: { Domain: 'vpc', Tags: tagged(`nat-${n}`) },
      };
      r[`EgressNatGateway${n}`] = {
        Type: 'AWS::EC2::NatGateway',
        Properties: {
          SubnetId: ref(`EgressPublicSubnet${n}`),
          AllocationId: { 'Fn::GetAtt': [`EgressNatIp${n}`, 'AllocationId'] },
          Tags: tagged(`nat-${n}`),
        },
      };
      r[`EgressPrivateSubnet${n}`] = {
        Type: 'AWS::EC2::Subnet',
        Properties: { VpcId: ref('EgressVpc'), AvailabilityZone: zone(i), CidrBlock: block(i),
          Tags: tagged(`private-${n}`) },
      };
      r[`EgressPrivateRouteTable${n}`] = { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: ref('EgressVpc') } };
      r[`EgressPrivateRoute${n}`] = {
        Type: 'AWS::EC2::Route',
        Properties: {
          RouteTableId: ref(`EgressPrivateRouteTable${n}`),
          DestinationCidrBlock: '0.0.0.0/0',
          NatGatewayId: ref(`EgressNatGateway${n}`),
        },
      };
      r[`EgressPrivateSubnet${n}Routes`] = {
        Type: 'AWS::EC2::SubnetRouteTableAssociation',
        Properties: { SubnetId: ref(`EgressPrivateSubnet${n}`), RouteTableId: ref(`EgressPrivateRouteTable${n}`) },
      };
      privateSubnets.push(ref(`EgressPrivateSubnet${n}`));
      privateRouteTables.push(ref(`EgressPrivateRouteTable${n}`));
      ips.push(ref(`EgressNatIp${n}`));
    }

    r.EgressFunctionSecurityGroup = {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'Functions that call WeChat: HTTPS out, nothing in',
        VpcId: ref('EgressVpc'),
        SecurityGroupEgress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' }],
      },
    };
    r.EgressEndpointSecurityGroup = {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'AWS interface endpoints: HTTPS from the functions only',
        VpcId: ref('EgressVpc'),
        SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443,
          SourceSecurityGroupId: ref('EgressFunctionSecurityGroup') }],
      },
    };
    template.Conditions = { ...(template.Conditions || {}),
      InChina: { 'Fn::Equals': [{ Ref: 'AWS::Partition' }, 'aws-cn'] } };
    r.EgressDynamodbEndpoint = {
      Type: 'AWS::EC2::VPCEndpoint',
      Properties: {
        VpcId: ref('EgressVpc'),
        VpcEndpointType: 'Gateway',
        ServiceName: { 'Fn::Sub': 'com.amazonaws.${AWS::Region}.dynamodb' },
        RouteTableIds: privateRouteTables,
      },
    };
    for (const [service, chinaPrefix] of Object.entries(INTERFACE_ENDPOINTS)) {
      const name = { 'Fn::Sub': `com.amazonaws.\${AWS::Region}.${service}` };
      r[`Egress${service[0].toUpperCase()}${service.slice(1)}Endpoint`] = {
        Type: 'AWS::EC2::VPCEndpoint',
        Properties: {
          VpcId: ref('EgressVpc'),
          VpcEndpointType: 'Interface',
          ServiceName: chinaPrefix
            ? { 'Fn::If': ['InChina', { 'Fn::Sub': `cn.com.amazonaws.\${AWS::Region}.${service}` }, name] }
            : name,
          PrivateDnsEnabled: true,
          SubnetIds: privateSubnets,
          SecurityGroupIds: [ref('EgressEndpointSecurityGroup')],
        },
      };
    }

    const attached = this.attachFunctions(r, privateSubnets);
    if (!attached.length) this.fail('vpc is on but no function has fixedEgress: true');
    template.Outputs = {
      ...(template.Outputs || {}),
      NatEgressIps: {
        Description: "The addresses WeChat sees from this stage's API callers: put them on the account's IP whitelist",
        Value: { 'Fn::Join': [',', ips] },
      },
    };
  }

  attachFunctions(resources, subnets) {
    const attached = [];
    for (const key of this.serverless.service.getAllFunctions()) {
      if (this.serverless.service.getFunction(key).fixedEgress !== true) continue;
      const fn = resources[this.naming.getLambdaLogicalId(key)];
      fn.Properties.VpcConfig = { SecurityGroupIds: [{ Ref: 'EgressFunctionSecurityGroup' }], SubnetIds: subnets };
      // a function in private subnets is ready only with its routes out
      fn.DependsOn = [...new Set([...[].concat(fn.DependsOn || []),
        ...subnets.map((_, i) => `EgressPrivateRoute${i + 1}`)])];
      const roleId = fn.Properties.Role['Fn::GetAtt'][0];
      resources[roleId].Properties.Policies.push({
        PolicyName: 'network',
        PolicyDocument: {
          Version: '2012-10-17',
          // Lambda places the function in the subnets through these; EC2 offers no resource
          // scoping for Describe, and the interfaces do not exist yet when they are created
          Statement: [{ Effect: 'Allow', Action: ENI_ACTIONS, Resource: '*' }],
        },
      });
      attached.push(key);
    }
    return attached;
  }

  addDomain(template, settings) {
    if (!settings.domainName || !settings.certificateArn) {
      this.fail('a custom domain needs both domainName and certificateArn');
    }
    const r = template.Resources;
    const deployment = Object.keys(r).find((id) => r[id].Type === 'AWS::ApiGateway::Deployment');
    if (!deployment) this.fail('a custom domain needs the API, and the template has no API deployment');
    r.ApiDomainName = {
      Type: 'AWS::ApiGateway::DomainName',
      Properties: {
        DomainName: settings.domainName,
        RegionalCertificateArn: settings.certificateArn,
        EndpointConfiguration: { Types: ['REGIONAL'] },
        SecurityPolicy: 'TLS_1_2',
      },
    };
    r.ApiBasePathMapping = {
      Type: 'AWS::ApiGateway::BasePathMapping',
      // the stage exists once the deployment does
      DependsOn: [deployment],
      Properties: {
        DomainName: { Ref: 'ApiDomainName' },
        RestApiId: { Ref: this.naming.getRestApiLogicalId() },
        Stage: this.serverless.getProvider('aws').getStage(),
        ...(settings.basePath ? { BasePath: settings.basePath } : {}),
      },
    };
    template.Outputs = {
      ...(template.Outputs || {}),
      ApiDomainTarget: {
        Description: `Point ${settings.domainName} here (a CNAME)`,
        Value: { 'Fn::GetAtt': ['ApiDomainName', 'RegionalDomainName'] },
      },
    };
  }
}

module.exports = Network;
