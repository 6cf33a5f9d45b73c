// The deployed doctor: a function that walks the directory links of `auth0-ldap-bridge doctor`
// from where the login function runs, with exactly its configuration (environment, bundled CA),
// network (subnets, security group) and bind secret, so `doctor --stack NAME` checks the VPN,
// the security groups, the secret and DNS of the real deployment. Nothing invokes it but IAM
// principals allowed lambda:InvokeFunction on it: no API route, no function URL, no resource
// policy. The issuer's links are not its to walk: the VPC need not reach the internet.
import { Duration, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEPLOYMENT_SETTINGS as D, RUNTIME_SETTINGS as S } from '../../lambdas/contract/settings.ts';
import { BUNDLED_CA_PATH } from '../config.ts';
import { createBridgeFunction } from './bridge-function.ts';
import { hideFromLogicalIds } from './construct-ids.ts';

/**
 * The doctor function's timeout: a walk of every server of LDAP_URLS (DNS, TCP, TLS) and five
 * directory operations, each bounded by the directory timeouts the deployment holds under 15 s.
 * `invokeDeployedDoctor` waits longer than this (lambdas/adapters/deployed-doctor.ts).
 */
export const DOCTOR_FUNCTION_TIMEOUT = Duration.seconds(60);

/**
 * The key of the stack output that names the doctor function's ARN (DescribeStacks' OutputKey),
 * which `doctor --stack NAME` looks for.
 */
export const DOCTOR_FUNCTION_OUTPUT_KEY = 'DoctorFunctionArn';

export interface DoctorFunctionProps {
  /** The VPC the login function runs in. */
  readonly vpc: ec2.IVpc;
  /** The login function's subnets (DirectoryNetwork's `subnets`). */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** The login function's security group (DirectoryNetwork's `securityGroup`): the same egress, nothing more. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The service account's `{"bindDN","password"}` secret: the one secret the doctor may read. */
  readonly bindSecret: ISecret;
  /**
   * The login function's environment: `lambdaEnvironment()` of lib/config.ts. Its
   * LDAP_BIND_SECRET_ARN must be `bindSecret`'s ARN, and its LDAP_CA_CERT the bundled CA exactly
   * when `caCertificateFile` is given.
   */
  readonly environment: Record<string, string>;
  /**
   * The PEM of the directory's private CA (a path from the project root), bundled as for the login function.
   * @default none: the system CAs
   */
  readonly caCertificateFile?: string;
  /** @default the settings table's logRetentionDays (90 days) */
  readonly logRetention?: logs.RetentionDays;
}

export class DoctorFunction extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: DoctorFunctionProps) {
    super(scope, id);
    hideFromLogicalIds(this);
    validate(props);
    this.function = createBridgeFunction(this, 'DoctorFunction', {
      entry: 'lambdas/entry/doctor-function.ts',
      description:
        'auth0-ldap-bridge deployed doctor: walks DNS, TCP, TLS, service bind and searches from the login function\'s network (invoked by "auth0-ldap-bridge doctor --stack"; IAM only)',
      environment: props.environment,
      timeout: DOCTOR_FUNCTION_TIMEOUT,
      logRetention: props.logRetention ?? (D.logRetentionDays.default as logs.RetentionDays),
      caCertificateFile: props.caCertificateFile,
      vpc: { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroup: props.securityGroup },
      // One walk at a time: an operator's tool, each run opening its own directory connections.
      reservedConcurrency: 1,
    });
    props.bindSecret.grantRead(this.function);
    const key = props.bindSecret.encryptionKey;
    if (key) {
      // grantRead does not reach an imported customer key; decrypt it only through Secrets Manager.
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'DecryptBindSecret',
          actions: ['kms:Decrypt'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
  }
}

function validate(props: DoctorFunctionProps): void {
  const secretArn = props.environment[S.LDAP_BIND_SECRET_ARN.env];
  if (secretArn !== props.bindSecret.secretArn)
    throw new Error(
      `DoctorFunction: environment ${S.LDAP_BIND_SECRET_ARN.env} ${JSON.stringify(secretArn ?? null)} is not bindSecret's ARN ${props.bindSecret.secretArn}; the doctor may read only bindSecret`,
    );
  const caPath = props.environment[S.LDAP_CA_CERT.env];
  if (Boolean(props.caCertificateFile) !== (caPath === BUNDLED_CA_PATH))
    throw new Error(
      `DoctorFunction: environment ${S.LDAP_CA_CERT.env} ${JSON.stringify(caPath ?? null)} with caCertificateFile ${JSON.stringify(props.caCertificateFile ?? null)}; it must be ${BUNDLED_CA_PATH} exactly when a CA file is bundled`,
    );
}
