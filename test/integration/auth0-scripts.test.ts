// auth0/login.js and auth0/get_user.js, run as Auth0 runs them, against the local server, the
// shared slapd and a local token issuer standing in for the tenant.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, SPARSE_USER } from '../support/fixtures.ts';
import { loadAuth0Script, UnauthorizedError, WrongUsernameOrPasswordError } from '../support/auth0-sandbox.ts';
import { startTestStack, TEST_AUDIENCE, TEST_CLIENT, type TestStack } from '../support/stack.ts';
import { startStandInBridge } from '../support/stand-in-bridge.ts';

const alice = DEMO_USERS[0]!;
let stack: TestStack;
let configuration: Record<string, string>;

beforeAll(async () => {
  stack = await startTestStack();
  configuration = {
    AUTH0_DOMAIN: 'tenant.auth0.test',
    BRIDGE_CLIENT_ID: TEST_CLIENT.clientId,
    BRIDGE_CLIENT_SECRET: TEST_CLIENT.clientSecret,
    BRIDGE_AUDIENCE: TEST_AUDIENCE,
    BRIDGE_URL: `${stack.url}/`,
  };
});
afterAll(async () => {
  await stack?.stop();
});

const loginScript = (config = configuration) =>
  loadAuth0Script('auth0/login.js', 'login', config, stack.issuer.tokenUrl);
const getUserScript = (config = configuration) =>
  loadAuth0Script('auth0/get_user.js', 'getByEmail', config, stack.issuer.tokenUrl);

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
    expect(sharedPart('auth0/login.js')).toContain('function accessToken(deadline)');
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
