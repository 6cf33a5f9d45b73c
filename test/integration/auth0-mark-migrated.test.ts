// Mark migrated: auth0/get_user.js answers "not found" for a directory user Auth0 already holds as
// auth0|<user_id>, asking the Management API (the emulator, or a stand-in for answers the emulator
// cannot be made to give) after the real bridge found the user in the shared slapd.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../support/fixtures.ts';
import { loadAuth0Script, type ManagementApiTarget, type ScriptContainer } from '../support/auth0-sandbox.ts';
import { type ManagementApiEmulator, startManagementApiEmulator } from '../support/management-api-emulator.ts';
import { startTestStack, TEST_AUDIENCE, TEST_CLIENT, type TestStack } from '../support/stack.ts';
import { startStandInBridge } from '../support/stand-in-bridge.ts';

const DOMAIN = 'tenant.auth0.test';
const CONNECTION = 'ldap-bridge';
const USERS_READER = { clientId: 'get-user-reader', clientSecret: 'reader-secret-83c1f0', scopes: ['read:users'] };
const NO_USERS_SCOPE = {
  clientId: 'connections-only',
  clientSecret: 'connections-secret-44ab',
  scopes: ['read:connections'],
};
const [alice, bob] = [DEMO_USERS[0]!, DEMO_USERS[1]!];

let stack: TestStack;
let emulator: ManagementApiEmulator;
let configuration: Record<string, string>;
interface BridgeProfile {
  user_id: string;
  app_metadata: Record<string, unknown>;
  [field: string]: unknown;
}
/** The bridge's profile of each demo user, by uid. */
const profiles = new Map<string, BridgeProfile>();

/** What get_user.js hands Auth0 for a bridge profile: app_metadata renamed metadata. */
function asScriptAnswer({ app_metadata, ...fields }: BridgeProfile): Record<string, unknown> {
  return { ...fields, metadata: app_metadata };
}

beforeAll(async () => {
  stack = await startTestStack();
  emulator = await startManagementApiEmulator({
    domain: DOMAIN,
    clients: [USERS_READER, NO_USERS_SCOPE],
    connections: [{ name: CONNECTION }],
    // Well above what these tests send, except where one occupies the tenant on purpose.
    ratePerSecond: 1000,
    burst: 1000,
  });
  configuration = {
    AUTH0_DOMAIN: DOMAIN,
    BRIDGE_CLIENT_ID: TEST_CLIENT.clientId,
    BRIDGE_CLIENT_SECRET: TEST_CLIENT.clientSecret,
    BRIDGE_AUDIENCE: TEST_AUDIENCE,
    BRIDGE_URL: stack.url,
    MANAGEMENT_CLIENT_ID: USERS_READER.clientId,
    MANAGEMENT_CLIENT_SECRET: USERS_READER.clientSecret,
  };
  for (const user of [alice, bob]) {
    const response = await stack.post('/get-user', { username: user.mail });
    profiles.set(user.uid, (await response.json()) as BridgeProfile);
  }
  // Alice migrated, then changed her email in Auth0; the directory still has the old one.
  emulator.addUser(CONNECTION, { user_id: profiles.get('alice')!.user_id, email: 'alice.new@example.test' });
});
afterAll(async () => {
  await stack?.stop();
  await emulator?.stop();
});

function settings(changes: Record<string, string | undefined> = {}): Record<string, string> {
  const result: Record<string, string> = { ...configuration };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete result[key];
    else result[key] = value;
  }
  return result;
}

const getUser = (config = configuration, managementApi: ManagementApiTarget = emulator) =>
  loadAuth0Script('auth0/get_user.js', 'getByEmail', config, stack.issuer.tokenUrl, managementApi);

/** Management API requests for one user, as the emulator recorded them. */
const lookupsOf = (userId: string) =>
  emulator.requests.filter((request) => request.path === `/api/v2/users/${encodeURIComponent(`auth0|${userId}`)}`);

function expectPlainError(error: unknown): asserts error is Error {
  expect(error).toBeInstanceOf(Error);
  expect(Object.getPrototypeOf(error)).toBe(Error.prototype);
}

interface StandInRequest {
  method: string;
  url: string;
}

