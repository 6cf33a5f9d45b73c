// What the Lambdas count, read where CloudWatch reads it: the embedded-metric-format records the
// real handlers write to stdout, for logins and user lookups against the shared slapd, a login
// the lockout shield answers (a slapd of its own, whose policy locks after 5), and the
// authorizer's token checks against a local issuer. Records must be valid EMF (every dimension
// and metric they declare is present), and never carry a username, DN, password or token.
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { type SeedUser, userDN, withAdmin } from '../../dev/directory-data.ts';
import { startDevTokenIssuer, type DevTokenIssuer } from '../../dev/dev-token-issuer.ts';
import { type SeededSlapd, startSeededSlapd } from '../../dev/seeded-slapd.ts';
import {
  CloudWatchMetrics,
  METRICS_NAMESPACE,
  METRICS_SERVICE_ENV,
  metricsServiceFrom,
} from '../../lambdas/adapters/cloudwatch-metrics.ts';
import { DEMO_USERS } from '../support/fixtures.ts';
import { directoryEnv, TEST_AUDIENCE, TEST_CLIENT } from '../support/stack.ts';

const SERVICE = 'LdapBridge-metrics-test';
const alice = DEMO_USERS[0]!;
const WRONG_PASSWORD = 'wrong-password-canary-5821';
const UNKNOWN_USER = 'unknown-user-canary-5821';
let issuer: DevTokenIssuer;
let server: string;

beforeAll(async () => {
  issuer = await startDevTokenIssuer({ audience: TEST_AUDIENCE, clients: [TEST_CLIENT] });
  Object.assign(process.env, directoryEnv(), {
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: TEST_AUDIENCE,
    AUTH_ALLOWED_CLIENT_IDS: TEST_CLIENT.clientId,
    // Log lines too, so the "no secret in the output" checks read everything the handlers write.
    LOG_LEVEL: 'info',
    [METRICS_SERVICE_ENV]: SERVICE,
  });
  server = String(process.env.LDAP_URLS);
});
afterAll(async () => {
  await issuer?.stop();
});

interface Directive {
  Namespace: string;
  Dimensions: string[][];
  Metrics: Array<{ Name: string; Unit: string }>;
}
interface EmfRecord {
  _aws: { Timestamp: number; CloudWatchMetrics: Directive[] };
  [field: string]: unknown;
}

/** Runs `invoke` with stdout captured: everything written, and the EMF records among it. */
async function captured<T>(
  invoke: () => Promise<T>,
): Promise<{ result: T | Error; output: string; records: EmfRecord[] }> {
  const chunks: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  let result: T | Error;
  try {
    result = await invoke();
  } catch (error) {
    result = error as Error;
  } finally {
    write.mockRestore();
  }
  const output = chunks.join('');
  const records = output
    .split('\n')
    .filter((line) => line.startsWith('{"_aws"'))
    .map((line) => JSON.parse(line) as EmfRecord);
  return { result, output, records };
}

/**
 * Each metric value of the records as `Name{Dimension=value,...}` with its value: counts as they
 * are, durations as `Nx ms` (after checking each is a non-negative number), without `service`.
 * Checks on the way that each record is valid EMF: every dimension and metric it declares is in
 * it, under this namespace and the deployment's service.
 */
function valuesOf(records: EmfRecord[]): string[] {
  const values: string[] = [];
  for (const record of records) {
    expect(Number.isInteger(record._aws.Timestamp)).toBe(true);
    expect(record.service).toBe(SERVICE);
    for (const directive of record._aws.CloudWatchMetrics) {
      expect(directive.Namespace).toBe(METRICS_NAMESPACE);
      expect(directive.Dimensions).toHaveLength(1);
      const dimensions = directive.Dimensions[0]!;
      expect(dimensions[0]).toBe('service');
      for (const name of dimensions) expect(typeof record[name], name).toBe('string');
      const labels = dimensions
        .slice(1)
        .map((name) => `${name}=${String(record[name])}`)
        .join(',');
      for (const metric of directive.Metrics) {
        const value = record[metric.Name];
        if (metric.Unit === 'Count') {
          expect(typeof value, metric.Name).toBe('number');
          values.push(`${metric.Name}{${labels}} ${String(value)}`);
        } else {
          expect(metric.Unit).toBe('Milliseconds');
          const samples = [value].flat();
          for (const sample of samples) expect(sample).toBeGreaterThanOrEqual(0);
          values.push(`${metric.Name}{${labels}} ${samples.length}x ms`);
        }
      }
    }
  }
  return values.sort();
}

