// The deployed doctor: a function that walks the directory links of `auth0-ldap-bridge doctor`
// from where the login function runs, with exactly its configuration (environment, bundled CA),
// network (subnets, security group) and bind secret, so `doctor --stack NAME` checks the VPN,
// the security groups, the secret and DNS of the real deployment. Nothing invokes it but IAM
// principals allowed lambda:InvokeFunction on it: no API route, no function URL, no resource
// policy. The issuer's links are not its to walk: the VPC need not reach the internet.
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEPLOYMENT_SETTINGS as D, RUNTIME_SETTINGS as S } from '../../lambdas/contract/settings.ts';
import { BUNDLED_CA_PATH } from '../config.ts';
import { createBridgeFunction } from './bridge-function.ts';
import { hideFromLogicalIds } from './construct-ids.ts';
import type { DirectoryFunctionsProps } from './directory-functions.ts';

/**
 * The doctor function's timeout. A walk is DNS, TCP and TLS to every server of LDAP_URLS at once,
 * then the service session and a handful of directory operations, each bounded by the directory
 * timeouts (connect + 2 x operation stays under the directory functions' 15 s at most).
 * `invokeDeployedDoctor` waits longer than this (lambdas/adapters/deployed-doctor.ts).
 */
export const DOCTOR_FUNCTION_TIMEOUT = Duration.seconds(60);

/**
 * The key of the stack output that names the doctor function's ARN (DescribeStacks' OutputKey),
 * which `doctor --stack NAME` looks for.
 */
export const DOCTOR_FUNCTION_OUTPUT_KEY = 'DoctorFunctionArn';

/**
 * The directory functions' props but their timeout and concurrency, which are the doctor's own:
 * the doctor runs with exactly their environment, network, bind secret and CA.
 */
export type DoctorFunctionProps = Omit<DirectoryFunctionsProps, 'functionTimeout' | 'reservedConcurrency'>;

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
