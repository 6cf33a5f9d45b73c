// Faults under load, against real slapd processes this file starts: the directory killed in
// the middle of traffic, a rotated bind secret, a burst of 500 requests, idle connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attribute, Change } from 'ldapts';
import { peopleDN, sshaHash, withAdmin, type SeedUser } from '../../dev/directory-data.ts';
import { startSeededSlapd, type SeededSlapd } from '../../dev/seeded-slapd.ts';
import { randomSecret, type ThrowawaySlapd } from '../../dev/throwaway-slapd.ts';
import { LdapDirectory } from '../../lambdas/adapters/ldap-directory.ts';
import {
  type SecretValueReader,
  SecretsManagerServiceCredentials,
} from '../../lambdas/adapters/service-credentials.ts';
import { DirectoryUnavailable } from '../../lambdas/contract/errors.ts';
import { buildUserFilter } from '../../lambdas/core/directory/ldap-filter.ts';
import { startTestStack } from '../support/stack.ts';

const users: SeedUser[] = Array.from({ length: 25 }, (_, index) => ({
  uid: `load${index}`,
  password: `load-password-${index}`,
  cn: `Load ${index}`,
  sn: `${index}`,
  mail: `load${index}@example.test`,
}));
const silent = { debug() {}, info() {}, warn() {}, error() {} };

let seeded: SeededSlapd;
let slapd: ThrowawaySlapd;
let servicePassword: string;

beforeAll(async () => {
  seeded = await startSeededSlapd({ users });
  slapd = seeded.slapd;
  servicePassword = seeded.servicePassword;
});
afterAll(async () => {
  await seeded?.stop();
});

const env = (overrides: Record<string, string> = {}) =>
  seeded.bridgeEnv({
    LDAP_BIND_PASSWORD: servicePassword,
    LDAP_CONNECT_TIMEOUT_MS: '500',
    LDAP_TIMEOUT_MS: '1000',
    LOG_LEVEL: 'warn',
    ...overrides,
  });

describe('the directory killed mid-load', () => {
  it('answers only 200 or 503 while slapd dies and comes back, none hangs, and service resumes re-bound', async () => {
    const stack = await startTestStack(env());
    try {
      const statuses: number[] = [];
      let stop = false;
      const worker = async (offset: number) => {
        for (let index = offset; !stop; index += 4) {
          const user = users[index % users.length]!;
          const response = await stack.post('/login', { username: user.uid, password: user.password });
          statuses.push(response.status);
        }
      };
      const workers = [0, 1, 2, 3].map((offset) => worker(offset));
      await new Promise((resolve) => setTimeout(resolve, 300));
      slapd.signal('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 700));
      await slapd.restart();
      await new Promise((resolve) => setTimeout(resolve, 500));
      stop = true;
      await Promise.all(workers);

      expect(new Set(statuses)).toEqual(new Set([200, 503]));
      expect(statuses.at(-1)).toBe(200);
      // Anonymous searches find nothing here: a 200 from /get-user proves the service account re-bound.
      expect((await stack.post('/get-user', { username: users[0]!.uid })).status).toBe(200);
    } finally {
      await stack.stop();
    }
  });
});

/** A directory whose service account comes from a Secrets Manager secret read through `reader`. */
function directoryReadingSecret(reader: SecretValueReader): LdapDirectory {
  return new LdapDirectory({
    urls: [slapd.ldapUrl],
    caPem: undefined,
    startTls: false,
    connectTimeoutMs: 500,
    operationTimeoutMs: 2000,
    maxIdleMs: 60_000,
    logger: silent,
    baseDN: peopleDN(slapd.suffix),
    credentials: new SecretsManagerServiceCredentials('arn:x', reader, 0),
    attributes: ['uid'],
    bindPoolSize: 1,
    bindQueueLimit: 1,
    failoverCooldownMs: 30_000,
  });
}

describe('a rotated bind secret', () => {
  it('refetches the secret once when the directory refuses the cached password, then binds', async () => {
    const secret = { value: JSON.stringify({ bindDN: slapd.serviceDN, password: servicePassword }), reads: 0 };
    const reader = {
      getSecretString: async () => {
        secret.reads += 1;
        return secret.value;
      },
    };
    const directory = directoryReadingSecret(reader);
    try {
      expect(await directory.findUsers(buildUserFilter('(uid={username})', 'load1'), 2)).toHaveLength(1);
      const rotated = randomSecret();
      await withAdmin(seeded.admin, (client) =>
        client.modify(
          slapd.serviceDN,
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'userPassword', values: [sshaHash(rotated)] }),
          }),
        ),
      );
      secret.value = JSON.stringify({ bindDN: slapd.serviceDN, password: rotated });
      await slapd.restart(); // the kept connection is gone; the next one binds with the cached (old) password
      expect(await directory.findUsers(buildUserFilter('(uid={username})', 'load1'), 2)).toHaveLength(1);
      expect(secret.reads).toBe(2);
      servicePassword = rotated;
    } finally {
      await directory.close();
    }
  });

  it('answers 503 when the refreshed secret is refused as well', async () => {
    const reader = {
      getSecretString: async () => JSON.stringify({ bindDN: slapd.serviceDN, password: 'never-the-password' }),
    };
    const directory = directoryReadingSecret(reader);
    try {
      await expect(directory.findUsers('(uid=load1)', 2)).rejects.toBeInstanceOf(DirectoryUnavailable);
    } finally {
      await directory.close();
    }
  });
});

