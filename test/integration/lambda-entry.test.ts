// The Lambda entry points: the login / get-user handler fed API Gateway proxy events (against
// the shared slapd), and the TOKEN authorizer verifying real tokens from a local issuer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DEMO_USERS } from '../support/fixtures.ts';
import { directoryEnv, FOREIGN_CLIENT, READ_ONLY_CLIENT, TEST_AUDIENCE, TEST_CLIENT } from '../support/stack.ts';
import { startDevTokenIssuer, type DevTokenIssuer } from '../../dev/dev-token-issuer.ts';
import { authorize, routeArn, type AuthorizerDeps } from '../../lambdas/entry/authorizer.ts';
import { JwksAccessTokenVerifier } from '../../lambdas/adapters/jwks-token-verifier.ts';

const alice = DEMO_USERS[0]!;
const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/login';
let issuer: DevTokenIssuer;

beforeAll(async () => {
  issuer = await startDevTokenIssuer({
    audience: TEST_AUDIENCE,
    clients: [TEST_CLIENT, READ_ONLY_CLIENT, FOREIGN_CLIENT],
  });
  Object.assign(process.env, directoryEnv(), {
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: TEST_AUDIENCE,
    AUTH_ALLOWED_CLIENT_IDS: `${TEST_CLIENT.clientId},${READ_ONLY_CLIENT.clientId}`,
    LOG_LEVEL: 'error',
  });
});
afterAll(async () => {
  await issuer?.stop();
});

