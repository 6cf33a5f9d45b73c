// The audit of the exposed surface: everything a security reviewer must approve, read from the
// synthesized template (what will really be deployed) and cdk-nag's results. Ordering is stable
// and there are no timestamps, so a diff between two reports shows exactly what changed.
import { CfnElement, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { BuiltApp } from './app.ts';
import { logicalIdPath } from './constructs/construct-ids.ts';
import { ROUTES, routeForPath } from '../lambdas/contract/routes.ts';
import { RUNTIME_SETTINGS as S } from '../lambdas/contract/settings.ts';
import { SYNC_LEAVERS_ENV } from '../lambdas/entry/sync-leavers-function.ts';

type Json = Record<string, unknown>;
interface CfnResource {
  Type: string;
  Properties?: Json;
  Metadata?: Json;
}

export interface AuditReport {
  environment: string;
  stack: string;
  routes: Array<{
    method: string;
    path: string;
    authorization: string;
    authorizer?: string;
    requiredScope?: string;
    requestModel?: unknown;
    throttling: string;
  }>;
  api: {
    endpointTypes: string[];
    executeApiEndpoint: 'enabled' | 'disabled';
    tls: string;
    resourcePolicy: unknown;
    /** Who may call at all: the WAF's source rule and the resource policy, or any source. */
    sourceAddresses: { allowed: string[] | 'any'; wafRule?: string; resourcePolicy: boolean };
    stage: {
      name: string;
      executionLogging: string;
      dataTrace: boolean;
      throttling: string;
      accessLogFields: string[];
    };
    gatewayResponses: Array<{ type: string; status: string; body: string }>;
  };
  authorizers: Array<{
    name: string;
    type: string;
    identitySource: string;
    cacheSeconds: number;
    validationRegex?: string;
  }>;
  waf: Array<{ priority: number; name: string; rule: string; action: string; countedRules?: string[] }>;
  functions: Array<{
    name: string;
    description: string;
    runtime: string;
    architecture: string;
    timeoutSeconds: number;
    reservedConcurrency: number | 'unreserved';
    network: string;
    egress: string[];
    /**
     * Who else may invoke it: API routes integrated with it, its resource policy (service
     * principals and their source) and function URLs; empty when only IAM principals allowed
     * lambda:InvokeFunction on it may.
     */
    invokedBy: string[];
    environment: Record<string, string>;
    permissions: Array<{ effect: string; actions: string[]; resources: string[]; conditions?: unknown }>;
  }>;
  /**
   * What runs on a schedule (EventBridge rules with a schedule expression), and what each run does;
   * absent when nothing does.
   */
  schedules?: Array<{ name: string; schedule: string; state: string; runs: string[] }>;
  securityGroups: Array<{ name: string; description: string; ingress: string[]; egress: string[] }>;
  vpcEndpoints: Array<{ name: string; service: string; privateDns: boolean }>;
  logs: Array<{ name: string; retentionDays: number | 'never expires' }>;
  alarms: Array<{
    name: string;
    description: string;
    /** The metric (or metric math and its inputs) the alarm compares, with its statistic and period. */
    watches: string;
    comparison: string;
    threshold: number;
    missingData: string;
    notifies: string[];
  }>;
  /** The dashboards operators read, with what each widget shows. */
  dashboards: Array<{ name: string; widgets: string[] }>;
  /** Where the alarms go, per topic they notify, and why a notification would not arrive. */
  alarmTopics: Array<{
    topic: string;
    managedBy: 'this stack' | 'outside this stack';
    encryption: string;
    publishing: string;
    subscriptions: string[];
    undeliverable: string[];
  }>;
  secrets: Array<{ name: string; description: string }>;
  cdkNag: {
    pack: string;
    unacknowledged: Array<{ rule: string; resources: string[] }>;
    acknowledged: Array<{ rule: string; scope: string; reason: string }>;
  };
}

export function auditApp(built: BuiltApp): AuditReport {
  const violations = built.nag.validateScope(built.app).violations;
  const template = Template.fromStack(built.stack).toJSON() as { Resources: Record<string, CfnResource> };
  const resources = template.Resources;
  /** A resource the template itself refers to; a dangling reference is a bug in this report, not a missing line. */
  const resourceAt = (logicalId: string): CfnResource => {
    const resource = resources[logicalId];
    if (!resource) throw new Error(`audit: the template refers to ${logicalId}, which it does not define`);
    return resource;
  };
  // Construct paths read better than logical ids: LdapBridge/LoginFunction, not LdapBridgeLoginFunction3A4B...
  // Each is the path the logical id is made of (without `Default` and the focused constructs that
  // keep their parent's logical ids, see lib/constructs/construct-ids.ts): a refactoring that keeps
  // the logical ids keeps the names in this report.
  const displayPath = (construct: IConstruct) =>
    construct.node.scopes.includes(built.stack) && construct !== built.stack
      ? logicalIdPath(construct).join('/')
      : construct.node.path;
  const constructsByPath = new Map(built.app.node.findAll().map((construct) => [construct.node.path, construct]));
  const paths = new Map<string, string>();
  for (const construct of built.stack.node.findAll()) {
    if (!CfnElement.isCfnElement(construct)) continue;
    const logicalId = built.stack.resolve(construct.logicalId) as string;
    paths.set(logicalId, displayPath(construct).replace(/\/Resource$/, ''));
  }
  const nameOf = (logicalId: string) => paths.get(logicalId) ?? logicalId;
  const show = (value: unknown) => describeValue(value, nameOf);
  const ofType = (type: string) =>
    Object.entries(resources)
      .filter(([, resource]) => resource.Type === type)
      .sort(([a], [b]) => nameOf(a).localeCompare(nameOf(b)));
  const props = (resource: CfnResource) => resource.Properties ?? {};

  const [, restApi] = ofType('AWS::ApiGateway::RestApi')[0] ?? ['', { Type: '' }];
  const stage = props(ofType('AWS::ApiGateway::Stage')[0]?.[1] ?? { Type: '' });
  const methodSettings = ((stage.MethodSettings as Json[] | undefined) ?? [])[0] ?? {};
  const throttling = `${methodSettings.ThrottlingRateLimit ?? 'account default'} req/s, burst ${methodSettings.ThrottlingBurstLimit ?? 'account default'}`;
  const domain = ofType('AWS::ApiGateway::DomainName')[0];

  const pathOf = (resourceId: unknown): string => {
    const ref = (resourceId as { Ref?: string })?.Ref;
    if (!ref || !resources[ref]) return '';
    const resource = props(resourceAt(ref));
    return `${pathOf(resource.ParentId)}/${String(resource.PathPart)}`;
  };
  const functionsEnv = (logicalId: string) =>
    ((props(resourceAt(logicalId)).Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
      {}) as Record<string, unknown>;

  // The authorizer function is the one with the scope settings and no directory: its environment says which scope each route needs.
  const authorizerFunction = Object.keys(resources).find(
    (id) =>
      resourceAt(id).Type === 'AWS::Lambda::Function' &&
      ROUTES.every((route) => functionsEnv(id)[S[route.scopeSetting].env] !== undefined) &&
      functionsEnv(id)[S.LDAP_URLS.env] === undefined,
  );
  const routes = ofType('AWS::ApiGateway::Method')
    .map(([, method]) => {
      const properties = props(method);
      const path = pathOf(properties.ResourceId) || '/';
      const authorizerRef = (properties.AuthorizerId as { Ref?: string } | undefined)?.Ref;
      const integrationUri = JSON.stringify(properties.Integration ?? {});
      const target = Object.keys(resources).find(
        (id) => resourceAt(id).Type === 'AWS::Lambda::Function' && integrationUri.includes(`"${id}"`),
      );
      const route = routeForPath(path);
      const scopeVariable = route ? S[route.scopeSetting].env : undefined;
      const requiredScope =
        scopeVariable && authorizerFunction ? String(functionsEnv(authorizerFunction)[scopeVariable]) : undefined;
      const modelRef = Object.values(
        (properties.RequestModels as Record<string, { Ref?: string }> | undefined) ?? {},
      )[0]?.Ref;
      return {
        method: String(properties.HttpMethod),
        path,
        authorization: String(properties.AuthorizationType ?? 'NONE'),
        ...(authorizerRef ? { authorizer: nameOf(authorizerRef) } : {}),
        ...(requiredScope && authorizerRef ? { requiredScope } : {}),
        ...(modelRef ? { requestModel: props(resourceAt(modelRef)).Schema } : {}),
        throttling,
        ...(target ? { integration: nameOf(target) } : {}),
      };
    })
    .sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));

  const securityGroups = ofType('AWS::EC2::SecurityGroup').map(([id, group]) => {
    const properties = props(group);
    const inline = (rules: unknown, direction: 'to' | 'from') =>
      ((rules as Json[] | undefined) ?? []).map((rule) => describeRule(rule, direction, show));
    const standalone = (type: string, direction: 'to' | 'from') =>
      ofType(type)
        .filter(([, rule]) => (props(rule).GroupId as { 'Fn::GetAtt'?: string[] })?.['Fn::GetAtt']?.[0] === id)
        .map(([, rule]) => describeRule(props(rule), direction, show));
    return {
      name: nameOf(id),
      description: String(properties.GroupDescription),
      ingress: [
        ...inline(properties.SecurityGroupIngress, 'from'),
        ...standalone('AWS::EC2::SecurityGroupIngress', 'from'),
      ].sort(),
      egress: [
        ...inline(properties.SecurityGroupEgress, 'to'),
        ...standalone('AWS::EC2::SecurityGroupEgress', 'to'),
      ].sort(),
    };
  });

  const policies = ofType('AWS::IAM::Policy');
  const refersTo = (value: unknown, id: string) => JSON.stringify(value ?? null).includes(`"${id}"`);
  const invokersOf = (id: string) =>
    [
      ...routes
        .filter((route) => route.integration === nameOf(id))
        .map((route) => `API route ${route.method} ${route.path}`),
      ...ofType('AWS::Lambda::Permission')
        .filter(([, permission]) => refersTo(props(permission).FunctionName, id))
        .map(([, permission]) => {
          const { Principal, Action, SourceArn, SourceAccount, FunctionUrlAuthType, InvokedViaFunctionUrl } =
            props(permission);
          const source = SourceArn ?? SourceAccount;
          const how = [
            show(Action),
            ...(FunctionUrlAuthType === undefined ? [] : [`function URL auth ${show(FunctionUrlAuthType)}`]),
            ...(InvokedViaFunctionUrl === true ? ['through its function URL'] : []),
          ];
          return `${show(Principal)} (${how.join(', ')}) from ${source === undefined ? 'any source' : show(source)}`;
        }),
      ...ofType('AWS::Lambda::Url')
        .filter(([, url]) => refersTo(props(url).TargetFunctionArn, id))
        .map(([, url]) => `its function URL (auth ${String(props(url).AuthType)})`),
    ].sort();
  const functions = ofType('AWS::Lambda::Function').map(([id, fn]) => {
    const properties = props(fn);
    const roleId = (properties.Role as { 'Fn::GetAtt'?: string[] })?.['Fn::GetAtt']?.[0];
    const vpc = properties.VpcConfig as { SubnetIds?: unknown[]; SecurityGroupIds?: unknown[] } | undefined;
    const groupNames = (vpc?.SecurityGroupIds ?? []).map((group) => show(group));
    const permissions = policies
      .filter(([, policy]) => JSON.stringify(props(policy).Roles ?? []).includes(`"${roleId}"`))
      .flatMap(([, policy]) => (props(policy).PolicyDocument as { Statement: Json[] }).Statement ?? [])
      .map((statement) => ({
        effect: String(statement.Effect),
        actions: [statement.Action].flat().map(String).sort(),
        resources: [statement.Resource]
          .flat()
          .map((resource) => show(resource))
          .sort(),
        ...(statement.Condition ? { conditions: JSON.parse(show(statement.Condition)) as unknown } : {}),
      }));
    const environment = Object.fromEntries(
      Object.entries(functionsEnv(id))
        .map(([key, value]) => [key, show(value)])
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
    return {
      name: nameOf(id),
      description: String(properties.Description ?? ''),
      runtime: String(properties.Runtime),
      architecture: String([properties.Architectures].flat()[0] ?? 'x86_64'),
      timeoutSeconds: Number(properties.Timeout ?? 3),
      reservedConcurrency: (properties.ReservedConcurrentExecutions as number | undefined) ?? ('unreserved' as const),
      network: vpc
        ? `in VPC subnets ${(vpc.SubnetIds ?? []).map((subnet) => show(subnet)).join(', ')}`
        : 'outside any VPC: AWS-managed network with internet egress',
      egress: vpc
        ? securityGroups
            .filter((group) => groupNames.some((name) => name.startsWith(`<${group.name}.`)))
            .flatMap((group) => group.egress)
        : ['any (not in a VPC)'],
      invokedBy: invokersOf(id),
      environment,
      permissions,
    };
  });

  // A target that is a function of this stack says what it does from its environment: the scheduled
  // sync-leavers, whether it applies or only reports.
  const describeTarget = (arn: unknown): string => {
    const fnId = (arn as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt']?.[0];
    if (!fnId || resources[fnId]?.Type !== 'AWS::Lambda::Function') return show(arn);
    const env = functionsEnv(fnId);
    const connection = env[SYNC_LEAVERS_ENV.connection];
    if (connection === undefined) return `function ${nameOf(fnId)}`;
    const maxBlock = env[SYNC_LEAVERS_ENV.maxBlock];
    const mode =
      env[SYNC_LEAVERS_ENV.apply] === 'true'
        ? `applies: blocks in Auth0 the connection's users who left the directory and unblocks those it blocked who are back (at most ${maxBlock === undefined ? "sync-leavers' default" : show(maxBlock)} blocks a run)`
        : 'dry run: reports what it would block and unblock, changes nothing';
    return `function ${nameOf(fnId)}: sync-leavers for connection ${show(connection)}, ${mode}`;
  };
  const schedules = ofType('AWS::Events::Rule')
    .filter(([, rule]) => props(rule).ScheduleExpression !== undefined)
    .map(([id, rule]) => ({
      name: nameOf(id),
      schedule: show(props(rule).ScheduleExpression),
      state: String(props(rule).State ?? 'ENABLED'),
      runs: ((props(rule).Targets as Json[] | undefined) ?? []).map((target) => describeTarget(target.Arn)).sort(),
    }));

  const wafRules = ofType('AWS::WAFv2::WebACL').flatMap(([, acl]) =>
    ((props(acl).Rules as Json[] | undefined) ?? [])
      .map((rule) => describeWafRule(rule, (logicalId) => props(resourceAt(logicalId))))
      .sort((a, b) => a.priority - b.priority),
  );
  const sourceRule = wafRules.find((rule) => rule.allowedSources !== undefined);
  const policyStatements =
    ((props(restApi).Policy as { Statement?: Json[] } | undefined)?.Statement as Json[] | undefined) ?? [];
  const policySources = policyStatements
    .filter((statement) => statement.Effect === 'Deny')
    .flatMap((statement) =>
      [((statement.Condition as Json | undefined)?.NotIpAddress as Json | undefined)?.['aws:SourceIp'] ?? []].flat(),
    )
    .map(String);

  const alarmTargets = [
    ...new Set(
      ofType('AWS::CloudWatch::Alarm').flatMap(([, alarm]) =>
        ((props(alarm).AlarmActions as unknown[] | undefined) ?? []).map((action) => JSON.stringify(action)),
      ),
    ),
  ]
    .sort()
    .map((action) => describeAlarmTopic(JSON.parse(action) as unknown, resources, nameOf, show));

  const acknowledged = built.app.node
    .findAll()
    .flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, string>).map(([rule, reason]) => ({
            rule: rule.replace(/^annotation::/i, ''),
            scope: displayPath(construct),
            reason,
          })),
        ),
    )
    .sort((a, b) => `${a.rule} ${a.scope}`.localeCompare(`${b.rule} ${b.scope}`));

  return {
    environment: String(built.app.node.tryGetContext('env') ?? built.app.node.tryGetContext('defaultEnvironment')),
    stack: built.stack.stackName,
    routes,
    api: {
      endpointTypes: ((props(restApi).EndpointConfiguration as { Types?: string[] } | undefined)?.Types ?? [])
        .slice()
        .sort(),
      executeApiEndpoint: props(restApi).DisableExecuteApiEndpoint === true ? 'disabled' : 'enabled',
      tls: domain
        ? `custom domain ${String(props(domain[1]).DomainName)} with security policy ${String(props(domain[1]).SecurityPolicy)}`
        : 'default execute-api endpoint only: TLS policy managed by AWS (configure customDomain to pin TLS 1.2 and disable the default endpoint)',
      resourcePolicy: props(restApi).Policy ?? null,
      sourceAddresses: {
        allowed: sourceRule?.allowedSources ?? (policySources.length > 0 ? policySources : 'any'),
        ...(sourceRule ? { wafRule: sourceRule.name } : {}),
        resourcePolicy: policySources.length > 0,
      },
      stage: {
        name: String(stage.StageName),
        executionLogging: String(methodSettings.LoggingLevel ?? 'OFF'),
        dataTrace: methodSettings.DataTraceEnabled === true,
        throttling,
        accessLogFields: Object.keys(
          JSON.parse(String((stage.AccessLogSetting as { Format?: string } | undefined)?.Format ?? '{}')) as Json,
        ).sort(),
      },
      gatewayResponses: ofType('AWS::ApiGateway::GatewayResponse')
        .map(([, response]) => ({
          type: String(props(response).ResponseType),
          status: String(props(response).StatusCode),
          body: String(Object.values((props(response).ResponseTemplates as Json) ?? {})[0] ?? ''),
        }))
        .sort((a, b) => a.type.localeCompare(b.type)),
    },
    authorizers: ofType('AWS::ApiGateway::Authorizer').map(([id, authorizer]) => ({
      name: nameOf(id),
      type: String(props(authorizer).Type),
      identitySource: String(props(authorizer).IdentitySource),
      cacheSeconds: Number(props(authorizer).AuthorizerResultTtlInSeconds ?? 300),
      ...(props(authorizer).IdentityValidationExpression
        ? { validationRegex: String(props(authorizer).IdentityValidationExpression) }
        : {}),
    })),
    waf: wafRules.map(({ allowedSources: _sources, ...rule }) => rule),
    functions,
    ...(schedules.length > 0 ? { schedules } : {}),
    securityGroups,
    vpcEndpoints: ofType('AWS::EC2::VPCEndpoint').map(([id, endpoint]) => ({
      name: nameOf(id),
      service: show(props(endpoint).ServiceName),
      privateDns: props(endpoint).PrivateDnsEnabled === true,
    })),
    logs: ofType('AWS::Logs::LogGroup').map(([id, group]) => ({
      name: nameOf(id),
      retentionDays: (props(group).RetentionInDays as number | undefined) ?? ('never expires' as const),
    })),
    alarms: ofType('AWS::CloudWatch::Alarm').map(([id, alarm]) => ({
      name: nameOf(id),
      description: String(props(alarm).AlarmDescription ?? ''),
      watches: describeAlarmMetric(props(alarm), show),
      comparison: COMPARISONS[String(props(alarm).ComparisonOperator)] ?? String(props(alarm).ComparisonOperator),
      threshold: Number(props(alarm).Threshold),
      // CloudWatch's own default when an alarm does not say.
      missingData: String(props(alarm).TreatMissingData ?? 'missing'),
      notifies: ((props(alarm).AlarmActions as unknown[] | undefined) ?? []).map((action) => show(action)),
    })),
    dashboards: ofType('AWS::CloudWatch::Dashboard').map(([id, dashboard]) => ({
      name: show(props(dashboard).DashboardName ?? nameOf(id)),
      widgets: dashboardWidgets(props(dashboard).DashboardBody, show),
    })),
    alarmTopics: alarmTargets,
    secrets: ofType('AWS::SecretsManager::Secret').map(([id, secret]) => ({
      name: nameOf(id),
      description: String(props(secret).Description ?? ''),
    })),
    cdkNag: {
      pack: 'AwsSolutions',
      unacknowledged: violations
        .map((violation) => ({
          rule: violation.ruleName,
          resources: violation.violatingResources
            .map((resource) => {
              const construct = constructsByPath.get(String(resource.constructPath));
              return construct
                ? displayPath(construct)
                : String(resource.constructPath ?? '?').replace(`${built.stack.stackName}/`, '');
            })
            .sort(),
        }))
        .sort((a, b) => a.rule.localeCompare(b.rule)),
      acknowledged,
    },
  };
}

