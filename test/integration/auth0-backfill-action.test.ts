// auth0/actions/backfill-bridge-metadata.js, run with Actions' event/api shapes (and api.cache's
// limits) against the real bridge, the shared slapd and the dev token issuer; stand-ins for a bridge
// that is down, slow or answers what the real one cannot be made to.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../support/fixtures.ts';
import { loadPostLoginAction, type PostLoginActionContainer, type PostLoginOutcome } from '../support/auth0-sandbox.ts';
import { startTestStack, TEST_AUDIENCE, TEST_CLIENT, type TestStack } from '../support/stack.ts';
import { startStandInBridge } from '../support/stand-in-bridge.ts';

const ACTION = 'auth0/actions/backfill-bridge-metadata.js';
const DOMAIN = 'tenant.auth0.test';
const CONNECTION = 'ldap-bridge';
const RECORD = 'ldap_bridge_backfill';
const [alice, bob] = [DEMO_USERS[0]!, DEMO_USERS[1]!];

interface BridgeProfile {
  user_id: string;
  app_metadata: Record<string, unknown>;
  [field: string]: unknown;
}

let stack: TestStack;
let secrets: Record<string, string>;
const profiles = new Map<string, BridgeProfile>();
/** Every log line of every run in this file, checked for secrets at the end. */
const allLogs: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  secrets = {
    CONNECTION_NAME: CONNECTION,
    AUTH0_DOMAIN: DOMAIN,
    BRIDGE_CLIENT_ID: TEST_CLIENT.clientId,
    BRIDGE_CLIENT_SECRET: TEST_CLIENT.clientSecret,
    BRIDGE_AUDIENCE: TEST_AUDIENCE,
    BRIDGE_URL: stack.url,
  };
  for (const user of [alice, bob]) {
    const response = await stack.post('/get-user', { username: user.mail });
    profiles.set(user.uid, (await response.json()) as BridgeProfile);
  }
});
afterAll(async () => {
  await stack?.stop();
});

const load = (): PostLoginActionContainer =>
  loadPostLoginAction(ACTION, { domain: DOMAIN, tokenEndpointTarget: stack.issuer.tokenUrl });

interface AuthUser {
  user_id: string;
  email?: string;
  username?: string;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
}

/** A user of the bridge's connection as Auth0 holds them after an interrupted first login: no metadata. */
function migratedWithoutMetadata(uid: 'alice' | 'bob', changes: Partial<AuthUser> = {}): AuthUser {
  const profile = profiles.get(uid)!;
  return {
    user_id: `auth0|${profile.user_id}`,
    email: String(profile.email),
    app_metadata: {},
    user_metadata: {},
    ...changes,
  };
}

function loginEvent(
  user: AuthUser,
  changes: { secrets?: Record<string, string | undefined>; connection?: string } = {},
) {
  const eventSecrets: Record<string, string> = { ...secrets };
  for (const [key, value] of Object.entries(changes.secrets ?? {})) {
    if (value === undefined) delete eventSecrets[key];
    else eventSecrets[key] = value;
  }
  return {
    secrets: eventSecrets,
    connection: { id: 'con_bridge', name: changes.connection ?? CONNECTION, strategy: 'auth0' },
    client: { client_id: 'spa-client', name: 'Portal', metadata: {} },
    request: { ip: '203.0.113.7', method: 'POST', query: {}, body: {} },
    stats: { logins_count: 2 },
    tenant: { id: 'tenant' },
    user,
  };
}

/** One execution; the Action never fails or denies a login, whatever happened. */
async function run(
  container: PostLoginActionContainer,
  user: AuthUser,
  changes?: Parameters<typeof loginEvent>[1],
): Promise<PostLoginOutcome> {
  const outcome = await container.run(loginEvent(user, changes));
  allLogs.push(...outcome.logs);
  expect(outcome.thrown).toBeUndefined();
  expect(outcome.denials).toEqual([]);
  return outcome;
}

/** The user as Auth0 stores them after the execution applied its metadata changes. */
function applied(user: AuthUser, outcome: PostLoginOutcome): AuthUser {
  return {
    ...user,
    app_metadata: { ...user.app_metadata, ...Object.fromEntries(outcome.appMetadata) },
    user_metadata: { ...user.user_metadata, ...Object.fromEntries(outcome.userMetadata) },
  };
}