function proxyEvent(resource: string, body: unknown): APIGatewayProxyEvent {
  return {
    resource,
    path: `/prod${resource}`,
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: { 'Content-Type': ['application/json'] },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      requestId: 'apigw-metrics-1',
      authorizer: { clientId: TEST_CLIENT.clientId, scope: 'users:login users:read', expiresAt: 2_000_000_000 },
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

async function invokeLambda(resource: string, body: unknown) {
  const { handler } = await import('../../lambdas/entry/lambda.ts');
  const run = await captured(() => handler(proxyEvent(resource, body)));
  return { ...run, status: (run.result as APIGatewayProxyResult).statusCode };
}

const op = (operation: string, result: string, count = 1) => [
  `DirectoryOperations{Server=${server},Operation=${operation},Result=${result}} ${count}`,
  `DirectoryOperationDuration{Server=${server},Operation=${operation}} ${count}x ms`,
];
const request = (route: string, outcome: string) => [
  `Requests{Route=${route},Outcome=${outcome}} 1`,
  `RequestDuration{Route=${route}} 1x ms`,
];

describe('the login / get-user handler writes CloudWatch embedded metrics', () => {
  it('counts the first login with the connections it opened and the service bind, and says what each metric is', async () => {
    const { status, records } = await invokeLambda('/login', { username: alice.uid, password: alice.password });
    expect(status).toBe(200);
    const requests = records.find((record) => 'Requests' in record);
    expect(requests?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'Auth0LdapBridge',
        Dimensions: [['service', 'Route', 'Outcome']],
        Metrics: [{ Name: 'Requests', Unit: 'Count' }],
      },
      {
        Namespace: 'Auth0LdapBridge',
        Dimensions: [['service', 'Route']],
        Metrics: [{ Name: 'RequestDuration', Unit: 'Milliseconds' }],
      },
    ]);
    const operations = records.find((record) => record.Operation === 'user_search');
    expect(operations?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'Auth0LdapBridge',
        Dimensions: [['service', 'Server', 'Operation', 'Result']],
        Metrics: [{ Name: 'DirectoryOperations', Unit: 'Count' }],
      },
      {
        Namespace: 'Auth0LdapBridge',
        Dimensions: [['service', 'Server', 'Operation']],
        Metrics: [{ Name: 'DirectoryOperationDuration', Unit: 'Milliseconds' }],
      },
    ]);
    const values = valuesOf(records);
    // One connection for searches, one for user binds; the policy read and group walk vary with the data.
    expect(values).toEqual(
      expect.arrayContaining([
        ...op('connect', 'ok', 2),
        ...op('service_bind', 'ok'),
        ...op('user_search', 'ok'),
        ...op('user_bind', 'ok'),
        ...request('login', 'ok'),
      ]),
    );
    expect(values.filter((value) => !/^(DirectoryOperations|DirectoryOperationDuration)\{/.test(value))).toEqual(
      request('login', 'ok').sort(),
    );
  });

  it('counts a warm login: one search, one bind, one group search, the request', async () => {
    const { status, records } = await invokeLambda('/login', { username: alice.uid, password: alice.password });
    expect(status).toBe(200);
    expect(valuesOf(records)).toEqual(
      [
        ...op('user_search', 'ok'),
        ...op('group_search', 'ok'),
        ...op('user_bind', 'ok'),
        ...request('login', 'ok'),
      ].sort(),
    );
  });

  it('counts a wrong password as invalid_credentials, its bind as answered (not an error)', async () => {
    const { status, records, output } = await invokeLambda('/login', { username: alice.uid, password: WRONG_PASSWORD });
    expect(status).toBe(401);
    expect(valuesOf(records)).toEqual(
      [...op('user_search', 'ok'), ...op('user_bind', 'answered'), ...request('login', 'invalid_credentials')].sort(),
    );
    expect(output).not.toContain(WRONG_PASSWORD);
  });

  it('counts an unknown user exactly like a wrong password (the decoy bind included)', async () => {
    const { status, records } = await invokeLambda('/login', { username: UNKNOWN_USER, password: WRONG_PASSWORD });
    expect(status).toBe(401);
    expect(valuesOf(records)).toEqual(
      [...op('user_search', 'ok'), ...op('user_bind', 'answered'), ...request('login', 'invalid_credentials')].sort(),
    );
  });

  it('counts a get-user for nobody as user_not_found', async () => {
    const { status, records } = await invokeLambda('/get-user', { username: UNKNOWN_USER });
    expect(status).toBe(404);
    expect(valuesOf(records)).toEqual([...op('user_search', 'ok'), ...request('get-user', 'user_not_found')].sort());
  });

  it('writes no username, DN, password or token into any record', async () => {
    const runs = [
      await invokeLambda('/login', { username: alice.uid, password: alice.password }),
      await invokeLambda('/login', { username: alice.mail, password: WRONG_PASSWORD }),
      await invokeLambda('/login', { username: UNKNOWN_USER, password: alice.password }),
      await invokeLambda('/get-user', { username: alice.uid }),
    ];
    const emf = runs.flatMap((run) => run.records.map((record) => JSON.stringify(record))).join('\n');
    expect(emf).toContain('"Route":"login"');
    const dn = userDN(alice.uid, inject('directory').suffix);
    for (const forbidden of [alice.uid, alice.mail, UNKNOWN_USER, dn, 'uid=', WRONG_PASSWORD, alice.password])
      expect(emf, forbidden).not.toContain(forbidden);
    const everything = runs.map((run) => run.output).join('');
    for (const secret of [WRONG_PASSWORD, alice.password, inject('directory').servicePassword])
      expect(everything).not.toContain(secret);
  });
});

