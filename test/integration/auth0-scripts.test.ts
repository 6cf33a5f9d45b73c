// auth0/login.js and auth0/get_user.js, run as Auth0 runs them, against the local server, the
// shared slapd and a local token issuer standing in for the tenant (get_user.js also asks a Management API
// emulator, which holds none of these users: auth0-mark-migrated.test.ts covers migrated ones).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, SPARSE_USER } from '../support/fixtures.ts';
import {
  loadAuth0Script,
  type ScriptContainer,
  UnauthorizedError,
  WrongUsernameOrPasswordError,
} from '../support/auth0-sandbox.ts';
import { type ManagementApiEmulator, startManagementApiEmulator } from '../support/management-api-emulator.ts';
import { startTestStack, TEST_AUDIENCE, TEST_CLIENT, type TestStack } from '../support/stack.ts';
import { startStandInBridge } from '../support/stand-in-bridge.ts';

const alice = DEMO_USERS[0]!;
const USERS_READER = { clientId: 'get-user-reader', clientSecret: 'reader-secret-5d2e', scopes: ['read:users'] };
let stack: TestStack;
let managementApi: ManagementApiEmulator;
let configuration: Record<string, string>;

beforeAll(async () => {
  stack = await startTestStack();
  // A tenant limit these tests never reach: they are about the scripts' answers, not about waiting.
  managementApi = await startManagementApiEmulator({
    domain: 'tenant.auth0.test',
    clients: [USERS_READER],
    ratePerSecond: 1000,
    burst: 1000,
  });
  configuration = {
    AUTH0_DOMAIN: 'tenant.auth0.test',
    BRIDGE_CLIENT_ID: TEST_CLIENT.clientId,
    BRIDGE_CLIENT_SECRET: TEST_CLIENT.clientSecret,
    BRIDGE_AUDIENCE: TEST_AUDIENCE,
    BRIDGE_URL: `${stack.url}/`,
    MANAGEMENT_CLIENT_ID: USERS_READER.clientId,
    MANAGEMENT_CLIENT_SECRET: USERS_READER.clientSecret,
  };
});
afterAll(async () => {
  await stack?.stop();
  await managementApi?.stop();
});

const loginScript = (config = configuration) =>
  loadAuth0Script('auth0/login.js', 'login', config, stack.issuer.tokenUrl);
const getUserScript = (config = configuration) =>
  loadAuth0Script('auth0/get_user.js', 'getByEmail', config, stack.issuer.tokenUrl, managementApi);

/** The test configuration with some settings changed; `undefined` removes a setting. */
function settings(changes: Record<string, string | undefined>): Record<string, string> {
  const result: Record<string, string> = { ...configuration };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete result[key];
    else result[key] = value;
  }
  return result;
}

/** An Error made by `new Error(...)` itself: an outage to Auth0, not one of its error classes. */
function expectPlainError(error: unknown): asserts error is Error {
  expect(error).toBeInstanceOf(Error);
  expect(Object.getPrototypeOf(error)).toBe(Error.prototype);
}

const SCRIPTS = [
  {
    file: 'auth0/login.js',
    path: '/login',
    load: (config: Record<string, string>) => loginScript(config),
    run: (container: ScriptContainer) => container.call(alice.uid, alice.password),
  },
  {
    file: 'auth0/get_user.js',
    path: '/get-user',
    load: (config: Record<string, string>) => getUserScript(config),
    run: (container: ScriptContainer) => container.call(alice.mail),
  },
];

