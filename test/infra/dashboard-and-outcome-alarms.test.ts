// The dashboard and the alarms on outcomes, read from the synthesized templates of the shipped
// environments: the dashboard's widgets and what each shows, each alarm's metric (math), threshold,
// period, missing-data rule and topic, and that the alarms read exactly the metrics the functions
// write (the EMF writer's own records, under the service the stack gives the functions). Then the
// `alarms.*` thresholds as cdk.json settings, and the props that are refused.
import { App, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { CloudWatchMetrics } from '../../lambdas/adapters/cloudwatch-metrics.ts';
import {
  authorizerEnvironment,
  DeploymentConfigError,
  lambdaEnvironment,
  readDeploymentConfig,
} from '../../lib/config.ts';
import { BridgeAlarms } from '../../lib/constructs/bridge-alarms.ts';
import { BridgeDashboard } from '../../lib/constructs/bridge-dashboard.ts';
import { LdapBridge } from '../../lib/constructs/ldap-bridge.ts';
import { build, environment } from './support.ts';

type Json = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties: Json }>;

const prod = build('prod');
const demo = build('demo');
const PROD_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:security-alerts';

function resourcesOf(built: ReturnType<typeof build>, type: string): Resources {
  return built.template.findResources(type) as Resources;
}

/** The alarm whose logical id starts with `LdapBridge<name>`. */
function alarm(built: ReturnType<typeof build>, name: string): Json {
  const found = Object.entries(resourcesOf(built, 'AWS::CloudWatch::Alarm')).filter(([id]) =>
    new RegExp(`^LdapBridge${name}[0-9A-F]{8}$`).test(id),
  );
  expect(found, name).toHaveLength(1);
  return found[0]![1].Properties;
}

/** The dashboard's body as JSON, with each intrinsic function written as `<Ref:...>` or `<GetAtt:...>`. */
function dashboardBody(built: ReturnType<typeof build>): { widgets: Array<{ type: string; properties: Json }> } {
  const [dashboard, ...others] = Object.values(resourcesOf(built, 'AWS::CloudWatch::Dashboard'));
  if (!dashboard || others.length > 0) throw new Error('expected exactly one dashboard');
  const [, parts] = (dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = (part as { Ref?: string }).Ref;
      if (ref) return `<Ref:${ref}>`;
      return `<GetAtt:${(part as { 'Fn::GetAtt': string[] })['Fn::GetAtt'].join('.')}>`;
    })
    .join('');
  return JSON.parse(text);
}

function widget(built: ReturnType<typeof build>, title: string): Json {
  const found = dashboardBody(built).widgets.find((each) => each.properties.title === title);
  expect(found, title).toBeDefined();
  return found?.properties as Json;
}

