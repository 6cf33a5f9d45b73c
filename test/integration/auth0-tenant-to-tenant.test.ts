// auth0/tenant-to-tenant/login.js and get_user.js, run as Auth0 runs them, with the Management API
// emulator as the old tenant: its password-realm grant checks the passwords, its Management API holds
// the users. Where the old tenant must fail in a way the emulator does not (5xx, an overloaded
// Authentication API, an odd id_token), a test puts an answer in front of it for one path.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadAuth0Script,
  type ManagementApiTarget,
  type ScriptContainer,
  UnauthorizedError,
  WrongUsernameOrPasswordError,
} from '../support/auth0-sandbox.ts';
import {
  type EmulatorOptions,
  type ManagementApiEmulator,
  startManagementApiEmulator,
  type UserSeed,
} from '../support/management-api-emulator.ts';

const OLD_DOMAIN = 'old-tenant.eu.auth0.test';
const OLD_CONNECTION = 'Old-Users';
const OTHER_CONNECTION = 'Other-Db';
const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const LOGIN_APP = {
  clientId: 'old-login-app',
  clientSecret: 'login-app-secret-7f3a91',
  grantTypes: [PASSWORD_REALM],
  scopes: [],
};
const APP_WITHOUT_PASSWORD_GRANT = { clientId: 'old-spa', clientSecret: 'spa-secret-22c1e8', scopes: [] };
const USERS_READER = { clientId: 'old-users-reader', clientSecret: 'reader-secret-c44e07', scopes: ['read:users'] };
const NO_USERS_SCOPE = { clientId: 'old-no-scope', clientSecret: 'no-scope-secret-98aa1', scopes: [] };

const ADA = {
  user_id: '5f1a2b3c4d5e6f7a8b9c0d1e',
  email: 'ada@example.test',
  email_verified: true,
  username: 'ada',
  name: 'Ada Lovelace',
  given_name: 'Ada',
  family_name: 'Lovelace',
  nickname: 'ada',
  picture: 'https://cdn.example.test/ada.png',
  app_metadata: { roles: ['admin'], plan: 'gold' },
  user_metadata: { locale: 'en-GB' },
  password: 'Ada-Password-1!',
} satisfies UserSeed;
const BLOCKED = { email: 'blocked@example.test', blocked: true, password: 'Blocked-Password-1!' } satisfies UserSeed;
const ADA_SUB = `auth0|${ADA.user_id}`;
const SPARSE = { user_id: '60aa00000000000000000002', email: 'sparse@example.test', password: 'Sparse-1!' };
const SECRETS = [
  LOGIN_APP.clientSecret,
  APP_WITHOUT_PASSWORD_GRANT.clientSecret,
  USERS_READER.clientSecret,
  NO_USERS_SCOPE.clientSecret,
  ADA.password,
  BLOCKED.password,
  SPARSE.password,
];

let oldTenant: ManagementApiEmulator;
const configuration: Record<string, string> = {
  OLD_TENANT_DOMAIN: OLD_DOMAIN,
  OLD_CONNECTION,
  OLD_CLIENT_ID: LOGIN_APP.clientId,
  OLD_CLIENT_SECRET: LOGIN_APP.clientSecret,
  OLD_MGMT_CLIENT_ID: USERS_READER.clientId,
  OLD_MGMT_CLIENT_SECRET: USERS_READER.clientSecret,
};