describe('the login handler in front of a directory that locks accounts', () => {
  const sprayed: SeedUser = {
    uid: 'sprayed-metrics',
    password: 'right password of sprayed-metrics',
    cn: 'Sprayed',
    sn: 'Metrics',
  };
  let seeded: SeededSlapd;
  const directoryWas = directoryEnv();

  beforeAll(async () => {
    seeded = await startSeededSlapd({ users: [sprayed] });
    await withAdmin(seeded.admin, (client) =>
      client.modify(`cn=default,ou=policies,${seeded.slapd.suffix}`, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdLockout', values: ['TRUE'] }) }),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdMaxFailure', values: ['5'] }) }),
      ]),
    );
    Object.assign(process.env, seeded.bridgeEnv());
    // A new container: the handler module builds its bridge against this directory.
    vi.resetModules();
  });
  afterAll(async () => {
    Object.assign(process.env, directoryWas);
    vi.resetModules();
    await seeded?.stop();
  });

  it('counts the attempt the lockout shield answered as lockout_shield, with no bind as the user', async () => {
    // Threshold 5, LDAP_LOCKOUT_RESERVE 2: three wrong passwords, then the shield holds.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const { status } = await invokeLambda('/login', { username: sprayed.uid, password: WRONG_PASSWORD });
      expect(status).toBe(401);
    }
    const held = await invokeLambda('/login', { username: sprayed.uid, password: sprayed.password });
    expect(held.status).toBe(401);
    const shieldServer = String(seeded.bridgeEnv().LDAP_URLS);
    expect(valuesOf(held.records)).toEqual(
      [
        `DirectoryOperations{Server=${shieldServer},Operation=user_search,Result=ok} 1`,
        `DirectoryOperationDuration{Server=${shieldServer},Operation=user_search} 1x ms`,
        // The decoy bind that gives the held attempt a wrong password's round trip.
        `DirectoryOperations{Server=${shieldServer},Operation=user_bind,Result=answered} 1`,
        `DirectoryOperationDuration{Server=${shieldServer},Operation=user_bind} 1x ms`,
        ...request('login', 'lockout_shield'),
      ].sort(),
    );
    expect(held.output).not.toContain(sprayed.password);
  });
});