describe('the dashboard', () => {
  it('is one dashboard per deployment, named after the stack and region', () => {
    const [dashboard] = Object.values(resourcesOf(prod, 'AWS::CloudWatch::Dashboard'));
    expect(Object.keys(resourcesOf(prod, 'AWS::CloudWatch::Dashboard'))).toHaveLength(1);
    expect(dashboard?.Properties.DashboardName).toBe('LdapBridge-prod-eu-west-1');
    expect(dashboardBody(prod).widgets.map((each) => each.properties.title ?? each.type)).toEqual([
      'text',
      '/login by outcome (requests per 5 minutes)',
      '/get-user by outcome (requests per 5 minutes)',
      'Latency per route (ms)',
      'directory_unavailable answers (per 5 minutes)',
      'Directory errors by server (error, timeout, connection_error; per 5 minutes)',
      'Directory failovers by server (per 5 minutes)',
      'Lockout shield refusals (logins per 5 minutes)',
      'Authorizer denials (tokens per 5 minutes)',
      'Throttled or blocked before the bridge (per 5 minutes)',
      'Alarms',
    ]);
  });

  it('shows logins and user lookups by outcome, stacked, one line per outcome the functions wrote', () => {
    const logins = widget(prod, '/login by outcome (requests per 5 minutes)');
    expect(logins.stacked).toBe(true);
    expect(logins.metrics).toEqual([
      [
        {
          label: `\${PROP('Dim.Outcome')}`,
          expression:
            'SEARCH(\'{Auth0LdapBridge,service,Route,Outcome} MetricName="Requests" service="LdapBridge-prod" Route="login"\', \'Sum\', 300)',
        },
      ],
    ]);
    expect(JSON.stringify(widget(prod, '/get-user by outcome (requests per 5 minutes)').metrics)).toContain(
      'Route=\\"get-user\\"',
    );
  });

  it('shows latency p50 and p99 of each route', () => {
    expect(widget(prod, 'Latency per route (ms)').metrics).toEqual(
      ['login', 'get-user'].flatMap((route) =>
        ['p50', 'p99'].map((stat) => [
          'Auth0LdapBridge',
          'RequestDuration',
          'Route',
          route,
          'service',
          'LdapBridge-prod',
          { label: `/${route} ${stat}`, stat },
        ]),
      ),
    );
  });

  it('shows directory errors with one line per server of directory.urls', () => {
    const servers = ['ldaps://dc1.corp.example:636', 'ldaps://dc2.corp.example:636'];
    expect(
      widget(prod, 'Directory errors by server (error, timeout, connection_error; per 5 minutes)').metrics,
    ).toEqual(
      servers.map((server) => [
        {
          label: server,
          expression: `SUM(SEARCH('{Auth0LdapBridge,service,Server,Operation,Result} MetricName="DirectoryOperations" service="LdapBridge-prod" Server="${server}" (Result="error" OR Result="timeout" OR Result="connection_error")', 'Sum', 300))`,
        },
      ]),
    );
    expect(
      JSON.stringify(widget(demo, 'Directory errors by server (error, timeout, connection_error; per 5 minutes)')),
    ).toContain('Server=\\"ldaps://ldap2.corp.example:636\\"');
    expect(JSON.stringify(widget(prod, 'Directory failovers by server (per 5 minutes)').metrics)).toContain(
      'MetricName=\\"DirectoryFailovers\\" service=\\"LdapBridge-prod\\"',
    );
  });

  it("shows the shield's refusals, the authorizer's denials, and directory_unavailable counted two ways", () => {
    expect(widget(prod, 'Lockout shield refusals (logins per 5 minutes)').metrics).toEqual([
      [
        'Auth0LdapBridge',
        'Requests',
        'Outcome',
        'lockout_shield',
        'Route',
        'login',
        'service',
        'LdapBridge-prod',
        { label: 'answered by the lockout shield', stat: 'Sum' },
      ],
    ]);
    expect(widget(prod, 'Authorizer denials (tokens per 5 minutes)').metrics).toEqual([
      ['Auth0LdapBridge', 'TokenChecks', 'Result', 'rejected', 'service', 'LdapBridge-prod', expect.anything()],
      ['Auth0LdapBridge', 'TokenChecks', 'Result', 'keys_unavailable', 'service', 'LdapBridge-prod', expect.anything()],
      ['Auth0LdapBridge', 'AuthorizerDenies', expect.objectContaining({ stat: 'Sum' })],
    ]);
    expect(widget(prod, 'directory_unavailable answers (per 5 minutes)').metrics).toEqual(
      expect.arrayContaining([
        ['Auth0LdapBridge', 'DirectoryUnavailableLogin', expect.objectContaining({ stat: 'Sum' })],
        [
          'Auth0LdapBridge',
          'Requests',
          'Outcome',
          'directory_unavailable',
          'Route',
          'login',
          'service',
          'LdapBridge-prod',
          expect.objectContaining({ stat: 'Sum' }),
        ],
      ]),
    );
  });

  it("shows every throttle: API Gateway's 4XX, each function's throttles, the web ACL's blocked requests", () => {
    const throttles = widget(prod, 'Throttled or blocked before the bridge (per 5 minutes)');
    const functionIds = Object.keys(resourcesOf(prod, 'AWS::Lambda::Function')).filter((id) =>
      /^LdapBridge(Login|GetUser|Authorizer)Function[0-9A-F]{8}$/.test(id),
    );
    expect(functionIds).toHaveLength(3);
    expect(throttles.metrics).toEqual([
      ['AWS/ApiGateway', '4XXError', 'ApiName', 'LdapBridge-prod-api', expect.objectContaining({ stat: 'Sum' })],
      ...['Login', 'GetUser', 'Authorizer'].map((name) => [
        'AWS/Lambda',
        'Throttles',
        'FunctionName',
        `<Ref:${functionIds.find((id) => id.startsWith(`LdapBridge${name}`))}>`,
        expect.objectContaining({ stat: 'Sum' }),
      ]),
      [
        'AWS/WAFV2',
        'BlockedRequests',
        'Region',
        'eu-west-1',
        'Rule',
        'ALL',
        'WebACL',
        'LdapBridgeWebAcl',
        expect.objectContaining({ stat: 'Sum' }),
      ],
    ]);
    const webAcls = Object.values(resourcesOf(prod, 'AWS::WAFv2::WebACL'));
    expect(webAcls.map((webAcl) => (webAcl.Properties.VisibilityConfig as Json).MetricName)).toEqual([
      'LdapBridgeWebAcl',
    ]);
  });

  it('shows the state of every alarm of the stack', () => {
    const alarmIds = Object.keys(resourcesOf(prod, 'AWS::CloudWatch::Alarm')).sort();
    const shown = (widget(prod, 'Alarms').alarms as string[]).map((arn) => arn.replace(/^<GetAtt:(.*)\.Arn>$/, '$1'));
    expect(shown.sort()).toEqual(alarmIds);
  });
});

