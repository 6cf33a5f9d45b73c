// The audit report: it must say what will be deployed, change when the surface changes, and the
// committed copy must match the code (so every surface change shows up in review as a diff).
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { auditApp, renderMarkdown } from '../../lib/audit.ts';
import { CDK_CONTEXT, environment } from './support.ts';

const defaultEnvironment = String((CDK_CONTEXT as Record<string, unknown>).defaultEnvironment);

function audit(
  name: string,
  env: Record<string, unknown> = environment(name),
  change?: (built: ReturnType<typeof buildApp>) => void,
) {
  const built = buildApp(
    new App({ context: { 'aws:cdk:bundling-stacks': [], env: name, environments: { [name]: env } } }),
    { failSynthOnFindings: false },
  );
  change?.(built);
  return auditApp(built);
}

describe('npm run audit', () => {
  it('matches the committed audit/report.json and audit/report.md (run `npm run audit` and review the diff after changing the surface)', () => {
    const report = audit(defaultEnvironment, environment(defaultEnvironment));
    expect(`${JSON.stringify(report, null, 2)}\n`).toBe(readFileSync('audit/report.json', 'utf8'));
    expect(renderMarkdown(report)).toBe(readFileSync('audit/report.md', 'utf8'));
  });

  it('lists every route with its authorizer, scope, validation and throttling', () => {
    const report = audit('prod');
    expect(report.routes).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/get-user',
        authorization: 'CUSTOM',
        requiredScope: 'users:read',
        throttling: '100 req/s, burst 200',
      }),
      expect.objectContaining({
        method: 'POST',
        path: '/login',
        authorization: 'CUSTOM',
        requiredScope: 'users:login',
        throttling: '100 req/s, burst 200',
      }),
    ]);
    expect(report.routes[1]!.requestModel).toMatchObject({
      additionalProperties: false,
      required: ['username', 'password'],
    });
  });

  it('says what each function can reach and do', () => {
    const report = audit('prod');
    const login = report.functions.find((fn) => fn.name === 'LdapBridge/LoginFunction')!;
    expect(login.egress).toEqual(expect.arrayContaining(['tcp 636 to 10.20.0.0/24', 'tcp 636 to 10.20.1.0/24']));
    expect(login.permissions).toContainEqual({
      effect: 'Allow',
      actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      resources: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf'],
    });
    const authorizer = report.functions.find((fn) => fn.name === 'LdapBridge/AuthorizerFunction')!;
    expect(authorizer.network).toContain('outside any VPC');
    expect(report.api.resourcePolicy).not.toBeNull();
    expect(report.cdkNag.unacknowledged).toEqual([]);
    expect(report.cdkNag.acknowledged.map((entry) => entry.rule)).toContain('AwsSolutions-COG4');
  });

  it("says the deployed doctor is invoked through IAM only, from the login function's network, reading only the bind secret", () => {
    const report = audit('prod');
    const doctor = report.functions.find((fn) => fn.name === 'LdapBridge/DoctorFunction')!;
    const login = report.functions.find((fn) => fn.name === 'LdapBridge/LoginFunction')!;
    expect(doctor.invokedBy).toEqual([]);
    expect(login.invokedBy).toContain('API route POST /login');
    expect(doctor.network).toBe(login.network);
    expect(doctor.egress).toEqual(login.egress);
    expect(doctor.environment).toEqual(login.environment);
    expect(
      doctor.permissions.filter((permission) =>
        permission.actions.some((action) => action.startsWith('secretsmanager:')),
      ),
    ).toEqual([
      {
        effect: 'Allow',
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        resources: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf'],
      },
    ]);
    expect(renderMarkdown(report)).toContain('### LdapBridge/DoctorFunction');
    expect(renderMarkdown(report)).toContain(
      '- Invoked by: IAM principals allowed lambda:InvokeFunction on it only (no resource policy, no function URL, no API route).',
    );
  });

  it('shows a function URL added to the doctor, and who its resource policy lets in', () => {
    const report = audit('prod', environment('prod'), ({ stack }) => {
      stack.bridge.doctorFunction.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    });
    const doctor = report.functions.find((fn) => fn.name === 'LdapBridge/DoctorFunction')!;
    expect(doctor.invokedBy).toEqual([
      '* (lambda:InvokeFunction, through its function URL) from any source',
      '* (lambda:InvokeFunctionUrl, function URL auth NONE) from any source',
      'its function URL (auth NONE)',
    ]);
    expect(renderMarkdown(report)).toContain(
      '- Invoked by: * (lambda:InvokeFunction, through its function URL) from any source; * (lambda:InvokeFunctionUrl, function URL auth NONE) from any source; its function URL (auth NONE); and IAM principals allowed lambda:InvokeFunction on it.',
    );
  });

  it('shows allowedSourceIps and the WAF rule that enforces them before any other', () => {
    const report = audit('prod');
    const sources = ['52.28.56.226/32', '52.28.45.240/32', '52.16.224.164/32', '52.16.193.66/32'];
    expect(report.api.sourceAddresses).toEqual({
      allowed: sources,
      wafRule: 'OnlyAllowedSourceIps',
      resourcePolicy: true,
    });
    expect(report.waf[0]).toEqual({
      priority: 0,
      name: 'OnlyAllowedSourceIps',
      rule: `source address outside ${sources.join(', ')}`,
      action: 'Block',
    });
    expect(renderMarkdown(report)).toContain(
      `- Source addresses: only ${sources.join(', ')}: WAF rule \`OnlyAllowedSourceIps\` blocks every other source before any other rule runs; the resource policy refuses them too.`,
    );
    expect(audit('demo').api.sourceAddresses).toEqual({ allowed: 'any', resourcePolicy: false });
  });

  it('lists the body rules the WAF only counts and the per-IP limit', () => {
    const report = audit('prod');
    expect(report.waf.find((rule) => rule.name === 'AWSManagedRulesCommonRuleSet')?.countedRules).toContain(
      'CrossSiteScripting_BODY',
    );
    expect(report.waf.find((rule) => rule.name === 'AWSManagedRulesKnownBadInputsRuleSet')?.action).toMatch(
      /^as the rule group says \(block\), but only counted: .*Log4JRCE_BODY/,
    );
    expect(report.waf.at(-1)).toMatchObject({
      name: 'RateLimitPerSourceIp',
      rule: 'rate limit 60400 requests per 5 minutes per IP',
    });
  });

  it('says where alarms go: the topic, its key and who may use it, the subscription kind', () => {
    const [created] = audit('demo').alarmTopics;
    expect(created).toMatchObject({
      topic: 'AlarmTopic',
      managedBy: 'this stack',
      subscriptions: ['email'],
      undeliverable: [],
    });
    expect(created?.encryption).toMatch(
      /^customer-managed key `AlarmTopicKey`, rotation on; its key policy lets cloudwatch\.amazonaws\.com use it/,
    );
    expect(created?.publishing).toMatch(/^the topic policy lets cloudwatch\.amazonaws\.com publish/);
    expect(audit('prod').alarmTopics).toEqual([
      expect.objectContaining({
        topic: 'arn:aws:sns:eu-west-1:123456789012:security-alerts',
        managedBy: 'outside this stack',
      }),
    ]);
  });

  it('says no alarm is delivered when the topic is under alias/aws/sns', () => {
    const report = audit('demo', environment('demo'), ({ stack }) => {
      const topic = stack.node.findChild('AlarmTopic').node.defaultChild as sns.CfnTopic;
      topic.kmsMasterKeyId = 'alias/aws/sns';
    });
    expect(report.alarmTopics[0]?.encryption).toBe('the AWS managed key alias/aws/sns');
    expect(report.alarmTopics[0]?.undeliverable).toEqual([
      'cloudwatch.amazonaws.com may not use the AWS managed key alias/aws/sns, and its policy cannot be changed',
    ]);
    expect(renderMarkdown(report)).toContain('- **No alarm is delivered**: cloudwatch.amazonaws.com may not use');
  });

  it('shows widened egress', () => {
    const env = environment('prod');
    env.directory = {
      ...(env.directory as object),
      networkRanges: ['10.20.0.0/24', '10.20.1.0/24', '172.16.0.0/12'],
      ports: [636, 3269],
    };
    const widened = audit('prod', env);
    const before = audit('prod');
    const egressOf = (report: typeof before) =>
      report.securityGroups.find((group) => group.name === 'LdapBridge/DirectoryFunctionsSecurityGroup')!.egress;
    expect(egressOf(widened)).toEqual(
      expect.arrayContaining(['tcp 636 to 172.16.0.0/12', 'tcp 3269 to 172.16.0.0/12']),
    );
    expect(egressOf(before)).not.toContain('tcp 636 to 172.16.0.0/12');
    expect(renderMarkdown(widened)).toContain('tcp 3269 to 172.16.0.0/12');
  });

  it('lists the dashboard with its widgets, and what each alarm watches, its threshold and missing-data rule', () => {
    const report = audit('demo');
    expect(report.dashboards).toEqual([
      {
        name: 'LdapBridge-demo-eu-west-1',
        widgets: expect.arrayContaining([
          '/login by outcome (requests per 5 minutes)',
          'Latency per route (ms)',
          'Directory errors by server (error, timeout, connection_error; per 5 minutes)',
          'Lockout shield refusals (logins per 5 minutes)',
          'Authorizer denials (tokens per 5 minutes)',
          'Throttled or blocked before the bridge (per 5 minutes)',
          `Alarms: the state of ${report.alarms.length} alarms`,
        ]),
      },
    ]);
    expect(report.alarms.find((alarm) => alarm.name === 'LdapBridge/LockoutShieldAlarm')).toEqual({
      name: 'LdapBridge/LockoutShieldAlarm',
      description:
        'The lockout shield answered 10 logins in 5 minutes instead of binding: accounts are being guessed at close to their lockout threshold',
      watches: 'Auth0LdapBridge Requests {Outcome=lockout_shield, Route=login, service=LdapBridge-demo} Sum per 300 s',
      comparison: '>=',
      threshold: 10,
      missingData: 'notBreaching',
      notifies: ['<AlarmTopic>'],
    });
    expect(report.alarms.find((alarm) => alarm.name === 'LdapBridge/InvalidCredentialsShareAlarm')?.watches).toBe(
      'IF(logins >= 20, 100 * FILL(invalid, 0) / logins, 0) where logins = Auth0LdapBridge RequestDuration {Route=login, service=LdapBridge-demo} SampleCount per 300 s; invalid = Auth0LdapBridge Requests {Outcome=invalid_credentials, Route=login, service=LdapBridge-demo} Sum per 300 s',
    );
    const markdown = renderMarkdown(report);
    expect(markdown).toContain(
      '| LdapBridge/LockoutShieldAlarm | The lockout shield answered 10 logins in 5 minutes instead of binding: accounts are being guessed at close to their lockout threshold | `Auth0LdapBridge Requests {Outcome=lockout_shield, Route=login, service=LdapBridge-demo} Sum per 300 s` | >= 10 | notBreaching | <AlarmTopic> |',
    );
    expect(markdown).toContain('## Dashboards\n\n- `LdapBridge-demo-eu-west-1`: /login by outcome');
  });

  it('shows the scheduled sync-leavers: its schedule, dry run or applying, its egress, the secrets it reads, who invokes it', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/management-AbCdEf';
    const dry = audit('prod', environment('prod', { syncLeavers: { enabled: true, connection: 'ldap-bridge' } }));
    expect(dry.schedules).toEqual([
      {
        name: 'LdapBridge/SyncLeaversSchedule',
        schedule: 'rate(1 hour)',
        state: 'ENABLED',
        runs: [
          'function LdapBridge/SyncLeaversFunction: sync-leavers for connection ldap-bridge, dry run: reports what it would block and unblock, changes nothing',
        ],
      },
    ]);
    const fn = dry.functions.find((each) => each.name === 'LdapBridge/SyncLeaversFunction')!;
    expect(fn.egress).toEqual(['tcp 443 to 0.0.0.0/0', 'tcp 636 to 10.20.0.0/24', 'tcp 636 to 10.20.1.0/24']);
    expect(fn.invokedBy).toEqual([
      'events.amazonaws.com (lambda:InvokeFunction) from <LdapBridge/SyncLeaversSchedule.Arn>',
    ]);
    expect(fn.reservedConcurrency).toBe(1);
    expect(
      fn.permissions.filter((permission) => permission.actions.some((action) => action.startsWith('secretsmanager:'))),
    ).toEqual([
      expect.objectContaining({
        resources: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf'],
      }),
      expect.objectContaining({ resources: ['<LdapBridge/ManagementApiSecret>'] }),
    ]);
    expect(dry.secrets.map((secret) => secret.name)).toEqual(['LdapBridge/ManagementApiSecret']);
    expect(renderMarkdown(dry)).toContain(
      '| LdapBridge/SyncLeaversSchedule | rate(1 hour) | ENABLED | function LdapBridge/SyncLeaversFunction: sync-leavers for connection ldap-bridge, dry run',
    );

    const applying = audit(
      'prod',
      environment('prod', {
        syncLeavers: {
          enabled: true,
          connection: 'ldap-bridge',
          apply: true,
          maxBlock: '25',
          managementApiSecretArn: secretArn,
        },
      }),
    );
    expect(applying.schedules?.[0]?.runs).toEqual([
      "function LdapBridge/SyncLeaversFunction: sync-leavers for connection ldap-bridge, applies: blocks in Auth0 the connection's users who left the directory and unblocks those it blocked who are back (at most 25 blocks a run)",
    ]);
    const reads = applying.functions
      .find((each) => each.name === 'LdapBridge/SyncLeaversFunction')!
      .permissions.filter((permission) => permission.actions.some((action) => action.startsWith('secretsmanager:')))
      .flatMap((permission) => permission.resources);
    expect(reads).toEqual(['arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf', secretArn]);
  });

  it('has no schedules section while nothing runs on a schedule', () => {
    const report = audit('prod');
    expect(report.schedules).toBeUndefined();
    expect(renderMarkdown(report)).not.toContain('## Schedules');
  });

  it('shows an added route, and that it has no authorizer', () => {
    const report = audit('prod', environment('prod'), ({ stack }) => {
      stack.bridge.api.root.addResource('debug').addMethod('GET', new apigateway.MockIntegration());
    });
    expect(report.routes).toContainEqual(
      expect.objectContaining({ method: 'GET', path: '/debug', authorization: 'NONE' }),
    );
    expect(renderMarkdown(report)).toContain('| GET | /debug | NONE |');
    expect(report.cdkNag.unacknowledged.map((finding) => finding.rule)).toEqual(
      expect.arrayContaining(['AwsSolutions-APIG4', 'AwsSolutions-COG4']),
    );
  });

  it('lists unacknowledged cdk-nag findings instead of hiding them', () => {
    const report = audit('prod', environment('prod'), ({ stack }) => new sns.Topic(stack, 'PlainTopic'));
    expect(report.cdkNag.unacknowledged).toContainEqual({
      rule: 'AwsSolutions-SNS3',
      resources: ['PlainTopic/Resource'],
    });
    expect(renderMarkdown(report)).toContain('Unacknowledged findings: **');
  });
});
