// Where the directory functions run and what they may reach: private subnets only, a security
// group with egress only to the directory's ranges on its ports and to Secrets Manager on 443
// (a new interface endpoint with a security group of its own, or an existing endpoint's range).
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DEPLOYMENT_SETTINGS as D } from '../../lambdas/contract/settings.ts';
import { hideFromLogicalIds } from './construct-ids.ts';
import { checkInRange } from './prop-checks.ts';

export interface DirectoryNetworkProps {
  /** The VPC whose private subnets reach the directory (VPN or Direct Connect). */
  readonly vpc: ec2.IVpc;
  /**
   * Where the directory functions and the endpoint go. Public subnets are refused.
   * @default the VPC's private subnets with egress, or its isolated subnets if it has none
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** IPv4 CIDR ranges of the directory servers: the functions' only egress besides Secrets Manager. */
  readonly directoryNetworkRanges: string[];
  /** TCP ports of the directory servers (636 for LDAPS, 389 for LDAP or StartTLS). */
  readonly directoryPorts: number[];
  /**
   * Create a Secrets Manager interface endpoint. When false, `existingEndpointCidr` must be given.
   * @default true
   */
  readonly createSecretsManagerEndpoint?: boolean;
  /**
   * The range holding an existing Secrets Manager endpoint (egress 443 to it). Only with
   * `createSecretsManagerEndpoint: false`.
   * @default none
   */
  readonly existingEndpointCidr?: string;
}

export class DirectoryNetwork extends Construct {
  /** The directory functions' security group. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The subnets the directory functions run in: private ones only. */
  readonly subnets: ec2.SubnetSelection;
  /** The endpoint this construct created, if it created one. */
  readonly secretsManagerEndpoint?: ec2.InterfaceVpcEndpoint;

  constructor(scope: Construct, id: string, props: DirectoryNetworkProps) {
    super(scope, id);
    hideFromLogicalIds(this);
    this.subnets = selectPrivateSubnets(props.vpc, props.vpcSubnets);
    const createEndpoint = props.createSecretsManagerEndpoint ?? D.createSecretsManagerEndpoint.default;
    validate(props, createEndpoint);

    const group = new ec2.SecurityGroup(this, 'DirectoryFunctionsSecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'auth0-ldap-bridge directory functions: egress to the directory and Secrets Manager only',
    });
    for (const range of props.directoryNetworkRanges) {
      for (const port of props.directoryPorts) {
        group.addEgressRule(ec2.Peer.ipv4(range), ec2.Port.tcp(port), `LDAP to the directory on ${port}`);
      }
    }
    this.securityGroup = group;

    if (props.existingEndpointCidr) {
      group.addEgressRule(
        ec2.Peer.ipv4(props.existingEndpointCidr),
        ec2.Port.tcp(443),
        'HTTPS to the existing Secrets Manager endpoint',
      );
      return;
    }
    const endpointGroup = new ec2.SecurityGroup(this, 'SecretsManagerEndpointSecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'auth0-ldap-bridge Secrets Manager endpoint: HTTPS from the directory functions only',
    });
    // Standalone rule resources: inline rules that name each other's group form a cycle.
    new ec2.CfnSecurityGroupIngress(this, 'EndpointIngressFromFunctions', {
      groupId: endpointGroup.securityGroupId,
      sourceSecurityGroupId: group.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      description: 'HTTPS from the directory functions',
    });
    new ec2.CfnSecurityGroupEgress(this, 'FunctionsEgressToEndpoint', {
      groupId: group.securityGroupId,
      destinationSecurityGroupId: endpointGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      description: 'HTTPS to the Secrets Manager endpoint',
    });
    this.secretsManagerEndpoint = new ec2.InterfaceVpcEndpoint(this, 'SecretsManagerEndpoint', {
      vpc: props.vpc,
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      subnets: this.subnets,
      securityGroups: [endpointGroup],
      privateDnsEnabled: true,
      open: false,
    });
  }
}

function validate(props: DirectoryNetworkProps, createEndpoint: boolean): void {
  if (props.directoryNetworkRanges.length === 0)
    throw new Error('DirectoryNetwork: directoryNetworkRanges is empty; give the CIDR ranges of the directory servers');
  if (props.directoryPorts.length === 0)
    throw new Error('DirectoryNetwork: directoryPorts is empty; give the ports of the directory servers');
  for (const port of props.directoryPorts) checkInRange('DirectoryNetwork', 'directoryPorts', port, D.ports);
  if (!createEndpoint && !props.existingEndpointCidr)
    throw new Error('DirectoryNetwork: existingEndpointCidr is required when createSecretsManagerEndpoint is false');
  if (createEndpoint && props.existingEndpointCidr)
    throw new Error(
      `DirectoryNetwork: existingEndpointCidr ${JSON.stringify(props.existingEndpointCidr)} is given but createSecretsManagerEndpoint is true; give one or the other`,
    );
}

function selectPrivateSubnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection | undefined): ec2.SubnetSelection {
  const chosen = selection ?? {
    subnetType: vpc.privateSubnets.length > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED,
  };
  const selected = vpc.selectSubnets(chosen);
  if (selected.hasPublic) {
    const publicOnes = selected.subnets
      .filter((subnet) => vpc.publicSubnets.includes(subnet))
      .map((subnet) => (Token.isUnresolved(subnet.subnetId) ? subnet.node.path : subnet.subnetId));
    throw new Error(
      `DirectoryNetwork: vpcSubnets selects public subnets (${publicOnes.join(', ')}); the directory functions must run in private subnets`,
    );
  }
  if (selected.subnetIds.length === 0)
    throw new Error(`DirectoryNetwork: vpcSubnets ${describeSelection(chosen)} selects no subnets`);
  return chosen;
}

/** A selection as a person reads it: its criteria, without the subnet objects it may hold. */
function describeSelection(selection: ec2.SubnetSelection): string {
  const { subnetType, subnetGroupName, availabilityZones, onePerAz } = selection;
  return JSON.stringify({ subnetType, subnetGroupName, availabilityZones, onePerAz });
}
