// The on-prem server's operator routes against real directories: GET /metrics counts what the
// README says after real logins (read by parsing the Prometheus text), /healthz answers without a
// token or a directory, /readyz names what is not ready and why, METRICS_PORT moves /metrics, and
// `serve` with two workers reports the sum of both whichever process answers.
import net from 'node:net';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SeedUser, userDN, withAdmin } from '../../dev/directory-data.ts';
import { startDevTokenIssuer } from '../../dev/dev-token-issuer.ts';
import { type SeededSlapd, startSeededSlapd } from '../../dev/seeded-slapd.ts';
import { cleanEnv, startServerProcess } from '../../dev/server-process.ts';
import { DEMO_USERS, SPECIAL_USER } from '../support/fixtures.ts';
import { directoryEnv, startTestStack, TEST_AUDIENCE, TEST_CLIENT, type TestStack } from '../support/stack.ts';

const alice = DEMO_USERS.find((user) => user.uid === 'alice') as SeedUser;
const UNKNOWN_USER = 'nobody-by-this-name';
const WRONG_PASSWORD = 'not-alices-password-3e9';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format 0.0.4, sample lines only: `name{label="value",...} number`. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[name as string] = (value as string).replace(/\\(.)/g, (_, escaped: string) =>
        escaped === 'n' ? '\n' : escaped,
      );
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with exactly these labels; undefined when there is none. */
function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels);
  const found = samples.filter(
    (sample) =>
      sample.name === name &&
      Object.keys(sample.labels).length === wanted.length &&
      wanted.every(([label, value]) => sample.labels[label] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** The sum over every sample of a name whose labels include these. */
function sumOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter(
      (sample) =>
        sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

async function get(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const response = await get(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text: response.text, samples: parsePrometheus(response.text) };
}

/** A loopback port nothing listens on (opened, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const requests = 'auth0_ldap_bridge_requests_total';
const durations = 'auth0_ldap_bridge_request_duration_seconds_count';
const operations = 'auth0_ldap_bridge_directory_operations_total';
const tokenChecks = 'auth0_ldap_bridge_token_checks_total';

describe('GET /metrics after real logins against the shared directory', () => {
  let stack: TestStack;
  let server: string;
  let forgedToken: string;
  let goodToken: string;
  beforeAll(async () => {
    stack = await startTestStack();
    server = directoryEnv().LDAP_URLS as string;
    goodToken = await stack.issuer.mint({ clientId: TEST_CLIENT.clientId });
    // A token whose signature is not the issuer's: the signature part reversed.
    const [header, payload, signature] = goodToken.split('.') as [string, string, string];
    forgedToken = `${header}.${payload}.${[...signature].reverse().join('')}`;
  });
  afterAll(() => stack?.stop());

  it('counts each request by route and outcome, its duration, its directory operations and its token check', async () => {
    const statuses: number[] = [];
    const call = async (path: string, body: unknown, token?: string) => {
      const response = await stack.post(path, body, token === undefined ? {} : { token });
      await response.arrayBuffer();
      statuses.push(response.status);
    };
    await call('/login', { username: alice.uid, password: alice.password }, goodToken);
    await call('/login', { username: alice.uid, password: WRONG_PASSWORD }, goodToken);
    await call('/login', { username: UNKNOWN_USER, password: WRONG_PASSWORD }, goodToken);
    await call('/login', { username: alice.uid, password: alice.password }, forgedToken);
    await call('/get-user', { username: alice.uid }, goodToken);
    await call('/get-user', { username: UNKNOWN_USER }, goodToken);
    await call('/nowhere', {}, goodToken);
    expect(statuses).toEqual([200, 401, 401, 401, 200, 404, 404]);

    const { text, samples } = await scrape(stack.url);
    expect(sampleValue(samples, requests, { route: 'login', outcome: 'ok' })).toBe(1);
    expect(sampleValue(samples, requests, { route: 'login', outcome: 'invalid_credentials' })).toBe(2);
    expect(sampleValue(samples, requests, { route: 'login', outcome: 'invalid_token' })).toBe(1);
    expect(sampleValue(samples, requests, { route: 'get-user', outcome: 'ok' })).toBe(1);
    expect(sampleValue(samples, requests, { route: 'get-user', outcome: 'user_not_found' })).toBe(1);
    expect(sampleValue(samples, requests, { route: 'none', outcome: 'not_found' })).toBe(1);
    expect(sampleValue(samples, requests, { route: 'login', outcome: 'lockout_shield' })).toBe(0);
    expect(sumOf(samples, requests)).toBe(7);
    expect(sampleValue(samples, durations, { route: 'login' })).toBe(4);
    expect(sampleValue(samples, durations, { route: 'get-user' })).toBe(2);
    expect(sampleValue(samples, durations, { route: 'none' })).toBe(1);

    // Alice's bind succeeded; the wrong password and the unknown user's decoy bind were answered 49.
    expect(sampleValue(samples, operations, { server, operation: 'user_bind', result: 'ok' })).toBe(1);
    expect(sampleValue(samples, operations, { server, operation: 'user_bind', result: 'answered' })).toBe(2);
    expect(sampleValue(samples, operations, { server, operation: 'service_bind', result: 'ok' })).toBe(1);
    // Every other operation as the directory adapter itself counted it, nothing failed.
    const stats = stack.bridge.directory.stats;
    expect(sampleValue(samples, operations, { server, operation: 'user_search', result: 'ok' })).toBe(
      stats.userSearches,
    );
    expect(stats.userSearches).toBe(5);
    expect(sampleValue(samples, operations, { server, operation: 'group_search', result: 'ok' })).toBe(
      stats.groupSearches,
    );
    expect(sampleValue(samples, operations, { server, operation: 'connect', result: 'ok' })).toBe(stats.socketsOpened);
    for (const result of ['error', 'timeout', 'connection_error'])
      expect(sumOf(samples, operations, { result })).toBe(0);
    expect(sampleValue(samples, 'auth0_ldap_bridge_directory_failovers_total', { server })).toBe(0);
    const open = sampleValue(samples, 'auth0_ldap_bridge_directory_connections_open', { server }) ?? 0;
    expect(open).toBeGreaterThan(0);
    expect(open).toBeLessThanOrEqual(stats.socketsOpened);

    // One verification of the good token, then the cache for its other four uses (no route: no token check); the forged one refused.
    expect(sampleValue(samples, tokenChecks, { result: 'verified' })).toBe(1);
    expect(sampleValue(samples, tokenChecks, { result: 'cache_hit' })).toBe(4);
    expect(sampleValue(samples, tokenChecks, { result: 'rejected' })).toBe(1);
    expect(sampleValue(samples, tokenChecks, { result: 'keys_unavailable' })).toBe(0);
    expect(sampleValue(samples, 'auth0_ldap_bridge_process_resident_memory_bytes')).toBeGreaterThan(0);

    // No username, DN, password or token anywhere in the text.
    for (const secret of [
      alice.uid,
      alice.password,
      WRONG_PASSWORD,
      UNKNOWN_USER,
      'uid=',
      directoryEnv().LDAP_BASE_DN as string,
      directoryEnv().LDAP_BIND_DN as string,
      directoryEnv().LDAP_BIND_PASSWORD as string,
      goodToken,
      forgedToken,
      goodToken.split('.')[2] as string,
    ])
      expect(text).not.toContain(secret);
  });

  it('is not itself counted, needs no token, and carries a request id', async () => {
    const before = sumOf((await scrape(stack.url)).samples, requests);
    const response = await get(`${stack.url}/metrics`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(sumOf(parsePrometheus(response.text), requests)).toBe(before);
    expect(sumOf(parsePrometheus(response.text), tokenChecks)).toBe(
      sumOf((await scrape(stack.url)).samples, tokenChecks),
    );
  });

  it('answers GET only: other methods get 405 with Allow: GET', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz']) {
      const response = await get(`${stack.url}${path}`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET');
      expect(response.headers.get('x-request-id')).toBeTruthy();
      expect(JSON.parse(response.text)).toEqual({ error: 'method_not_allowed' });
    }
  });
});

describe('GET /metrics: the lockout shield and an account state (OpenLDAP ppolicy, lockout after 5)', () => {
  const sprayed: SeedUser = {
    uid: 'sprayed',
    password: 'right password of sprayed',
    cn: 'Sprayed',
    sn: 'Sprayed',
  };
  const disabled: SeedUser = {
    uid: 'switched-off',
    password: 'right password of switched-off',
    cn: 'Switched Off',
    sn: 'Off',
  };
  let seeded: SeededSlapd;
  let stack: TestStack;
  beforeAll(async () => {
    seeded = await startSeededSlapd({ users: [sprayed, disabled] });
    const suffix = seeded.slapd.suffix;
    const replace = (type: string, values: string[]) =>
      new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
    await withAdmin(seeded.admin, async (client) => {
      await client.modify(`cn=default,ou=policies,${suffix}`, [
        replace('pwdLockout', ['TRUE']),
        replace('pwdMaxFailure', ['5']),
        replace('pwdFailureCountInterval', ['600']),
        replace('pwdLockoutDuration', ['3600']),
      ]);
      // An account an administrator switched off, under a policy without lockout: slapd lets its
      // right password bind, and the bridge names the state from the entry.
      await client.add(`cn=no-lockout,ou=policies,${suffix}`, {
        objectClass: ['top', 'device', 'pwdPolicy'],
        cn: 'no-lockout',
        pwdAttribute: 'userPassword',
      });
      await client.modify(userDN(disabled.uid, suffix), [
        replace('pwdPolicySubentry', [`cn=no-lockout,ou=policies,${suffix}`]),
        replace('pwdAccountLockedTime', ['000001010000Z']),
      ]);
    });
    // Two policy entries now: the default one is named (ppolicy_default), not discovered.
    stack = await startTestStack(seeded.bridgeEnv({ LDAP_LOCKOUT_POLICY_DN: `cn=default,ou=policies,${suffix}` }));
  });
  afterAll(async () => {
    await stack?.stop();
    await seeded?.stop();
  });

  it('counts the shield refusals as lockout_shield and the disabled account as account_disabled', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await stack.post('/login', { username: sprayed.uid, password: `guess ${attempt}` });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    const response = await stack.post('/login', { username: disabled.uid, password: disabled.password });
    expect(await response.json()).toEqual({ error: 'account_disabled' });
    expect(statuses).toEqual([401, 401, 401, 401, 401]);

    const { text, samples } = await scrape(stack.url);
    // 5 - the 2 kept in reserve: three wrong binds reach the directory, the next two are held.
    expect(sampleValue(samples, requests, { route: 'login', outcome: 'invalid_credentials' })).toBe(3);
    expect(sampleValue(samples, requests, { route: 'login', outcome: 'lockout_shield' })).toBe(2);
    expect(sampleValue(samples, requests, { route: 'login', outcome: 'account_disabled' })).toBe(1);
    const server = seeded.bridgeEnv().LDAP_URLS as string;
    // The held attempts bind to the decoy DN instead (the same round trip): answered too.
    expect(sampleValue(samples, operations, { server, operation: 'user_bind', result: 'answered' })).toBe(5);
    expect(sampleValue(samples, operations, { server, operation: 'user_bind', result: 'ok' })).toBe(1);
    for (const secret of [sprayed.uid, disabled.uid, 'guess', disabled.password]) expect(text).not.toContain(secret);
  });
});

describe('GET /healthz and /readyz', () => {
  it('healthz answers 200 without a token and without touching the directory, even when no directory answers', async () => {
    const down = `ldaps://127.0.0.1:${await closedPort()}`;
    const stack = await startTestStack({ LDAP_URLS: down });
    try {
      const response = await get(`${stack.url}/healthz`);
      expect(response.status).toBe(200);
      expect(JSON.parse(response.text)).toEqual({ status: 'ok' });
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(stack.bridge.directory.stats.socketsOpened).toBe(0);
      expect(sumOf((await scrape(stack.url)).samples, operations)).toBe(0);

      const ready = await get(`${stack.url}/readyz`);
      expect(ready.status).toBe(503);
      const body = JSON.parse(ready.text);
      expect(body.status).toBe('not_ready');
      expect(body.checks.signing_keys).toEqual({ status: 'ok' });
      expect(body.checks.directory.status).toBe('not_ready');
      expect(body.checks.directory.reason).toContain('no directory server answered');
      expect(body.checks.directory.reason).toMatch(`${down}: connect ECONNREFUSED`);
      expect(body.checks.directory.fix).toContain('LDAP_URLS');
      expect(
        sumOf((await scrape(stack.url)).samples, operations, { operation: 'connect', result: 'connection_error' }),
      ).toBe(1);
      expect(stack.logs.some((line) => line.includes('"message":"not ready"') && line.includes(down))).toBe(true);
    } finally {
      await stack.stop();
    }
  });

  it('readyz binds the search connection once however many probes arrive at once, then answers 200', async () => {
    const stack = await startTestStack();
    try {
      expect(stack.bridge.directory.stats.socketsOpened).toBe(0);
      const answers = await Promise.all(Array.from({ length: 20 }, () => get(`${stack.url}/readyz`)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
      expect(JSON.parse(answers[0]?.text ?? '')).toEqual({
        status: 'ready',
        checks: { directory: { status: 'ok' }, signing_keys: { status: 'ok' } },
      });
      expect(stack.bridge.directory.stats.socketsOpened).toBe(1);
      expect(stack.issuer.jwksRequests).toBe(1);
      // The bound connection and the loaded keys serve the next login: no new socket, no new fetch.
      const login = await stack.post('/login', { username: alice.uid, password: alice.password });
      expect(login.status).toBe(200);
      expect(stack.issuer.jwksRequests).toBe(1);
      const { samples } = await scrape(stack.url);
      expect(
        sampleValue(samples, operations, {
          server: directoryEnv().LDAP_URLS as string,
          operation: 'service_bind',
          result: 'ok',
        }),
      ).toBe(1);
    } finally {
      await stack.stop();
    }
  });

  it('readyz answers 503 naming the signing keys while the issuer is down, and 200 once it is back', async () => {
    const stack = await startTestStack();
    try {
      stack.issuer.setJwksDown(true);
      const down = await get(`${stack.url}/readyz`);
      expect(down.status).toBe(503);
      const body = JSON.parse(down.text);
      expect(body.checks.directory).toEqual({ status: 'ok' });
      expect(body.checks.signing_keys.status).toBe('not_ready');
      expect(body.checks.signing_keys.reason).toBe(
        `the signing keys at ${stack.issuer.jwksUrl} could not be loaded: Expected 200 OK from the JSON Web Key Set HTTP response`,
      );
      expect(body.checks.signing_keys.fix).toContain('AUTH_ISSUER');

      stack.issuer.setJwksDown(false);
      expect((await get(`${stack.url}/readyz`)).status).toBe(200);
      expect(stack.logs.filter((line) => /"message":"(not ready|ready again)"/.test(line))).toHaveLength(2);
    } finally {
      await stack.stop();
    }
  });

  it('readyz says the service bind was refused, and never shows the password it tried', async () => {
    const wrongPassword = 'wrong-service-password-51d0';
    const stack = await startTestStack({ LDAP_BIND_PASSWORD: wrongPassword });
    try {
      const answer = await get(`${stack.url}/readyz`);
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.text).checks.directory.reason).toContain(
        'the directory refused the service account bind (49 invalid credentials)',
      );
      for (const text of [answer.text, stack.logs.join('\n')]) expect(text).not.toContain(wrongPassword);
    } finally {
      await stack.stop();
    }
  });
});

describe('METRICS_PORT and METRICS_HOST', () => {
  it('METRICS_PORT moves /metrics to its own port on 127.0.0.1: the API port answers 404 for it', async () => {
    const stack = await startTestStack({ METRICS_PORT: '0' });
    try {
      expect(stack.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const metricsUrl = stack.metricsUrl as string;
      expect(metricsUrl).not.toBe(stack.url);
      const onApiPort = await get(`${stack.url}/metrics`);
      expect(onApiPort.status).toBe(404);
      expect(JSON.parse(onApiPort.text)).toEqual({ error: 'not_found' });

      const login = await stack.post('/login', { username: alice.uid, password: alice.password });
      expect(login.status).toBe(200);
      const { samples } = await scrape(metricsUrl);
      expect(sampleValue(samples, requests, { route: 'login', outcome: 'ok' })).toBe(1);
      // The API port's 404 for /metrics was an ordinary request that matched no route.
      expect(sampleValue(samples, requests, { route: 'none', outcome: 'not_found' })).toBe(1);

      for (const base of [stack.url, metricsUrl]) {
        expect((await get(`${base}/healthz`)).status).toBe(200);
        expect((await get(`${base}/readyz`)).status).toBe(200);
      }
      const loginOnMetricsPort = await get(`${metricsUrl}/login`, { method: 'POST', body: '{}' });
      expect(loginOnMetricsPort.status).toBe(404);

      // METRICS_HOST's default: loopback 127.0.0.1 only, not another address of this host.
      const port = Number(new URL(metricsUrl).port);
      const elsewhere = await new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.2');
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      expect(elsewhere).toBe('ECONNREFUSED');
    } finally {
      await stack.stop();
    }
  });
});

describe('serve with two workers', () => {
  const CLI = ['--import', 'tsx', 'lambdas/entry/cli.ts', 'serve'];
  const LOGINS = 30;

  async function runLogins(url: string, token: string): Promise<number[]> {
    return Promise.all(
      Array.from({ length: LOGINS }, async () => {
        const response = await fetch(`${url}/login`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ username: SPECIAL_USER.uid, password: SPECIAL_USER.password }),
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
  }

  for (const separatePort of [false, true]) {
    it(`/metrics reports every worker's logins ${separatePort ? 'on METRICS_PORT (the primary listens)' : 'on the API port, whichever worker answers'}`, async () => {
      const issuer = await startDevTokenIssuer({ audience: TEST_AUDIENCE, clients: [TEST_CLIENT] });
      const server = await startServerProcess(
        CLI,
        cleanEnv({
          ...directoryEnv(),
          AUTH_ISSUER: issuer.issuer,
          AUTH_AUDIENCE: TEST_AUDIENCE,
          AUTH_ALLOWED_CLIENT_IDS: TEST_CLIENT.clientId,
          PORT: '0',
          SERVER_WORKERS: '2',
          LOG_LEVEL: 'warn',
          ...(separatePort ? { METRICS_PORT: '0' } : {}),
        }),
        undefined,
        // Two workers starting under tsx on a busy 2-core machine can take longer than the default.
        45_000,
      );
      try {
        const metricsBase = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(server.stderr())?.[1];
        expect(metricsBase).toBeDefined();
        if (separatePort) expect(metricsBase).not.toBe(server.url);
        else expect(metricsBase).toBe(server.url);
        const token = await issuer.mint({ clientId: TEST_CLIENT.clientId });
        expect(await runLogins(server.url, token)).toEqual(Array(LOGINS).fill(200));

        // Several scrapes at once: each answered by whichever process gets it, each the same sum.
        const scrapes = await Promise.all(Array.from({ length: 6 }, () => scrape(metricsBase as string)));
        for (const { samples } of scrapes) {
          expect(sampleValue(samples, requests, { route: 'login', outcome: 'ok' })).toBe(LOGINS);
          expect(sampleValue(samples, durations, { route: 'login' })).toBe(LOGINS);
          expect(
            sampleValue(samples, operations, {
              server: directoryEnv().LDAP_URLS as string,
              operation: 'user_bind',
              result: 'ok',
            }),
          ).toBe(LOGINS);
          // Every login's token check, verified (at least once per worker, each has its own cache) or remembered.
          expect(sampleValue(samples, tokenChecks, { result: 'verified' })).toBeGreaterThanOrEqual(2);
          expect(
            sumOf(samples, tokenChecks, { result: 'verified' }) + sumOf(samples, tokenChecks, { result: 'cache_hit' }),
          ).toBe(LOGINS);
          // Summed over the workers: each holds at least its search and one bind connection.
          expect(
            sampleValue(samples, 'auth0_ldap_bridge_directory_connections_open', {
              server: directoryEnv().LDAP_URLS as string,
            }),
          ).toBeGreaterThanOrEqual(4);
        }
        if (separatePort) {
          expect((await get(`${server.url}/metrics`)).status).toBe(404);
          const ready = await get(`${metricsBase}/readyz`);
          expect(ready.status).toBe(200);
          expect(JSON.parse(ready.text)).toEqual({
            status: 'ready',
            checks: { directory: { status: 'ok' }, signing_keys: { status: 'ok' } },
          });
          expect((await get(`${metricsBase}/healthz`)).status).toBe(200);
        }
        expect((await get(`${server.url}/readyz`)).status).toBe(200);
        expect(await server.stop('SIGTERM')).toBe(0);
      } finally {
        await server.stop('SIGKILL');
        await issuer.stop();
      }
    }, 90_000);
  }
});

describe('/readyz on the API port once METRICS_PORT is set', () => {
  it('says which check fails but not why; the metrics port says why', async () => {
    const wrongPassword = 'wrong-service-password-7c2e';
    const stack = await startTestStack({ METRICS_PORT: '0', LDAP_BIND_PASSWORD: wrongPassword });
    try {
      const onApiPort = await get(`${stack.url}/readyz`);
      expect(onApiPort.status).toBe(503);
      expect(JSON.parse(onApiPort.text).checks.directory).toEqual({
        status: 'not_ready',
        reason: 'not ready; the reason is on METRICS_PORT',
        fix: 'GET /readyz on METRICS_HOST:METRICS_PORT',
      });
      expect(onApiPort.text).not.toContain(stack.config.directory.urls[0] as string);
      const onMetricsPort = await get(`${stack.metricsUrl as string}/readyz`);
      expect(onMetricsPort.status).toBe(503);
      expect(JSON.parse(onMetricsPort.text).checks.directory.reason).toContain('refused the service account bind');
      for (const text of [onApiPort.text, onMetricsPort.text]) expect(text).not.toContain(wrongPassword);
    } finally {
      await stack.stop();
    }
  });
});