describe('a burst of 500 concurrent requests', () => {
  it('answers every one for its own user over a bounded number of directory connections', async () => {
    const stack = await startTestStack(
      env({ LDAP_BIND_POOL_SIZE: '4', LDAP_BIND_QUEUE_LIMIT: '1000', MAX_IN_FLIGHT: '1000', LDAP_TIMEOUT_MS: '10000' }),
    );
    try {
      const requests = Array.from({ length: 500 }, (_, index) => {
        const user = users[index % users.length]!;
        return index % 2 === 0
          ? { path: '/login', body: { username: user.uid, password: user.password }, user }
          : { path: '/get-user', body: { username: user.mail }, user };
      });
      const responses = await Promise.all(requests.map((request) => stack.post(request.path, request.body)));
      for (const [index, response] of responses.entries()) {
        expect(response.status).toBe(200);
        expect(((await response.json()) as { username: string }).username).toBe(requests[index]!.user.uid);
      }
      // One search connection and at most four bind connections.
      expect(stack.bridge.directory.stats.socketsOpened).toBeLessThanOrEqual(5);
    } finally {
      await stack.stop();
    }
  });

  it('sheds what exceeds MAX_IN_FLIGHT with 503 and Retry-After, answering everything', async () => {
    const stack = await startTestStack(env({ MAX_IN_FLIGHT: '5', LDAP_BIND_POOL_SIZE: '1', LDAP_TIMEOUT_MS: '10000' }));
    try {
      const responses = await Promise.all(
        Array.from({ length: 500 }, (_, index) =>
          stack.post('/login', {
            username: users[index % users.length]!.uid,
            password: users[index % users.length]!.password,
          }),
        ),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 503).length).toBeGreaterThan(0);
      expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(5);
      expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
      expect(responses.find((response) => response.status === 503)!.headers.get('retry-after')).toBe('1');
    } finally {
      await stack.stop();
    }
  });
});

describe('idle connections', () => {
  it('replaces a connection that idled past LDAP_IDLE_TIMEOUT_MS (a thawed Lambda) without failing the request', async () => {
    const stack = await startTestStack(env({ LDAP_IDLE_TIMEOUT_MS: '1000' }));
    try {
      expect((await stack.post('/get-user', { username: users[2]!.uid })).status).toBe(200);
      const opened = stack.bridge.directory.stats.socketsOpened;
      expect((await stack.post('/get-user', { username: users[2]!.uid })).status).toBe(200);
      expect(stack.bridge.directory.stats.socketsOpened).toBe(opened);
      await new Promise((resolve) => setTimeout(resolve, 1300));
      expect((await stack.post('/get-user', { username: users[2]!.uid })).status).toBe(200);
      expect(stack.bridge.directory.stats.socketsOpened).toBe(opened + 1);
    } finally {
      await stack.stop();
    }
  });

  it('reconnects, re-bound, after the server closed an idle connection (slapd idletimeout 1 s)', async () => {
    // A directory of its own: an idle timeout on the shared one would disturb the other tests.
    const closing = await startSeededSlapd({ users: users.slice(0, 5), idleTimeoutSeconds: 1 });
    const stack = await startTestStack(env(closing.bridgeEnv() as Record<string, string>));
    try {
      const user = users[3]!;
      expect((await stack.post('/login', { username: user.uid, password: user.password })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect((await stack.post('/get-user', { username: user.uid })).status).toBe(200);
      expect((await stack.post('/login', { username: user.uid, password: user.password })).status).toBe(200);
      expect(stack.bridge.directory.stats.socketsOpened).toBe(4); // search + bind, then both again
    } finally {
      await stack.stop();
      await closing.stop();
    }
  });
});
