// The directory functions: one NodejsFunction per route of the HTTP contract (ROUTES), in private
// subnets behind the directory network's security group, each with its own role and log group,
// allowed to read exactly the bind secret (and to decrypt it only through Secrets Manager when a
// customer key encrypts it).
import { Duration, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ROUTES, type RouteName } from '../../lambdas/contract/routes.ts';
import { DEPLOYMENT_SETTINGS as D, RUNTIME_SETTINGS as S } from '../../lambdas/contract/settings.ts';
import { BUNDLED_CA_PATH } from '../config.ts';
import { createBridgeFunction } from './bridge-function.ts';
import { hideFromLogicalIds, pascalCase } from './construct-ids.ts';
import { checkInRange } from './prop-checks.ts';

export interface DirectoryFunctionsProps {
  /** The VPC whose private subnets reach the directory. */
  readonly vpc: ec2.IVpc;
  /** Where the functions run: private subnets (DirectoryNetwork's `subnets`). */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** The security group that limits their egress (DirectoryNetwork's `securityGroup`). */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The service account's `{"bindDN","password"}` secret: the one secret the functions may read. */
  readonly bindSecret: ISecret;
  /**
   * The functions' environment: `lambdaEnvironment()` of lib/config.ts. Its LDAP_BIND_SECRET_ARN
   * must be `bindSecret`'s ARN, and its LDAP_CA_CERT the bundled CA exactly when
   * `caCertificateFile` is given.
   */
  readonly environment: Record<string, string>;
  /**
   * The PEM of the directory's private CA (a path from the project root), bundled with the
   * functions at BUNDLED_CA_PATH.
   * @default none: the system CAs
   */
  readonly caCertificateFile?: string;
  /**
   * The functions' timeout, under Auth0's ~20 s script limit.
   * @default Duration.seconds(10)
   */
  readonly functionTimeout?: Duration;
  /**
   * Reserved concurrency of each function: the cap on connections to the directory.
   * @default 10
   */
  readonly reservedConcurrency?: number;
  /** @default the settings table's logRetentionDays (90 days) */
  readonly logRetention?: logs.RetentionDays;
}

export class DirectoryFunctions extends Construct {
  /** The function that answers each route, by route name. */
  readonly functions: Readonly<Record<RouteName, NodejsFunction>>;

  constructor(scope: Construct, id: string, props: DirectoryFunctionsProps) {
    super(scope, id);
    hideFromLogicalIds(this);
    const timeout = props.functionTimeout ?? Duration.seconds(D.functionTimeoutSeconds.default);
    const reservedConcurrency = props.reservedConcurrency ?? D.reservedConcurrency.default;
    validate(props, timeout, reservedConcurrency);

    const functions: Partial<Record<RouteName, NodejsFunction>> = {};
    for (const route of ROUTES) {
      const fn = createBridgeFunction(this, `${pascalCase(route.name)}Function`, {
        entry: 'lambdas/entry/lambda.ts',
        description: `auth0-ldap-bridge ${route.path}: LDAP search and bind`,
        environment: props.environment,
        timeout,
        logRetention: props.logRetention ?? (D.logRetentionDays.default as logs.RetentionDays),
        caCertificateFile: props.caCertificateFile,
        vpc: { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroup: props.securityGroup },
        reservedConcurrency,
      });
      this.grantReadBindSecret(fn, props.bindSecret);
      functions[route.name] = fn;
    }
    this.functions = functions as Record<RouteName, NodejsFunction>;
  }

  private grantReadBindSecret(fn: NodejsFunction, bindSecret: ISecret): void {
    bindSecret.grantRead(fn);
    const key = bindSecret.encryptionKey;
    if (!key) return;
    // grantRead does not reach an imported customer key; decrypt it only through Secrets Manager.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DecryptBindSecret',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }
}

function validate(props: DirectoryFunctionsProps, timeout: Duration, reservedConcurrency: number): void {
  // The table's range keeps the function under Auth0's ~20 s script budget.
  checkInRange('DirectoryFunctions', 'functionTimeout', timeout.toSeconds(), D.functionTimeoutSeconds);
  checkInRange('DirectoryFunctions', 'reservedConcurrency', reservedConcurrency, D.reservedConcurrency);
  const secretArn = props.environment[S.LDAP_BIND_SECRET_ARN.env];
  if (secretArn !== props.bindSecret.secretArn)
    throw new Error(
      `DirectoryFunctions: environment ${S.LDAP_BIND_SECRET_ARN.env} ${JSON.stringify(secretArn ?? null)} is not bindSecret's ARN ${props.bindSecret.secretArn}; the functions may read only bindSecret`,
    );
  const caPath = props.environment[S.LDAP_CA_CERT.env];
  if (Boolean(props.caCertificateFile) !== (caPath === BUNDLED_CA_PATH))
    throw new Error(
      `DirectoryFunctions: environment ${S.LDAP_CA_CERT.env} ${JSON.stringify(caPath ?? null)} with caCertificateFile ${JSON.stringify(props.caCertificateFile ?? null)}; it must be ${BUNDLED_CA_PATH} exactly when a CA file is bundled`,
    );
}
