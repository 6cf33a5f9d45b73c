// `auth0-ldap-bridge serve` as an operator runs it: a real process against the shared slapd and a
// local token issuer, with worker processes sharing the port, a worker that dies replaced, and a
// graceful stop on SIGTERM.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevTokenIssuer, startDevTokenIssuer } from '../../dev/dev-token-issuer.ts';
import { SPECIAL_USER } from '../support/fixtures.ts';
import { directoryEnv, TEST_AUDIENCE, TEST_CLIENT } from '../support/stack.ts';
import { childPids, cleanEnv, startServerProcess, waitFor } from '../../dev/server-process.ts';

const CLI = ['--import', 'tsx', 'lambdas/entry/cli.ts', 'serve'];
let issuer: DevTokenIssuer;
let token: string;

beforeAll(async () => {
  issuer = await startDevTokenIssuer({ audience: TEST_AUDIENCE, clients: [TEST_CLIENT] });
  token = await issuer.mint({ clientId: TEST_CLIENT.clientId });
});
afterAll(() => issuer.stop());

function serveEnv(overrides: Record<string, string> = {}) {
  return cleanEnv({
    ...directoryEnv(),
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: TEST_AUDIENCE,
    AUTH_ALLOWED_CLIENT_IDS: TEST_CLIENT.clientId,
    PORT: '0',
    LOG_LEVEL: 'warn',
    ...overrides,
  });
}

async function login(url: string): Promise<number> {
  const response = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: SPECIAL_USER.uid, password: SPECIAL_USER.password }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('auth0-ldap-bridge serve', () => {
  it('runs SERVER_WORKERS processes on one port, replaces one that dies, and stops them all on SIGTERM', async () => {
    const server = await startServerProcess(CLI, serveEnv({ SERVER_WORKERS: '2' }));
    try {
      expect(server.stderr()).toContain('with 2 worker processes');
      const primary = server.child.pid as number;
      expect(childPids(primary)).toHaveLength(2);
      const statuses = await Promise.all(Array.from({ length: 20 }, () => login(server.url)));
      expect(statuses).toEqual(Array(20).fill(200));

      const [victim] = childPids(primary);
      process.kill(victim as number, 'SIGKILL');
      await waitFor(
        () => server.stderr().includes('a worker exited (SIGKILL); starting another'),
        10_000,
        'the restart',
      );
      await waitFor(
        () => childPids(primary).length === 2 && !childPids(primary).includes(victim as number),
        10_000,
        'a new worker',
      );
      expect(await Promise.all(Array.from({ length: 10 }, () => login(server.url)))).toEqual(Array(10).fill(200));

      const workers = childPids(primary);
      expect(await server.stop('SIGTERM')).toBe(0);
      expect(workers.filter((pid) => childPids(1).includes(pid) || isAlive(pid))).toEqual([]);
    } finally {
      await server.stop('SIGKILL');
    }
  }, 60_000);

  it('with one worker serves from a single process and exits 0 on SIGTERM', async () => {
    const server = await startServerProcess(CLI, serveEnv({ SERVER_WORKERS: '1' }));
    try {
      expect(server.stderr()).toContain('with 1 worker process;');
      expect(childPids(server.child.pid as number)).toEqual([]);
      expect(await login(server.url)).toBe(200);
      expect(await server.stop('SIGTERM')).toBe(0);
    } finally {
      await server.stop('SIGKILL');
    }
  }, 30_000);

  it('exits 1 naming the port when it is taken, instead of restarting workers forever', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const failure = await startServerProcess(
        CLI,
        serveEnv({ SERVER_WORKERS: '2', PORT: String(port) }),
        /(?!)/,
        20_000,
      ).catch((error: Error) => error.message);
      expect(failure).toMatch(/exited with 1 before listening/);
      expect(failure).toContain(`PORT ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  }, 30_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
