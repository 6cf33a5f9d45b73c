import { describe, expect, it } from 'vitest';
import { bearerTokenFrom, checkClientCredentialsClaims, requireScope } from '../../lambdas/core/caller/token-claims.ts';
import { InsufficientScope, InvalidToken } from '../../lambdas/contract/errors.ts';

const policy = { allowedClientIds: ['client-a'], clockToleranceSeconds: 30 };
const NOW = 1_900_000_000;
const valid = {
  gty: 'client-credentials',
  azp: 'client-a',
  sub: 'client-a@clients',
  scope: 'users:login users:read',
  exp: 2_000_000_000,
};

describe('checkClientCredentialsClaims', () => {
  it('returns the client, its scopes and expiry', () => {
    expect(checkClientCredentialsClaims(valid, policy, NOW)).toEqual({
      clientId: 'client-a',
      scopes: ['users:login', 'users:read'],
      expiresAt: 2_000_000_000,
    });
  });

  it.each([
    [{ gty: 'password' }, 'gty'],
    [{ gty: undefined }, 'gty'],
    [{ gty: ['client-credentials', 'password'] }, 'gty'],
    [{ azp: undefined }, 'azp missing'],
    [{ sub: 'auth0|123' }, 'sub does not match'],
    [{ sub: 'client-b@clients', azp: 'client-b' }, 'client not allowed'],
    [{ exp: undefined }, 'exp missing'],
    [{ scope: ['users:login'] }, 'scope is not a string'],
    [{ iat: NOW + 120 }, 'iat in the future'],
    [{ iat: 'yesterday' }, 'iat in the future'],
  ])('rejects %j', (change, why) => {
    expect(() => checkClientCredentialsClaims({ ...valid, ...change }, policy, NOW)).toThrow(InvalidToken);
    expect(() => checkClientCredentialsClaims({ ...valid, ...change }, policy, NOW)).toThrow(why);
  });

  it('accepts an iat within the clock tolerance', () => {
    expect(checkClientCredentialsClaims({ ...valid, iat: NOW + 20 }, policy, NOW).clientId).toBe('client-a');
  });
});

describe('requireScope', () => {
  it('passes with the scope and throws insufficient_scope without it', () => {
    const client = { clientId: 'c', scopes: ['users:read'], expiresAt: 1 };
    expect(() => requireScope(client, 'users:read')).not.toThrow();
    expect(() => requireScope(client, 'users:login')).toThrow(InsufficientScope);
    expect(() => requireScope({ ...client, scopes: ['users:login:extra'] }, 'users:login')).toThrow(InsufficientScope);
  });
});

describe('bearerTokenFrom', () => {
  it('reads a bearer token, case-insensitively', () => {
    expect(bearerTokenFrom('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerTokenFrom('bearer abc.def.ghi')).toBe('abc.def.ghi');
  });
  it.each([null, '', 'Basic dXNlcjpwdw==', 'Bearer', 'Bearer a b', 'Bearer <script>', `Bearer ${'a'.repeat(9000)}`])(
    'rejects %j',
    (header) => {
      expect(() => bearerTokenFrom(header)).toThrow(InvalidToken);
    },
  );
});