describe('auth0/login.js', () => {
  it('returns the profile with app_metadata renamed to metadata', async () => {
    const [error, profile] = await loginScript().call(alice.uid, alice.password);
    expect(error).toBeNull();
    expect(profile).toMatchObject({
      email: alice.mail,
      username: 'alice',
      metadata: { groups: ['engineering', 'staff'] },
    });
    expect(profile).not.toHaveProperty('app_metadata');
    expect((profile as { user_id: string }).user_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers WrongUsernameOrPasswordError for a wrong password', async () => {
    const [error] = await loginScript().call(alice.uid, 'wrong-password');
    expect(error).toBeInstanceOf(WrongUsernameOrPasswordError);
    expect((error as WrongUsernameOrPasswordError).userNameOrEmail).toBe(alice.uid);
  });

  it('answers WrongUsernameOrPasswordError for an unknown user', async () => {
    const [error] = await loginScript().call('nobody@example.test', 'whatever');
    expect(error).toBeInstanceOf(WrongUsernameOrPasswordError);
  });

  it('answers a plain Error (an outage, not wrong credentials) when the bridge is unreachable', async () => {
    const [error] = await loginScript({ ...configuration, BRIDGE_URL: 'http://127.0.0.1:1' }).call(
      alice.uid,
      alice.password,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(WrongUsernameOrPasswordError);
    expect((error as Error).message).toMatch(/directory is unavailable/);
  });

  it('answers a plain Error that never quotes the client secret when the token request is refused', async () => {
    const [error] = await loginScript({ ...configuration, BRIDGE_CLIENT_SECRET: 'wrong-secret-value' }).call(
      alice.uid,
      alice.password,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(WrongUsernameOrPasswordError);
    expect((error as Error).message).toContain('HTTP 401');
    expect((error as Error).message).not.toContain('wrong-secret-value');
  });

  it('maps a 403 account state to UnauthorizedError with a message for the user', async () => {
    // The OpenLDAP preset reports no account states yet; a bridge stand-in answers 403 here.
    const standIn = await startStandInBridge(() => ({ status: 403, body: '{"error":"account_disabled"}' }));
    try {
      const [error] = await loginScript({ ...configuration, BRIDGE_URL: standIn.url }).call(alice.uid, alice.password);
      expect(error).toBeInstanceOf(UnauthorizedError);
      expect((error as Error).message).toMatch(/disabled/);
    } finally {
      await standIn.stop();
    }
  });

  it('gets one new token and retries once when the bridge refuses the cached token', async () => {
    const standIn = await startStandInBridge((callNumber) =>
      callNumber === 1
        ? { status: 401, body: '{"error":"invalid_token"}' }
        : { status: 200, body: '{"user_id":"u1","app_metadata":{"dn":"uid=u1"}}' },
    );
    try {
      const before = stack.issuer.tokenRequests;
      const [error, profile] = await loginScript({ ...configuration, BRIDGE_URL: standIn.url }).call(
        alice.uid,
        alice.password,
      );
      expect(error).toBeNull();
      expect(profile).toEqual({ user_id: 'u1', metadata: { dn: 'uid=u1' } });
      expect(standIn.calls).toBe(2);
      expect(stack.issuer.tokenRequests - before).toBe(2);
    } finally {
      await standIn.stop();
    }
  });

  it('answers WrongUsernameOrPasswordError only for invalid_credentials, not for a second invalid_token', async () => {
    const standIn = await startStandInBridge(() => ({ status: 401, body: '{"error":"invalid_token"}' }));
    try {
      const [error] = await loginScript({ ...configuration, BRIDGE_URL: standIn.url }).call(alice.uid, alice.password);
      expect(error).not.toBeInstanceOf(WrongUsernameOrPasswordError);
      expect((error as Error).message).toContain('HTTP 401 invalid_token');
      expect(standIn.calls).toBe(2);
    } finally {
      await standIn.stop();
    }
  });

  it('costs exactly one token request for 100 logins in one container, even concurrent ones', async () => {
    const container = loginScript();
    const before = stack.issuer.tokenRequests;
    const first = await Promise.all(Array.from({ length: 50 }, () => container.call(alice.uid, alice.password)));
    for (let index = 0; index < 50; index += 1) {
      const [error] = await container.call(alice.uid, alice.password);
      expect(error).toBeNull();
    }
    expect(first.every(([error]) => error === null)).toBe(true);
    expect(stack.issuer.tokenRequests - before).toBe(1);
  });
});

describe('the two scripts', () => {
  it('share their token and request helpers word for word (Auth0 scripts cannot import code)', () => {
    const sharedPart = (file: string) => {
      const text = readFileSync(file, 'utf8');
      return text.slice(text.indexOf('\n', text.indexOf('// ---- shared with ')));
    };
    expect(sharedPart('auth0/get_user.js')).toBe(sharedPart('auth0/login.js'));
    expect(sharedPart('auth0/login.js')).toContain('function accessToken(client, deadline)');
  });
});

describe('auth0/get_user.js', () => {
  it('returns the same profile as login.js', async () => {
    const [, fromLogin] = await loginScript().call(alice.uid, alice.password);
    const [error, fromGetUser] = await getUserScript().call(alice.mail);
    expect(error).toBeNull();
    expect(fromGetUser).toEqual(fromLogin);
  });

  it('calls back with nothing for an unknown user', async () => {
    const result = await getUserScript().call('ghost@example.test');
    expect(result).toEqual([null]);
  });

  it('returns a profile without absent attributes', async () => {
    const [, profile] = await getUserScript().call(SPARSE_USER.uid);
    expect(profile).not.toHaveProperty('email');
    expect(profile).toHaveProperty('metadata.dn');
  });

  it('answers an Error, not "not found", when the bridge is unreachable', async () => {
    const result = await getUserScript({ ...configuration, BRIDGE_URL: 'http://127.0.0.1:1' }).call(alice.mail);
    expect(result[0]).toBeInstanceOf(Error);
  });
});

describe.each(SCRIPTS)('$file settings', ({ path, load, run }) => {
  it.each([
    [
      'BRIDGE_URL over http to a host that is not loopback',
      { BRIDGE_URL: 'http://bridge.example.com/prod' },
      /BRIDGE_URL is "http:\/\/bridge\.example\.com\/prod"; expected an https:\/\/ URL \(http:\/\/ only to 127\.0\.0\.1, localhost or \[::1\]\)/,
    ],
    [
      'BRIDGE_URL that is not a URL',
      { BRIDGE_URL: 'bridge.example.com' },
      /BRIDGE_URL is "bridge\.example\.com"; expected the bridge's base URL/,
    ],
    [
      'BRIDGE_URL with another scheme',
      { BRIDGE_URL: 'ftp://bridge.example.com/' },
      /BRIDGE_URL is "ftp:.*expected an https:\/\/ URL/,
    ],
    [
      'BRIDGE_URL with a query',
      { BRIDGE_URL: 'https://bridge.example.com/prod?stage=1' },
      /BRIDGE_URL must be a base URL without a \?query or #fragment$/,
    ],
    [
      'a non-numeric BRIDGE_TIMEOUT_MS',
      { BRIDGE_TIMEOUT_MS: 'abc' },
      /BRIDGE_TIMEOUT_MS is "abc"; expected a whole number of milliseconds from 1000 to 19000/,
    ],
    [
      'BRIDGE_TIMEOUT_MS with a unit',
      { BRIDGE_TIMEOUT_MS: '15s' },
      /BRIDGE_TIMEOUT_MS is "15s"; expected a whole number/,
    ],
    [
      'a fractional BRIDGE_TIMEOUT_MS',
      { BRIDGE_TIMEOUT_MS: '1500.5' },
      /BRIDGE_TIMEOUT_MS is "1500\.5"; expected a whole number/,
    ],
    [
      'BRIDGE_TIMEOUT_MS in exponent form',
      { BRIDGE_TIMEOUT_MS: '1.5e4' },
      /BRIDGE_TIMEOUT_MS is "1\.5e4"; expected a whole number/,
    ],
    [
      'BRIDGE_TIMEOUT_MS below 1000',
      { BRIDGE_TIMEOUT_MS: '999' },
      /BRIDGE_TIMEOUT_MS is "999"; expected a whole number of milliseconds from 1000 to 19000/,
    ],
    ['BRIDGE_TIMEOUT_MS of 0', { BRIDGE_TIMEOUT_MS: '0' }, /BRIDGE_TIMEOUT_MS is "0"; expected/],
    [
      'BRIDGE_TIMEOUT_MS above 19000',
      { BRIDGE_TIMEOUT_MS: '19001' },
      /BRIDGE_TIMEOUT_MS is "19001"; expected a whole number of milliseconds from 1000 to 19000/,
    ],
    ['a negative BRIDGE_TIMEOUT_MS', { BRIDGE_TIMEOUT_MS: '-5000' }, /BRIDGE_TIMEOUT_MS is "-5000"; expected/],
    [
      'AUTH0_DOMAIN given as a URL',
      { AUTH0_DOMAIN: 'https://tenant.auth0.test/' },
      /AUTH0_DOMAIN is "https:\/\/tenant\.auth0\.test\/"; expected the tenant domain name alone/,
    ],
    ['AUTH0_DOMAIN missing', { AUTH0_DOMAIN: undefined }, /: AUTH0_DOMAIN is missing$/],
    ['BRIDGE_CLIENT_ID missing', { BRIDGE_CLIENT_ID: undefined }, /: BRIDGE_CLIENT_ID is missing$/],
    ['BRIDGE_CLIENT_SECRET missing', { BRIDGE_CLIENT_SECRET: undefined }, /: BRIDGE_CLIENT_SECRET is missing$/],
    ['BRIDGE_AUDIENCE empty', { BRIDGE_AUDIENCE: '' }, /: BRIDGE_AUDIENCE is missing$/],
    ['BRIDGE_URL blank', { BRIDGE_URL: '   ' }, /: BRIDGE_URL is missing$/],
  ])('answers a plain Error naming the setting, and sends nothing, for %s', async (_, changes, expected) => {
    const container = load(settings(changes));
    const [error, profile] = await run(container);
    expectPlainError(error);
    expect(error.message).toMatch(
      /^The bridge settings of this connection are invalid \(Custom Database > Settings\): /,
    );
    expect(error.message).toMatch(expected);
    expect(error.message).not.toContain(configuration.BRIDGE_CLIENT_SECRET);
    expect(profile).toBeUndefined();
    expect(container.requests).toEqual([]);
  });

  it('names every bad setting in one message', async () => {
    const [error] = await run(
      load(settings({ BRIDGE_CLIENT_ID: undefined, BRIDGE_URL: 'http://bridge.example.com', BRIDGE_TIMEOUT_MS: 'x' })),
    );
    expectPlainError(error);
    expect(error.message).toContain('BRIDGE_CLIENT_ID is missing; BRIDGE_URL is "http://bridge.example.com"');
    expect(error.message).toContain('; BRIDGE_TIMEOUT_MS is "x"');
  });

  it('refuses BRIDGE_URL with a user name and password without quoting them', async () => {
    const [error] = await run(load(settings({ BRIDGE_URL: 'https://admin:url-password-93@bridge.example.com/prod' })));
    expectPlainError(error);
    expect(error.message).toMatch(/BRIDGE_URL must not contain a user name or password$/);
    expect(error.message).not.toContain('url-password-93');
  });

  it.each(['http://127.0.0.1:1/prod', 'http://localhost:1', 'http://[::1]:1/', 'https://127.0.0.1:1/prod'])(
    'accepts BRIDGE_URL %s (https, or http to loopback) and calls it',
    async (bridgeUrl) => {
      const container = load(settings({ BRIDGE_URL: bridgeUrl }));
      const [error] = await run(container);
      expectPlainError(error);
      expect(error.message).toMatch(/^The user directory is unavailable: /);
      expect(container.requests.at(-1)).toBe(bridgeUrl.replace(/\/+$/, '') + path);
    },
  );

  it.each(['1000', '19000', ' 5000 '])('accepts BRIDGE_TIMEOUT_MS %j', async (timeout) => {
    const standIn = await startStandInBridge(() => ({ status: 200, body: '{"user_id":"u1"}' }));
    try {
      const result = await run(load(settings({ BRIDGE_URL: standIn.url, BRIDGE_TIMEOUT_MS: timeout })));
      expect(result).toEqual([null, { user_id: 'u1' }]);
    } finally {
      await standIn.stop();
    }
  });

  it.each([
    [
      'a profile without user_id',
      '{"email":"a@example.test","app_metadata":{"dn":"uid=a"}}',
      /its profile has no user_id/,
    ],
    ['an empty user_id', '{"user_id":""}', /its profile has no user_id/],
    ['a user_id that is not a string', '{"user_id":42}', /its profile has no user_id/],
    ['an array', '[{"user_id":"u1"}]', /its body is not a JSON object/],
    ['a string', '"u1"', /its body is not a JSON object/],
    ['null', 'null', /its body is not a JSON object/],
    ['a body that is not JSON', 'OK', /its body is not a JSON object/],
  ])('answers a plain Error and passes no profile on for a 200 with %s', async (_, body, expected) => {
    const standIn = await startStandInBridge(() => ({ status: 200, body }));
    try {
      const result = await run(load(settings({ BRIDGE_URL: standIn.url })));
      expect(result).toHaveLength(1);
      expectPlainError(result[0]);
      expect(result[0].message).toMatch(/^The bridge answered HTTP 200 but /);
      expect(result[0].message).toMatch(expected);
      expect(result[0].message).toContain('(request stand-in-1); no profile was passed to Auth0');
    } finally {
      await standIn.stop();
    }
  });

  it("never quotes BRIDGE_CLIENT_SECRET's value in an error, even when it is pasted into another setting", async () => {
    const secret = configuration.BRIDGE_CLIENT_SECRET;
    const standIn = await startStandInBridge(() => ({ status: 500, body: '{"error":"internal"}' }));
    try {
      const failing = [
        settings({ BRIDGE_URL: secret }),
        settings({ BRIDGE_URL: `http://bridge.example.com/${secret}` }),
        settings({ BRIDGE_TIMEOUT_MS: secret }),
        settings({ AUTH0_DOMAIN: secret }),
        settings({ BRIDGE_AUDIENCE: undefined }),
        settings({ BRIDGE_URL: 'http://127.0.0.1:1' }),
        settings({ BRIDGE_URL: standIn.url }),
        settings({ BRIDGE_CLIENT_SECRET: `${secret}-wrong` }),
      ];
      for (const config of failing) {
        const [error] = await run(load(config));
        expectPlainError(error);
        expect(error.message).not.toContain(config.BRIDGE_CLIENT_SECRET ?? secret);
        expect(error.message).not.toContain(secret);
      }
    } finally {
      await standIn.stop();
    }
  });
});
