// The alarms: the API's 5xx rate, directory_unavailable answers of each directory function,
// token denials by the authorizer, and each function's errors, throttles and p99 duration. The
// log filters match the structured log field `error` against the codes of the contract's error
// classes, never a log message's wording.
import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DirectoryUnavailable, InvalidToken } from '../../lambdas/contract/errors.ts';
import { ROUTES, type RouteName } from '../../lambdas/contract/routes.ts';
import { hideFromLogicalIds, pascalCase } from './construct-ids.ts';

const FIVE_MINUTES = Duration.minutes(5);

export interface BridgeAlarmsProps {
  /** The API whose 5xx rate is watched. */
  readonly api: apigateway.RestApi;
  /** The function that answers each route, by route name. */
  readonly routeFunctions: Readonly<Record<RouteName, lambda.Function>>;
  /** The TOKEN authorizer's function. */
  readonly authorizerFunction: lambda.Function;
  /** Where the alarms notify. @default alarms without actions */
  readonly alarmTopic?: ITopic;
}

export class BridgeAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: BridgeAlarmsProps) {
    super(scope, id);
    hideFromLogicalIds(this);
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
    for (const route of ROUTES) {
      const filterId = `DirectoryUnavailable${pascalCase(route.name)}`;
      alarm(
        `${filterId}Alarm`,
        errorCount(filterId, props.routeFunctions[route.name], DirectoryUnavailable.code),
        5,
        `${route.path} answered ${DirectoryUnavailable.code} 5 times in 5 minutes`,
      );
    }
    // The authorizer logs `error` with the code of every denial: invalid_token for a refused token
    // (what probing looks like), insufficient_scope for a valid token that grants no route.
    alarm(
      'AuthorizerDeniesAlarm',
      errorCount('AuthorizerDenies', props.authorizerFunction, InvalidToken.code),
      50,
      'The authorizer denied 50 tokens in 5 minutes (probing or a misconfigured client)',
    );
    const functions: Array<[string, lambda.Function]> = [
      ...ROUTES.map((route): [string, lambda.Function] => [pascalCase(route.name), props.routeFunctions[route.name]]),
      ['Authorizer', props.authorizerFunction],
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