/** An http stand-in for the tenant: /oauth/token issues a token, every other request gets what `answer` says. */
async function startStandInManagementApi(
  answer: (
    request: StandInRequest,
    number: number,
  ) => { status: number; body?: unknown; headers?: Record<string, string> },
): Promise<ManagementApiTarget & { seen: StandInRequest[]; tokens: number; stop(): Promise<void> }> {
  const seen: StandInRequest[] = [];
  let tokens = 0;
  const server = http.createServer((request, response) => {
    request.resume();
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    if (method === 'POST' && url === '/oauth/token') {
      tokens += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(JSON.stringify({ access_token: `stand-in-token-${tokens}`, expires_in: 86400 }));
    }
    seen.push({ method, url });
    const { status, body, headers = {} } = answer({ method, url }, seen.length);
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(body === undefined ? '' : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fetch,
    seen,
    get tokens() {
      return tokens;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL nothing listens on (port 1 would be refused by fetch itself as a "bad port"). */
async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const inexistentUser = {
  statusCode: 404,
  error: 'Not Found',
  message: 'The user does not exist.',
  errorCode: 'inexistent_user',
};

describe('auth0/get_user.js marks migrated users', () => {
  it('calls back with nothing for a directory user Auth0 already holds as auth0|<user_id>, asked by an old email', async () => {
    const before = lookupsOf(profiles.get('alice')!.user_id).length;
    const result = await getUser().call(alice.mail);
    expect(result).toEqual([null]);
    const lookups = lookupsOf(profiles.get('alice')!.user_id);
    expect(lookups).toHaveLength(before + 1);
    // Only the id is read from Auth0.
    expect(lookups.at(-1)?.query).toBe('?fields=user_id&include_fields=true');
    expect(lookups.at(-1)?.status).toBe(200);
  });

  it('returns the profile, metadata renamed, for a directory user Auth0 does not hold yet', async () => {
    const [error, profile] = await getUser().call(bob.mail);
    expect(error).toBeNull();
    expect(profile).toEqual(asScriptAnswer(profiles.get('bob')!));
    expect(profile).toHaveProperty('metadata.dn');
    expect(lookupsOf(profiles.get('bob')!.user_id).at(-1)?.status).toBe(404);
  });

  it('asks Auth0 nothing about a user the directory does not have', async () => {
    const before = emulator.requests.length;
    expect(await getUser().call('ghost@example.test')).toEqual([null]);
    expect(emulator.requests.length).toBe(before);
  });

  it('looks the user up with the configured user id prefix, the id encoded as one path segment', async () => {
    const prefixed = await startTestStack({ LDAP_USER_ID_PREFIX: 'corp:' });
    try {
      const profile = (await (await prefixed.post('/get-user', { username: bob.mail })).json()) as { user_id: string };
      expect(profile.user_id).toBe(`corp:${profiles.get('bob')!.user_id}`);
      emulator.addUser(CONNECTION, { user_id: profile.user_id, email: 'bob@corp.example.test' });
      const container = loadAuth0Script(
        'auth0/get_user.js',
        'getByEmail',
        settings({ BRIDGE_URL: prefixed.url }),
        prefixed.issuer.tokenUrl,
        emulator,
      );
      expect(await container.call(bob.mail)).toEqual([null]);
      expect(container.requests.at(-1)).toBe(
        `https://${DOMAIN}/api/v2/users/auth0%7Ccorp%3A${profile.user_id.slice('corp:'.length)}?fields=user_id&include_fields=true`,
      );
    } finally {
      await prefixed.stop();
    }
  });

  it('keeps one Management API token per container in `global`', async () => {
    const container = getUser();
    const before = emulator.issuedTokens.length;
    for (const user of [alice, bob, alice, bob]) await container.call(user.mail);
    expect(emulator.issuedTokens.length - before).toBe(1);
    await getUser().call(bob.mail);
    expect(emulator.issuedTokens.length - before).toBe(2);
  });

  it('encodes a hostile user_id from the bridge as one path segment', async () => {
    const bridge = await startStandInBridge(() => ({ status: 200, body: '{"user_id":"x/../../y?z=1#w"}' }));
    const tenant = await startStandInManagementApi(() => ({ status: 404, body: inexistentUser }));
    try {
      const result = await getUser(settings({ BRIDGE_URL: bridge.url }), tenant).call(alice.mail);
      expect(result).toEqual([null, { user_id: 'x/../../y?z=1#w' }]);
      expect(tenant.seen).toEqual([
        { method: 'GET', url: '/api/v2/users/auth0%7Cx%2F..%2F..%2Fy%3Fz%3D1%23w?fields=user_id&include_fields=true' },
      ]);
    } finally {
      await bridge.stop();
      await tenant.stop();
    }
  });
});

describe('auth0/get_user.js when Auth0 does not say whether the user has migrated', () => {
  const UNSURE = /^Could not tell whether this user has already migrated to Auth0, so no profile was passed on: /;

  it('waits for the announced reset of a busy tenant, sends nothing before it, and then answers', async () => {
    const rateLimited = emulator.rateLimited;
    const impatient = emulator.impatientRequests;
    emulator.occupyTenant(1000);
    const result = await getUser().call(alice.mail);
    expect(result).toEqual([null]);
    expect(emulator.rateLimited).toBeGreaterThan(rateLimited);
    expect(emulator.impatientRequests).toBe(impatient);
  });

  it('answers a plain Error, and sends nothing more, when the reset is past the script budget', async () => {
    const resetAt = Math.ceil(Date.now() / 1000) + 30;
    const tenant = await startStandInManagementApi(() => ({
      status: 429,
      body: { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' },
      headers: { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetAt) },
    }));
    try {
      const container = getUser(configuration, tenant);
      const [error, profile] = await container.call(alice.mail);
      expectPlainError(error);
      expect(profile).toBeUndefined();
      expect(error.message).toMatch(UNSURE);
      expect(error.message).toContain(
        `(HTTP 429); nothing is sent before ${new Date(resetAt * 1000 + 100).toISOString()}`,
      );
      expect(tenant.seen).toHaveLength(1);
      // The next call in this container knows the tenant is refusing: it does not ask.
      const [again] = await container.call(bob.mail);
      expectPlainError(again);
      expect(again.message).toContain('(HTTP 429); nothing is sent before');
      expect(tenant.seen).toHaveLength(1);
    } finally {
      await tenant.stop();
    }
  });

  it('waits at most a minute for an announced reset, however far away it says', async () => {
    const tenant = await startStandInManagementApi(() => ({
      status: 429,
      headers: { 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 86400 * 365) },
    }));
    try {
      const before = Date.now();
      const [error] = await getUser(configuration, tenant).call(alice.mail);
      expectPlainError(error);
      const resetAt = Date.parse(/nothing is sent before (\S+),/.exec(error.message)?.[1] ?? '');
      expect(resetAt).toBeGreaterThan(before);
      expect(resetAt).toBeLessThanOrEqual(Date.now() + 60_000 + 100);
    } finally {
      await tenant.stop();
    }
  });

  it.each([
    [
      'answers 503',
      { status: 503, body: { statusCode: 503, error: 'Service Unavailable' } },
      /HTTP 503 Service Unavailable$/,
    ],
    ['answers 500 without a body', { status: 500 }, /HTTP 500 no error code$/],
    [
      'answers 404 that is not Auth0\'s "no such user"',
      { status: 404, body: { error: 'Not Found' } },
      /HTTP 404 Not Found$/,
    ],
    [
      'answers 200 for another user',
      { status: 200, body: { user_id: 'auth0|someone-else' } },
      /the Management API answered HTTP 200 no error code$/,
    ],
    ['answers 200 with a body that is not JSON', { status: 200, body: undefined }, /HTTP 200 no error code$/],
  ])('answers a plain Error, never the profile, when the Management API %s', async (_, answer, expected) => {
    const tenant = await startStandInManagementApi(() => answer);
    try {
      const result = await getUser(configuration, tenant).call(bob.mail);
      expect(result).toHaveLength(1);
      expectPlainError(result[0]);
      expect(result[0].message).toMatch(UNSURE);
      expect(result[0].message).toMatch(expected);
    } finally {
      await tenant.stop();
    }
  });

  it('answers a plain Error when the Management API cannot be reached', async () => {
    const [error, profile] = await getUser(configuration, { url: await closedPortUrl(), fetch }).call(bob.mail);
    expectPlainError(error);
    expect(profile).toBeUndefined();
    expect(error.message).toMatch(UNSURE);
    expect(error.message).toContain('fetch failed (ECONNREFUSED)');
  });

  it('names the missing read:users permission', async () => {
    const config = settings({
      MANAGEMENT_CLIENT_ID: NO_USERS_SCOPE.clientId,
      MANAGEMENT_CLIENT_SECRET: NO_USERS_SCOPE.clientSecret,
    });
    const [error] = await getUser(config).call(bob.mail);
    expectPlainError(error);
    expect(error.message).toMatch(UNSURE);
    expect(error.message).toContain(
      "HTTP 403 insufficient_scope (give MANAGEMENT_CLIENT_ID's application the read:users permission on the Auth0 Management API)",
    );
  });

  it('answers a plain Error that does not quote the secret when Auth0 refuses the client credentials', async () => {
    const [error] = await getUser(settings({ MANAGEMENT_CLIENT_SECRET: 'wrong-management-secret-19' })).call(bob.mail);
    expectPlainError(error);
    expect(error.message).toMatch(UNSURE);
    expect(error.message).toContain('could not get an access token for the Management API (HTTP 401 access_denied)');
    expect(error.message).not.toContain('wrong-management-secret-19');
  });

  it('gets one new token and asks once more when Auth0 refuses the cached one', async () => {
    const tenant = await startStandInManagementApi((_, number) =>
      number === 1
        ? { status: 401, body: { statusCode: 401, error: 'Unauthorized' } }
        : { status: 404, body: inexistentUser },
    );
    try {
      const [error, profile] = await getUser(configuration, tenant).call(bob.mail);
      expect(error).toBeNull();
      expect(profile).toEqual(asScriptAnswer(profiles.get('bob')!));
      expect(tenant.seen).toHaveLength(2);
      expect(tenant.tokens).toBe(2);
    } finally {
      await tenant.stop();
    }
  });

  it('answers a plain Error after a second refused token, without asking a third time', async () => {
    const tenant = await startStandInManagementApi(() => ({
      status: 401,
      body: { statusCode: 401, error: 'Unauthorized' },
    }));
    try {
      const [error] = await getUser(configuration, tenant).call(bob.mail);
      expectPlainError(error);
      expect(error.message).toMatch(/HTTP 401 Unauthorized$/);
      expect(tenant.seen).toHaveLength(2);
    } finally {
      await tenant.stop();
    }
  });
});

describe('auth0/get_user.js Management API settings', () => {
  it.each([
    ['MANAGEMENT_CLIENT_ID missing', { MANAGEMENT_CLIENT_ID: undefined }, /: MANAGEMENT_CLIENT_ID is missing$/],
    ['MANAGEMENT_CLIENT_SECRET blank', { MANAGEMENT_CLIENT_SECRET: '  ' }, /: MANAGEMENT_CLIENT_SECRET is missing$/],
    [
      'both missing, with a bad bridge setting',
      { MANAGEMENT_CLIENT_ID: undefined, MANAGEMENT_CLIENT_SECRET: undefined, BRIDGE_TIMEOUT_MS: 'x' },
      /BRIDGE_TIMEOUT_MS is "x"; .*; MANAGEMENT_CLIENT_ID is missing; MANAGEMENT_CLIENT_SECRET is missing$/,
    ],
  ])('answers a plain Error naming the setting, and sends nothing, for %s', async (_, changes, expected) => {
    const container: ScriptContainer = getUser(settings(changes));
    const [error, profile] = await container.call(alice.mail);
    expectPlainError(error);
    expect(error.message).toMatch(
      /^The bridge settings of this connection are invalid \(Custom Database > Settings\): /,
    );
    expect(error.message).toMatch(expected);
    expect(profile).toBeUndefined();
    expect(container.requests).toEqual([]);
  });

  it.each([
    ['get_user.js', 'getByEmail', [alice.mail]],
    ['login.js', 'login', [alice.uid, alice.password]],
  ])("%s never quotes MANAGEMENT_CLIENT_SECRET's value, even pasted into another setting", async (file, name, args) => {
    const secret = USERS_READER.clientSecret;
    for (const changes of [
      { BRIDGE_URL: secret },
      { BRIDGE_URL: `http://bridge.example.com/${secret}` },
      { BRIDGE_TIMEOUT_MS: secret },
      { AUTH0_DOMAIN: secret },
    ]) {
      const container = loadAuth0Script(`auth0/${file}`, name, settings(changes), stack.issuer.tokenUrl, emulator);
      const [error] = await container.call(...args);
      expectPlainError(error);
      expect(error.message).toContain('(a value containing MANAGEMENT_CLIENT_SECRET)');
      expect(error.message).not.toContain(secret);
    }
  });

  it('puts no secret and no token into any answer it gives', async () => {
    const tenantDown: ManagementApiTarget = { url: await closedPortUrl(), fetch };
    const answers = [
      await getUser().call(alice.mail),
      await getUser().call(bob.mail),
      await getUser(configuration, tenantDown).call(bob.mail),
      await getUser(settings({ MANAGEMENT_CLIENT_SECRET: `${USERS_READER.clientSecret}-wrong` })).call(bob.mail),
      await getUser(
        settings({
          MANAGEMENT_CLIENT_ID: NO_USERS_SCOPE.clientId,
          MANAGEMENT_CLIENT_SECRET: NO_USERS_SCOPE.clientSecret,
        }),
      ).call(bob.mail),
    ];
    const text = JSON.stringify(
      answers.map((answer) => answer.map((value) => (value instanceof Error ? value.message : value))),
    );
    expect(answers.some(([error]) => error instanceof Error)).toBe(true);
    for (const secret of [
      USERS_READER.clientSecret,
      NO_USERS_SCOPE.clientSecret,
      TEST_CLIENT.clientSecret,
      ...emulator.issuedTokens,
    ])
      expect(text).not.toContain(secret);
  });
});
