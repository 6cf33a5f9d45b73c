// The on-prem server's metrics: BridgeMetrics over prom-client, in a registry of its own (never
// prom-client's global one, so two servers in one process, and the tests, do not share counts),
// rendered as Prometheus text for GET /metrics. The names and label words are the README's and
// the same as the Lambdas' CloudWatch metrics. Label sets known in advance (each route with each
// outcome the contract defines, each server of LDAP_URLS with each operation and result) exist
// from the start with zero, so rate() works and dashboards show 0 rather than "no data". Labels
// are fixed words, route names and configured LDAP URLs: never a username, DN, token or caller.
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import * as contractErrors from '../contract/errors.ts';
import { ROUTES } from '../contract/routes.ts';
import type { BridgeMetrics, DirectoryOperation, DirectoryResult, TokenCheckResult } from '../core/ports.ts';

/** Every metric name starts with this; prom-client's process metrics too. */
export const METRIC_PREFIX = 'auth0_ldap_bridge_';

/** The `route` label of a request no route of the contract matched. */
export const NO_ROUTE = 'none';

/** Every error code of lambdas/contract/errors.ts, read from its classes (a new error class is counted without an edit here). */
export const ERROR_CODES: readonly string[] = [
  ...new Set(
    Object.values(contractErrors).flatMap((value) =>
      typeof value === 'function' &&
      value.prototype instanceof contractErrors.BridgeError &&
      typeof (value as { code?: unknown }).code === 'string'
        ? [(value as { code: string }).code]
        : [],
    ),
  ),
];

/** What a request of a route can end as (the `outcome` label): ok, an error code, or the lockout shield's refusal. */
export const REQUEST_OUTCOMES: readonly string[] = ['ok', ...ERROR_CODES, 'lockout_shield'];

// Records over the ports' unions: the compiler refuses a word the port gains and these lack.
const DIRECTORY_OPERATIONS = Object.keys({
  connect: true,
  service_bind: true,
  user_search: true,
  group_search: true,
  entry_read: true,
  user_bind: true,
} satisfies Record<DirectoryOperation, true>) as DirectoryOperation[];
const DIRECTORY_RESULTS = Object.keys({
  ok: true,
  answered: true,
  error: true,
  timeout: true,
  connection_error: true,
} satisfies Record<DirectoryResult, true>) as DirectoryResult[];
const TOKEN_CHECK_RESULTS = Object.keys({
  cache_hit: true,
  verified: true,
  rejected: true,
  keys_unavailable: true,
} satisfies Record<TokenCheckResult, true>) as TokenCheckResult[];

/** Seconds, 1 ms to 10 s: a warm login takes a few milliseconds, the slowest answer is bounded by the timeouts. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One registry's metrics as prom-client hands them between processes (getMetricsAsJSON). */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** What GET /metrics answers. */
export interface MetricsText {
  contentType: string;
  text: string;
}

export interface PrometheusMetricsOptions {
  /** LDAP_URLS as configured: their label sets exist from the start. */
  servers: readonly string[];
}