describe('the TOKEN authorizer writes its token checks as CloudWatch embedded metrics', () => {
  const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/login';
  const invokeAuthorizer = async (token: string) => {
    const { handler } = await import('../../lambdas/entry/authorizer.ts');
    const event: APIGatewayTokenAuthorizerEvent = {
      type: 'TOKEN',
      authorizationToken: `Bearer ${token}`,
      methodArn: METHOD_ARN,
    };
    const run = await captured(() => handler(event));
    outputs.push(run.output);
    return run;
  };
  const tokens = new Set<string>();
  const outputs: string[] = [];
  const mint = async (options: Parameters<DevTokenIssuer['mint']>[0] = {}) => {
    const token = await issuer.mint({ clientId: TEST_CLIENT.clientId, ...options });
    tokens.add(token);
    return token;
  };

  it('counts keys_unavailable when the JWKS cannot be fetched, and fails the invocation', async () => {
    issuer.setJwksDown(true);
    try {
      const { result, records } = await invokeAuthorizer(await mint());
      expect(result).toEqual(new Error('token keys unavailable'));
      expect(records[0]?._aws.CloudWatchMetrics).toEqual([
        {
          Namespace: 'Auth0LdapBridge',
          Dimensions: [['service', 'Result']],
          Metrics: [{ Name: 'TokenChecks', Unit: 'Count' }],
        },
      ]);
      expect(valuesOf(records)).toEqual(['TokenChecks{Result=keys_unavailable} 1']);
    } finally {
      issuer.setJwksDown(false);
    }
  });

  it('counts a token verified, then the same token again as a cache hit', async () => {
    const token = await mint();
    const first = await invokeAuthorizer(token);
    expect(first.result).toMatchObject({ principalId: TEST_CLIENT.clientId });
    expect(valuesOf(first.records)).toEqual(['TokenChecks{Result=verified} 1']);
    const again = await invokeAuthorizer(token);
    expect(valuesOf(again.records)).toEqual(['TokenChecks{Result=cache_hit} 1']);
  });

  it.each([
    ['an expired token', () => mint({ expiresInSeconds: -600 })],
    ['a user token', () => mint({ claims: { gty: 'password', sub: 'auth0|abc' } })],
    ['garbage', async () => 'garbage-token-canary-5821'],
  ])('counts %s as rejected, and the invocation answers Unauthorized', async (_name, makeToken) => {
    const token = await makeToken();
    tokens.add(token);
    const { result, records } = await invokeAuthorizer(token);
    expect(result).toEqual(new Error('Unauthorized'));
    expect(valuesOf(records)).toEqual(['TokenChecks{Result=rejected} 1']);
  });

  it('wrote no token into a record or a log line', () => {
    // Two tokens minted in the same second for the same client are the same token.
    expect(tokens.size).toBeGreaterThanOrEqual(4);
    expect(outputs.join('')).toContain('"TokenChecks":1');
    expect(outputs.join('')).toContain('token denied');
    for (const token of tokens) expect(outputs.join('')).not.toContain(token);
  });
});

describe('the EMF writer', () => {
  it('splits more than 100 durations of one record over several records, the count written once', () => {
    const lines: string[] = [];
    const metrics = new CloudWatchMetrics({ service: SERVICE, write: (line) => lines.push(line), now: () => 1_000 });
    for (let index = 0; index < 150; index += 1)
      metrics.directoryOperation('ldaps://dc1:636', 'group_search', 'ok', index);
    metrics.flush();
    const records = lines.map((line) => JSON.parse(line) as EmfRecord);
    expect(
      records.map((record) => [record.DirectoryOperations, [record.DirectoryOperationDuration].flat().length]),
    ).toEqual([
      [150, 100],
      [undefined, 50],
    ]);
    expect(valuesOf(records)).toEqual([
      'DirectoryOperationDuration{Server=ldaps://dc1:636,Operation=group_search} 100x ms',
      'DirectoryOperationDuration{Server=ldaps://dc1:636,Operation=group_search} 50x ms',
      'DirectoryOperations{Server=ldaps://dc1:636,Operation=group_search,Result=ok} 150',
    ]);
    expect(records.map((record) => record._aws.Timestamp)).toEqual([1_000, 1_000]);
  });

  it('writes nothing when nothing was counted, and forgets what it flushed', () => {
    const lines: string[] = [];
    const metrics = new CloudWatchMetrics({ service: SERVICE, write: (line) => lines.push(line) });
    metrics.flush();
    expect(lines).toEqual([]);
    metrics.directoryFailover('ldaps://dc1:636');
    metrics.flush();
    metrics.flush();
    expect(valuesOf(lines.map((line) => JSON.parse(line) as EmfRecord))).toEqual([
      'DirectoryFailovers{Server=ldaps://dc1:636} 1',
    ]);
  });

  it('names the deployment from POWERTOOLS_SERVICE_NAME, and refuses an empty name', () => {
    expect(metricsServiceFrom({ POWERTOOLS_SERVICE_NAME: 'LdapBridge-prod' })).toBe('LdapBridge-prod');
    expect(metricsServiceFrom({})).toBe('auth0-ldap-bridge');
    expect(() => new CloudWatchMetrics({ service: ' ' })).toThrow(/service is empty.*POWERTOOLS_SERVICE_NAME/);
  });
});