const recordOf = (outcome: PostLoginOutcome) =>
  Object.fromEntries(outcome.appMetadata)[RECORD] as Record<string, unknown>;
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

/** A loopback port nothing listens on. */
async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A server that accepts connections and never answers. */
async function startSilentServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('backfill-bridge-metadata Action', () => {
  it("sets the bridge's app_metadata and its record for a migrated user who has none", async () => {
    const outcome = await run(load(), migratedWithoutMetadata('alice'));
    const set = Object.fromEntries(outcome.appMetadata);
    expect(set).toEqual({
      ...profiles.get('alice')!.app_metadata,
      [RECORD]: { status: 'done', at: expect.any(String) },
    });
    expect(set.groups).toEqual(['engineering', 'staff']);
    expect(outcome.logs).toEqual([
      expect.stringMatching(/set the bridge's metadata of auth0\|\S+ \(bridge request \S+\)$/),
    ]);
  });

  it('does nothing at the next login', async () => {
    const container = load();
    const user = applied(migratedWithoutMetadata('bob'), await run(container, migratedWithoutMetadata('bob')));
    const requests = container.requests.length;
    const again = await run(container, user);
    expect(again.appMetadata).toEqual([]);
    expect(again.logs).toEqual([]);
    expect(container.requests.length).toBe(requests);
  });

  it('keeps the bridge token in api.cache across executions, within its limits', async () => {
    const container = load();
    const before = stack.issuer.tokenRequests;
    for (const uid of ['alice', 'bob', 'alice'] as const) {
      const outcome = await run(container, migratedWithoutMetadata(uid));
      expect(recordOf(outcome)).toMatchObject({ status: 'done' });
    }
    expect(stack.issuer.tokenRequests - before).toBe(1);
    expect([...container.cache.keys()]).toEqual(['ldap-bridge-token']);
    // Kept until shortly before the token expires (the dev issuer's tokens live 24 hours).
    expect(container.cache.get('ldap-bridge-token')!.expires_at).toBeGreaterThan(Date.now() + 23 * 60 * 60 * 1000);
  });

  it('gets one new token and asks once more when the bridge refuses the cached one', async () => {
    const profile = profiles.get('alice')!;
    const bridge = await startStandInBridge((call) =>
      call === 1 ? { status: 401, body: '{"error":"invalid_token"}' } : { status: 200, body: JSON.stringify(profile) },
    );
    try {
      const before = stack.issuer.tokenRequests;
      const outcome = await run(load(), migratedWithoutMetadata('alice'), { secrets: { BRIDGE_URL: bridge.url } });
      expect(recordOf(outcome)).toMatchObject({ status: 'done' });
      expect(bridge.calls).toBe(2);
      expect(stack.issuer.tokenRequests - before).toBe(2);
    } finally {
      await bridge.stop();
    }
  });

  it('fills in only the user_metadata keys the user does not have', async () => {
    const profile = { ...profiles.get('alice')!, user_metadata: { phone: '+1 555 0100', office: 'B2' } };
    const bridge = await startStandInBridge(() => ({ status: 200, body: JSON.stringify(profile) }));
    try {
      const user = migratedWithoutMetadata('alice', { user_metadata: { phone: 'my own number' } });
      const outcome = await run(load(), user, { secrets: { BRIDGE_URL: bridge.url } });
      expect(outcome.userMetadata).toEqual([['office', 'B2']]);
    } finally {
      await bridge.stop();
    }
  });

  it('leaves a user who has app_metadata.dn alone, and users of other connections', async () => {
    const container = load();
    const withDn = await run(container, migratedWithoutMetadata('alice', { app_metadata: { dn: 'uid=alice' } }));
    const social = await run(
      container,
      { user_id: 'google-oauth2|1234', email: alice.mail },
      { connection: 'google-oauth2' },
    );
    for (const outcome of [withDn, social])
      expect(outcome).toMatchObject({ appMetadata: [], userMetadata: [], logs: [] });
    expect(container.requests).toEqual([]);
  });

  it('copes with a user whose app_metadata Auth0 leaves out', async () => {
    const { app_metadata: _none, ...user } = migratedWithoutMetadata('bob');
    expect(recordOf(await run(load(), user))).toMatchObject({ status: 'done' });
  });

  it('records not_found, and sets nothing else, for a user the directory does not have', async () => {
    const user: AuthUser = { user_id: 'auth0|gone-0001', email: 'gone@example.test', app_metadata: {} };
    const outcome = await run(load(), user);
    expect(outcome.appMetadata).toEqual([[RECORD, { status: 'not_found', at: expect.any(String) }]]);
    expect(outcome.logs).toEqual([
      expect.stringContaining(
        'nothing to set for auth0|gone-0001: the directory has no entry for their email or username',
      ),
    ]);
    // Not asked again.
    const container = load();
    expect((await run(container, applied(user, outcome))).appMetadata).toEqual([]);
    expect(container.requests).toEqual([]);
  });

  it("never sets another directory user's metadata: the entry must be this user's (auth0|<user_id>)", async () => {
    // Alice's Auth0 email is now bob's address: the directory's entry for it is Bob's.
    const outcome = await run(load(), migratedWithoutMetadata('alice', { email: String(bob.mail) }));
    expect(outcome.appMetadata).toEqual([[RECORD, { status: 'not_found', at: expect.any(String) }]]);
    expect(outcome.logs).toEqual([
      expect.stringContaining("the directory's entry for their email or username is another user's"),
    ]);
  });

  it('asks by username when the email finds no entry of this user', async () => {
    const user = migratedWithoutMetadata('alice', { email: 'alice.renamed@example.test', username: alice.uid });
    const container = load();
    const outcome = await run(container, user);
    expect(recordOf(outcome)).toMatchObject({ status: 'done' });
    expect(Object.fromEntries(outcome.appMetadata).dn).toBe(profiles.get('alice')!.app_metadata.dn);
    expect(container.requests.filter((url) => url.endsWith('/get-user'))).toHaveLength(2);
  });
});

describe('backfill-bridge-metadata Action when the bridge does not answer', () => {
  const FAILED = { status: 'failed', at: expect.any(String), attempts: 1 };

  it('lets the login through and records a failed attempt when the bridge refuses connections', async () => {
    const outcome = await run(load(), migratedWithoutMetadata('alice'), {
      secrets: { BRIDGE_URL: await closedPortUrl() },
    });
    expect(outcome.appMetadata).toEqual([[RECORD, FAILED]]);
    expect(outcome.logs).toEqual([
      expect.stringMatching(
        /could not back-fill auth0\|\S+ \(attempt 1 of 3, again at a login 15 minutes on or later\): fetch failed \(ECONNREFUSED\)$/,
      ),
    ]);
  });

  it('gives up within BRIDGE_TIMEOUT_MS when the bridge never answers', async () => {
    const silent = await startSilentServer();
    try {
      const outcome = await run(load(), migratedWithoutMetadata('alice'), {
        secrets: { BRIDGE_URL: silent.url, BRIDGE_TIMEOUT_MS: '1000' },
      });
      expect(outcome.appMetadata).toEqual([[RECORD, FAILED]]);
      expect(outcome.logs).toEqual([expect.stringContaining('The operation was aborted due to timeout')]);
    } finally {
      await silent.stop();
    }
  });

  it.each([
    [
      '503 directory_unavailable',
      { status: 503, body: '{"error":"directory_unavailable"}' },
      /HTTP 503 directory_unavailable, bridge request stand-in-1$/,
    ],
    [
      'a 200 without a profile',
      { status: 200, body: '{"email":"a@example.test"}' },
      /HTTP 200 but its profile has no user_id, bridge request stand-in-1$/,
    ],
    [
      'a 200 without app_metadata',
      { status: 200, body: '{"user_id":"u1"}' },
      /HTTP 200 but its profile has no app_metadata object/,
    ],
    ['a 200 that is not JSON', { status: 200, body: 'OK' }, /HTTP 200 but its body is not a JSON object/],
  ])('lets the login through and records a failed attempt when the bridge answers %s', async (_, answer, expected) => {
    const bridge = await startStandInBridge(() => answer);
    try {
      const outcome = await run(load(), migratedWithoutMetadata('alice'), { secrets: { BRIDGE_URL: bridge.url } });
      expect(outcome.appMetadata).toEqual([[RECORD, FAILED]]);
      expect(outcome.userMetadata).toEqual([]);
      expect(outcome.logs).toEqual([expect.stringMatching(expected)]);
    } finally {
      await bridge.stop();
    }
  });

  it('records a failed attempt, without the secret, when Auth0 refuses the client credentials', async () => {
    const outcome = await run(load(), migratedWithoutMetadata('alice'), {
      secrets: { BRIDGE_CLIENT_SECRET: 'wrong-action-secret-61' },
    });
    expect(outcome.appMetadata).toEqual([[RECORD, FAILED]]);
    expect(outcome.logs).toEqual([expect.stringContaining('could not get an access token for the bridge (HTTP 401')]);
    expect(outcome.logs.join('\n')).not.toContain('wrong-action-secret-61');
  });

  it.each([
    ['a failed attempt 20 minutes ago', { status: 'failed', at: minutesAgo(20), attempts: 1 }, 2],
    ['a second failed attempt an hour ago', { status: 'failed', at: minutesAgo(60), attempts: 2 }, 3],
  ])('asks again after %s, and counts the attempt', async (_, record, attempts) => {
    const bridge = await startStandInBridge(() => ({ status: 503, body: '{"error":"directory_unavailable"}' }));
    try {
      const user = migratedWithoutMetadata('alice', { app_metadata: { [RECORD]: record } });
      const outcome = await run(load(), user, { secrets: { BRIDGE_URL: bridge.url } });
      expect(recordOf(outcome)).toEqual({ status: 'failed', at: expect.any(String), attempts });
      expect(bridge.calls).toBe(1);
      if (attempts === 3) expect(outcome.logs).toEqual([expect.stringContaining('(attempt 3 of 3, the last)')]);
    } finally {
      await bridge.stop();
    }
  });

  it('succeeds at a later attempt', async () => {
    const user = migratedWithoutMetadata('alice', {
      app_metadata: { [RECORD]: { status: 'failed', at: minutesAgo(16), attempts: 2 } },
    });
    expect(recordOf(await run(load(), user))).toEqual({ status: 'done', at: expect.any(String) });
  });

  it.each([
    ['the third failed attempt', { status: 'failed', at: minutesAgo(600), attempts: 3 }],
    ['a failed attempt 5 minutes ago', { status: 'failed', at: minutesAgo(5), attempts: 1 }],
    [
      'a failed attempt dated in the future',
      { status: 'failed', at: new Date(Date.now() + 3_600_000).toISOString(), attempts: 1 },
    ],
    ['not_found', { status: 'not_found', at: minutesAgo(600) }],
    ['done (the dn removed since)', { status: 'done', at: minutesAgo(600) }],
    ['a record it did not write', 'yes'],
    ['a failed record without a count', { status: 'failed', at: minutesAgo(600) }],
    ['a failed record with a bad date', { status: 'failed', at: 'yesterday', attempts: 1 }],
  ])('does not ask again after %s', async (_, record) => {
    const container = load();
    const outcome = await run(container, migratedWithoutMetadata('alice', { app_metadata: { [RECORD]: record } }));
    expect(outcome).toMatchObject({ appMetadata: [], userMetadata: [], logs: [] });
    expect(container.requests).toEqual([]);
  });
});

describe('backfill-bridge-metadata Action secrets', () => {
  it.each([
    ['missing', undefined],
    ['blank', '  '],
  ])('back-fills nobody and logs an error naming CONNECTION_NAME when it is %s', async (_, value) => {
    const container = load();
    const outcome = await run(container, migratedWithoutMetadata('alice'), { secrets: { CONNECTION_NAME: value } });
    expect(outcome.appMetadata).toEqual([]);
    expect(outcome.logs).toEqual([expect.stringContaining('the secret CONNECTION_NAME is missing')]);
    expect(container.requests).toEqual([]);
  });

  it.each([
    ['AUTH0_DOMAIN missing', { AUTH0_DOMAIN: undefined }, /: AUTH0_DOMAIN is missing$/],
    ['BRIDGE_CLIENT_SECRET missing', { BRIDGE_CLIENT_SECRET: undefined }, /: BRIDGE_CLIENT_SECRET is missing$/],
    [
      'AUTH0_DOMAIN given as a URL',
      { AUTH0_DOMAIN: 'https://tenant.auth0.test/' },
      /AUTH0_DOMAIN is "https:\/\/tenant\.auth0\.test\/"; expected the tenant domain name alone/,
    ],
    [
      'BRIDGE_URL over http to another host',
      { BRIDGE_URL: 'http://bridge.example.com' },
      /BRIDGE_URL is "http:\/\/bridge\.example\.com"; expected an https:\/\/ URL/,
    ],
    [
      'BRIDGE_URL with a query',
      { BRIDGE_URL: 'https://bridge.example.com/?a=1' },
      /BRIDGE_URL must be a base URL without a \?query or #fragment$/,
    ],
    [
      'BRIDGE_URL with credentials',
      { BRIDGE_URL: 'https://u:url-pass-7@bridge.example.com' },
      /BRIDGE_URL must not contain a user name or password$/,
    ],
    [
      'BRIDGE_TIMEOUT_MS above 10000',
      { BRIDGE_TIMEOUT_MS: '15000' },
      /BRIDGE_TIMEOUT_MS is "15000"; expected a whole number of milliseconds from 1000 to 10000/,
    ],
    ['BRIDGE_TIMEOUT_MS with a unit', { BRIDGE_TIMEOUT_MS: '5s' }, /BRIDGE_TIMEOUT_MS is "5s"; expected/],
    [
      'the client secret pasted into BRIDGE_URL',
      { BRIDGE_URL: TEST_CLIENT.clientSecret },
      /BRIDGE_URL is \(a value containing BRIDGE_CLIENT_SECRET\); expected/,
    ],
  ])('logs an error naming the secret, sends nothing and sets nothing, for %s', async (_, changes, expected) => {
    const container = load();
    const outcome = await run(container, migratedWithoutMetadata('alice'), { secrets: changes });
    expect(outcome.appMetadata).toEqual([]);
    expect(outcome.logs).toEqual([
      expect.stringMatching(/^backfill-bridge-metadata: the secrets are invalid, so auth0\|\S+ was not back-filled: /),
    ]);
    expect(outcome.logs[0]).toMatch(expected);
    expect(outcome.logs[0]).not.toContain('url-pass-7');
    expect(container.requests).toEqual([]);
  });

  it('says nothing about bad secrets at the logins it has nothing to do for', async () => {
    const outcome = await run(load(), migratedWithoutMetadata('alice', { app_metadata: { dn: 'uid=alice' } }), {
      secrets: { BRIDGE_URL: 'http://bridge.example.com' },
    });
    expect(outcome.logs).toEqual([]);
  });

  it('writes no secret, token or email address into a log line', async () => {
    const user = migratedWithoutMetadata('alice');
    const bridge = await startStandInBridge(() => ({ status: 503, body: '{"error":"directory_unavailable"}' }));
    try {
      for (const changes of [
        {},
        { BRIDGE_URL: bridge.url },
        { BRIDGE_URL: await closedPortUrl() },
        { BRIDGE_CLIENT_SECRET: `${TEST_CLIENT.clientSecret}-wrong` },
        { BRIDGE_TIMEOUT_MS: TEST_CLIENT.clientSecret },
        { AUTH0_DOMAIN: `${TEST_CLIENT.clientSecret}.example.test` },
      ])
        await run(load(), user, { secrets: changes });
    } finally {
      await bridge.stop();
    }
    // allLogs also holds every other run of this file that came before.
    const text = allLogs.join('\n');
    for (const secret of [
      TEST_CLIENT.clientSecret,
      'wrong-action-secret-61',
      'url-pass-7',
      String(alice.mail),
      String(bob.mail),
    ])
      expect(text).not.toContain(secret);
    // Access tokens are JWTs.
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(text).toContain('(a value containing BRIDGE_CLIENT_SECRET)');
  });
});
