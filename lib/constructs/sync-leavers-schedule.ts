// The scheduled sync-leavers (syncLeavers.enabled): a function that runs `auth0-ldap-bridge
// sync-leavers` on an EventBridge schedule, from the directory functions' subnets with the login
// function's directory configuration (environment, bundled CA, bind secret), plus the Management
// API credentials it reads from a secret of their own. Unlike the login function it must reach
// Auth0 over the internet: its own security group allows the directory's ranges on its ports and
// TCP 443 anywhere (Auth0 publishes no fixed addresses for the Management API), so the subnets
// need a NAT gateway or equivalent route out; this construct adds none. One run at a time
// (reserved concurrency 1), no retry of a failed run (the next scheduled run starts over, the
// errors alarm tells), no API route, no function URL: the rule's invoke permission, scoped to the
// rule's ARN, is its only resource policy.
//
// Why an EventBridge rule rather than EventBridge Scheduler: the rule's right to invoke is a
// Lambda permission for events.amazonaws.com from that one rule, which the audit shows beside the
// function; Scheduler needs an IAM role of its own that may invoke the function. Rule cron
// expressions are in UTC.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEPLOYMENT_SETTINGS as D, RUNTIME_SETTINGS as S } from '../../lambdas/contract/settings.ts';
import { parseBlockLimit } from '../../lambdas/core/migration/leavers.ts';
import { SYNC_LEAVERS_ENV } from '../../lambdas/entry/sync-leavers-function.ts';
import { BUNDLED_CA_PATH } from '../config.ts';
import { createBridgeFunction } from './bridge-function.ts';
import { hideFromLogicalIds } from './construct-ids.ts';
import type { DoctorFunctionProps } from './doctor-function.ts';
import { checkInRange } from './prop-checks.ts';

/** Lambda's longest timeout: enumerating a large directory and waiting for Auth0's export job take minutes. */
export const SYNC_LEAVERS_TIMEOUT = Duration.minutes(15);

/**
 * Both lists of users are held at once (the directory's and the connection's export); Lambda
 * gives CPU in proportion to memory, and the directory functions' 256 MB is sized for one login.
 */
export const SYNC_LEAVERS_MEMORY_MB = 1024;

/**
 * How long a scheduled event may wait to start. It waits only while the previous run still holds
 * the one reserved execution; past this it is dropped (a throttle the alarms count), and the next
 * scheduled run does the work.
 */
const MAX_START_DELAY = Duration.minutes(5);

/** What the schedule runs: the `syncLeavers.*` settings. */
export interface SyncLeaversSettings {
  /** The Auth0 database connection whose users are compared with the directory. */
  readonly connection: string;
  /** An EventBridge schedule expression: `rate(...)` or `cron(...)` (UTC). */
  readonly schedule: string;
  /** false: dry runs that only report what they would do. */
  readonly apply: boolean;
  /**
   * The most users one run may block, as sync-leavers --max-block: `25` or `5%`.
   * @default sync-leavers' own: 10% of the connection's users, at least 10
   */
  readonly maxBlock?: string;
  /**
   * The Management API application's `{"domain","clientId","clientSecret"}`.
   * @default a new secret holding placeholders, for the operator to fill in
   */
  readonly managementApiSecret?: secretsmanager.ISecret;
}

/**
 * The directory access of the login function (its environment, subnets, bind secret and CA, as
 * the doctor gets them) but its security group: this function's own allows the internet on 443.
 */
export interface SyncLeaversScheduleProps extends Omit<DoctorFunctionProps, 'securityGroup'>, SyncLeaversSettings {
  /** IPv4 CIDR ranges of the directory servers. */
  readonly directoryNetworkRanges: string[];
  /** TCP ports of the directory servers. */
  readonly directoryPorts: number[];
  /**
   * The security group of the VPC's Secrets Manager endpoint, when the stack created it: it is
   * told to accept this function's HTTPS too.
   * @default none: the endpoint is reached through the egress on 443
   */
  readonly secretsManagerEndpointSecurityGroup?: ec2.ISecurityGroup;
}