/** An emulator as the old tenant, seeded with this file's users. */
async function startOldTenant(options: Partial<EmulatorOptions> = {}): Promise<ManagementApiEmulator> {
  const emulator = await startManagementApiEmulator({
    domain: OLD_DOMAIN,
    clients: [LOGIN_APP, APP_WITHOUT_PASSWORD_GRANT, USERS_READER, NO_USERS_SCOPE],
    connections: [{ name: OLD_CONNECTION }, { name: OTHER_CONNECTION }],
    // Well above what these tests send, except where one occupies the tenant on purpose.
    ratePerSecond: 1000,
    burst: 1000,
    ...options,
  });
  emulator.addUser(OLD_CONNECTION, ADA);
  emulator.addUser(OLD_CONNECTION, BLOCKED);
  emulator.addUser(OLD_CONNECTION, SPARSE);
  emulator.addUser(OLD_CONNECTION, { email: 'brute@example.test', password: 'Brute-Password-1!' });
  // Two users of OLD_CONNECTION with one email (Auth0 keeps emails unique per connection; a script must not guess).
  emulator.addUser(OLD_CONNECTION, { email: 'twin@example.test', password: 'Twin-1!' });
  emulator.addUser(OLD_CONNECTION, { email: 'twin@example.test', password: 'Twin-2!' });
  // The same person in another connection of the old tenant, and someone only there.
  emulator.addUser(OTHER_CONNECTION, { user_id: 'aaaaaaaaaaaaaaaaaaaaaaaa', email: ADA.email, password: 'Other-1!' });
  emulator.addUser(OTHER_CONNECTION, { email: 'elsewhere@example.test', password: 'Elsewhere-1!' });
  return emulator;
}

/** https://127.0.0.1:<a port nothing listens on>: the old tenant down. */
let unreachable: string;

