// The scheduled sync-leavers in the synthesized templates (syncLeavers.enabled): a function in
// the login function's subnets with its directory environment, behind a group of its own that
// reaches the directory and 443 only, on its EventBridge schedule, one run at a time, reading
// exactly the bind secret and the Management API secret, invoked by its rule and nothing else;
// nothing of it when the switch is off; the syncLeavers.* keys' checks; cdk-nag with it on; and
// the SyncLeaversSchedule construct's prop checks.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { DeploymentConfigError, lambdaEnvironment, readDeploymentConfig } from '../../lib/config.ts';
import {
  SYNC_LEAVERS_MEMORY_MB,
  SYNC_LEAVERS_TIMEOUT,
  SyncLeaversSchedule,
  type SyncLeaversScheduleProps,
} from '../../lib/constructs/sync-leavers-schedule.ts';
import { SYNC_LEAVERS_ENV } from '../../lambdas/entry/sync-leavers-function.ts';
import { build, CDK_CONTEXT, environment } from './support.ts';

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
}
interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

const BIND_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf';
const MANAGEMENT_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/management-AbCdEf';
const ON = { enabled: true, connection: 'ldap-bridge' };

function problems(name: string, env: Record<string, unknown>): string {
  try {
    readDeploymentConfig({ [name]: env }, name);
  } catch (error) {
    if (error instanceof DeploymentConfigError) return error.problems.join('\n');
    throw error;
  }
  return '';
}

/** prod with syncLeavers.* set, and what a test reads of its template. */
function builtWith(syncLeavers: Record<string, unknown>) {
  const built = build('prod', environment('prod', { syncLeavers }));
  const resources = built.template.toJSON().Resources as Record<string, Resource>;
  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    built.stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
  const schedule = built.stack.bridge.syncLeavers!;
  const fnId = logicalId(schedule.function);
  const naming = (type: string, id: string) =>
    Object.entries(resources).filter(
      ([, resource]) => resource.Type === type && JSON.stringify(resource.Properties).includes(`"${id}"`),
    );
  const roleId = (resources[fnId]!.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;
  const statements = Object.values(resources)
    .filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' && JSON.stringify(resource.Properties.Roles).includes(`"${roleId}"`),
    )
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  return {
    ...built,
    resources,
    fn: resources[fnId]!.Properties,
    fnId,
    login: resources[logicalId(built.stack.bridge.loginFunction)]!.Properties,
    ruleId: logicalId(schedule.rule),
    groupId: logicalId(schedule.securityGroup),
    naming,
    statements,
  };
}

