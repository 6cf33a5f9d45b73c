// The on-prem server's Prometheus metrics: the names the README documents, label sets that exist
// with zero before anything happened, counts in a registry of their own, the sum over `serve`'s
// workers, and the METRICS_PORT / METRICS_HOST settings.
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  aggregateSnapshots,
  ERROR_CODES,
  type MetricsSnapshot,
  PrometheusMetrics,
  REQUEST_OUTCOMES,
} from '../../lambdas/adapters/prometheus-metrics.ts';
import { ConfigError, loadConfig } from '../../lambdas/core/config/bridge-config.ts';

const SERVERS = ['ldaps://dc1.corp.example:636', 'ldaps://dc2.corp.example:636'];

/** The values of one metric (a histogram's by their sample name: _bucket, _count, _sum). */
async function samplesOf(snapshot: MetricsSnapshot, name: string) {
  const metric = snapshot.find((each) => each.name === name);
  if (!metric) throw new Error(`no metric ${name}`);
  return metric.values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

describe('PrometheusMetrics', () => {
  it('names every metric as the README does, process metrics included', async () => {
    const names = (await new PrometheusMetrics({ servers: SERVERS }).snapshot()).map((metric) => metric.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'auth0_ldap_bridge_requests_total',
        'auth0_ldap_bridge_request_duration_seconds',
        'auth0_ldap_bridge_directory_operations_total',
        'auth0_ldap_bridge_directory_operation_duration_seconds',
        'auth0_ldap_bridge_directory_failovers_total',
        'auth0_ldap_bridge_directory_connections_open',
        'auth0_ldap_bridge_token_checks_total',
        'auth0_ldap_bridge_process_cpu_seconds_total',
        'auth0_ldap_bridge_process_resident_memory_bytes',
        'auth0_ldap_bridge_nodejs_eventloop_lag_seconds',
      ]),
    );
    expect(names.filter((name) => !name.startsWith('auth0_ldap_bridge_'))).toEqual([]);
  });

  it("takes the error codes from the contract's classes: every one, once", () => {
    expect(ERROR_CODES).toEqual(
      expect.arrayContaining([
        'invalid_request',
        'invalid_credentials',
        'account_disabled',
        'account_expired',
        'account_locked',
        'password_expired',
        'password_change_required',
        'user_not_found',
        'invalid_token',
        'insufficient_scope',
        'not_found',
        'method_not_allowed',
        'payload_too_large',
        'directory_unavailable',
        'jwks_unavailable',
        'overloaded',
        'internal_error',
        'request_timeout',
      ]),
    );
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect(REQUEST_OUTCOMES[0]).toBe('ok');
    expect(REQUEST_OUTCOMES).toContain('lockout_shield');
  });

  it('has every label set known in advance at zero before anything happened', async () => {
    const snapshot = await new PrometheusMetrics({ servers: SERVERS }).snapshot();
    const requests = await samplesOf(snapshot, 'auth0_ldap_bridge_requests_total');
    const requestSets = requests.map((sample) => `${sample.labels.route} ${sample.labels.outcome}`);
    for (const route of ['login', 'get-user'])
      for (const outcome of REQUEST_OUTCOMES) expect(requestSets).toContain(`${route} ${outcome}`);
    expect(requestSets).toContain('none not_found');
    expect(requests.every((sample) => sample.value === 0)).toBe(true);

    const operations = await samplesOf(snapshot, 'auth0_ldap_bridge_directory_operations_total');
    expect(operations).toHaveLength(SERVERS.length * 6 * 5);
    expect(new Set(operations.map((sample) => sample.labels.server))).toEqual(new Set(SERVERS));
    expect(operations.every((sample) => sample.value === 0)).toBe(true);

    const durations = await samplesOf(snapshot, 'auth0_ldap_bridge_directory_operation_duration_seconds');
    const counts = durations.filter((sample) => sample.metricName?.endsWith('_count'));
    expect(counts.map((sample) => `${sample.labels.server} ${sample.labels.operation}`).sort()).toEqual(
      SERVERS.flatMap((server) =>
        ['connect', 'service_bind', 'user_search', 'group_search', 'entry_read', 'user_bind'].map(
          (operation) => `${server} ${operation}`,
        ),
      ).sort(),
    );

    for (const name of ['auth0_ldap_bridge_directory_failovers_total', 'auth0_ldap_bridge_directory_connections_open'])
      expect((await samplesOf(snapshot, name)).map((sample) => [sample.labels.server, sample.value])).toEqual(
        SERVERS.map((server) => [server, 0]),
      );
    expect(
      (await samplesOf(snapshot, 'auth0_ldap_bridge_token_checks_total')).map((sample) => sample.labels.result).sort(),
    ).toEqual(['cache_hit', 'keys_unavailable', 'rejected', 'verified']);
  });

  it('counts what the ports report: requests by route and outcome in seconds, operations, failovers, connections, token checks', async () => {
    const metrics = new PrometheusMetrics({ servers: SERVERS });
    const [dc1, dc2] = SERVERS as [string, string];
    metrics.requestHandled('login', 'ok', 4);
    metrics.requestHandled('login', 'invalid_credentials', 6);
    metrics.requestHandled(undefined, 'not_found', 1);
    metrics.directoryOperation(dc1, 'user_bind', 'answered', 2_000);
    metrics.directoryFailover(dc1);
    metrics.directoryConnectionOpened(dc2);
    metrics.directoryConnectionOpened(dc2);
    metrics.directoryConnectionClosed(dc2);
    metrics.tokenChecked('cache_hit');
    const snapshot = await metrics.snapshot();

    const value = async (name: string, labels: Record<string, string>, metricName = name) =>
      (await samplesOf(snapshot, name)).find(
        (sample) =>
          (sample.metricName ?? name) === metricName &&
          Object.entries(labels).every(([label, wanted]) => String(sample.labels[label]) === wanted),
      )?.value;
    expect(await value('auth0_ldap_bridge_requests_total', { route: 'login', outcome: 'ok' })).toBe(1);
    expect(await value('auth0_ldap_bridge_requests_total', { route: 'login', outcome: 'invalid_credentials' })).toBe(1);
    expect(await value('auth0_ldap_bridge_requests_total', { route: 'none', outcome: 'not_found' })).toBe(1);
    const histogram = 'auth0_ldap_bridge_request_duration_seconds';
    expect(await value(histogram, { route: 'login' }, `${histogram}_count`)).toBe(2);
    expect(await value(histogram, { route: 'login' }, `${histogram}_sum`)).toBeCloseTo(0.01);
    expect(await value(histogram, { route: 'login', le: '0.005' }, `${histogram}_bucket`)).toBe(1);
    const directory = 'auth0_ldap_bridge_directory_operation_duration_seconds';
    expect(await value(directory, { server: dc1, operation: 'user_bind', le: '2.5' }, `${directory}_bucket`)).toBe(1);
    expect(await value(directory, { server: dc1, operation: 'user_bind', le: '1' }, `${directory}_bucket`)).toBe(0);
    expect(
      await value('auth0_ldap_bridge_directory_operations_total', {
        server: dc1,
        operation: 'user_bind',
        result: 'answered',
      }),
    ).toBe(1);
    expect(await value('auth0_ldap_bridge_directory_failovers_total', { server: dc1 })).toBe(1);
    expect(await value('auth0_ldap_bridge_directory_connections_open', { server: dc2 })).toBe(1);
    expect(await value('auth0_ldap_bridge_token_checks_total', { result: 'cache_hit' })).toBe(1);
  });

  it("keeps its counts in a registry of its own: two servers in one process, and prom-client's global registry, stay apart", async () => {
    const first = new PrometheusMetrics({ servers: SERVERS });
    const second = new PrometheusMetrics({ servers: SERVERS });
    first.tokenChecked('verified');
    const verified = async (metrics: PrometheusMetrics) =>
      (await samplesOf(await metrics.snapshot(), 'auth0_ldap_bridge_token_checks_total')).find(
        (sample) => sample.labels.result === 'verified',
      )?.value;
    expect(await verified(first)).toBe(1);
    expect(await verified(second)).toBe(0);
    expect(await globalRegistry.metrics()).not.toContain('auth0_ldap_bridge_');
  });

  it("sums serve's workers: counters, histograms and the connections open", async () => {
    const workers = [new PrometheusMetrics({ servers: SERVERS }), new PrometheusMetrics({ servers: SERVERS })];
    const [one, two] = workers as [PrometheusMetrics, PrometheusMetrics];
    one.requestHandled('login', 'ok', 3);
    two.requestHandled('login', 'ok', 3);
    two.requestHandled('login', 'ok', 3);
    one.directoryConnectionOpened(SERVERS[0] as string);
    two.directoryConnectionOpened(SERVERS[0] as string);
    const { contentType, text } = await aggregateSnapshots(await Promise.all(workers.map((each) => each.snapshot())));
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const lines = text.split('\n');
    expect(lines).toContain('auth0_ldap_bridge_requests_total{route="login",outcome="ok"} 3');
    expect(lines).toContain('auth0_ldap_bridge_request_duration_seconds_count{route="login"} 3');
    expect(lines).toContain(`auth0_ldap_bridge_directory_connections_open{server="${SERVERS[0]}"} 2`);
  });
});