beforeAll(async () => {
  oldTenant = await startOldTenant();
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  unreachable = `https://127.0.0.1:${(probe.address() as net.AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(async () => {
  await oldTenant?.stop();
});

const target = (emulator = oldTenant): ManagementApiTarget => ({ url: emulator.url, fetch: emulator.fetch });

/** The old tenant as the emulator serves it, except that requests to `path` get this answer instead. */
function answering(path: string, status: number, body: unknown, emulator = oldTenant): ManagementApiTarget {
  return {
    url: emulator.url,
    fetch: ((input: string, init?: RequestInit) =>
      new URL(input).pathname === path
        ? Promise.resolve(
            new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }),
          )
        : emulator.fetch(input, init)) as typeof fetch,
  };
}

// These scripts never call the new tenant's own token endpoint: a closed port, should one ever try.
const NEW_TENANT_TOKEN_URL = 'https://127.0.0.1:1/oauth/token';
const loginScript = (config = configuration, old = target()) =>
  loadAuth0Script('auth0/tenant-to-tenant/login.js', 'login', config, NEW_TENANT_TOKEN_URL, undefined, {
    [OLD_DOMAIN]: old,
  });
const getUserScript = (config = configuration, old = target()) =>
  loadAuth0Script('auth0/tenant-to-tenant/get_user.js', 'getByEmail', config, NEW_TENANT_TOKEN_URL, undefined, {
    [OLD_DOMAIN]: old,
  });

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

/** What both scripts hand Auth0 for ADA: her old id without auth0|, app_metadata as metadata. */
const ADA_PROFILE = {
  user_id: ADA.user_id,
  email: ADA.email,
  email_verified: true,
  username: ADA.username,
  name: ADA.name,
  given_name: ADA.given_name,
  family_name: ADA.family_name,
  nickname: ADA.nickname,
  picture: ADA.picture,
  metadata: ADA.app_metadata,
  user_metadata: ADA.user_metadata,
};

describe('auth0/tenant-to-tenant/login.js', () => {
  it("returns the old user's profile: the same id without auth0|, metadata from app_metadata", async () => {
    const container = loginScript();
    const result = await container.call(ADA.email, ADA.password);
    expect(result).toEqual([null, ADA_PROFILE]);
    // The new tenant stores auth0|<user_id>: the very user_id the old tenant has.
    expect(`auth0|${(result[1] as { user_id: string }).user_id}`).toBe(oldTenant.users(OLD_CONNECTION)[0]!.user_id);
    expect(container.requests).toEqual([
      `https://${OLD_DOMAIN}/oauth/token`,
      `https://${OLD_DOMAIN}/oauth/token`,
      expect.stringMatching(new RegExp(`^https://${OLD_DOMAIN}/api/v2/users/auth0%7C${ADA.user_id}\\?fields=`)),
    ]);
  });

  it('logs in by username too, with the same profile', async () => {
    expect(await loginScript().call(ADA.username, ADA.password)).toEqual([null, ADA_PROFILE]);
  });

  it('leaves out what the old user does not have', async () => {
    const [error, profile] = await loginScript().call(SPARSE.email, SPARSE.password);
    expect(error).toBeNull();
    expect(profile).toEqual({ user_id: SPARSE.user_id, email: SPARSE.email, email_verified: false });
  });

  it('answers WrongUsernameOrPasswordError for a wrong password', async () => {
    const [error] = await loginScript().call(ADA.email, 'not-her-password');
    expect(error).toBeInstanceOf(WrongUsernameOrPasswordError);
    expect((error as WrongUsernameOrPasswordError).userNameOrEmail).toBe(ADA.email);
  });

  it('answers WrongUsernameOrPasswordError for an unknown user, and for a user of another connection', async () => {
    const [unknown] = await loginScript().call('nobody@example.test', 'whatever');
    expect(unknown).toBeInstanceOf(WrongUsernameOrPasswordError);
    const [elsewhere] = await loginScript().call('elsewhere@example.test', 'Elsewhere-1!');
    expect(elsewhere).toBeInstanceOf(WrongUsernameOrPasswordError);
  });

  it('answers WrongUsernameOrPasswordError for an empty password without asking the old tenant', async () => {
    const container = loginScript();
    const [error] = await container.call(ADA.email, '');
    expect(error).toBeInstanceOf(WrongUsernameOrPasswordError);
    expect(container.requests).toEqual([]);
  });

  it('answers UnauthorizedError with a message for the user when the old tenant blocked the user', async () => {
    const [error, profile] = await loginScript().call(BLOCKED.email, BLOCKED.password);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect((error as Error).message).toBe('Your account is blocked. Contact your administrator.');
    expect(profile).toBeUndefined();
  });

  it('answers a plain Error naming the fix when the application lacks the password grant', async () => {
    const [error] = await loginScript(
      settings({
        OLD_CLIENT_ID: APP_WITHOUT_PASSWORD_GRANT.clientId,
        OLD_CLIENT_SECRET: APP_WITHOUT_PASSWORD_GRANT.clientSecret,
      }),
    ).call(ADA.email, ADA.password);
    expectPlainError(error);
    expect(error.message).toBe(
      "The old tenant did not check the password (HTTP 403 unauthorized_client): enable the Password grant type (http://auth0.com/oauth/grant-type/password-realm) for OLD_CLIENT_ID's application in the old tenant (Applications > the application > Advanced Settings > Grant Types)",
    );
  });

  it('answers a plain Error naming both settings when the old tenant refuses the client', async () => {
    const [error] = await loginScript(settings({ OLD_CLIENT_SECRET: 'wrong-client-secret-value' })).call(
      ADA.email,
      ADA.password,
    );
    expectPlainError(error);
    expect(error.message).toMatch(/\(HTTP 401 access_denied\): .* check both settings$/);
    expect(error.message).not.toContain('wrong-client-secret-value');
  });

  it("answers a plain Error, not wrong password, once the old tenant's brute-force protection blocks the user", async () => {
    const container = loginScript();
    // Auth0's threshold: 10 failures for one user from one address (here, as for Auth0's scripts, always the same).
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const [error] = await container.call('brute@example.test', `wrong-${attempt}`);
      expect(error).toBeInstanceOf(WrongUsernameOrPasswordError);
    }
    const [error, profile] = await container.call('brute@example.test', 'Brute-Password-1!');
    expectPlainError(error);
    expect(error.message).toMatch(/^The old tenant did not check the password \(HTTP 429 too_many_attempts\): /);
    expect(error.message).toContain("allow-list this tenant's outbound IP addresses");
    expect(profile).toBeUndefined();
  });

  it('answers a plain Error when the old tenant cannot be reached', async () => {
    const [error] = await loginScript(configuration, { url: unreachable, fetch: oldTenant.fetch }).call(
      ADA.email,
      ADA.password,
    );
    expectPlainError(error);
    expect(error.message).toMatch(/^The old tenant is unavailable: fetch failed \(ECONNREFUSED\)$/);
  });

  it.each([
    [
      503,
      { error: 'temporarily_unavailable', error_description: 'try later' },
      /\(HTTP 503 temporarily_unavailable\)$/,
    ],
    [500, {}, /\(HTTP 500 no error code\)$/],
    [
      429,
      { error: 'too_many_requests', error_description: 'Global limit has been reached' },
      /\(HTTP 429 too_many_requests\): the old tenant's Authentication API rate limit$/,
    ],
    [403, { error: 'mfa_required', mfa_token: 'mfa-token-x' }, /asks for a second factor, which a script cannot give/],
  ])(
    'answers a plain Error, never wrong password, when the token endpoint answers HTTP %i',
    async (status, body, expected) => {
      const [error] = await loginScript(configuration, answering('/oauth/token', status, body)).call(
        ADA.email,
        ADA.password,
      );
      expectPlainError(error);
      expect(error.message).toMatch(/^The old tenant did not check the password \(HTTP /);
      expect(error.message).toMatch(expected);
    },
  );

  it('answers UnauthorizedError asking for a reset when the old tenant found the password in a breach', async () => {
    const body = { error: 'password_leaked', error_description: 'This login has been blocked because ...' };
    const [error] = await loginScript(configuration, answering('/oauth/token', 401, body)).call(
      ADA.email,
      ADA.password,
    );
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect((error as Error).message).toMatch(/Reset your password\.$/);
  });

  it.each([
    ['no id_token', {}],
    ['an id_token that is not a JWT', { id_token: 'opaque' }],
    [
      'an id_token for another application',
      { id_token: unsignedJwt({ iss: `https://${OLD_DOMAIN}/`, aud: 'x', sub: ADA_SUB }) },
    ],
    [
      'an id_token from another issuer',
      { id_token: unsignedJwt({ iss: 'https://elsewhere.auth0.test/', aud: LOGIN_APP.clientId, sub: ADA_SUB }) },
    ],
    [
      'an id_token without sub',
      { id_token: unsignedJwt({ iss: `https://${OLD_DOMAIN}/`, aud: [LOGIN_APP.clientId] }) },
    ],
  ])('passes no profile on for a 200 with %s', async (_, fields) => {
    const container = loginScript(
      configuration,
      answering('/oauth/token', 200, { access_token: 'at', token_type: 'Bearer', expires_in: 60, ...fields }),
    );
    const result = await container.call(ADA.email, ADA.password);
    expect(result).toHaveLength(1);
    expectPlainError(result[0]);
    expect(result[0].message).toMatch(/^The old tenant accepted the password but its answer had no id_token for /);
    expect(container.requests.some((url) => url.includes('/api/v2/'))).toBe(false);
  });

  it('reads the user the id_token names, by an audience list as well', async () => {
    const idToken = unsignedJwt({
      iss: `https://${OLD_DOMAIN}/`,
      aud: ['another-api', LOGIN_APP.clientId],
      sub: `auth0|${SPARSE.user_id}`,
    });
    // The token endpoint's answer is replaced for the password grant only: the Management API token is still real.
    const old: ManagementApiTarget = {
      url: oldTenant.url,
      fetch: ((input: string, init?: RequestInit) =>
        new URL(input).pathname === '/oauth/token' && String(init?.body).includes(PASSWORD_REALM)
          ? Promise.resolve(Response.json({ access_token: 'at', id_token: idToken, expires_in: 60 }))
          : oldTenant.fetch(input, init)) as typeof fetch,
    };
    const [error, profile] = await loginScript(configuration, old).call(ADA.email, ADA.password);
    expect(error).toBeNull();
    expect(profile).toMatchObject({ user_id: SPARSE.user_id, email: SPARSE.email });
  });

  it('answers a plain Error after a right password when the Management API fails', async () => {
    const [error] = await loginScript(
      configuration,
      answering(`/api/v2/users/auth0%7C${ADA.user_id}`, 503, { statusCode: 503, error: 'Service Unavailable' }),
    ).call(ADA.email, ADA.password);
    expectPlainError(error);
    expect(error.message).toBe(
      "Could not read the user from the old tenant: the old tenant's Management API answered HTTP 503 Service Unavailable",
    );
  });

  it('answers a plain Error naming read:users when the Management API token lacks it', async () => {
    const [error] = await loginScript(
      settings({ OLD_MGMT_CLIENT_ID: NO_USERS_SCOPE.clientId, OLD_MGMT_CLIENT_SECRET: NO_USERS_SCOPE.clientSecret }),
    ).call(ADA.email, ADA.password);
    expectPlainError(error);
    expect(error.message).toContain('HTTP 403 insufficient_scope');
    expect(error.message).toContain("give OLD_MGMT_CLIENT_ID's application the read:users permission");
  });

  it('answers a plain Error naming the settings when the Management API token is refused', async () => {
    const [error] = await loginScript(settings({ OLD_MGMT_CLIENT_SECRET: 'wrong-mgmt-secret-value' })).call(
      ADA.email,
      ADA.password,
    );
    expectPlainError(error);
    expect(error.message).toContain(
      "could not get a token for the old tenant's Management API (HTTP 401 access_denied",
    );
    expect(error.message).toContain('check OLD_MGMT_CLIENT_ID, OLD_MGMT_CLIENT_SECRET');
    expect(error.message).not.toContain('wrong-mgmt-secret-value');
  });

  it('costs one Management API token for many logins in one container, even concurrent ones', async () => {
    const container = loginScript();
    const before = oldTenant.issuedTokens.length;
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => container.call(ADA.email, ADA.password)));
    expect(concurrent.every(([error]) => error === null)).toBe(true);
    for (let index = 0; index < 5; index += 1) {
      expect(await container.call(ADA.email, ADA.password)).toEqual([null, ADA_PROFILE]);
    }
    expect(oldTenant.issuedTokens.length - before).toBe(1);
  });

  it('gets one new token and reads again when the Management API refuses the cached one', async () => {
    let refused = 0;
    const old: ManagementApiTarget = {
      url: oldTenant.url,
      fetch: ((input: string, init?: RequestInit) => {
        if (new URL(input).pathname.startsWith('/api/v2/') && refused === 0) {
          refused += 1;
          return Promise.resolve(Response.json({ statusCode: 401, error: 'Unauthorized' }, { status: 401 }));
        }
        return oldTenant.fetch(input, init);
      }) as typeof fetch,
    };
    const before = oldTenant.issuedTokens.length;
    expect(await loginScript(configuration, old).call(ADA.email, ADA.password)).toEqual([null, ADA_PROFILE]);
    expect(refused).toBe(1);
    expect(oldTenant.issuedTokens.length - before).toBe(2);
  });
});