export class SyncLeaversSchedule extends Construct {
  readonly function: NodejsFunction;
  readonly rule: events.Rule;
  readonly securityGroup: ec2.SecurityGroup;
  /** The secret the function reads the Management API credentials from. */
  readonly managementApiSecret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: SyncLeaversScheduleProps) {
    super(scope, id);
    hideFromLogicalIds(this);
    validate(props);
    this.vpcCannotBeIsolated(props);

    const group = new ec2.SecurityGroup(this, 'SyncLeaversSecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      // CloudFormation refuses apostrophes in group and rule descriptions.
      description:
        'auth0-ldap-bridge scheduled sync-leavers: egress to the directory, and HTTPS to the Auth0 Management API and Secrets Manager',
    });
    for (const range of props.directoryNetworkRanges) {
      for (const port of props.directoryPorts) {
        group.addEgressRule(ec2.Peer.ipv4(range), ec2.Port.tcp(port), `LDAP to the directory on ${port}`);
      }
    }
    group.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to the Auth0 Management API (no fixed addresses) and Secrets Manager',
    );
    if (props.secretsManagerEndpointSecurityGroup) {
      // A standalone rule, as DirectoryNetwork's: the endpoint's group is not this construct's.
      new ec2.CfnSecurityGroupIngress(this, 'EndpointIngressFromSyncLeavers', {
        groupId: props.secretsManagerEndpointSecurityGroup.securityGroupId,
        sourceSecurityGroupId: group.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        description: 'HTTPS from the scheduled sync-leavers',
      });
    }
    this.securityGroup = group;

    this.managementApiSecret = props.managementApiSecret ?? this.createManagementApiSecret();
    this.function = createBridgeFunction(this, 'SyncLeaversFunction', {
      entry: 'lambdas/entry/sync-leavers-function.ts',
      description: `auth0-ldap-bridge scheduled sync-leavers (${props.apply ? 'applies: blocks and unblocks' : 'dry run: reports only'}) for connection ${props.connection}, ${props.schedule}`,
      environment: {
        ...props.environment,
        [SYNC_LEAVERS_ENV.connection]: props.connection,
        [SYNC_LEAVERS_ENV.apply]: String(props.apply),
        ...(props.maxBlock === undefined ? {} : { [SYNC_LEAVERS_ENV.maxBlock]: props.maxBlock }),
        [SYNC_LEAVERS_ENV.managementApiSecretArn]: this.managementApiSecret.secretArn,
      },
      timeout: SYNC_LEAVERS_TIMEOUT,
      logRetention: props.logRetention ?? (D.logRetentionDays.default as logs.RetentionDays),
      caCertificateFile: props.caCertificateFile,
      vpc: { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroup: group },
      // Never two runs at once: both would block and unblock the same users.
      reservedConcurrency: 1,
    });
    (this.function.node.defaultChild as lambda.CfnFunction).memorySize = SYNC_LEAVERS_MEMORY_MB;
    // A failed run is not retried: the next scheduled one starts over, and the errors alarm tells.
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: MAX_START_DELAY });
    this.grantRead(props.bindSecret, 'DecryptBindSecret');
    this.grantRead(this.managementApiSecret, 'DecryptManagementApiSecret');

    this.rule = new events.Rule(this, 'SyncLeaversSchedule', {
      description: `Runs the scheduled sync-leavers (${props.apply ? 'applies' : 'dry run'}) for connection ${props.connection}`,
      schedule: events.Schedule.expression(props.schedule),
      targets: [new targets.LambdaFunction(this.function)],
    });
  }

  private createManagementApiSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'ManagementApiSecret', {
      description:
        'auth0-ldap-bridge scheduled sync-leavers: replace with {"domain": "<tenant domain>", "clientId": "<client id>", "clientSecret": "<client secret>"} of a machine-to-machine application authorised for the Management API (read:connections, read:users, update:users)',
      // Placeholders the function refuses by name until the operator puts the application's values in.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({
          domain: 'REPLACE-WITH-THE-TENANT-DOMAIN',
          clientId: 'REPLACE-WITH-THE-CLIENT-ID',
        }),
        generateStringKey: 'clientSecret',
        excludePunctuation: true,
      },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The client secret belongs to a machine-to-machine application in Auth0: it is rotated in Auth0's dashboard, then written here; Secrets Manager cannot rotate it by itself.",
    });
    return secret;
  }

  /** Read access to one secret, and to its customer key only through Secrets Manager. */
  private grantRead(secret: secretsmanager.ISecret, decryptSid: string): void {
    secret.grantRead(this.function);
    const key = secret.encryptionKey;
    if (!key) return;
    // grantRead does not reach an imported customer key; decrypt it only through Secrets Manager.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: decryptSid,
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  /** Isolated subnets have no route out: every run would fail to reach Auth0. */
  private vpcCannotBeIsolated(props: SyncLeaversScheduleProps): void {
    const selected = props.vpc.selectSubnets(props.vpcSubnets).subnets;
    if (selected.length > 0 && selected.every((subnet) => props.vpc.isolatedSubnets.includes(subnet)))
      throw new Error(
        "SyncLeaversSchedule: vpcSubnets selects isolated subnets only; the scheduled sync-leavers must reach Auth0's Management API: give subnets with a route to the internet (a NAT gateway or equivalent)",
      );
  }
}