export class PrometheusMetrics implements BridgeMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'outcome'>;
  private readonly requestDuration: Histogram<'route'>;
  private readonly directoryOperations: Counter<'server' | 'operation' | 'result'>;
  private readonly directoryDuration: Histogram<'server' | 'operation'>;
  private readonly failovers: Counter<'server'>;
  private readonly connectionsOpen: Gauge<'server'>;
  private readonly tokenChecks: Counter<'result'>;

  constructor(options: PrometheusMetricsOptions) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: `${METRIC_PREFIX}requests_total`,
      help: 'Requests answered, by route (login, get-user, none when no route matched) and outcome (ok, the error code, lockout_shield)',
      labelNames: ['route', 'outcome'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: `${METRIC_PREFIX}request_duration_seconds`,
      help: 'Time from the request to its answer, by route',
      labelNames: ['route'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.directoryOperations = new Counter({
      name: `${METRIC_PREFIX}directory_operations_total`,
      help: 'Directory operations, by server (an entry of LDAP_URLS), operation and result (ok, answered, error, timeout, connection_error)',
      labelNames: ['server', 'operation', 'result'],
      registers,
    });
    this.directoryDuration = new Histogram({
      name: `${METRIC_PREFIX}directory_operation_duration_seconds`,
      help: 'Time a directory operation took, by server and operation',
      labelNames: ['server', 'operation'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.failovers = new Counter({
      name: `${METRIC_PREFIX}directory_failovers_total`,
      help: 'Times the bridge gave up on a server and went on to the next one in LDAP_URLS',
      labelNames: ['server'],
      registers,
    });
    this.connectionsOpen = new Gauge({
      name: `${METRIC_PREFIX}directory_connections_open`,
      help: 'Directory connections open now, by server',
      labelNames: ['server'],
      registers,
    });
    this.tokenChecks = new Counter({
      name: `${METRIC_PREFIX}token_checks_total`,
      help: 'Bearer token checks, by result (cache_hit, verified, rejected, keys_unavailable)',
      labelNames: ['result'],
      registers,
    });
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    this.createKnownLabelSets(options.servers);
  }

  requestHandled(route: string | undefined, outcome: string, durationMs: number): void {
    const routeLabel = route ?? NO_ROUTE;
    this.requests.inc({ route: routeLabel, outcome });
    this.requestDuration.observe({ route: routeLabel }, durationMs / 1000);
  }

  directoryOperation(server: string, operation: DirectoryOperation, result: DirectoryResult, durationMs: number): void {
    this.directoryOperations.inc({ server, operation, result });
    this.directoryDuration.observe({ server, operation }, durationMs / 1000);
  }

  directoryFailover(server: string): void {
    this.failovers.inc({ server });
  }

  directoryConnectionOpened(server: string): void {
    this.connectionsOpen.inc({ server });
  }

  directoryConnectionClosed(server: string): void {
    this.connectionsOpen.dec({ server });
  }

  tokenChecked(result: TokenCheckResult): void {
    this.tokenChecks.inc({ result });
  }

  /** This process's metrics in the Prometheus text format. */
  async render(): Promise<MetricsText> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /** This process's metrics in the form a primary process aggregates (see aggregateSnapshots). */
  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON();
  }

  private createKnownLabelSets(servers: readonly string[]): void {
    for (const route of ROUTES) {
      for (const outcome of REQUEST_OUTCOMES) this.requests.inc({ route: route.name, outcome }, 0);
      this.requestDuration.zero({ route: route.name });
    }
    this.requests.inc({ route: NO_ROUTE, outcome: contractErrors.RouteNotFound.code }, 0);
    this.requestDuration.zero({ route: NO_ROUTE });
    for (const server of servers) {
      for (const operation of DIRECTORY_OPERATIONS) {
        for (const result of DIRECTORY_RESULTS) this.directoryOperations.inc({ server, operation, result }, 0);
        this.directoryDuration.zero({ server, operation });
      }
      this.failovers.inc({ server }, 0);
      this.connectionsOpen.set({ server }, 0);
    }
    for (const result of TOKEN_CHECK_RESULTS) this.tokenChecks.inc({ result }, 0);
  }
}

/**
 * The metrics of several processes (`serve`'s workers) as one Prometheus text, merged the way
 * prom-client's AggregatorRegistry does: counters, histograms and gauges (connections open) are
 * summed across processes; process metrics by their own rule (e.g. the event loop lag averaged).
 */
export async function aggregateSnapshots(snapshots: readonly MetricsSnapshot[]): Promise<MetricsText> {
  const merged = AggregatorRegistry.aggregate(snapshots as MetricsSnapshot[]);
  return { contentType: merged.contentType, text: await merged.metrics() };
}
