// The Lambdas' metrics: CloudWatch embedded metric format (EMF) records on stdout, which Lambda
// sends to the function's log group and CloudWatch turns into metrics (no API call, no SDK, no
// IAM permission). Counts are kept in memory during an invocation and written by flush(), which
// the handlers call in a finally block, so a throwing invocation still writes what it counted.
// Written by hand rather than with Powertools' Metrics, measured with `npm run bench:cold-start`
// (login bundle, Node 20 here): Powertools adds 14.6 kB minified (4.4 kB gzipped) to the bundle
// and about 3 ms to module load and 10-15 ms to the first request, and publishes one dimension set
// per flush where every metric here has its own; this writer is 2 kB. The environment variable
// keeps Powertools' name (POWERTOOLS_SERVICE_NAME -> `service`), the convention Lambda tooling reads.
import type {
  BridgeMetrics,
  DirectoryOperation,
  DirectoryResult,
  RequestOutcome,
  TokenCheckResult,
} from '../core/ports.ts';

/** The CloudWatch namespace of every metric the bridge writes. */
export const METRICS_NAMESPACE = 'Auth0LdapBridge';
/** The environment variable that names the deployment (the stack sets it to its name): the `service` dimension. */
export const METRICS_SERVICE_ENV = 'POWERTOOLS_SERVICE_NAME';
/** The `service` of a function started without METRICS_SERVICE_ENV (not by the stack): counted, on no dashboard. */
export const UNNAMED_SERVICE = 'auth0-ldap-bridge';

/** The `service` dimension from a function's environment. */
export function metricsServiceFrom(env: Readonly<Record<string, string | undefined>>): string {
  return env[METRICS_SERVICE_ENV]?.trim() || UNNAMED_SERVICE;
}
/** The dimension that separates deployments in one account and region. */
export const SERVICE_DIMENSION = 'service';
/** The Route dimension of a request no route matched (API Gateway routes only /login and /get-user there). */
export const NO_ROUTE = 'none';

/**
 * The metrics, each with the dimensions it is published under (besides `service`). A record
 * carries a count metric and, where there is one, the duration metric of the same event, which
 * CloudWatch reads under fewer dimensions (latency by route, not by route and outcome).
 */
export const EMF_METRICS = {
  Requests: { unit: 'Count', dimensions: ['Route', 'Outcome'] },
  RequestDuration: { unit: 'Milliseconds', dimensions: ['Route'] },
  DirectoryOperations: { unit: 'Count', dimensions: ['Server', 'Operation', 'Result'] },
  DirectoryOperationDuration: { unit: 'Milliseconds', dimensions: ['Server', 'Operation'] },
  DirectoryFailovers: { unit: 'Count', dimensions: ['Server'] },
  TokenChecks: { unit: 'Count', dimensions: ['Result'] },
} as const;

type MetricName = keyof typeof EMF_METRICS;

/** CloudWatch takes at most 100 values of one metric in one record. */
const MAX_VALUES_PER_RECORD = 100;

interface PendingRecord {
  dimensions: Record<string, string>;
  count: MetricName;
  events: number;
  duration?: MetricName;
  durations: number[];
}

export interface CloudWatchMetricsOptions {
  /** The `service` dimension: the deployment's name (the stack name). */
  service: string;
  /** Where each record goes, one JSON line each. Default stdout, where Lambda's log capture reads it. */
  write?: (line: string) => void;
  /** The records' timestamp, in epoch milliseconds. Default Date.now. */
  now?: () => number;
}

export class CloudWatchMetrics implements BridgeMetrics {
  private readonly pending = new Map<string, PendingRecord>();
  private readonly write: (line: string) => void;
  private readonly now: () => number;

  constructor(private readonly options: CloudWatchMetricsOptions) {
    if (options.service.trim() === '')
      throw new Error(`CloudWatchMetrics: service is empty; expected the deployment's name (${METRICS_SERVICE_ENV})`);
    this.write = options.write ?? ((line) => process.stdout.write(line));
    this.now = options.now ?? Date.now;
  }

  requestHandled(route: string | undefined, outcome: RequestOutcome, durationMs: number): void {
    this.add({ Route: route ?? NO_ROUTE, Outcome: outcome }, 'Requests', 'RequestDuration', durationMs);
  }

  directoryOperation(server: string, operation: DirectoryOperation, result: DirectoryResult, durationMs: number): void {
    this.add(
      { Server: server, Operation: operation, Result: result },
      'DirectoryOperations',
      'DirectoryOperationDuration',
      durationMs,
    );
  }

  directoryFailover(server: string): void {
    this.add({ Server: server }, 'DirectoryFailovers');
  }

  // A number of open connections means little per invocation (one container holds two); the
  // on-prem server's gauge shows it, CloudWatch's ConcurrentExecutions bounds it on Lambda.
  directoryConnectionOpened(): void {}
  directoryConnectionClosed(): void {}

  tokenChecked(result: TokenCheckResult): void {
    this.add({ Result: result }, 'TokenChecks');
  }

  /** Writes every record counted since the last flush, and forgets them. */
  flush(): void {
    if (this.pending.size === 0) return;
    const timestamp = this.now();
    for (const record of this.pending.values()) {
      for (let first = 0; first < Math.max(1, record.durations.length); first += MAX_VALUES_PER_RECORD) {
        const durations = record.durations.slice(first, first + MAX_VALUES_PER_RECORD);
        // The count travels once, with the first slice of durations.
        this.write(`${JSON.stringify(this.document(record, timestamp, first === 0, durations))}\n`);
      }
    }
    this.pending.clear();
  }

  private add(dimensions: Record<string, string>, count: MetricName, duration?: MetricName, durationMs?: number): void {
    const key = `${count}\u0000${Object.values(dimensions).join('\u0000')}`;
    let record = this.pending.get(key);
    if (!record) {
      record = { dimensions, count, events: 0, durations: [], ...(duration ? { duration } : {}) };
      this.pending.set(key, record);
    }
    record.events += 1;
    if (duration && durationMs !== undefined) record.durations.push(Math.round(durationMs * 1000) / 1000);
  }

  private document(record: PendingRecord, timestamp: number, withCount: boolean, durations: number[]): object {
    const directive = (name: MetricName) => ({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [[SERVICE_DIMENSION, ...EMF_METRICS[name].dimensions]],
      Metrics: [{ Name: name, Unit: EMF_METRICS[name].unit }],
    });
    const directives = [
      ...(withCount ? [directive(record.count)] : []),
      ...(record.duration && durations.length > 0 ? [directive(record.duration)] : []),
    ];
    return {
      _aws: { Timestamp: timestamp, CloudWatchMetrics: directives },
      [SERVICE_DIMENSION]: this.options.service,
      ...record.dimensions,
      ...(withCount ? { [record.count]: record.events } : {}),
      ...(record.duration && durations.length > 0
        ? { [record.duration]: durations.length === 1 ? durations[0] : durations }
        : {}),
    };
  }
}