describe('the alarms on outcomes', () => {
  it('alarms on the share of logins answered invalid_credentials, only with enough logins in 5 minutes', () => {
    const share = alarm(prod, 'InvalidCredentialsShareAlarm');
    expect(share).toMatchObject({
      Threshold: 50,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [PROD_TOPIC],
    });
    expect(share.Metrics).toEqual([
      { Id: 'expr_1', Expression: 'IF(logins >= 20, 100 * FILL(invalid, 0) / logins, 0)', ReturnData: true },
      {
        Id: 'logins',
        ReturnData: false,
        MetricStat: {
          Metric: {
            Namespace: 'Auth0LdapBridge',
            MetricName: 'RequestDuration',
            Dimensions: [
              { Name: 'Route', Value: 'login' },
              { Name: 'service', Value: 'LdapBridge-prod' },
            ],
          },
          Period: 300,
          Stat: 'SampleCount',
        },
      },
      {
        Id: 'invalid',
        ReturnData: false,
        MetricStat: {
          Metric: {
            Namespace: 'Auth0LdapBridge',
            MetricName: 'Requests',
            Dimensions: [
              { Name: 'Outcome', Value: 'invalid_credentials' },
              { Name: 'Route', Value: 'login' },
              { Name: 'service', Value: 'LdapBridge-prod' },
            ],
          },
          Period: 300,
          Stat: 'Sum',
        },
      },
    ]);
    expect(share.AlarmDescription).toBe(
      '50% or more of the logins in 5 minutes (at least 20) answered invalid_credentials: password spraying, or a directory that refuses good passwords',
    );
  });

  it("alarms on the lockout shield's refusals and on each route's directory_unavailable answers", () => {
    expect(alarm(prod, 'LockoutShieldAlarm')).toMatchObject({
      Namespace: 'Auth0LdapBridge',
      MetricName: 'Requests',
      Dimensions: [
        { Name: 'Outcome', Value: 'lockout_shield' },
        { Name: 'Route', Value: 'login' },
        { Name: 'service', Value: 'LdapBridge-prod' },
      ],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 10,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [PROD_TOPIC],
    });
    for (const [name, route] of [
      ['DirectoryUnavailableLoginAlarm', 'login'],
      ['DirectoryUnavailableGetUserAlarm', 'get-user'],
    ] as const) {
      expect(alarm(prod, name)).toMatchObject({
        Namespace: 'Auth0LdapBridge',
        MetricName: 'Requests',
        Dimensions: [
          { Name: 'Outcome', Value: 'directory_unavailable' },
          { Name: 'Route', Value: route },
          { Name: 'service', Value: 'LdapBridge-prod' },
        ],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 5,
        TreatMissingData: 'notBreaching',
        AlarmActions: [PROD_TOPIC],
      });
    }
  });

  it("notifies the stack's own alarm topic where the stack creates one", () => {
    const [topicId] = Object.keys(resourcesOf(demo, 'AWS::SNS::Topic'));
    for (const name of ['InvalidCredentialsShareAlarm', 'LockoutShieldAlarm', 'DirectoryUnavailableLoginAlarm'])
      expect(alarm(demo, name).AlarmActions).toEqual([{ Ref: topicId }]);
  });

  it('reads exactly the metrics the functions write, under the service the stack gives them', () => {
    const functions = Object.entries(resourcesOf(prod, 'AWS::Lambda::Function')).filter(([id]) =>
      /^LdapBridge(Login|GetUser|Authorizer)Function[0-9A-F]{8}$/.test(id),
    );
    const services = functions.map(
      ([, fn]) =>
        (fn.Properties.Environment as { Variables: Record<string, string> }).Variables.POWERTOOLS_SERVICE_NAME,
    );
    expect(services).toEqual(['LdapBridge-prod', 'LdapBridge-prod', 'LdapBridge-prod']);
    // What the login function writes for a login the shield answered and one the directory could not.
    const lines: string[] = [];
    const written = new CloudWatchMetrics({ service: services[0] as string, write: (line) => lines.push(line) });
    written.requestHandled('login', 'lockout_shield', 3);
    written.requestHandled('login', 'directory_unavailable', 3);
    written.requestHandled('login', 'invalid_credentials', 3);
    written.flush();
    const metricsWritten = lines.flatMap((line) => {
      const record = JSON.parse(line) as {
        _aws: {
          CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }>;
        };
      } & Record<string, string>;
      return record._aws.CloudWatchMetrics.flatMap((directive) =>
        directive.Metrics.map((metric) => ({
          Namespace: directive.Namespace,
          MetricName: metric.Name,
          Dimensions: (directive.Dimensions[0] ?? [])
            .map((name) => ({ Name: name, Value: record[name] }))
            .sort((a, b) => a.Name.localeCompare(b.Name)),
        })),
      );
    });
    const read = (properties: Json) => ({
      Namespace: properties.Namespace,
      MetricName: properties.MetricName,
      Dimensions: properties.Dimensions,
    });
    expect(metricsWritten).toContainEqual(read(alarm(prod, 'LockoutShieldAlarm')));
    expect(metricsWritten).toContainEqual(read(alarm(prod, 'DirectoryUnavailableLoginAlarm')));
    for (const input of (alarm(prod, 'InvalidCredentialsShareAlarm').Metrics as Json[]).slice(1))
      expect(metricsWritten).toContainEqual((input.MetricStat as { Metric: Json }).Metric);
  });
});