describe('the scheduled sync-leavers in prod with syncLeavers.enabled', () => {
  const on = builtWith({ ...ON, schedule: 'cron(30 3 ? * MON-FRI *)', maxBlock: '5%' });

  it("runs in the login function's subnets, with its directory environment and the sync-leavers settings", () => {
    const vpc = on.fn.VpcConfig as { SubnetIds: unknown[]; SecurityGroupIds: unknown[] };
    expect(vpc.SubnetIds).toEqual((on.login.VpcConfig as { SubnetIds: unknown[] }).SubnetIds);
    expect(vpc.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [on.groupId, 'GroupId'] }]);
    const variables = (on.fn.Environment as { Variables: Json }).Variables;
    expect(variables).toEqual({
      ...(on.login.Environment as { Variables: Json }).Variables,
      [SYNC_LEAVERS_ENV.connection]: 'ldap-bridge',
      [SYNC_LEAVERS_ENV.apply]: 'false',
      [SYNC_LEAVERS_ENV.maxBlock]: '5%',
      [SYNC_LEAVERS_ENV.managementApiSecretArn]: { Ref: expect.stringMatching(/^LdapBridgeManagementApiSecret/) },
    });
    expect(on.fn.Runtime).toBe(on.login.Runtime);
  });

  it('may connect to the directory ranges on the directory ports and to TCP 443, nothing else', () => {
    const group = on.resources[on.groupId]!.Properties;
    const egress = (group.SecurityGroupEgress as Json[]).map(
      (rule) => `${String(rule.IpProtocol)} ${String(rule.FromPort)}-${String(rule.ToPort)} ${String(rule.CidrIp)}`,
    );
    expect(egress.sort()).toEqual(['tcp 443-443 0.0.0.0/0', 'tcp 636-636 10.20.0.0/24', 'tcp 636-636 10.20.1.0/24']);
    expect(group.SecurityGroupIngress).toBeUndefined();
    expect(on.naming('AWS::EC2::SecurityGroupEgress', on.groupId)).toEqual([]);
    // The endpoint the stack created accepts its HTTPS, as it accepts the directory functions'.
    expect(on.naming('AWS::EC2::SecurityGroupIngress', on.groupId).map(([, rule]) => rule.Properties)).toEqual([
      expect.objectContaining({ FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
    ]);
  });

  it('runs on the schedule of syncLeavers.schedule, one run at a time, for up to 15 minutes, never retried', () => {
    expect(on.resources[on.ruleId]!.Properties).toMatchObject({
      ScheduleExpression: 'cron(30 3 ? * MON-FRI *)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [on.fnId, 'Arn'] }, Id: 'Target0' }],
    });
    expect(on.fn.ReservedConcurrentExecutions).toBe(1);
    expect(on.fn.Timeout).toBe(SYNC_LEAVERS_TIMEOUT.toSeconds());
    expect(SYNC_LEAVERS_TIMEOUT.toSeconds()).toBe(900);
    expect(on.fn.MemorySize).toBe(SYNC_LEAVERS_MEMORY_MB);
    expect(on.naming('AWS::Lambda::EventInvokeConfig', on.fnId).map(([, config]) => config.Properties)).toEqual([
      expect.objectContaining({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 }),
    ]);
  });

  it('is invoked by its rule only: one permission, for events.amazonaws.com from that rule; no route, no URL', () => {
    expect(on.naming('AWS::Lambda::Permission', on.fnId).map(([, permission]) => permission.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [on.fnId, 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [on.ruleId, 'Arn'] },
      },
    ]);
    expect(on.naming('AWS::Lambda::Url', on.fnId)).toEqual([]);
    expect(on.naming('AWS::ApiGateway::Method', on.fnId)).toEqual([]);
  });

  it('may read exactly the bind secret and the Management API secret, write its own log group and attach to the VPC', () => {
    const reads = on.statements.filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith('secretsmanager:')),
    );
    expect(reads.map((statement) => statement.Resource)).toEqual([
      BIND_SECRET_ARN,
      { Ref: expect.stringMatching(/^LdapBridgeManagementApiSecret/) },
    ]);
    for (const statement of reads)
      expect(statement.Action).toEqual(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']);
    for (const statement of on.statements.filter((each) => !reads.includes(each))) {
      const actions = [statement.Action].flat();
      if (statement.Sid === 'AttachToVpc') expect(actions.every((action) => action.startsWith('ec2:'))).toBe(true);
      else expect(actions).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    }
  });

  it("keeps its own log group for the stack's retention", () => {
    const logGroup = (on.fn.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    expect(on.resources[logGroup]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 365 } });
  });

  it('creates the Management API secret with placeholders, to be filled in, and names it in an output', () => {
    const [[secretId, secret]] = Object.entries(on.resources).filter(
      ([, resource]) => resource.Type === 'AWS::SecretsManager::Secret',
    ) as [[string, Resource]];
    expect(JSON.parse(String((secret.Properties.GenerateSecretString as Json).SecretStringTemplate))).toEqual({
      domain: 'REPLACE-WITH-THE-TENANT-DOMAIN',
      clientId: 'REPLACE-WITH-THE-CLIENT-ID',
    });
    const outputs = Object.values(on.template.toJSON().Outputs as Record<string, { Value: unknown }>);
    expect(outputs.map((output) => output.Value)).toContainEqual({ Ref: secretId });
    expect(outputs.map((output) => output.Value)).toContainEqual({ Ref: on.fnId });
  });

  it('alarms on its errors (a failed, refused or cut-short run) and its throttles', () => {
    const alarms = on
      .naming('AWS::CloudWatch::Alarm', on.fnId)
      .map(([, alarm]) => String(alarm.Properties.MetricName))
      .sort();
    expect(alarms).toEqual(['Duration', 'Errors', 'Throttles']);
    const errors = on
      .naming('AWS::CloudWatch::Alarm', on.fnId)
      .find(([, alarm]) => alarm.Properties.MetricName === 'Errors');
    expect(errors?.[1].Properties).toMatchObject({
      Threshold: 1,
      AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:security-alerts'],
    });
  });

  it('has zero unacknowledged cdk-nag findings', () => {
    const report = on.nag.validateScope(on.app);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});

