// How every function of the bridge is built: one NodejsFunction with the bundling options below
// (the bundle-size test and the cold-start bench build with exactly these), a log group of its
// own kept when the stack is deleted, and an execution role with exactly what the function needs
// instead of AWS managed policies. It creates `${id}Logs`, `${id}Role` and `${id}` in the scope it
// is given: construct ids are a contract, and a wrapper construct would add a path component.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { BUNDLED_CA_PATH } from '../config.ts';

/**
 * The checkout the functions are bundled from: the nearest folder above this file with a
 * package-lock.json. From source that is two levels up; from the production build
 * (dist/lib/constructs, where `auth0-ldap-bridge audit` runs it) three.
 */
const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package-lock.json'))) return dir;
    if (path.dirname(dir) === dir)
      throw new Error(`no package-lock.json above ${start}: run from a checkout of the project`);
  }
}

/** How every function is bundled; the bundle-size test builds with exactly these options. */
export const BUNDLING = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  format: OutputFormat.ESM,
  target: 'node24',
  mainFields: ['module', 'main'],
  // The AWS SDK is part of the runtime; bundling it would add ~250 ms to cold starts.
  externalModules: ['@aws-sdk/*'],
  banner:
    "import { createRequire as bridgeCreateRequire } from 'node:module'; const require = bridgeCreateRequire(import.meta.url);",
};

export interface BridgeFunctionOptions {
  /** The handler's file, from the project root. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  /** A PEM bundled next to the handler, where BUNDLED_CA_PATH points. */
  readonly caCertificateFile?: string | undefined;
  /** Runs the function in these subnets behind this security group; outside any VPC when absent. */
  readonly vpc?: { vpc: ec2.IVpc; vpcSubnets: ec2.SubnetSelection; securityGroup: ec2.ISecurityGroup };
  /** Unreserved when absent. */
  readonly reservedConcurrency?: number;
}

export function createBridgeFunction(scope: Construct, id: string, options: BridgeFunctionOptions): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: options.logRetention,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of ${id}`,
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  if (options.vpc) {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AttachToVpc',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Lambda needs these EC2 network-interface actions to attach to the VPC; EC2 does not support resource-level permissions for the Describe actions Lambda calls.',
    });
  }
  const caFile = options.caCertificateFile;
  return new NodejsFunction(scope, id, {
    entry: path.join(PROJECT_ROOT, options.entry),
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    description: options.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: options.timeout,
    environment: options.environment,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.TEXT,
    ...(options.reservedConcurrency ? { reservedConcurrentExecutions: options.reservedConcurrency } : {}),
    ...(options.vpc
      ? {
          vpc: options.vpc.vpc,
          vpcSubnets: options.vpc.vpcSubnets,
          securityGroups: [options.vpc.securityGroup],
          allowPublicSubnet: false,
        }
      : {}),
    bundling: {
      ...BUNDLING,
      ...(caFile
        ? {
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (_inputDir: string, outputDir: string) => [
                `cp ${JSON.stringify(path.resolve(PROJECT_ROOT, caFile))} ${JSON.stringify(path.join(outputDir, path.posix.basename(BUNDLED_CA_PATH)))}`,
              ],
            },
          }
        : {}),
    },
  });
}
