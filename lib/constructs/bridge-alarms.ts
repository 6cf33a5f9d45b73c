// The alarms: the API's 5xx rate, directory_unavailable answers of each route, token denials by
// the authorizer, each function's errors, throttles and p99 duration, and the alarms on login
// outcomes: a jump in the share of invalid_credentials, and the lockout shield's refusals. The
// outcome alarms read the functions' embedded metrics (bridgeMetric); their thresholds are the
// deployment's `alarms.*` settings. The log filters match the structured log field `error`
// against the codes of the contract's error classes, never a log message's wording; the
// directory_unavailable filters still count from the logs (the dashboard shows that count beside
// the embedded one), while their alarms read the embedded metric, so an outage notifies once per route.
import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { UNNAMED_SERVICE } from '../../lambdas/adapters/cloudwatch-metrics.ts';
import { DirectoryUnavailable, InvalidCredentials, InvalidToken } from '../../lambdas/contract/errors.ts';
import { ROUTES, type RouteName } from '../../lambdas/contract/routes.ts';
import { DEPLOYMENT_SETTINGS as D } from '../../lambdas/contract/settings.ts';
import { bridgeMetric } from './bridge-dashboard.ts';
import { hideFromLogicalIds, pascalCase } from './construct-ids.ts';
import { checkInRange } from './prop-checks.ts';

const FIVE_MINUTES = Duration.minutes(5);

export interface BridgeAlarmsProps {
  /** The API whose 5xx rate is watched. */
  readonly api: apigateway.RestApi;
  /** The function that answers each route, by route name. */
  readonly routeFunctions: Readonly<Record<RouteName, lambda.Function>>;
  /** The TOKEN authorizer's function. */
  readonly authorizerFunction: lambda.Function;
  /**
   * The scheduled sync-leavers' function: its errors (a failed, refused or cut-short run),
   * throttles (a run started while the previous one still ran) and duration are watched too.
   * @default none
   */
  readonly syncLeaversFunction?: lambda.Function;
  /** Where the alarms notify. @default alarms without actions */
  readonly alarmTopic?: ITopic;
  /**
   * The `service` dimension the functions write their metrics with (their POWERTOOLS_SERVICE_NAME).
   * @default the functions' own default, auth0-ldap-bridge
   */
  readonly metricsService?: string;
  /**
   * Percent of logins in 5 minutes answered invalid_credentials at which the share alarms.
   * @default 50 (the settings table's alarms.invalidCredentialsPercent)
   */
  readonly invalidCredentialsPercent?: number;
  /**
   * Logins in 5 minutes below which that share does not alarm.
   * @default 20 (the settings table's alarms.invalidCredentialsMinLogins)
   */
  readonly invalidCredentialsMinLogins?: number;
  /**
   * Logins the lockout shield answered in 5 minutes at which it alarms.
   * @default 10 (the settings table's alarms.lockoutShieldPer5Minutes)
   */
  readonly lockoutShieldPer5Minutes?: number;
  /**
   * directory_unavailable answers of one route in 5 minutes at which it alarms.
   * @default 5 (the settings table's alarms.directoryUnavailablePer5Minutes)
   */
  readonly directoryUnavailablePer5Minutes?: number;
}