describe('auth0/tenant-to-tenant/get_user.js', () => {
  it('returns the same profile as login.js', async () => {
    const [, fromLogin] = await loginScript().call(ADA.email, ADA.password);
    expect(await getUserScript().call(ADA.email)).toEqual([null, fromLogin]);
    expect(fromLogin).toEqual(ADA_PROFILE);
  });

  it("asks in lower case (Auth0 keeps database users' emails so) and ignores the other connection's user", async () => {
    const container = getUserScript();
    expect(await container.call('Ada@Example.TEST')).toEqual([null, ADA_PROFILE]);
    expect(container.requests.at(-1)).toMatch(/\/api\/v2\/users-by-email\?email=ada%40example\.test&fields=/);
  });

  it('calls back with nothing for an email nobody has, and for one only another connection has', async () => {
    expect(await getUserScript().call('nobody@example.test')).toEqual([null]);
    expect(await getUserScript().call('elsewhere@example.test')).toEqual([null]);
  });

  it('answers a plain Error, never the first one, for two users of the connection with one email', async () => {
    const result = await getUserScript().call('twin@example.test');
    expect(result).toHaveLength(1);
    expectPlainError(result[0]);
    expect(result[0].message).toBe(
      'The old tenant holds 2 users with this email in OLD_CONNECTION "Old-Users"; none was passed to Auth0',
    );
  });

  it('answers a plain Error for a user blocked in the old tenant', async () => {
    const result = await getUserScript().call(BLOCKED.email);
    expect(result).toHaveLength(1);
    expectPlainError(result[0]);
    expect(result[0].message).toMatch(/^This user is blocked in the old tenant; no profile was passed to Auth0/);
  });

  it('answers a plain Error, not "not found", when the old tenant cannot be reached', async () => {
    const result = await getUserScript(configuration, { url: unreachable, fetch: oldTenant.fetch }).call(ADA.email);
    expect(result).toHaveLength(1);
    expectPlainError(result[0]);
    expect(result[0].message).toMatch(/^Could not look the user up in the old tenant: .*\(ECONNREFUSED\)/);
  });

  it.each([
    [500, { statusCode: 500, error: 'Internal Server Error' }, /HTTP 500 Internal Server Error$/],
    [200, { users: [] }, /HTTP 200 no error code$/],
  ])('answers a plain Error, not "not found", for users-by-email answering HTTP %i', async (status, body, expected) => {
    const result = await getUserScript(configuration, answering('/api/v2/users-by-email', status, body)).call(
      ADA.email,
    );
    expect(result).toHaveLength(1);
    expectPlainError(result[0]);
    expect(result[0].message).toMatch(expected);
  });

  it('costs one Management API token for many calls in one container', async () => {
    const container = getUserScript();
    const before = oldTenant.issuedTokens.length;
    await Promise.all(Array.from({ length: 5 }, () => container.call(ADA.email)));
    expect(await container.call('nobody@example.test')).toEqual([null]);
    expect(oldTenant.issuedTokens.length - before).toBe(1);
  });
});

