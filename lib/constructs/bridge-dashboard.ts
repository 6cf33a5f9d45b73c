// The deployment's CloudWatch dashboard: what the functions count (their embedded metrics, see
// lambdas/adapters/cloudwatch-metrics.ts) beside what AWS counts for them. Logins and user lookups
// by outcome, latency p50 / p99 per route, directory errors and failovers by server, the
// authorizer's refused tokens, every place a request can be throttled or blocked (API Gateway's
// 4XX, which include its 429s; each function's throttles; the web ACL's blocked requests), the
// lockout shield's refusals, and the state of every alarm. This file also owns how the stack reads
// an embedded metric (bridgeMetric), so the alarms read exactly what the functions write.
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  EMF_METRICS,
  METRICS_NAMESPACE,
  SERVICE_DIMENSION,
  UNNAMED_SERVICE,
} from '../../lambdas/adapters/cloudwatch-metrics.ts';
import { ROUTES, type RouteName } from '../../lambdas/contract/routes.ts';

const FIVE_MINUTES = Duration.minutes(5);
/** The directory results that mean the directory could not serve (not `ok`, not a normal `answered`). */
export const DIRECTORY_FAILURE_RESULTS = ['error', 'timeout', 'connection_error'] as const;

/**
 * One embedded metric of the functions, read with exactly the dimensions it is written with (a
 * CloudWatch metric is its namespace, name and complete set of dimensions).
 */
export function bridgeMetric(
  service: string,
  name: keyof typeof EMF_METRICS,
  dimensions: Record<string, string>,
  options: { statistic: string; label?: string; period?: Duration },
): cloudwatch.Metric {
  const expected = [...EMF_METRICS[name].dimensions].sort();
  if (JSON.stringify(Object.keys(dimensions).sort()) !== JSON.stringify(expected))
    throw new Error(
      `bridgeMetric: ${name} is written with the dimensions ${expected.join(', ')}, not ${Object.keys(dimensions).join(', ')}`,
    );
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { [SERVICE_DIMENSION]: service, ...dimensions },
    statistic: options.statistic,
    period: options.period ?? FIVE_MINUTES,
    ...(options.label === undefined ? {} : { label: options.label }),
  });
}

export interface BridgeDashboardProps {
  /**
   * The `service` dimension the functions write their metrics with (their POWERTOOLS_SERVICE_NAME).
   * @default the functions' own default, auth0-ldap-bridge
   */
  readonly service?: string;
  /** The directory servers (LDAP_URLS): one line each in the directory errors. */
  readonly directoryServers: string[];
  /** The API whose client errors (throttling included) are shown. */
  readonly api: apigateway.RestApi;
  /** The function that answers each route, by route name. */
  readonly routeFunctions: Readonly<Record<RouteName, lambda.IFunction>>;
  /** The TOKEN authorizer's function. */
  readonly authorizerFunction: lambda.IFunction;
  /**
   * The web ACL's metric name (its VisibilityConfig's), for its blocked requests.
   * @default no web ACL line
   */
  readonly webAclMetricName?: string;
  /**
   * The alarms whose state the dashboard shows.
   * @default no alarm widget
   */
  readonly alarms?: cloudwatch.IAlarm[];
  /**
   * directory_unavailable answers of each route counted from the functions' logs, shown beside the
   * embedded count: when they disagree, one way of counting is broken.
   * @default the embedded count alone
   */
  readonly directoryUnavailableLogCounts?: Readonly<Record<RouteName, cloudwatch.Metric>>;
  /**
   * The authorizer's invalid_token denials counted from its logs, shown beside its rejected tokens.
   * @default the embedded count alone
   */
  readonly authorizerDeniesLogCount?: cloudwatch.Metric;
  /**
   * The dashboard's name (dashboards are named per account, across regions).
   * @default `<stack name>-<region>`
   */
  readonly dashboardName?: string;
}