describe('the scheduled sync-leavers with an existing Management API secret, applying', () => {
  const on = builtWith({ ...ON, apply: true, managementApiSecretArn: MANAGEMENT_SECRET_ARN });

  it('reads that exact secret, creates none, and applies', () => {
    const reads = on.statements
      .filter((statement) => [statement.Action].flat().some((action) => action.startsWith('secretsmanager:')))
      .map((statement) => statement.Resource);
    expect(reads).toEqual([BIND_SECRET_ARN, MANAGEMENT_SECRET_ARN]);
    expect(Object.values(on.resources).filter((resource) => resource.Type === 'AWS::SecretsManager::Secret')).toEqual(
      [],
    );
    expect((on.fn.Environment as { Variables: Json }).Variables).toMatchObject({
      [SYNC_LEAVERS_ENV.apply]: 'true',
      [SYNC_LEAVERS_ENV.managementApiSecretArn]: MANAGEMENT_SECRET_ARN,
    });
    expect((on.fn.Environment as { Variables: Json }).Variables).not.toHaveProperty(SYNC_LEAVERS_ENV.maxBlock);
    expect(on.resources[on.ruleId]!.Properties.ScheduleExpression).toBe('rate(1 hour)');
    expect(on.nag.validateScope(on.app).violations).toEqual([]);
  });
});

describe.each(Object.keys(CDK_CONTEXT.environments))('%s as shipped (syncLeavers off)', (name) => {
  it('has no schedule, no sync-leavers function, group, secret or permission', () => {
    const { stack, template } = build(name);
    expect(stack.bridge.syncLeavers).toBeUndefined();
    expect(template.findResources('AWS::Events::Rule')).toEqual({});
    expect(template.findResources('AWS::Lambda::EventInvokeConfig')).toEqual({});
    const ids = Object.keys(template.toJSON().Resources as Json);
    expect(ids.filter((id) => /SyncLeavers|ManagementApi/.test(id))).toEqual([]);
    expect(JSON.stringify(template.toJSON())).not.toContain('SYNC_LEAVERS');
  });
});

describe('syncLeavers.* in cdk.json', () => {
  it('reads the settings when enabled, with the defaults: hourly dry runs', () => {
    const config = readDeploymentConfig({ prod: environment('prod', { syncLeavers: ON }) }, 'prod');
    expect(config.syncLeavers).toEqual({ connection: 'ldap-bridge', schedule: 'rate(1 hour)', apply: false });
    expect(readDeploymentConfig(CDK_CONTEXT.environments, 'prod').syncLeavers).toBeUndefined();
  });

  it('fails if enabled without a connection', () => {
    expect(problems('prod', environment('prod', { syncLeavers: { enabled: true } }))).toBe(
      'environments.prod.syncLeavers.connection: is required when syncLeavers.enabled is true',
    );
  });

  it('fails if the connection name is not one Auth0 accepts', () => {
    expect(problems('prod', environment('prod', { syncLeavers: { ...ON, connection: 'ldap bridge' } }))).toContain(
      'environments.prod.syncLeavers.connection: "ldap bridge" expected an Auth0 connection name',
    );
  });

  it.each([
    ['every 5 minute', 'rate(5 minute)', 'expected an EventBridge schedule expression'],
    ['a singular unit for 1 written plural', 'rate(1 hours)', 'expected an EventBridge schedule expression'],
    ['five cron fields', 'cron(0 3 * * ?)', 'expected an EventBridge schedule expression'],
    ['no schedule form at all', 'hourly', 'expected an EventBridge schedule expression'],
    ['a rate under 15 minutes', 'rate(10 minutes)', 'runs more often than every 15 minutes'],
    ['both day fields given', 'cron(0 3 * * MON *)', 'needs "?" in exactly one of day-of-month'],
    ['both day fields "?"', 'cron(0 3 ? * ? *)', 'needs "?" in exactly one of day-of-month'],
  ])('fails if the schedule is %s: %s', (_case, schedule, message) => {
    const found = problems('prod', environment('prod', { syncLeavers: { ...ON, schedule } }));
    expect(found).toContain(`environments.prod.syncLeavers.schedule: ${JSON.stringify(schedule)} `);
    expect(found).toContain(message);
  });

  it.each(['rate(15 minutes)', 'rate(1 day)', 'rate(2 hours)', 'cron(0 3 * * ? *)', 'cron(15 2 ? * MON-FRI *)'])(
    'accepts the schedule %s',
    (schedule) => {
      expect(problems('prod', environment('prod', { syncLeavers: { ...ON, schedule } }))).toBe('');
    },
  );

  it('checks a schedule prepared with the switch off too', () => {
    expect(problems('prod', environment('prod', { syncLeavers: { schedule: 'rate(1 minute)' } }))).toContain(
      'environments.prod.syncLeavers.schedule: "rate(1 minute)" runs more often than every 15 minutes',
    );
  });

  it.each([
    ['clientSecret', 'the-client-secret-9f2e'],
    ['managementApiClientSecret', 'the-client-secret-9f2e'],
    ['password', 'the-client-secret-9f2e'],
  ])('refuses a credential in cdk.json (syncLeavers.%s) without quoting it', (key, value) => {
    const found = problems('prod', environment('prod', { syncLeavers: { ...ON, [key]: value } }));
    expect(found).toBe(
      `environments.prod.syncLeavers.${key}: a secret never goes in cdk.json: it would be written into the synthesized template; keep it in Secrets Manager (bindSecret.secretArn, syncLeavers.managementApiSecretArn)`,
    );
    expect(found).not.toContain(value);
  });

  it('fails if the Management API secret ARN is partial (the grant would need a wildcard)', () => {
    const partial = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/management';
    expect(
      problems('prod', environment('prod', { syncLeavers: { ...ON, managementApiSecretArn: partial } })),
    ).toContain('environments.prod.syncLeavers.managementApiSecretArn: ');
  });

  it.each(['150%', '-3', 'ten', '5 %'])('fails if maxBlock is not a count or a share: %s', (maxBlock) => {
    expect(problems('prod', environment('prod', { syncLeavers: { ...ON, maxBlock } }))).toContain(
      `environments.prod.syncLeavers.maxBlock: ${JSON.stringify(maxBlock)} expected a number of users`,
    );
  });

  it('fails in the demo network, whose isolated subnets cannot reach Auth0', () => {
    expect(problems('demo', environment('demo', { syncLeavers: ON }))).toBe(
      `environments.demo.syncLeavers.enabled: true needs network.kind "existing" whose private subnets reach the internet (a NAT gateway or equivalent) for Auth0's Management API; the demo VPC's subnets are isolated`,
    );
  });
});