function validate(props: SyncLeaversScheduleProps): void {
  const where = 'SyncLeaversSchedule';
  if (!D.syncLeaversConnection.pattern.test(props.connection))
    throw new Error(
      `${where}: connection ${JSON.stringify(props.connection)} expected ${D.syncLeaversConnection.expected}`,
    );
  if (!D.syncLeaversSchedule.pattern.test(props.schedule))
    throw new Error(`${where}: schedule ${JSON.stringify(props.schedule)} expected ${D.syncLeaversSchedule.expected}`);
  if (props.maxBlock !== undefined && parseBlockLimit(props.maxBlock) === undefined)
    throw new Error(`${where}: maxBlock ${JSON.stringify(props.maxBlock)} expected ${D.syncLeaversMaxBlock.expected}`);
  if (props.directoryNetworkRanges.length === 0)
    throw new Error(`${where}: directoryNetworkRanges is empty; give the CIDR ranges of the directory servers`);
  if (props.directoryPorts.length === 0)
    throw new Error(`${where}: directoryPorts is empty; give the ports of the directory servers`);
  for (const port of props.directoryPorts) checkInRange(where, 'directoryPorts', port, D.ports);
  const secretArn = props.environment[S.LDAP_BIND_SECRET_ARN.env];
  if (secretArn !== props.bindSecret.secretArn)
    throw new Error(
      `${where}: environment ${S.LDAP_BIND_SECRET_ARN.env} ${JSON.stringify(secretArn ?? null)} is not bindSecret's ARN ${props.bindSecret.secretArn}; the function may read only bindSecret and the Management API secret`,
    );
  const caPath = props.environment[S.LDAP_CA_CERT.env];
  if (Boolean(props.caCertificateFile) !== (caPath === BUNDLED_CA_PATH))
    throw new Error(
      `${where}: environment ${S.LDAP_CA_CERT.env} ${JSON.stringify(caPath ?? null)} with caCertificateFile ${JSON.stringify(props.caCertificateFile ?? null)}; it must be ${BUNDLED_CA_PATH} exactly when a CA file is bundled`,
    );
  for (const name of Object.values(SYNC_LEAVERS_ENV))
    if (name in props.environment)
      throw new Error(`${where}: environment already sets ${name}; it is this construct's to set from its props`);
}