describe('the alarm thresholds as deployment settings', () => {
  const problems = (changes: Record<string, unknown>): string => {
    try {
      readDeploymentConfig({ prod: environment('prod', changes) }, 'prod');
    } catch (error) {
      if (error instanceof DeploymentConfigError) return error.problems.join('\n');
      throw error;
    }
    return '';
  };
  const alarms = (thresholds: Record<string, unknown>) => ({ alarms: { topicArn: PROD_TOPIC, ...thresholds } });

  it('defaults to thresholds a deployment can live with', () => {
    expect(readDeploymentConfig({ prod: environment('prod') }, 'prod').alarmThresholds).toEqual({
      invalidCredentialsPercent: 50,
      invalidCredentialsMinLogins: 20,
      lockoutShieldPer5Minutes: 10,
      directoryUnavailablePer5Minutes: 5,
    });
  });

  it('sets each alarm from cdk.json, and creates no alarm topic for thresholds alone', () => {
    const changed = build(
      'demo',
      environment('demo', {
        alarms: {
          invalidCredentialsPercent: 30,
          invalidCredentialsMinLogins: 100,
          lockoutShieldPer5Minutes: 3,
          directoryUnavailablePer5Minutes: 1,
        },
      }),
    );
    const share = alarm(changed, 'InvalidCredentialsShareAlarm');
    expect(share.Threshold).toBe(30);
    expect((share.Metrics as Json[])[0]?.Expression).toBe('IF(logins >= 100, 100 * FILL(invalid, 0) / logins, 0)');
    expect(alarm(changed, 'LockoutShieldAlarm').Threshold).toBe(3);
    expect(alarm(changed, 'DirectoryUnavailableGetUserAlarm').Threshold).toBe(1);
    expect(Object.keys(resourcesOf(changed, 'AWS::SNS::Topic'))).toEqual([]);
    expect(alarm(changed, 'LockoutShieldAlarm').AlarmActions).toBeUndefined();
  });

  it('fails if a share is not a percent, naming the key', () => {
    expect(problems(alarms({ invalidCredentialsPercent: 0 }))).toContain(
      'environments.prod.alarms.invalidCredentialsPercent: 0 expected',
    );
    expect(problems(alarms({ invalidCredentialsPercent: 101 }))).toContain(
      'environments.prod.alarms.invalidCredentialsPercent: 101 expected',
    );
    expect(problems(alarms({ invalidCredentialsPercent: '50%' }))).toBe(
      'environments.prod.alarms.invalidCredentialsPercent: "50%" expected a whole number from 1 to 100',
    );
  });

  it('fails if a count is not a whole number of at least 1, naming the key', () => {
    for (const key of ['invalidCredentialsMinLogins', 'lockoutShieldPer5Minutes', 'directoryUnavailablePer5Minutes']) {
      expect(problems(alarms({ [key]: 0 }))).toContain(`environments.prod.alarms.${key}: 0 expected`);
      expect(problems(alarms({ [key]: 2.5 }))).toContain(
        `environments.prod.alarms.${key}: 2.5 expected a whole number`,
      );
    }
    expect(problems(alarms({ lockoutShieldPer5Minutes: 3 }))).toBe('');
  });

  it('fails if an alarm key is misspelt', () => {
    expect(problems(alarms({ lockoutShieldPerFiveMinutes: 3 }))).toBe(
      "environments.prod.alarms.lockoutShieldPerFiveMinutes: is not a setting (see the README's cdk.json table)",
    );
  });
});