describe("the old tenant's Management API rate limit", () => {
  it.each([
    ['login.js', (config: Record<string, string>, old: ManagementApiTarget) => loginScript(config, old), ADA.password],
    [
      'get_user.js',
      (config: Record<string, string>, old: ManagementApiTarget) => getUserScript(config, old),
      undefined,
    ],
  ])('%s answers a 429 with a plain Error and sends nothing before the announced reset', async (_, load, password) => {
    // A slow refill, so that the reset the 429 announces is seconds away, well after the second run.
    const busy = await startOldTenant({ ratePerSecond: 0.1, burst: 2 });
    try {
      busy.occupyTenant(60_000);
      const container = load(configuration, target(busy));
      const run = () => (password === undefined ? container.call(ADA.email) : container.call(ADA.email, password));
      const [first] = await run();
      expectPlainError(first);
      expect(first.message).toMatch(/Management API answered HTTP 429 .*\(the old tenant's rate limit/);
      const sent = busy.requests.length;
      const [second] = await run();
      expectPlainError(second);
      expect(second.message).toMatch(/rate limit was reached \(HTTP 429\); nothing is sent to it before \d{4}-/);
      expect(busy.requests.length).toBe(sent);
      expect(busy.impatientRequests).toBe(0);
    } finally {
      await busy.stop();
    }
  });
});

const SCRIPTS = [
  {
    file: 'auth0/tenant-to-tenant/login.js',
    load: (config: Record<string, string>) => loginScript(config),
    run: (container: ScriptContainer) => container.call(ADA.email, ADA.password),
  },
  {
    file: 'auth0/tenant-to-tenant/get_user.js',
    load: (config: Record<string, string>) => getUserScript(config),
    run: (container: ScriptContainer) => container.call(ADA.email),
  },
];

describe.each(SCRIPTS)('$file settings', ({ load, run }) => {
  it.each([
    ['OLD_TENANT_DOMAIN missing', { OLD_TENANT_DOMAIN: undefined }, /: OLD_TENANT_DOMAIN is missing$/],
    ['OLD_CONNECTION blank', { OLD_CONNECTION: '  ' }, /: OLD_CONNECTION is missing$/],
    ['OLD_CLIENT_ID missing', { OLD_CLIENT_ID: undefined }, /: OLD_CLIENT_ID is missing$/],
    ['OLD_CLIENT_SECRET missing', { OLD_CLIENT_SECRET: undefined }, /: OLD_CLIENT_SECRET is missing$/],
    ['OLD_MGMT_CLIENT_ID empty', { OLD_MGMT_CLIENT_ID: '' }, /: OLD_MGMT_CLIENT_ID is missing$/],
    ['OLD_MGMT_CLIENT_SECRET missing', { OLD_MGMT_CLIENT_SECRET: undefined }, /: OLD_MGMT_CLIENT_SECRET is missing$/],
    [
      'OLD_TENANT_DOMAIN given as a URL',
      { OLD_TENANT_DOMAIN: `https://${OLD_DOMAIN}/` },
      /OLD_TENANT_DOMAIN is "https:\/\/old-tenant\.eu\.auth0\.test\/"; expected the old tenant's own domain name alone/,
    ],
    [
      'OLD_TENANT_DOMAIN with a port',
      { OLD_TENANT_DOMAIN: `${OLD_DOMAIN}:8443` },
      /OLD_TENANT_DOMAIN is "old-tenant\.eu\.auth0\.test:8443"; expected/,
    ],
    [
      'OLD_CONNECTION with a space',
      { OLD_CONNECTION: 'Old Users' },
      /OLD_CONNECTION is "Old Users"; expected the old tenant's database connection name/,
    ],
    ['OLD_CONNECTION ending in a hyphen', { OLD_CONNECTION: 'Old-' }, /OLD_CONNECTION is "Old-"; expected/],
    ['OLD_CONNECTION of 129 characters', { OLD_CONNECTION: 'a'.repeat(129) }, /OLD_CONNECTION is "a{129}"; expected/],
    [
      'a non-numeric OLD_TENANT_TIMEOUT_MS',
      { OLD_TENANT_TIMEOUT_MS: '15s' },
      /OLD_TENANT_TIMEOUT_MS is "15s"; expected a whole number of milliseconds from 1000 to 19000/,
    ],
    ['OLD_TENANT_TIMEOUT_MS below 1000', { OLD_TENANT_TIMEOUT_MS: '999' }, /OLD_TENANT_TIMEOUT_MS is "999"; expected/],
    [
      'OLD_TENANT_TIMEOUT_MS above 19000',
      { OLD_TENANT_TIMEOUT_MS: '19001' },
      /OLD_TENANT_TIMEOUT_MS is "19001"; expected/,
    ],
  ])('answers a plain Error naming the setting, and sends nothing, for %s', async (_, changes, expected) => {
    const container = load(settings(changes));
    const [error, profile] = await run(container);
    expectPlainError(error);
    expect(error.message).toMatch(
      /^The old-tenant settings of this connection are invalid \(Custom Database > Settings\): /,
    );
    expect(error.message).toMatch(expected);
    expect(profile).toBeUndefined();
    expect(container.requests).toEqual([]);
  });

  it('names every bad setting in one message', async () => {
    const [error] = await run(
      load(settings({ OLD_CLIENT_ID: undefined, OLD_TENANT_DOMAIN: 'old tenant', OLD_TENANT_TIMEOUT_MS: 'x' })),
    );
    expectPlainError(error);
    expect(error.message).toContain('OLD_CLIENT_ID is missing; OLD_TENANT_DOMAIN is "old tenant"');
    expect(error.message).toContain('; OLD_TENANT_TIMEOUT_MS is "x"');
  });

  it.each([
    ['OLD_TENANT_DOMAIN', LOGIN_APP.clientSecret, 'OLD_CLIENT_SECRET'],
    ['OLD_CONNECTION', `x_${USERS_READER.clientSecret}`, 'OLD_MGMT_CLIENT_SECRET'],
    ['OLD_TENANT_TIMEOUT_MS', USERS_READER.clientSecret, 'OLD_MGMT_CLIENT_SECRET'],
  ])('never quotes a client secret pasted into %s', async (key, value, holder) => {
    const [error] = await run(load(settings({ [key]: value })));
    expectPlainError(error);
    expect(error.message).toContain(`${key} is (a value containing ${holder}); expected`);
    for (const secret of SECRETS) expect(error.message).not.toContain(secret);
  });

  it('accepts OLD_TENANT_DOMAIN in capitals and OLD_TENANT_TIMEOUT_MS with spaces', async () => {
    const [error, profile] = await run(
      load(settings({ OLD_TENANT_DOMAIN: OLD_DOMAIN.toUpperCase(), OLD_TENANT_TIMEOUT_MS: ' 19000 ' })),
    );
    expect(error).toBeNull();
    expect(profile).toEqual(ADA_PROFILE);
  });
});

describe('the two scripts', () => {
  it('share their settings, profile and Management API helpers word for word (Auth0 scripts cannot import code)', () => {
    const sharedPart = (file: string) => {
      const text = readFileSync(file, 'utf8');
      return text.slice(text.indexOf('\n', text.indexOf('// ---- shared with ')));
    };
    expect(sharedPart('auth0/tenant-to-tenant/get_user.js')).toBe(sharedPart('auth0/tenant-to-tenant/login.js'));
    expect(sharedPart('auth0/tenant-to-tenant/login.js')).toContain('function managementToken(deadline)');
  });

  it('put no secret, password or token in any answer or log line', async () => {
    const containers: ScriptContainer[] = [];
    const answers: unknown[][] = [];
    const login = async (container: ScriptContainer, user: string, password: string) => {
      containers.push(container);
      answers.push(await container.call(user, password));
    };
    const getUser = async (container: ScriptContainer, email: string) => {
      containers.push(container);
      answers.push(await container.call(email));
    };
    await login(loginScript(), ADA.email, ADA.password);
    await login(loginScript(), ADA.email, SPARSE.password);
    await login(loginScript(), BLOCKED.email, BLOCKED.password);
    await login(loginScript(settings({ OLD_CLIENT_SECRET: `${LOGIN_APP.clientSecret}-x` })), ADA.email, ADA.password);
    await login(
      loginScript(settings({ OLD_MGMT_CLIENT_SECRET: `${USERS_READER.clientSecret}-x` })),
      ADA.email,
      ADA.password,
    );
    await login(loginScript(configuration, answering('/oauth/token', 503, {})), ADA.email, ADA.password);
    await login(loginScript(settings({ OLD_CONNECTION: LOGIN_APP.clientSecret })), ADA.email, ADA.password);
    await getUser(getUserScript(), ADA.email);
    await getUser(getUserScript(), 'twin@example.test');
    await getUser(getUserScript(settings({ OLD_TENANT_DOMAIN: USERS_READER.clientSecret })), ADA.email);
    await getUser(getUserScript(settings({ OLD_MGMT_CLIENT_ID: NO_USERS_SCOPE.clientId })), ADA.email);

    const written = JSON.stringify(
      answers.map((answer) => answer.map((item) => (item instanceof Error ? `${item.name}: ${item.message}` : item))),
    );
    const logged = containers.flatMap((container) => container.logs).join('\n');
    expect(written).toContain('HTTP 503');
    const forbidden = [...SECRETS, ...oldTenant.issuedTokens, ...oldTenant.issuedUserTokens];
    expect(oldTenant.issuedUserTokens.length).toBeGreaterThan(0);
    for (const secret of forbidden) {
      expect(written).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
  });
});

/** A JWT with these claims and no valid signature: what a script that does not verify signatures would accept. */
function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}