describe('METRICS_PORT and METRICS_HOST', () => {
  const VALID = {
    LDAP_URLS: SERVERS.join(','),
    LDAP_BASE_DN: 'ou=people,dc=corp,dc=example',
    LDAP_BIND_DN: 'cn=bridge,ou=services,dc=corp,dc=example',
    LDAP_BIND_PASSWORD: 'service-password-value',
    AUTH_ISSUER: 'https://tenant.eu.auth0.com/',
    AUTH_AUDIENCE: 'https://ldap-bridge.corp.example/',
    AUTH_ALLOWED_CLIENT_IDS: 'AbC123xyz',
  };
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('default to /metrics on PORT, and a metrics port on loopback when one is set', () => {
    expect(loadConfig(VALID).server).toMatchObject({ metricsPort: undefined, metricsHost: '127.0.0.1' });
    expect(loadConfig({ ...VALID, METRICS_PORT: '9464' }).server).toMatchObject({
      metricsPort: 9464,
      metricsHost: '127.0.0.1',
    });
    expect(loadConfig({ ...VALID, METRICS_PORT: '0', METRICS_HOST: '0.0.0.0' }).server).toMatchObject({
      metricsPort: 0,
      metricsHost: '0.0.0.0',
    });
  });

  it('refuse a port out of range, or the API port itself, naming the variable and what was expected', () => {
    expect(problemsOf({ ...VALID, METRICS_PORT: '70000' })).toEqual([
      'METRICS_PORT: "70000" expected a whole number of a TCP port from 0 to 65535',
    ]);
    expect(problemsOf({ ...VALID, PORT: '9000', METRICS_PORT: '9000' })).toEqual([
      'METRICS_PORT: "9000" expected a port other than PORT (unset METRICS_PORT to serve /metrics on PORT)',
    ]);
    expect(problemsOf({ ...VALID, PORT: '0', METRICS_PORT: '0' })).toEqual([]);
  });
});