describe('the constructs refuse', () => {
  const scaffold = () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test', {
      env: { region: 'eu-west-1', account: '123456789012' },
    });
    const fn = (id: string) =>
      new lambda.Function(stack, id, {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => ({});'),
      });
    const api = new apigateway.RestApi(stack, 'Api');
    api.root.addMethod('GET');
    const routeFunctions = { login: fn('Login'), 'get-user': fn('GetUser') };
    return { stack, api, routeFunctions, authorizerFunction: fn('Authorizer') };
  };

  it('fails if an alarm threshold is outside its setting, naming the prop and the range', () => {
    const { stack, ...functions } = scaffold();
    expect(() => new BridgeAlarms(stack, 'Alarms', { ...functions, invalidCredentialsPercent: 0 })).toThrow(
      'BridgeAlarms: invalidCredentialsPercent 0 expected 1-100 percent of logins',
    );
    expect(() => new BridgeAlarms(stack, 'Alarms2', { ...functions, lockoutShieldPer5Minutes: 1.5 })).toThrow(
      'BridgeAlarms: lockoutShieldPer5Minutes 1.5 expected 1-1000000 logins in 5 minutes',
    );
  });

  it('fails if the dashboard has no directory server, or a value that would break its searches', () => {
    const { stack, ...functions } = scaffold();
    expect(() => new BridgeDashboard(stack, 'D1', { ...functions, directoryServers: [] })).toThrow(
      'BridgeDashboard: directoryServers is empty; expected the LDAP_URLS of the functions',
    );
    expect(
      () => new BridgeDashboard(stack, 'D2', { ...functions, directoryServers: ["ldaps://dc1:636', 'x"] }),
    ).toThrow('expected an ldap:// or ldaps:// URL');
    expect(
      () => new BridgeDashboard(stack, 'D3', { ...functions, service: 'a" OR "b', directoryServers: ['ldap://dc1'] }),
    ).toThrow('BridgeDashboard: service "a\\" OR \\"b" expected letters');
  });

  it("fails if the authorizer would write its metrics under another service than the directory functions'", () => {
    const { stack } = scaffold();
    const config = readDeploymentConfig({ prod: environment('prod') }, 'prod');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const bindSecret = new secretsmanager.Secret(stack, 'Secret');
    const bridge = (authorizerStack: string) => () =>
      new LdapBridge(stack, `Bridge${authorizerStack}`, {
        auth0Issuer: config.auth0.issuer,
        auth0Audience: config.auth0.audience,
        auth0ClientId: 'm2m-client-id',
        functionEnvironment: lambdaEnvironment(config, bindSecret.secretArn),
        authorizerEnvironment: authorizerEnvironment({ ...config, stackName: authorizerStack }),
        vpc,
        directoryNetworkRanges: config.directory.networkRanges,
        directoryPorts: config.directory.ports,
        bindSecret,
      });
    expect(bridge('LdapBridge-other')).toThrow(
      'LdapBridge: authorizerEnvironment POWERTOOLS_SERVICE_NAME "LdapBridge-other" is not functionEnvironment\'s "LdapBridge-prod"',
    );
    expect(bridge('LdapBridge-prod')).not.toThrow();
  });
});
