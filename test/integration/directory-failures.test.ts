// What the bridge answers when the directory misbehaves: each case against a real slapd that
// this file starts, restarts, freezes or kills. A directory problem is always 503
// directory_unavailable with Retry-After, never 401 or 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeedUser } from '../../dev/directory-data.ts';
import { startSeededSlapd, type SeededSlapd } from '../../dev/seeded-slapd.ts';
import { freePort, type ThrowawaySlapd } from '../../dev/throwaway-slapd.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

const users: SeedUser[] = Array.from({ length: 20 }, (_, index) => ({
  uid: `user${index}`,
  password: `password-of-user-${index}`,
  cn: `User ${index}`,
  sn: `${index}`,
  mail: `user${index}@example.test`,
}));

let seeded: SeededSlapd;
let slapd: ThrowawaySlapd;

beforeAll(async () => {
  seeded = await startSeededSlapd({ users, extraLoopbackAddresses: ['127.0.0.2'] });
  slapd = seeded.slapd;
});
afterAll(async () => {
  await seeded?.stop();
});

const ownDirectoryEnv = (overrides: Record<string, string | undefined> = {}) =>
  // Timeouts a healthy server never misses even while the rest of the suite loads both cores.
  seeded.bridgeEnv({ LDAP_CONNECT_TIMEOUT_MS: '1000', LDAP_TIMEOUT_MS: '2000', ...overrides });

async function expectDirectoryUnavailable(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(await response.json()).toEqual({ error: 'directory_unavailable' });
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
}

const user = users[0]!;

describe('a directory that restarts', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack(ownDirectoryEnv());
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('recovers without restarting the bridge, searching as the service account again (anonymous finds nothing)', async () => {
    expect((await stack.post('/get-user', { username: user.uid })).status).toBe(200);
    expect((await stack.post('/login', { username: user.uid, password: user.password })).status).toBe(200);
    await slapd.restart();
    // Anonymous searches return no entries under this directory's ACLs, so a 200 proves the re-bind.
    expect((await stack.post('/get-user', { username: user.uid })).status).toBe(200);
    expect((await stack.post('/login', { username: user.uid, password: user.password })).status).toBe(200);
  });

  it('answers 503, never 401 or 404, while the directory is down, and recovers when it is back', async () => {
    slapd.signal('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expectDirectoryUnavailable(await stack.post('/login', { username: user.uid, password: user.password }));
    await expectDirectoryUnavailable(await stack.post('/login', { username: user.uid, password: 'wrong' }));
    await expectDirectoryUnavailable(await stack.post('/get-user', { username: 'nobody' }));
    await slapd.restart();
    expect((await stack.post('/login', { username: user.uid, password: user.password })).status).toBe(200);
  });

  it('answers 503 instead of hanging while the directory is frozen (SIGSTOP), and recovers after SIGCONT', async () => {
    expect((await stack.post('/get-user', { username: user.uid })).status).toBe(200);
    slapd.signal('SIGSTOP');
    try {
      const started = Date.now();
      const responses = await Promise.all([
        stack.post('/get-user', { username: user.uid }),
        stack.post('/login', { username: user.uid, password: user.password }),
      ]);
      for (const response of responses) await expectDirectoryUnavailable(response);
      // Not a performance figure: proof that nothing waits forever (LDAP_TIMEOUT_MS is 2000).
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      slapd.signal('SIGCONT');
    }
    expect((await stack.post('/login', { username: user.uid, password: user.password })).status).toBe(200);
  });

  it('logs why the directory was unavailable', () => {
    const failures = stack.logs.filter((line) => line.includes('"error":"directory_unavailable"'));
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.some((line) => /timed out|ECONNREFUSED|closed|answered/.test(line))).toBe(true);
  });
});