const COMPARISONS: Record<string, string> = {
  GreaterThanOrEqualToThreshold: '>=',
  GreaterThanThreshold: '>',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '<=',
};

/** What an alarm compares: `Namespace Metric {Dimension=value} Statistic per N s`, or its math with each input. */
function describeAlarmMetric(alarm: Json, show: (value: unknown) => string): string {
  const metricStat = (metric: Json, statistic: unknown, period: unknown) => {
    const dimensions = ((metric.Dimensions as Json[] | undefined) ?? [])
      .map((dimension) => `${String(dimension.Name)}=${show(dimension.Value)}`)
      .join(', ');
    return `${String(metric.Namespace)} ${String(metric.MetricName)}${dimensions ? ` {${dimensions}}` : ''} ${String(statistic)} per ${String(period)} s`;
  };
  const metrics = alarm.Metrics as Json[] | undefined;
  if (!metrics) return metricStat(alarm, alarm.Statistic ?? alarm.ExtendedStatistic, alarm.Period);
  const result = metrics.find((metric) => metric.ReturnData !== false);
  const inputs = metrics
    .filter((metric) => metric !== result)
    .map((metric) => {
      const stat = metric.MetricStat as Json;
      return `${String(metric.Id)} = ${metricStat(stat.Metric as Json, stat.Stat, stat.Period)}`;
    });
  return `${String(result?.Expression)} where ${inputs.join('; ')}`;
}