describe('SyncLeaversSchedule props', () => {
  const config = readDeploymentConfig(CDK_CONTEXT.environments, 'demo');
  const newSchedule = (change: (bindSecret: secretsmanager.ISecret) => Partial<SyncLeaversScheduleProps>) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Test', { env: { region: 'eu-west-1', account: '123456789012' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const bindSecret = new secretsmanager.Secret(stack, 'Secret');
    return () => {
      new SyncLeaversSchedule(stack, 'SyncLeavers', {
        vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        bindSecret,
        environment: lambdaEnvironment(config, bindSecret.secretArn),
        directoryNetworkRanges: ['10.50.0.0/16'],
        directoryPorts: [636],
        connection: 'ldap-bridge',
        schedule: 'rate(1 hour)',
        apply: false,
        ...change(bindSecret),
      });
      return Template.fromStack(stack);
    };
  };

  it('builds in subnets with a route out', () => {
    expect(newSchedule(() => ({}))().findResources('AWS::Events::Rule')).not.toEqual({});
  });

  it('fails if the subnets are isolated (no route to Auth0)', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Isolated', { env: { region: 'eu-west-1', account: '123456789012' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'directory', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const bindSecret = new secretsmanager.Secret(stack, 'Secret');
    expect(
      () =>
        new SyncLeaversSchedule(stack, 'SyncLeavers', {
          vpc,
          vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
          bindSecret,
          environment: lambdaEnvironment(config, bindSecret.secretArn),
          directoryNetworkRanges: ['10.50.0.0/16'],
          directoryPorts: [636],
          connection: 'ldap-bridge',
          schedule: 'rate(1 hour)',
          apply: false,
        }),
    ).toThrow('SyncLeaversSchedule: vpcSubnets selects isolated subnets only');
  });

  it('fails if the environment names another secret than the bind secret it may read', () => {
    const other = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-AbCdEf';
    expect(newSchedule(() => ({ environment: lambdaEnvironment(config, other) }))).toThrow(
      `SyncLeaversSchedule: environment LDAP_BIND_SECRET_ARN "${other}" is not bindSecret's ARN`,
    );
  });

  it('fails if the environment already sets what the construct sets from its props', () => {
    expect(
      newSchedule((bindSecret) => ({
        environment: { ...lambdaEnvironment(config, bindSecret.secretArn), [SYNC_LEAVERS_ENV.apply]: 'true' },
      })),
    ).toThrow(`SyncLeaversSchedule: environment already sets ${SYNC_LEAVERS_ENV.apply}`);
  });

  it.each([
    ['connection', { connection: 'ldap bridge' }, 'SyncLeaversSchedule: connection "ldap bridge" expected'],
    ['schedule', { schedule: 'hourly' }, 'SyncLeaversSchedule: schedule "hourly" expected'],
    ['maxBlock', { maxBlock: '200%' }, 'SyncLeaversSchedule: maxBlock "200%" expected'],
    ['directoryPorts', { directoryPorts: [] }, 'SyncLeaversSchedule: directoryPorts is empty'],
  ])('fails if %s is bad', (_prop, change, message) => {
    expect(newSchedule(() => change)).toThrow(message);
  });
});
