// The deployed doctor in the synthesized templates: the login function's configuration, network
// and secret, invocable through IAM only, found by `doctor --stack` through its output; and the
// DoctorFunction construct's prop checks.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import {
  DOCTOR_INVOKE_TIMEOUT_MS,
  DOCTOR_FUNCTION_OUTPUT_KEY as OUTPUT_KEY_READ,
} from '../../lambdas/adapters/deployed-doctor.ts';
import { BUNDLED_CA_PATH, lambdaEnvironment, readDeploymentConfig } from '../../lib/config.ts';
import {
  DOCTOR_FUNCTION_OUTPUT_KEY,
  DoctorFunction,
  type DoctorFunctionProps,
} from '../../lib/constructs/doctor-function.ts';
import { build, CDK_CONTEXT, environment } from './support.ts';
import { EVERYTHING_ON } from './template-snapshot.ts';

type Json = Record<string, unknown>;
interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

const CASES = [
  ...Object.keys(CDK_CONTEXT.environments).map((name) => ({ name, built: () => build(name) })),
  { name: 'prod with every option on', built: () => build('prod', environment('prod', EVERYTHING_ON)) },
];

describe.each(CASES)('the deployed doctor in $name', ({ built }) => {
  const { stack, template } = built();
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
  const doctorId = logicalId(stack.bridge.doctorFunction);
  const doctor = resources[doctorId]!.Properties;
  const loginId = logicalId(stack.bridge.loginFunction);
  const login = resources[loginId]!.Properties;
  const roleId = (doctor.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;
  const statements = Object.values(resources)
    .filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' && JSON.stringify(resource.Properties.Roles).includes(`"${roleId}"`),
    )
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);

  it("runs in the login function's subnets behind its security group, with exactly its environment", () => {
    expect(doctor.VpcConfig).toEqual(login.VpcConfig);
    expect((doctor.VpcConfig as { SubnetIds: unknown[] }).SubnetIds.length).toBeGreaterThan(0);
    expect(doctor.Environment).toEqual(login.Environment);
    expect(doctor.Runtime).toBe(login.Runtime);
  });

  it('has no API route, function URL or resource policy: only IAM principals may invoke it', () => {
    const naming = (type: string, id: string) =>
      Object.values(resources).filter(
        (resource) => resource.Type === type && JSON.stringify(resource.Properties).includes(`"${id}"`),
      );
    expect(naming('AWS::Lambda::Permission', doctorId)).toEqual([]);
    expect(naming('AWS::Lambda::Url', doctorId)).toEqual([]);
    expect(naming('AWS::ApiGateway::Method', doctorId)).toEqual([]);
    // The same look-up finds the login function's route and the permissions API Gateway needs.
    expect(naming('AWS::Lambda::Permission', loginId)).not.toEqual([]);
    expect(naming('AWS::ApiGateway::Method', loginId)).not.toEqual([]);
  });

  it('may read only the bind secret (and decrypt its key through Secrets Manager), write its own log group and attach to the VPC', () => {
    const secretArn = (login.Environment as { Variables: Json }).Variables.LDAP_BIND_SECRET_ARN;
    const reads = statements.filter((statement) =>
      [statement.Action].flat().some((a) => a.startsWith('secretsmanager:')),
    );
    expect(reads).toEqual([
      expect.objectContaining({
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: secretArn,
      }),
    ]);
    const others = statements.filter((statement) => !reads.includes(statement));
    for (const statement of others) {
      const actions = [statement.Action].flat();
      if (statement.Sid === 'AttachToVpc') expect(actions.every((action) => action.startsWith('ec2:'))).toBe(true);
      else if (statement.Sid === 'DecryptBindSecret')
        expect(statement.Condition).toEqual({
          StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' },
        });
      else expect(actions).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    }
  });

  it('is named by the stack output doctor --stack looks for', () => {
    expect(template.toJSON().Outputs[DOCTOR_FUNCTION_OUTPUT_KEY]).toEqual({
      Description: expect.stringContaining('lambda:InvokeFunction'),
      Value: { 'Fn::GetAtt': [doctorId, 'Arn'] },
    });
    expect(OUTPUT_KEY_READ).toBe(DOCTOR_FUNCTION_OUTPUT_KEY);
  });

  it('times out before the command stops waiting for it, and runs one walk at a time', () => {
    expect(Number(doctor.Timeout) * 1000).toBeLessThan(DOCTOR_INVOKE_TIMEOUT_MS);
    expect(doctor.ReservedConcurrentExecutions).toBe(1);
  });
});

describe('DoctorFunction props', () => {
  const config = readDeploymentConfig(CDK_CONTEXT.environments, 'demo');
  const newDoctor = (change: (bindSecret: secretsmanager.ISecret) => Partial<DoctorFunctionProps>) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Test', { env: { region: 'eu-west-1', account: '123456789012' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    const bindSecret = new secretsmanager.Secret(stack, 'Secret');
    return () => {
      new DoctorFunction(stack, 'Doctor', {
        vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        securityGroup: new ec2.SecurityGroup(stack, 'Group', { vpc }),
        bindSecret,
        environment: lambdaEnvironment(config, bindSecret.secretArn),
        ...change(bindSecret),
      });
      return Template.fromStack(stack);
    };
  };

  it('builds with the environment of the secret it may read', () => {
    expect(newDoctor(() => ({}))().findResources('AWS::Lambda::Function')).not.toEqual({});
  });

  it('fails if the environment names another secret than the one the doctor may read', () => {
    const other = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-AbCdEf';
    expect(newDoctor(() => ({ environment: lambdaEnvironment(config, other) }))).toThrow(
      `DoctorFunction: environment LDAP_BIND_SECRET_ARN "${other}" is not bindSecret's ARN`,
    );
  });

  it('fails if a CA file is bundled but the environment does not point at it', () => {
    expect(newDoctor(() => ({ caCertificateFile: 'dev/ca.pem' }))).toThrow(
      'DoctorFunction: environment LDAP_CA_CERT null with caCertificateFile "dev/ca.pem"',
    );
  });

  it('fails if the environment points at a bundled CA that is not bundled', () => {
    const withCa = { ...config, directory: { ...config.directory, caCertificateFile: 'dev/ca.pem' } };
    expect(newDoctor((bindSecret) => ({ environment: lambdaEnvironment(withCa, bindSecret.secretArn) }))).toThrow(
      `DoctorFunction: environment LDAP_CA_CERT "${BUNDLED_CA_PATH}" with caCertificateFile null`,
    );
  });
});
