// The HTTP contract of DESIGN.md, end to end: the local server (production composition), a real
// slapd over LDAPS with a private CA, and tokens from a local issuer.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, base64url } from 'jose';
import {
  DEMO_USERS,
  DUPLICATE_MAIL,
  INJECTION_TARGET,
  MULTI_VALUE_USER,
  SPARSE_USER,
  SPECIAL_USER,
} from '../support/fixtures.ts';
import {
  FOREIGN_CLIENT,
  READ_ONLY_CLIENT,
  startTestStack,
  TEST_AUDIENCE,
  TEST_CLIENT,
  type TestStack,
} from '../support/stack.ts';

const alice = DEMO_USERS[0]!;
const bob = DEMO_USERS[1]!;
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    LDAP_PROFILE_MAPPING: JSON.stringify({
      user_metadata: { phone: 'telephoneNumber' },
      app_metadata: { employee_number: 'employeeNumber' },
    }),
    LDAP_USER_ID_PREFIX: 'corp-',
  });
});
afterAll(async () => {
  await stack?.stop();
});

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe('POST /login', () => {
  it('answers 200 with the profile for the right password', async () => {
    const response = await stack.post('/login', { username: alice.uid, password: alice.password });
    expect(response.status).toBe(200);
    const profile = await json(response);
    expect(profile).toEqual({
      user_id: expect.stringMatching(/^corp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      email: alice.mail,
      email_verified: false,
      username: 'alice',
      name: 'Alice Anderson',
      given_name: 'Alice',
      family_name: 'Anderson',
      nickname: 'alice',
      app_metadata: {
        dn: 'uid=alice,ou=people,dc=example,dc=test',
        groups: ['engineering', 'staff'],
        employee_number: '1001',
      },
    });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('logs in by email as well as by uid, to the same user_id', async () => {
    const byUid = await json(await stack.post('/login', { username: alice.uid, password: alice.password }));
    const byMail = await json(await stack.post('/login', { username: alice.mail, password: alice.password }));
    expect(byMail.user_id).toBe(byUid.user_id);
  });

  it('answers byte-identical 401 invalid_credentials for an unknown user and a wrong password', async () => {
    const wrongPassword = await stack.post('/login', { username: alice.uid, password: 'not-her-password' });
    const unknownUser = await stack.post('/login', { username: 'no-such-user', password: 'whatever-password' });
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    const [a, b] = [await wrongPassword.text(), await unknownUser.text()];
    expect(a).toBe('{"error":"invalid_credentials"}');
    expect(b).toBe(a);
  });

  it.each([' ', '   ', '\t', '\n \t'])(
    'answers 401 for a whitespace-only password %j before any bind',
    async (password) => {
      const response = await stack.post('/login', { username: alice.uid, password });
      expect(response.status).toBe(401);
      expect(await response.text()).toBe('{"error":"invalid_credentials"}');
      const line = stack.logs.find((entry) => entry.includes(response.headers.get('x-request-id')!));
      // No search happened, so the log has no user DN.
      expect(line).not.toContain('user_dn');
    },
  );

  it('answers 400 for an empty password (the schema demands one character)', async () => {
    const response = await stack.post('/login', { username: alice.uid, password: '' });
    expect(response.status).toBe(400);
    expect(await json(response)).toEqual({
      error: 'invalid_request',
      field: 'password',
      error_description: 'must be at least 1 character(s)',
    });
  });

  it('logs in a user whose uid holds * ( ) \\ , and non-ASCII characters, with a password with spaces', async () => {
    const response = await stack.post('/login', { username: SPECIAL_USER.uid, password: SPECIAL_USER.password });
    expect(response.status).toBe(200);
    const profile = await json(response);
    expect(profile.username).toBe(SPECIAL_USER.uid);
    expect(profile.name).toBe('Zoë Ömer-Łukasz');
    expect((profile.app_metadata as Record<string, unknown>).groups).toEqual(['Sales, EMEA']);
  });

  it('does not trim the password: a trailing space is part of it', async () => {
    const response = await stack.post('/login', {
      username: SPECIAL_USER.uid,
      password: SPECIAL_USER.password.trimEnd(),
    });
    expect(response.status).toBe(401);
  });

  it('answers 500 internal_error with a request id when two entries match, and never picks one', async () => {
    const response = await stack.post('/login', { username: DUPLICATE_MAIL, password: 'twin-password-1' });
    expect(response.status).toBe(500);
    const body = await json(response);
    expect(body).toEqual({ error: 'internal_error', request_id: response.headers.get('x-request-id') });
    expect(stack.logs.join('\n')).toContain('more than one directory entry matches');
  });
});

describe('POST /get-user', () => {
  it('answers the same profile as /login, byte for byte', async () => {
    const login = await (await stack.post('/login', { username: bob.uid, password: bob.password })).text();
    const getUser = await (await stack.post('/get-user', { username: bob.mail })).text();
    expect(getUser).toBe(login);
  });

  it('answers 404 user_not_found for an unknown user', async () => {
    const response = await stack.post('/get-user', { username: 'ghost@example.test' });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('{"error":"user_not_found"}');
  });

  it('omits absent attributes instead of sending "" or []', async () => {
    const profile = await json(await stack.post('/get-user', { username: SPARSE_USER.uid }));
    expect(profile).not.toHaveProperty('email');
    expect(profile).not.toHaveProperty('email_verified');
    expect(profile).not.toHaveProperty('given_name');
    expect(profile).not.toHaveProperty('user_metadata');
    expect(profile.app_metadata).toEqual({ dn: 'uid=sparse,ou=people,dc=example,dc=test' });
  });

  it('keeps every value of a multi-valued attribute mapped into metadata', async () => {
    const profile = await json(await stack.post('/get-user', { username: MULTI_VALUE_USER.uid }));
    expect(profile.user_metadata).toEqual({ phone: ['+1 555 0100', '+1 555 0101'] });
    expect((profile.app_metadata as Record<string, unknown>).employee_number).toBe('7');
  });
});

describe('LDAP filter injection', () => {
  const injections = [
    '*',
    'admin*',
    '*)(uid=*',
    'admin)(|(uid=*',
    '*)(|(objectClass=*))',
    'admin)(&)',
    '\\2a',
    'adm\\69n',
    '(uid=admin)',
    'a*m*i*n',
    '*@example.test',
  ];

  it.each(injections)('finds nobody for %j on /get-user', async (username) => {
    const response = await stack.post('/get-user', { username });
    expect(response.status).toBe(404);
  });

  it.each(['admin\u0000', 'admin\n', 'ad\u001bmin', 'admin\u007f'])(
    'refuses %j with 400 before the directory: some servers end a value at NUL',
    async (username) => {
      for (const [path, body] of [
        ['/login', { username, password: INJECTION_TARGET.password }],
        ['/get-user', { username }],
      ] as const) {
        const response = await stack.post(path, body);
        expect(response.status).toBe(400);
        expect(await response.json()).toEqual({
          error: 'invalid_request',
          field: 'username',
          error_description: 'must not contain control characters',
        });
      }
    },
  );

  it.each(injections)("answers 401 for %j on /login with the target user's password", async (username) => {
    const response = await stack.post('/login', { username, password: INJECTION_TARGET.password });
    expect(response.status).toBe(401);
  });
});

describe('hostile and malformed requests', () => {
  it('answers 400 naming username for a 10 kB username, without echoing it', async () => {
    const response = await stack.post('/login', { username: 'u'.repeat(10_000), password: 'x' });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      error: 'invalid_request',
      field: 'username',
      error_description: 'must be at most 256 characters',
    });
  });

  it('answers 400 for a password over 1024 characters, without echoing it', async () => {
    const password = `secret-${'p'.repeat(1100)}`;
    const response = await stack.post('/login', { username: 'alice', password });
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain('secret-');
  });

  it('counts characters, not bytes: 256 non-ASCII characters are a valid username', async () => {
    const response = await stack.post('/get-user', { username: 'é'.repeat(256) });
    expect(response.status).toBe(404);
  });

  it('answers 413 for a 1 MB body', async () => {
    const response = await stack.post('/login', JSON.stringify({ username: 'alice', password: 'p'.repeat(1_000_000) }));
    expect(response.status).toBe(413);
    expect((await json(response)).error).toBe('payload_too_large');
  });

  it('answers 413 for a 1 MB body sent without Content-Length (chunked)', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 16) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const token = await stack.issuer.mint({ clientId: TEST_CLIENT.clientId });
    const response = await fetch(`${stack.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
  });

  it.each([
    ['not JSON', 'username=alice&password=x', 'body', 'is not valid JSON'],
    ['a JSON array', '[]', 'body', 'must be a JSON object'],
    ['JSON null', 'null', 'body', 'must be a JSON object'],
    ['a JSON string', '"alice"', 'body', 'must be a JSON object'],
    ['a number as username', '{"username":42,"password":"x"}', 'username', 'must be a string'],
    ['an object as password', '{"username":"alice","password":{"$ne":1}}', 'password', 'must be a string'],
    ['no username', '{"password":"x"}', 'username', 'is required'],
    ['no password', '{"username":"alice"}', 'password', 'is required'],
    ['an extra field', '{"username":"alice","password":"x","admin":true}', 'body', 'unknown field "admin"'],
    ['a prototype key', '{"username":"alice","password":"x","__proto__":{"a":1}}', 'body', 'unknown field "__proto__"'],
    ['truncated JSON', '{"username":"alice","password":"x"', 'body', 'is not valid JSON'],
  ])('answers 400 for %s', async (_name, body, field, reason) => {
    const response = await stack.post('/login', body);
    expect(response.status).toBe(400);
    expect(await json(response)).toEqual({ error: 'invalid_request', field, error_description: reason });
  });

  it('does not quote a password from a body that is not valid JSON', async () => {
    const response = await stack.post('/login', '{"username":"alice","password":"hunter2-secret"');
    expect(await response.text()).not.toContain('hunter2');
  });

  it('answers 415 when the body is not declared as JSON', async () => {
    const response = await stack.post('/login', JSON.stringify({ username: 'alice', password: 'x' }), {
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(415);
  });

  it('answers 405 with Allow: POST for GET on a route', async () => {
    const response = await fetch(`${stack.url}/login`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('answers 404 not_found for any other path', async () => {
    const response = await stack.post('/admin', {});
    expect(response.status).toBe(404);
    expect((await json(response)).error).toBe('not_found');
  });
});

describe('access tokens', () => {
  async function expectInvalidToken(token: string | null, route = '/get-user') {
    const response = await stack.post(route, { username: alice.uid }, { token });
    expect(response.status).toBe(401);
    expect(await response.text()).toBe('{"error":"invalid_token"}');
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  }

  it('answers 401 without an Authorization header', async () => {
    await expectInvalidToken(null);
  });

  it('answers 401 for a Basic Authorization header', async () => {
    const response = await stack.post(
      '/get-user',
      { username: alice.uid },
      { token: null, headers: { authorization: 'Basic YWxpY2U6eA==' } },
    );
    expect(response.status).toBe(401);
  });

  it('answers 401 for two Authorization headers, even when one of them is valid', async () => {
    const valid = await stack.issuer.mint();
    for (const pair of [
      [`Bearer ${valid}`, 'Bearer forged.token.here'],
      ['Bearer forged.token.here', `Bearer ${valid}`],
      [`Bearer ${valid}`, `Bearer ${valid}`],
    ]) {
      // setHeader with an array sends Authorization twice, which fetch cannot do.
      const status = await new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ username: alice.uid });
        const request = http.request(
          `${stack.url}/get-user`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.setHeader('authorization', pair);
        request.once('error', reject);
        request.end(body);
      });
      expect(status).toBe(401);
    }
  });

  it('routes by the path alone: a query string changes nothing', async () => {
    const response = await stack.post('/get-user?username=bob', { username: alice.uid });
    expect(response.status).toBe(200);
    expect((await json(response)).username).toBe(alice.uid);
  });

  it('answers 401 for garbage', async () => {
    await expectInvalidToken('not.a.jwt');
  });

  it('answers 401 for alg "none"', async () => {
    const valid = await stack.issuer.mint();
    const [, payload] = valid.split('.');
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    await expectInvalidToken(`${header}.${payload}.`);
  });

  it('answers 401 for HS256 signed with the issuer public key as the secret', async () => {
    const jwks = (await (await fetch(stack.issuer.jwksUrl)).json()) as { keys: Array<Record<string, string>> };
    const publicJwk = jwks.keys[0]!;
    const valid = await stack.issuer.mint();
    const claims = JSON.parse(Buffer.from(valid.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid }).sign(secret);
    await expectInvalidToken(forged);
  });

  it('answers 401 for a token signed by another key with the issuer kid', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const jwks = (await (await fetch(stack.issuer.jwksUrl)).json()) as { keys: Array<Record<string, string>> };
    const valid = await stack.issuer.mint();
    const claims = JSON.parse(Buffer.from(valid.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: jwks.keys[0]!.kid })
      .sign(privateKey);
    await expectInvalidToken(forged);
  });

  it('answers 401 for a token whose key is embedded in its own header (jwk)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const valid = await stack.issuer.mint();
    const claims = JSON.parse(Buffer.from(valid.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(publicKey) })
      .sign(privateKey);
    await expectInvalidToken(forged);
  });

  it('answers 401 for an expired token', async () => {
    await expectInvalidToken(await stack.issuer.mint({ expiresInSeconds: -120 }));
  });

  it('accepts a token that expired within the clock tolerance', async () => {
    const response = await stack.post(
      '/get-user',
      { username: alice.uid },
      { token: await stack.issuer.mint({ expiresInSeconds: -5 }) },
    );
    expect(response.status).toBe(200);
  });

  it('answers 401 for a token without exp', async () => {
    await expectInvalidToken(await stack.issuer.mint({ claims: { exp: undefined } }));
  });

  it('answers 401 for a token not yet valid (nbf in the future)', async () => {
    await expectInvalidToken(await stack.issuer.mint({ claims: { nbf: Math.floor(Date.now() / 1000) + 600 } }));
  });

  it('answers 401 for a token issued in the future (iat beyond the clock tolerance)', async () => {
    await expectInvalidToken(await stack.issuer.mint({ claims: { iat: Math.floor(Date.now() / 1000) + 600 } }));
  });

  it('answers 401 for a wrong issuer, including a missing trailing slash', async () => {
    await expectInvalidToken(await stack.issuer.mint({ claims: { iss: 'https://evil.example/' } }));
    await expectInvalidToken(await stack.issuer.mint({ claims: { iss: stack.issuer.issuer.replace(/\/$/, '') } }));
  });

  it('answers 401 for a wrong audience', async () => {
    await expectInvalidToken(await stack.issuer.mint({ claims: { aud: 'https://other-api.test/' } }));
  });

  it('answers 401 for a user token (gty password) and a token without gty', async () => {
    await expectInvalidToken(await stack.issuer.mint({ claims: { gty: 'password' } }));
    await expectInvalidToken(await stack.issuer.mint({ claims: { gty: undefined } }));
  });

  it('answers 401 when sub is not azp@clients (a user token with the client as azp)', async () => {
    await expectInvalidToken(await stack.issuer.mint({ claims: { sub: 'auth0|5f7c8ec7c33c6c004bbafe82' } }));
  });

  it('answers 401 for a client that is not allowed', async () => {
    await expectInvalidToken(await stack.issuer.mint({ clientId: FOREIGN_CLIENT.clientId }));
  });

  it('answers 403 insufficient_scope when a users:read token calls /login', async () => {
    const token = await stack.issuer.mint({ clientId: READ_ONLY_CLIENT.clientId });
    const response = await stack.post('/login', { username: alice.uid, password: alice.password }, { token });
    expect(response.status).toBe(403);
    expect(await json(response)).toEqual({ error: 'insufficient_scope' });
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="users:login"');
    expect((await stack.post('/get-user', { username: alice.uid }, { token })).status).toBe(200);
  });

  it('checks the token before the body: a bad token with a bad body is 401, not 400', async () => {
    const response = await stack.post('/login', '{not json', { token: 'garbage' });
    expect(response.status).toBe(401);
  });

  it('accepts a token from the token endpoint as Auth0 issues it', async () => {
    const tokenResponse = await fetch(stack.issuer.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: TEST_CLIENT.clientId,
        client_secret: TEST_CLIENT.clientSecret,
        audience: TEST_AUDIENCE,
      }),
    });
    const { access_token } = (await tokenResponse.json()) as { access_token: string };
    expect((await stack.post('/get-user', { username: alice.uid }, { token: access_token })).status).toBe(200);
  });
});

describe('secrets never reach logs or responses', () => {
  it('logs no password, token, Authorization header or bind credential', async () => {
    const token = await stack.issuer.mint();
    const secrets = [
      alice.password,
      'wrong-password-canary-3141',
      token,
      stack.config.directory.bindCredentials.kind === 'static' ? stack.config.directory.bindCredentials.password : 'x',
      TEST_CLIENT.clientSecret,
    ];
    await stack.post('/login', { username: alice.uid, password: alice.password }, { token });
    await stack.post('/login', { username: alice.uid, password: 'wrong-password-canary-3141' }, { token });
    await stack.post('/login', { username: 'wrong-password-canary-3141', password: alice.password }, { token });
    await stack.post('/login', '{"password":"wrong-password-canary-3141"', { token });
    await stack.post('/get-user', { username: alice.uid }, { token: `${token}x` });
    const logs = stack.logs.join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(logs).not.toContain(secret);
    // Nor the signature part of the token alone.
    expect(logs).not.toContain(token.split('.')[2]!);
  });

  it('writes one JSON log line per request with its request id, route, status and client', async () => {
    const response = await stack.post('/get-user', { username: alice.uid });
    const id = response.headers.get('x-request-id')!;
    const line = stack.logs.find((entry) => entry.includes(id));
    expect(JSON.parse(line!)).toMatchObject({
      level: 'info',
      request_id: id,
      route: 'get-user',
      status: 200,
      client_id: TEST_CLIENT.clientId,
      user_dn: 'uid=alice,ou=people,dc=example,dc=test',
    });
  });
});