export class BridgeDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: BridgeDashboardProps) {
    super(scope, id);
    const service = props.service ?? UNNAMED_SERVICE;
    validate(service, props.directoryServers);
    const stack = Stack.of(this);
    const metric = (
      name: keyof typeof EMF_METRICS,
      dimensions: Record<string, string>,
      statistic: string,
      label?: string,
    ) => bridgeMetric(service, name, dimensions, { statistic, ...(label === undefined ? {} : { label }) });
    /** Every series of one embedded metric whose dimensions match `filter`, labelled by `labelDimension`. */
    const search = (name: keyof typeof EMF_METRICS, filter: Record<string, string>, labelDimension: string) =>
      new cloudwatch.SearchExpression({
        expression: `SEARCH('${searchTerms(service, name, filter)}', 'Sum', ${FIVE_MINUTES.toSeconds()})`,
        label: `\${PROP('Dim.${labelDimension}')}`,
        period: FIVE_MINUTES,
      });
    const graph = (title: string, left: cloudwatch.IMetric[], more: cloudwatch.GraphWidgetProps = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 12, height: 6, period: FIVE_MINUTES, ...more });

    const outcomes = (route: RouteName) =>
      graph(
        `${ROUTES.find((each) => each.name === route)?.path ?? route} by outcome (requests per 5 minutes)`,
        [search('Requests', { Route: route }, 'Outcome')],
        { stacked: true },
      );
    const latency = graph(
      'Latency per route (ms)',
      ROUTES.flatMap((route) => [
        metric('RequestDuration', { Route: route.name }, 'p50', `${route.path} p50`),
        metric('RequestDuration', { Route: route.name }, 'p99', `${route.path} p99`),
      ]),
    );
    const shieldRefusals = graph('Lockout shield refusals (logins per 5 minutes)', [
      metric('Requests', { Route: 'login', Outcome: 'lockout_shield' }, 'Sum', 'answered by the lockout shield'),
    ]);
    const failureTerms = DIRECTORY_FAILURE_RESULTS.map((result) => `Result="${result}"`).join(' OR ');
    const directoryErrors = graph(
      `Directory errors by server (${DIRECTORY_FAILURE_RESULTS.join(', ')}; per 5 minutes)`,
      props.directoryServers.map(
        (server) =>
          new cloudwatch.MathExpression({
            expression: `SUM(SEARCH('${searchTerms(service, 'DirectoryOperations', { Server: server })} (${failureTerms})', 'Sum', ${FIVE_MINUTES.toSeconds()}))`,
            label: server,
            period: FIVE_MINUTES,
          }),
      ),
    );
    const failovers = graph('Directory failovers by server (per 5 minutes)', [
      search('DirectoryFailovers', {}, 'Server'),
    ]);
    const unavailable = graph(
      'directory_unavailable answers (per 5 minutes)',
      ROUTES.flatMap((route) => {
        const fromLogs = props.directoryUnavailableLogCounts?.[route.name];
        return [
          metric('Requests', { Route: route.name, Outcome: 'directory_unavailable' }, 'Sum', route.path),
          ...(fromLogs ? [fromLogs.with({ label: `${route.path}, counted from the logs` })] : []),
        ];
      }),
    );
    const tokenRefusals = graph('Authorizer denials (tokens per 5 minutes)', [
      metric('TokenChecks', { Result: 'rejected' }, 'Sum', 'rejected: invalid_token'),
      metric('TokenChecks', { Result: 'keys_unavailable' }, 'Sum', 'signing keys unreachable: 503'),
      ...(props.authorizerDeniesLogCount
        ? [props.authorizerDeniesLogCount.with({ label: 'invalid_token, counted from the logs' })]
        : []),
    ]);
    const functions: Array<[string, lambda.IFunction]> = [
      ...ROUTES.map((route): [string, lambda.IFunction] => [route.path, props.routeFunctions[route.name]]),
      ['authorizer', props.authorizerFunction],
    ];
    // API Gateway has no metric of its own for 429: its 4XX count includes them.
    const throttles = graph(
      'Throttled or blocked before the bridge (per 5 minutes)',
      [
        props.api.metricClientError({
          period: FIVE_MINUTES,
          statistic: 'Sum',
          label: 'API Gateway 4XX (429 included)',
        }),
        ...functions.map(([name, fn]) =>
          fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum', label: `${name} function throttles` }),
        ),
        ...(props.webAclMetricName
          ? [
              new cloudwatch.Metric({
                namespace: 'AWS/WAFV2',
                metricName: 'BlockedRequests',
                dimensionsMap: { WebACL: props.webAclMetricName, Rule: 'ALL', Region: stack.region },
                statistic: 'Sum',
                period: FIVE_MINUTES,
                label: 'web ACL blocked requests',
              }),
            ]
          : []),
      ],
      { width: 24 },
    );

    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName: props.dashboardName ?? `${stack.stackName}-${stack.region}`,
      defaultInterval: Duration.hours(12),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown: `## auth0-ldap-bridge \`${service}\`\nThe functions' own counts (namespace \`${METRICS_NAMESPACE}\`, dimension \`${SERVICE_DIMENSION}=${service}\`) beside API Gateway's, Lambda's and WAF's.`,
            width: 24,
            height: 2,
          }),
        ],
        [outcomes('login'), outcomes('get-user')],
        [latency, unavailable],
        [directoryErrors, failovers],
        [shieldRefusals, tokenRefusals],
        [throttles],
        ...(props.alarms && props.alarms.length > 0
          ? [[new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 6 })]]
          : []),
      ],
    });
  }
}

/** The schema and terms of a SEARCH over one embedded metric: exact matches on `service` and `filter`. */
function searchTerms(service: string, name: keyof typeof EMF_METRICS, filter: Record<string, string>): string {
  const schema = [METRICS_NAMESPACE, SERVICE_DIMENSION, ...EMF_METRICS[name].dimensions].join(',');
  const terms = Object.entries({ [SERVICE_DIMENSION]: service, ...filter }).map(
    ([dimension, value]) => `${dimension}="${value}"`,
  );
  return `{${schema}} MetricName="${name}" ${terms.join(' ')}`;
}

/** Values go inside a SEARCH string: no quotes, and the servers are LDAP URLs as LDAP_URLS holds them. */
function validate(service: string, directoryServers: string[]): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(service))
    throw new Error(
      `BridgeDashboard: service ${JSON.stringify(service)} expected letters, digits, '-', '_' or '.' (the stack name)`,
    );
  if (directoryServers.length === 0)
    throw new Error('BridgeDashboard: directoryServers is empty; expected the LDAP_URLS of the functions');
  for (const server of directoryServers) {
    if (!/^ldaps?:\/\/[^\s'"]+$/.test(server))
      throw new Error(
        `BridgeDashboard: directoryServers entry ${JSON.stringify(server)} expected an ldap:// or ldaps:// URL`,
      );
  }
}