export class BridgeAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  /** directory_unavailable answers of each route, counted from its function's log lines. */
  readonly directoryUnavailableLogCounts: Readonly<Record<RouteName, cloudwatch.Metric>>;
  /** The authorizer's invalid_token denials, counted from its log lines. */
  readonly authorizerDeniesLogCount: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: BridgeAlarmsProps) {
    super(scope, id);
    hideFromLogicalIds(this);
    const service = props.metricsService ?? UNNAMED_SERVICE;
    const invalidPercent = props.invalidCredentialsPercent ?? D.alarmInvalidCredentialsPercent.default;
    const minLogins = props.invalidCredentialsMinLogins ?? D.alarmInvalidCredentialsMinLogins.default;
    const shieldRefusals = props.lockoutShieldPer5Minutes ?? D.alarmLockoutShieldPer5Minutes.default;
    const unavailable = props.directoryUnavailablePer5Minutes ?? D.alarmDirectoryUnavailablePer5Minutes.default;
    checkInRange('BridgeAlarms', 'invalidCredentialsPercent', invalidPercent, D.alarmInvalidCredentialsPercent);
    checkInRange('BridgeAlarms', 'invalidCredentialsMinLogins', minLogins, D.alarmInvalidCredentialsMinLogins);
    checkInRange('BridgeAlarms', 'lockoutShieldPer5Minutes', shieldRefusals, D.alarmLockoutShieldPer5Minutes);
    checkInRange(
      'BridgeAlarms',
      'directoryUnavailablePer5Minutes',
      unavailable,
      D.alarmDirectoryUnavailablePer5Minutes,
    );
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (props.alarmTopic) created.addAlarmAction(new SnsAction(props.alarmTopic));
      this.alarms.push(created);
    };
    // The metric is named after the filter's construct id.
    const errorCount = (filterId: string, fn: lambda.Function, errorCode: string) =>
      new logs.MetricFilter(this, filterId, {
        logGroup: fn.logGroup,
        filterPattern: logs.FilterPattern.stringValue('$.error', '=', errorCode),
        metricNamespace: 'Auth0LdapBridge',
        metricName: filterId,
        metricValue: '1',
      }).metric({ period: FIVE_MINUTES, statistic: 'Sum' });

    alarm(
      'ServerErrorRateAlarm',
      new cloudwatch.MathExpression({
        expression: 'IF(requests >= 20, 100 * errors / requests, 0)',
        usingMetrics: {
          requests: props.api.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' }),
          errors: props.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' }),
        },
        period: FIVE_MINUTES,
      }),
      5,
      'More than 5% of API responses are 5xx',
    );
    const unavailableFromLogs: Partial<Record<RouteName, cloudwatch.Metric>> = {};
    for (const route of ROUTES) {
      const filterId = `DirectoryUnavailable${pascalCase(route.name)}`;
      // The log count stays a metric (the dashboard's cross-check); the alarm reads the embedded one.
      unavailableFromLogs[route.name] = errorCount(
        filterId,
        props.routeFunctions[route.name],
        DirectoryUnavailable.code,
      );
      alarm(
        `${filterId}Alarm`,
        bridgeMetric(
          service,
          'Requests',
          { Route: route.name, Outcome: DirectoryUnavailable.code },
          { statistic: 'Sum', period: FIVE_MINUTES },
        ),
        unavailable,
        `${route.path} answered ${DirectoryUnavailable.code} (503) ${unavailable} times in 5 minutes: the directory is down, unreachable, slow or refuses the service account`,
      );
    }
    this.directoryUnavailableLogCounts = unavailableFromLogs as Record<RouteName, cloudwatch.Metric>;
    // Requests of a route: RequestDuration has one sample per request, whatever its outcome.
    alarm(
      'InvalidCredentialsShareAlarm',
      new cloudwatch.MathExpression({
        expression: `IF(logins >= ${minLogins}, 100 * FILL(invalid, 0) / logins, 0)`,
        usingMetrics: {
          logins: bridgeMetric(service, 'RequestDuration', { Route: 'login' }, { statistic: 'SampleCount' }),
          invalid: bridgeMetric(
            service,
            'Requests',
            { Route: 'login', Outcome: InvalidCredentials.code },
            { statistic: 'Sum' },
          ),
        },
        period: FIVE_MINUTES,
      }),
      invalidPercent,
      `${invalidPercent}% or more of the logins in 5 minutes (at least ${minLogins}) answered ${InvalidCredentials.code}: password spraying, or a directory that refuses good passwords`,
    );
    alarm(
      'LockoutShieldAlarm',
      bridgeMetric(service, 'Requests', { Route: 'login', Outcome: 'lockout_shield' }, { statistic: 'Sum' }),
      shieldRefusals,
      `The lockout shield answered ${shieldRefusals} logins in 5 minutes instead of binding: accounts are being guessed at close to their lockout threshold`,
    );
    // The authorizer logs `error` with the code of every denial: invalid_token for a refused token
    // (what probing looks like), insufficient_scope for a valid token that grants no route.
    this.authorizerDeniesLogCount = errorCount('AuthorizerDenies', props.authorizerFunction, InvalidToken.code);
    alarm(
      'AuthorizerDeniesAlarm',
      this.authorizerDeniesLogCount,
      50,
      'The authorizer denied 50 tokens in 5 minutes (probing or a misconfigured client)',
    );
    const functions: Array<[string, lambda.Function]> = [
      ...ROUTES.map((route): [string, lambda.Function] => [pascalCase(route.name), props.routeFunctions[route.name]]),
      ['Authorizer', props.authorizerFunction],
      ...(props.syncLeaversFunction ? [['SyncLeavers', props.syncLeaversFunction] as [string, lambda.Function]] : []),
    ];
    for (const [name, fn] of functions) {
      alarm(
        `${name}ErrorsAlarm`,
        fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        1,
        `${name} function errors`,
      );
      alarm(
        `${name}ThrottlesAlarm`,
        fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
        1,
        `${name} function throttled (reserved concurrency reached)`,
      );
      // Lambda's own default when a function sets no timeout.
      const timeout = fn.timeout ?? Duration.seconds(3);
      alarm(
        `${name}DurationAlarm`,
        fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p99' }),
        Math.round(timeout.toMilliseconds() * 0.8),
        `${name} p99 duration above 80% of its timeout`,
      );
    }
  }
}