describe('directory configuration problems fail closed with 503', () => {
  it('a refused service-account bind is 503, not 401', async () => {
    const stack = await startTestStack(ownDirectoryEnv({ LDAP_BIND_PASSWORD: 'not-the-service-password' }));
    try {
      await expectDirectoryUnavailable(await stack.post('/login', { username: user.uid, password: user.password }));
      expect(stack.logs.join('\n')).toContain('refused the service account bind');
      expect(stack.logs.join('\n')).not.toContain('not-the-service-password');
    } finally {
      await stack.stop();
    }
  });

  it('a base DN that does not exist is 503, not 404', async () => {
    const stack = await startTestStack(ownDirectoryEnv({ LDAP_BASE_DN: `ou=nowhere,${slapd.suffix}` }));
    try {
      await expectDirectoryUnavailable(await stack.post('/get-user', { username: user.uid }));
      expect(stack.logs.join('\n')).toContain('base DN does not exist');
    } finally {
      await stack.stop();
    }
  });

  it('a certificate that does not verify (system CAs only) is 503 with the TLS reason in the log', async () => {
    const stack = await startTestStack(ownDirectoryEnv({ LDAP_CA_CERT: undefined }));
    try {
      await expectDirectoryUnavailable(await stack.post('/get-user', { username: user.uid }));
      expect(stack.logs.join('\n')).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|unable to get local issuer|self-signed/i);
    } finally {
      await stack.stop();
    }
  });

  it('a certificate whose name does not match the host is 503 (the server listens on 127.0.0.2, the certificate names 127.0.0.1)', async () => {
    const stack = await startTestStack(
      ownDirectoryEnv({ LDAP_URLS: slapd.ldapsUrl.replace('127.0.0.1', '127.0.0.2') }),
    );
    try {
      await expectDirectoryUnavailable(await stack.post('/get-user', { username: user.uid }));
      expect(stack.logs.join('\n')).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      await stack.stop();
    }
  });
});

describe('several directory URLs', () => {
  it('uses the next URL when the first does not answer', async () => {
    const closedPort = await freePort();
    const stack = await startTestStack(
      ownDirectoryEnv({ LDAP_URLS: `ldaps://127.0.0.1:${closedPort},${slapd.ldapsUrl}` }),
    );
    try {
      expect((await stack.post('/login', { username: user.uid, password: user.password })).status).toBe(200);
      expect((await stack.post('/get-user', { username: user.uid })).status).toBe(200);
    } finally {
      await stack.stop();
    }
  });

  it('works over plain ldap:// with StartTLS', async () => {
    const stack = await startTestStack(ownDirectoryEnv({ LDAP_URLS: slapd.ldapUrl, LDAP_STARTTLS: 'true' }));
    try {
      expect((await stack.post('/login', { username: user.uid, password: user.password })).status).toBe(200);
    } finally {
      await stack.stop();
    }
  });
});

describe('concurrent logins', () => {
  it('answers 100 concurrent logins over a pool of 2 bind connections, each with its own user', async () => {
    const stack = await startTestStack(
      ownDirectoryEnv({ LDAP_BIND_POOL_SIZE: '2', LDAP_BIND_QUEUE_LIMIT: '200', LDAP_TIMEOUT_MS: '5000' }),
    );
    try {
      const attempts = Array.from({ length: 100 }, (_, index) => {
        const target = users[index % users.length]!;
        const rightPassword = index % 3 !== 0;
        return { target, rightPassword };
      });
      const responses = await Promise.all(
        attempts.map(({ target, rightPassword }) =>
          stack.post('/login', { username: target.uid, password: rightPassword ? target.password : 'wrong-password' }),
        ),
      );
      for (const [index, response] of responses.entries()) {
        const { target, rightPassword } = attempts[index]!;
        expect(response.status).toBe(rightPassword ? 200 : 401);
        if (rightPassword) expect(((await response.json()) as { username: string }).username).toBe(target.uid);
      }
    } finally {
      await stack.stop();
    }
  });

  it('sheds logins with 503 past the bind queue limit instead of queueing without bound', async () => {
    const stack = await startTestStack(ownDirectoryEnv({ LDAP_BIND_POOL_SIZE: '1', LDAP_BIND_QUEUE_LIMIT: '0' }));
    try {
      const responses = await Promise.all(
        Array.from({ length: 30 }, () => stack.post('/login', { username: user.uid, password: user.password })),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses).toContain(200);
      expect(statuses).toContain(503);
      expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
    } finally {
      await stack.stop();
    }
  });

  it('sheds requests past MAX_IN_FLIGHT with 503 overloaded and Retry-After, and serves the rest', async () => {
    const stack = await startTestStack(ownDirectoryEnv({ MAX_IN_FLIGHT: '2' }));
    try {
      const responses = await Promise.all(
        Array.from({ length: 40 }, () => stack.post('/get-user', { username: user.uid })),
      );
      const shed = responses.filter((response) => response.status === 503);
      expect(responses.filter((response) => response.status === 200).length).toBeGreaterThan(0);
      expect(shed.length).toBeGreaterThan(0);
      expect(shed.length + responses.filter((response) => response.status === 200).length).toBe(40);
      expect(await shed[0]!.json()).toEqual({ error: 'overloaded' });
      expect(shed[0]!.headers.get('retry-after')).toBe('1');
    } finally {
      await stack.stop();
    }
  });
});
