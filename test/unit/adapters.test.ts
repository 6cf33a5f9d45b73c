import { describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BoundedPool } from '../../lambdas/adapters/bounded-pool.ts';
import { JsonLogger } from '../../lambdas/adapters/json-logger.ts';
import {
  createSecretsManagerReader,
  parseCredentialsSecret,
  SecretsManagerServiceCredentials,
} from '../../lambdas/adapters/service-credentials.ts';
import { DirectoryUnavailable } from '../../lambdas/contract/errors.ts';

describe('BoundedPool', () => {
  it('hands each item to one holder at a time and queues the rest in order', async () => {
    const pool = new BoundedPool(['a'], 10, 1000);
    const first = await pool.acquire();
    const second = pool.acquire();
    const third = pool.acquire();
    expect(pool.waiting).toBe(2);
    pool.release(first);
    expect(await second).toBe('a');
    pool.release('a');
    expect(await third).toBe('a');
  });

  it('sheds at once past the queue limit, and after the wait timeout', async () => {
    const pool = new BoundedPool(['a'], 1, 50);
    await pool.acquire();
    const waiting = pool.acquire();
    await expect(pool.acquire()).rejects.toBeInstanceOf(DirectoryUnavailable);
    await expect(waiting).rejects.toThrow('no bind connection free within 50 ms');
    expect(pool.waiting).toBe(0);
  });
});

describe('JsonLogger', () => {
  it('writes one JSON line with level, message and fields, and respects the level', () => {
    const lines: string[] = [];
    const logger = new JsonLogger('info', (line) => lines.push(line));
    logger.debug('hidden');
    logger.info('shown', { request_id: 'r1', status: 200, absent: undefined });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', message: 'shown', request_id: 'r1', status: 200 });
    expect(lines[0]).not.toContain('absent');
  });

  it('redacts any field whose name suggests a secret', () => {
    const lines: string[] = [];
    const logger = new JsonLogger('debug', (line) => lines.push(line));
    logger.info('x', {
      password: 'p1',
      bind_password: 'p2',
      authorization: 'Bearer t',
      access_token: 't2',
      client_secret: 's',
    });
    for (const secret of ['p1', 'p2', 'Bearer t', 't2', '"s"']) expect(lines[0]).not.toContain(secret);
  });
});

describe('Secrets Manager bind credentials', () => {
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bind-AbCdEf';

  it('reads {"bindDN","password"} once and caches it', async () => {
    const secrets = mockClient(SecretsManagerClient);
    secrets
      .on(GetSecretValueCommand, { SecretId: arn })
      .resolves({ SecretString: '{"bindDN":"cn=svc,dc=x","password":"s3cret"}' });
    const source = new SecretsManagerServiceCredentials(arn, await createSecretsManagerReader());
    expect(await source.current()).toEqual({ bindDN: 'cn=svc,dc=x', password: 's3cret' });
    await source.current();
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    secrets.restore();
  });

  it('fetches again on refresh (a rotated secret), at most once per cooldown', async () => {
    const secrets = mockClient(SecretsManagerClient);
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: '{"bindDN":"cn=svc","password":"old"}' })
      .resolves({ SecretString: '{"bindDN":"cn=svc","password":"new"}' });
    const source = new SecretsManagerServiceCredentials(arn, await createSecretsManagerReader(), 0);
    expect((await source.current()).password).toBe('old');
    expect((await source.refresh())?.password).toBe('new');
    const slow = new SecretsManagerServiceCredentials(arn, await createSecretsManagerReader(), 60_000);
    await slow.current();
    expect(await slow.refresh()).toBeUndefined();
    secrets.restore();
  });

  it('does not cache a failed fetch', async () => {
    const secrets = mockClient(SecretsManagerClient);
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({ SecretString: '{"bindDN":"cn=svc","password":"pw"}' });
    const source = new SecretsManagerServiceCredentials(arn, await createSecretsManagerReader());
    await expect(source.current()).rejects.toThrow('throttled');
    expect((await source.current()).password).toBe('pw');
    secrets.restore();
  });

  it.each([
    undefined,
    'not json',
    '{"bindDN":"cn=x"}',
    '{"bindDN":"","password":"x"}',
    '{"bindDN":"cn=x","password":"  "}',
  ])('rejects the malformed secret %j without quoting it', (text) => {
    expect(() => parseCredentialsSecret(text)).toThrow(/bind secret/);
    try {
      parseCredentialsSecret(text);
    } catch (error) {
      if (text) expect((error as Error).message).not.toContain(text);
    }
  });
});

/** A verifier for a made-up issuer that remembers up to `cacheSize` verified tokens. */
async function verifierCaching(cacheSize: number) {
  const { JwksAccessTokenVerifier } = await import('../../lambdas/adapters/jwks-token-verifier.ts');
  return new JwksAccessTokenVerifier({
    issuer: 'https://t.test/',
    audience: 'a',
    jwksUrl: 'https://t.test/jwks',
    allowedClientIds: ['c'],
    clockToleranceSeconds: 0,
    jwksCooldownMs: 30_000,
    verifiedTokenCacheSize: cacheSize,
  });
}

describe('verified-token cache', () => {
  it('verifies a token once while it is valid, and again after it expired', async () => {
    const verifier = await verifierCaching(1000);
    let calls = 0;
    const now = Math.floor(Date.now() / 1000);
    let expiresAt = now + 60;
    (verifier as unknown as { verifyUncached: () => Promise<unknown> }).verifyUncached = async () => {
      calls += 1;
      return { clientId: 'c', scopes: [], expiresAt };
    };
    await verifier.verify('token-1');
    await verifier.verify('token-1');
    expect(calls).toBe(1);
    await verifier.verify('token-2');
    expect(calls).toBe(2);
    expiresAt = now - 1;
    await verifier.verify('token-3');
    await verifier.verify('token-3');
    expect(calls).toBe(4);
  });

  it('holds at most the configured number of tokens', async () => {
    const verifier = await verifierCaching(2);
    let calls = 0;
    (verifier as unknown as { verifyUncached: () => Promise<unknown> }).verifyUncached = async () => {
      calls += 1;
      return { clientId: 'c', scopes: [], expiresAt: Date.now() / 1000 + 60 };
    };
    for (const token of ['a', 'b', 'c', 'a']) await verifier.verify(token);
    expect(calls).toBe(4); // 'a' was evicted by 'c'
    expect((verifier as unknown as { verified: Map<string, unknown> }).verified.size).toBe(2);
  });
});

describe('ServerHealth', () => {
  it('keeps the configured order, moves a failed server to the end for the cool-down, then restores it', async () => {
    const { ServerHealth } = await import('../../lambdas/adapters/ldap-connection.ts');
    let now = 1_000;
    const health = new ServerHealth(500, () => now);
    const urls = ['ldaps://a', 'ldaps://b', 'ldaps://c'];
    expect(health.order(urls)).toEqual(urls);
    health.markFailed('ldaps://a');
    expect(health.order(urls)).toEqual(['ldaps://b', 'ldaps://c', 'ldaps://a']);
    now += 499;
    expect(health.isCoolingDown('ldaps://a')).toBe(true);
    now += 2;
    expect(health.order(urls)).toEqual(urls);
    health.markFailed('ldaps://b');
    health.markAnswered('ldaps://b');
    expect(health.order(urls)).toEqual(urls);
  });
});