function proxyEvent(
  resource: string,
  body: unknown,
  authorizer: Record<string, unknown> | null,
  base64 = false,
): APIGatewayProxyEvent {
  const text = JSON.stringify(body);
  return {
    resource,
    path: `/prod${resource}`,
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: { 'Content-Type': ['application/json'] },
    body: base64 ? Buffer.from(text).toString('base64') : text,
    isBase64Encoded: base64,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: { requestId: 'apigw-request-1', authorizer } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

describe('login / get-user Lambda handler', () => {
  const context = {
    clientId: TEST_CLIENT.clientId,
    scope: 'users:login users:read',
    expiresAt: 2_000_000_000,
    principalId: TEST_CLIENT.clientId,
  };

  it('answers the profile for a proxy event the authorizer allowed, with API Gateway request id', async () => {
    const { handler } = await import('../../lambdas/entry/lambda.ts');
    const result = await handler(proxyEvent('/login', { username: alice.uid, password: alice.password }, context));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({
      username: 'alice',
      app_metadata: { groups: ['engineering', 'staff'] },
    });
    expect(result.headers?.['x-request-id']).toBe('apigw-request-1');
  });

  it('reads base64-encoded bodies and gives /get-user the same profile as /login', async () => {
    const { handler } = await import('../../lambdas/entry/lambda.ts');
    const login = await handler(proxyEvent('/login', { username: alice.uid, password: alice.password }, context));
    const getUser = await handler(proxyEvent('/get-user', { username: alice.mail }, context, true));
    expect(getUser.body).toBe(login.body);
  });

  it('refuses a request without authorizer context (an API deployed without the authorizer)', async () => {
    const { handler } = await import('../../lambdas/entry/lambda.ts');
    const result = await handler(proxyEvent('/get-user', { username: alice.uid }, null));
    expect(result.statusCode).toBe(401);
  });

  it('hands the core lower-cased headers, repeated values joined, names like __proto__ kept as headers', async () => {
    const { toBridgeRequest } = await import('../../lambdas/entry/lambda.ts');
    const event = proxyEvent('/login', {}, null);
    event.multiValueHeaders = Object.fromEntries([
      ['Content-Type', ['application/json']],
      ['X-Forwarded-For', ['198.51.100.1', '203.0.113.9']],
      ['__proto__', ['x']],
    ]);
    event.headers = { 'Content-Type': 'application/json', 'X-Only-Single': 'yes' };
    const request = toBridgeRequest(event);
    expect({ ...request.headers }).toEqual(
      Object.fromEntries([
        ['content-type', 'application/json'],
        ['x-forwarded-for', '198.51.100.1, 203.0.113.9'],
        ['__proto__', 'x'],
        ['x-only-single', 'yes'],
      ]),
    );
    expect(Object.hasOwn(request.headers, '__proto__')).toBe(true);
    expect(request).toMatchObject({ method: 'POST', path: '/login' });
  });

  it("refuses a token that expired since the authorizer's answer was cached, within the clock tolerance", async () => {
    const { handler } = await import('../../lambdas/entry/lambda.ts');
    const now = Math.floor(Date.now() / 1000);
    // AUTH_CLOCK_TOLERANCE_SECONDS is 30 by default.
    const expired = await handler(
      proxyEvent('/get-user', { username: alice.uid }, { ...context, expiresAt: now - 60 }),
    );
    expect(expired.statusCode).toBe(401);
    expect(JSON.parse(expired.body)).toEqual({ error: 'invalid_token' });
    const withinTolerance = await handler(
      proxyEvent('/get-user', { username: alice.uid }, { ...context, expiresAt: now - 5 }),
    );
    expect(withinTolerance.statusCode).toBe(200);
    const noExpiry = await handler(
      proxyEvent('/get-user', { username: alice.uid }, { ...context, expiresAt: undefined }),
    );
    expect(noExpiry.statusCode).toBe(401);
  });

  it('re-checks the route scope from the authorizer context', async () => {
    const { handler } = await import('../../lambdas/entry/lambda.ts');
    const result = await handler(
      proxyEvent('/login', { username: alice.uid, password: alice.password }, { ...context, scope: 'users:read' }),
    );
    expect(result.statusCode).toBe(403);
  });
});

describe('TOKEN authorizer', () => {
  const lines: string[] = [];
  const deps = (): AuthorizerDeps => ({
    verifier: new JwksAccessTokenVerifier({
      issuer: issuer.issuer,
      audience: TEST_AUDIENCE,
      jwksUrl: issuer.jwksUrl,
      allowedClientIds: [TEST_CLIENT.clientId, READ_ONLY_CLIENT.clientId],
      clockToleranceSeconds: 30,
      jwksCooldownMs: 30_000,
      verifiedTokenCacheSize: 1000,
    }),
    scopes: { login: 'users:login', 'get-user': 'users:read' },
    logger: {
      debug() {},
      info: (message, fields) => lines.push(`${message} ${JSON.stringify(fields)}`),
      warn() {},
      error() {},
    },
  });
  const event = (token: string) => ({
    type: 'TOKEN' as const,
    authorizationToken: `Bearer ${token}`,
    methodArn: METHOD_ARN,
  });

  it('allows both routes for a token with both scopes, and passes client, scope and expiry on', async () => {
    const result = await authorize(event(await issuer.mint({ clientId: TEST_CLIENT.clientId })), deps());
    expect(result.principalId).toBe(TEST_CLIENT.clientId);
    expect(result.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: [routeArn(METHOD_ARN, 'POST', '/login'), routeArn(METHOD_ARN, 'POST', '/get-user')],
      },
    ]);
    expect(result.context).toMatchObject({ clientId: TEST_CLIENT.clientId, scope: 'users:login users:read' });
  });

  it('allows only /get-user for a users:read token, so a cached policy cannot open /login', async () => {
    const result = await authorize(event(await issuer.mint({ clientId: READ_ONLY_CLIENT.clientId })), deps());
    expect(result.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: ['arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/get-user'],
      },
    ]);
  });

  it('denies a token with none of the scopes', async () => {
    const result = await authorize(
      event(await issuer.mint({ clientId: TEST_CLIENT.clientId, scope: 'other:scope' })),
      deps(),
    );
    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: METHOD_ARN },
    ]);
  });

  it.each([
    ['a foreign client', () => issuer.mint({ clientId: FOREIGN_CLIENT.clientId })],
    ['an expired token', () => issuer.mint({ expiresInSeconds: -600 })],
    ['a user token', () => issuer.mint({ claims: { gty: 'password', sub: 'auth0|abc' } })],
    ['garbage', async () => 'x.y.z'],
  ])('answers Unauthorized for %s, logging no token', async (_name, makeToken) => {
    const token = await makeToken();
    await expect(authorize(event(token), deps())).rejects.toThrow(/^Unauthorized$/);
    expect(lines.join('\n')).not.toContain(token);
  });

  it('fails with something other than Unauthorized when the JWKS cannot be fetched', async () => {
    issuer.setJwksDown(true);
    try {
      await expect(authorize(event(await issuer.mint()), deps())).rejects.toThrow('token keys unavailable');
    } finally {
      issuer.setJwksDown(false);
    }
  });
});