/** A dashboard's widgets as a reviewer reads them: each graph's title, the alarms it shows the state of. */
function dashboardWidgets(body: unknown, show: (value: unknown) => string): string[] {
  const join = (body as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  const text = join ? join[1].map((part) => (typeof part === 'string' ? part : show(part))).join(join[0]) : show(body);
  const widgets = (JSON.parse(text) as { widgets?: Array<{ type: string; properties: Json }> }).widgets ?? [];
  return widgets.flatMap((widget) => {
    if (widget.type === 'alarm')
      return [
        `${String(widget.properties.title ?? 'alarms')}: the state of ${(widget.properties.alarms as unknown[]).length} alarms`,
      ];
    return widget.properties.title === undefined ? [] : [String(widget.properties.title)];
  });
}

function describeRule(rule: Json, direction: 'to' | 'from', show: (value: unknown) => string): string {
  // CDK's stand-in for "no egress at all" when allowAllOutbound is false and no rule was added.
  if (rule.CidrIp === '255.255.255.255/32' && rule.IpProtocol === 'icmp' && rule.FromPort === 252 && rule.ToPort === 86)
    return 'none (placeholder rule that matches no traffic)';
  const peer =
    rule.CidrIp ??
    rule.CidrIpv6 ??
    rule.DestinationSecurityGroupId ??
    rule.SourceSecurityGroupId ??
    rule.DestinationPrefixListId ??
    '?';
  const ports =
    rule.FromPort === rule.ToPort ? String(rule.FromPort) : `${String(rule.FromPort)}-${String(rule.ToPort)}`;
  return `${String(rule.IpProtocol)} ${ports} ${direction} ${show(peer)}`;
}

/** One rule of a web ACL as a reviewer reads it; `allowedSources` when it blocks every source outside an IP set. */
function describeWafRule(
  rule: Json,
  propertiesOf: (logicalId: string) => Json,
): AuditReport['waf'][number] & { allowedSources?: string[] } {
  const statement = rule.Statement as Json;
  const managed = statement.ManagedRuleGroupStatement as Json | undefined;
  const rate = statement.RateBasedStatement as Json | undefined;
  const outsideIpSet = ((statement.NotStatement as Json | undefined)?.Statement as Json | undefined)
    ?.IPSetReferenceStatement as Json | undefined;
  const ipSetId = (outsideIpSet?.Arn as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt']?.[0];
  const allowedSources = ipSetId ? ((propertiesOf(ipSetId).Addresses as string[] | undefined) ?? []) : undefined;
  const countedRules = ((managed?.RuleActionOverrides as Json[] | undefined) ?? [])
    .filter((override) => 'Count' in ((override.ActionToUse as Json | undefined) ?? {}))
    .map((override) => String(override.Name));
  const window = Number(rate?.EvaluationWindowSec ?? 300);
  const ruleText = managed
    ? `managed rule group ${String(managed.VendorName)}/${String(managed.Name)}`
    : rate
      ? `rate limit ${String(rate.Limit)} requests per ${window % 60 === 0 ? `${window / 60} minutes` : `${window} s`} per ${String(rate.AggregateKeyType)}`
      : allowedSources
        ? `source address outside ${allowedSources.join(', ')}`
        : JSON.stringify(statement);
  const action = rule.OverrideAction
    ? countedRules.length > 0
      ? `as the rule group says (block), but only counted: ${countedRules.join(', ')}`
      : 'as the rule group says (block)'
    : (Object.keys((rule.Action as Json) ?? {})[0] ?? '');
  return {
    priority: Number(rule.Priority),
    name: String(rule.Name),
    rule: ruleText,
    action,
    ...(countedRules.length > 0 ? { countedRules } : {}),
    ...(allowedSources ? { allowedSources } : {}),
  };
}

const CLOUDWATCH = 'cloudwatch.amazonaws.com';

/** Whether an IAM action pattern (`*` wildcards, case-insensitive) covers `action`. */
function actionCovers(pattern: string, action: string): boolean {
  const literal = pattern.split('*').map((part) => part.replace(/[.+?^$(){}|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`, 'i').test(action);
}

/** The policy statements that allow CloudWatch's service principal all of `actions` (wildcards as IAM reads them). */
function cloudWatchGrants(statements: Json[], actions: string[]): Json[] {
  return statements.filter((statement) => {
    const services = [((statement.Principal as Json | undefined)?.Service as unknown) ?? []].flat();
    const granted = [statement.Action].flat().map(String);
    return (
      statement.Effect === 'Allow' &&
      services.includes(CLOUDWATCH) &&
      actions.every((action) => granted.some((grant) => actionCovers(grant, action)))
    );
  });
}

/**
 * Where one alarm action delivers: the topic, its key and policy, its subscriptions, and every
 * reason CloudWatch could not deliver to it (the AWS managed key alias/aws/sns, a key or topic
 * policy without CloudWatch's service principal).
 */
function describeAlarmTopic(
  action: unknown,
  resources: Record<string, CfnResource>,
  nameOf: (logicalId: string) => string,
  show: (value: unknown) => string,
): AuditReport['alarmTopics'][number] {
  const topicId = (action as { Ref?: string } | null)?.Ref;
  const topic = topicId ? resources[topicId] : undefined;
  if (!topicId || topic?.Type !== 'AWS::SNS::Topic') {
    const outside = 'managed outside this stack';
    return {
      topic: show(action),
      managedBy: 'outside this stack',
      encryption: `${outside}: a key must be a customer key whose policy lets ${CLOUDWATCH} use it (kms:Decrypt, kms:GenerateDataKey*), never alias/aws/sns`,
      publishing: `${outside}: its access policy must let ${CLOUDWATCH} publish`,
      subscriptions: [outside],
      undeliverable: [],
    };
  }
  const undeliverable: string[] = [];
  const conditionsOf = (grants: Json[]) => {
    const conditions = grants.map((grant) => grant.Condition).filter((condition) => condition !== undefined);
    return conditions.length > 0 ? ` when \`${conditions.map((condition) => show(condition)).join('` or `')}\`` : '';
  };
  const keyRef = topic.Properties?.KmsMasterKeyId;
  const keyId =
    (keyRef as { Ref?: string } | undefined)?.Ref ??
    (keyRef as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt']?.[0];
  const key = keyId ? resources[keyId] : undefined;
  let encryption: string;
  if (keyRef === undefined) {
    encryption = 'none (not encrypted at rest)';
  } else if (keyId && key?.Type === 'AWS::KMS::Key') {
    const statements = ((key.Properties?.KeyPolicy as { Statement?: Json[] } | undefined)?.Statement ?? []) as Json[];
    const grants = cloudWatchGrants(statements, ['kms:Decrypt', 'kms:GenerateDataKey']);
    encryption = `customer-managed key \`${nameOf(keyId)}\`, rotation ${key.Properties?.EnableKeyRotation === true ? 'on' : 'OFF'}; ${
      grants.length > 0
        ? `its key policy lets ${CLOUDWATCH} use it (kms:Decrypt, kms:GenerateDataKey*)${conditionsOf(grants)}`
        : `its key policy does not let ${CLOUDWATCH} use it`
    }`;
    if (grants.length === 0) undeliverable.push(`the key policy of ${nameOf(keyId)} does not let ${CLOUDWATCH} use it`);
  } else if (/(^|:)alias\/aws\/sns$/.test(show(keyRef))) {
    encryption = 'the AWS managed key alias/aws/sns';
    undeliverable.push(`${CLOUDWATCH} may not use the AWS managed key alias/aws/sns, and its policy cannot be changed`);
  } else {
    encryption = `key ${show(keyRef)}, managed outside this stack: its policy must let ${CLOUDWATCH} use it`;
  }
  const topicPolicies = Object.values(resources).filter(
    (resource) =>
      resource.Type === 'AWS::SNS::TopicPolicy' &&
      JSON.stringify(resource.Properties?.Topics ?? []).includes(`"${topicId}"`),
  );
  let publishing: string;
  if (topicPolicies.length === 0) {
    publishing = "SNS's default access policy";
  } else {
    const statements = topicPolicies.flatMap(
      (policy) =>
        ((policy.Properties?.PolicyDocument as { Statement?: Json[] } | undefined)?.Statement ?? []) as Json[],
    );
    const grants = cloudWatchGrants(statements, ['sns:Publish']);
    publishing =
      grants.length > 0
        ? `the topic policy lets ${CLOUDWATCH} publish${conditionsOf(grants)}`
        : `the topic policy replaces SNS's default one and does not let ${CLOUDWATCH} publish`;
    if (grants.length === 0) undeliverable.push(`the topic policy does not let ${CLOUDWATCH} publish`);
  }
  const subscriptions = Object.values(resources)
    .filter(
      (resource) =>
        resource.Type === 'AWS::SNS::Subscription' &&
        (resource.Properties?.TopicArn as { Ref?: string })?.Ref === topicId,
    )
    .map((subscription) => String(subscription.Properties?.Protocol))
    .sort();
  if (subscriptions.length === 0) undeliverable.push('the topic has no subscription in this stack');
  return {
    topic: nameOf(topicId),
    managedBy: 'this stack',
    encryption,
    publishing,
    subscriptions,
    undeliverable,
  };
}

/** Intrinsic functions shown as the construct they point at, so the report reads without the template. */
function describeValue(value: unknown, nameOf: (logicalId: string) => string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item && typeof item === 'object' && !Array.isArray(item)) {
      const record = item as Json;
      if (typeof record.Ref === 'string')
        return record.Ref.startsWith('AWS::') ? `<${record.Ref}>` : `<${nameOf(record.Ref)}>`;
      const getAtt = record['Fn::GetAtt'] as string[] | undefined;
      if (getAtt) return `<${nameOf(String(getAtt[0]))}.${getAtt[1]}>`;
      const join = record['Fn::Join'] as [string, unknown[]] | undefined;
      if (join)
        return join[1]
          .map((part) => (typeof part === 'string' ? part : describeValue(part, nameOf).replace(/^"|"$/g, '')))
          .join(join[0]);
    }
    return item;
  }).replace(/^"(.*)"$/, '$1');
}

export function renderMarkdown(report: AuditReport): string {
  const lines: string[] = [];
  const table = (head: string[], rows: string[][]) => {
    lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const row of rows)
      lines.push(`| ${row.map((cell) => cell.replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`);
    lines.push('');
  };
  lines.push(`# Exposed surface of ${report.stack} (environment \`${report.environment}\`)`, '');
  lines.push(
    'Generated by `npm run audit` from the synthesized CloudFormation template and cdk-nag. Do not edit by hand.',
    '',
  );
  lines.push('## Routes', '');
  table(
    ['method', 'path', 'authorization', 'required scope', 'request body', 'throttling'],
    report.routes.map((route) => [
      route.method,
      route.path,
      `${route.authorization}${route.authorizer ? ` (${route.authorizer})` : ''}`,
      route.requiredScope ?? '—',
      route.requestModel ? summariseSchema(route.requestModel) : 'not validated',
      route.throttling,
    ]),
  );
  lines.push('## API', '');
  lines.push(
    `- Endpoint: ${report.api.endpointTypes.join(', ')}; default execute-api endpoint ${report.api.executeApiEndpoint}.`,
  );
  lines.push(`- TLS: ${report.api.tls}.`);
  lines.push(
    `- Resource policy: ${report.api.resourcePolicy ? `\`${JSON.stringify(report.api.resourcePolicy)}\`` : 'none (any source address)'}.`,
  );
  const sources = report.api.sourceAddresses;
  lines.push(
    sources.allowed === 'any'
      ? '- Source addresses: any (no allowedSourceIps): every source reaches the WAF rules below and the API.'
      : `- Source addresses: only ${sources.allowed.join(', ')}: ${[
          sources.wafRule
            ? `WAF rule \`${sources.wafRule}\` blocks every other source before any other rule runs`
            : 'no WAF rule',
          sources.resourcePolicy ? 'the resource policy refuses them too' : 'no resource policy',
        ].join('; ')}.`,
  );
  lines.push(
    `- Stage \`${report.api.stage.name}\`: execution logging ${report.api.stage.executionLogging}, data trace ${report.api.stage.dataTrace ? 'ON (bodies logged!)' : 'off'}, throttling ${report.api.stage.throttling}.`,
  );
  lines.push(`- Access log fields: ${report.api.stage.accessLogFields.join(', ')} (no bodies, no headers).`, '');
  lines.push('### Authorizers', '');
  table(
    ['name', 'type', 'identity source', 'cache (s)', 'token pattern'],
    report.authorizers.map((authorizer) => [
      authorizer.name,
      authorizer.type,
      authorizer.identitySource,
      String(authorizer.cacheSeconds),
      authorizer.validationRegex ?? '—',
    ]),
  );
  lines.push('### Answers API Gateway gives itself', '');
  table(
    ['type', 'status', 'body'],
    report.api.gatewayResponses.map((response) => [response.type, response.status, `\`${response.body}\``]),
  );
  lines.push('## WAF', '');
  table(
    ['priority', 'name', 'rule', 'action'],
    report.waf.map((rule) => [String(rule.priority), rule.name, rule.rule, rule.action]),
  );
  lines.push('## Functions', '');
  for (const fn of report.functions) {
    lines.push(`### ${fn.name}`, '', fn.description, '');
    lines.push(
      `- ${fn.runtime}, ${fn.architecture}, timeout ${fn.timeoutSeconds} s, reserved concurrency ${fn.reservedConcurrency}.`,
    );
    lines.push(`- Network: ${fn.network}.`);
    lines.push(`- May connect to: ${fn.egress.length ? fn.egress.join('; ') : 'nothing'}.`);
    lines.push(
      fn.invokedBy.length
        ? `- Invoked by: ${fn.invokedBy.join('; ')}; and IAM principals allowed lambda:InvokeFunction on it.`
        : '- Invoked by: IAM principals allowed lambda:InvokeFunction on it only (no resource policy, no function URL, no API route).',
    );
    lines.push(
      `- Environment: ${Object.entries(fn.environment)
        .map(([key, value]) => `\`${key}=${value}\``)
        .join(', ')}.`,
      '',
    );
    table(
      ['effect', 'actions', 'resources', 'conditions'],
      fn.permissions.map((permission) => [
        permission.effect,
        permission.actions.join(', '),
        permission.resources.join(', '),
        permission.conditions ? `\`${JSON.stringify(permission.conditions)}\`` : '—',
      ]),
    );
  }
  if (report.schedules) {
    lines.push('## Schedules', '');
    lines.push('Cron expressions are in UTC.', '');
    table(
      ['rule', 'schedule', 'state', 'runs'],
      report.schedules.map((rule) => [rule.name, rule.schedule, rule.state, rule.runs.join('; ')]),
    );
  }
  lines.push('## Network', '');
  table(
    ['security group', 'description', 'ingress', 'egress'],
    report.securityGroups.map((group) => [
      group.name,
      group.description,
      group.ingress.join('; ') || 'none',
      group.egress.join('; ') || 'none',
    ]),
  );
  table(
    ['VPC endpoint', 'service', 'private DNS'],
    report.vpcEndpoints.map((endpoint) => [endpoint.name, endpoint.service, String(endpoint.privateDns)]),
  );
  lines.push('## Secrets', '');
  table(
    ['secret', 'description'],
    report.secrets.length
      ? report.secrets.map((secret) => [secret.name, secret.description])
      : [['(imported)', "the bind secret is an existing secret; see the functions' permissions"]],
  );
  lines.push('## Logs and retention', '');
  table(
    ['log group', 'retention (days)'],
    report.logs.map((group) => [group.name, String(group.retentionDays)]),
  );
  lines.push('## Alarms', '');
  if (report.alarmTopics.length === 0)
    lines.push('Alarms notify nobody: give alarms.email or alarms.topicArn for them to reach anyone.', '');
  for (const target of report.alarmTopics) {
    lines.push(`Alarms notify \`${target.topic}\` (managed by ${target.managedBy}).`, '');
    lines.push(`- Encryption: ${target.encryption}.`);
    lines.push(`- Publishing: ${target.publishing}.`);
    const confirmation = target.subscriptions.includes('email')
      ? ' (an address receives nothing until it confirms the subscription from the mail SNS sends)'
      : '';
    lines.push(`- Subscriptions: ${target.subscriptions.join(', ') || 'none'}${confirmation}.`);
    lines.push(
      target.undeliverable.length > 0
        ? `- **No alarm is delivered**: ${target.undeliverable.join('; ')}.`
        : '- Delivery: nothing in this stack stops CloudWatch from delivering.',
      '',
    );
  }
  table(
    ['alarm', 'fires when', 'watches', 'threshold', 'missing data', 'notifies'],
    report.alarms.map((alarm) => [
      alarm.name,
      alarm.description,
      `\`${alarm.watches}\``,
      `${alarm.comparison} ${alarm.threshold}`,
      alarm.missingData,
      alarm.notifies.join(', ') || 'nobody',
    ]),
  );
  lines.push('## Dashboards', '');
  if (report.dashboards.length === 0) lines.push('None.', '');
  for (const dashboard of report.dashboards)
    lines.push(`- \`${dashboard.name}\`: ${dashboard.widgets.join('; ')}.`, '');
  lines.push('## cdk-nag (AwsSolutions)', '');
  lines.push(
    report.cdkNag.unacknowledged.length === 0
      ? 'Unacknowledged findings: **none**.'
      : `Unacknowledged findings: **${report.cdkNag.unacknowledged.length}** (synthesis fails until they are fixed or acknowledged).`,
    '',
  );
  if (report.cdkNag.unacknowledged.length)
    table(
      ['rule', 'resources'],
      report.cdkNag.unacknowledged.map((finding) => [finding.rule, finding.resources.join(', ')]),
    );
  table(
    ['acknowledged rule', 'where', 'reason'],
    report.cdkNag.acknowledged.map((entry) => [entry.rule, entry.scope, entry.reason]),
  );
  return `${lines.join('\n').trimEnd()}\n`;
}

function summariseSchema(schema: unknown): string {
  const {
    required = [],
    properties = {},
    additionalProperties,
  } = schema as {
    required?: string[];
    properties?: Record<string, { type: string; minLength?: number; maxLength?: number }>;
    additionalProperties?: boolean;
  };
  const fields = Object.entries(properties).map(
    ([name, rule]) =>
      `${name}${required.includes(name) ? '' : '?'}: ${rule.type} ${rule.minLength ?? 0}–${rule.maxLength ?? '∞'}`,
  );
  return `${fields.join(', ')}${additionalProperties === false ? '; nothing else' : '; other fields allowed'}`;
}
