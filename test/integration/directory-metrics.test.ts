// What the directory adapter counts, against the real shared slapd: every operation by server
// and result, failovers past a server that does not answer, and connections opened and closed.
// These counts feed /metrics on the on-prem server and the Lambdas' CloudWatch metrics.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../dev/directory-data.ts';
import { loadDirectoryConfig } from '../../lambdas/core/config/bridge-config.ts';
import { type BridgeMetrics, type Logger, NO_METRICS } from '../../lambdas/core/ports.ts';
import { createLdapDirectory } from '../../lambdas/entry/compose.ts';
import { directoryEnv } from '../support/stack.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const alice = DEMO_USERS.find((user) => user.uid === 'alice');
if (!alice) throw new Error('the demo users lost alice');

function recordingMetrics() {
  const operations: string[] = [];
  const failovers: string[] = [];
  const open = new Map<string, number>();
  const metrics: BridgeMetrics = {
    ...NO_METRICS,
    directoryOperation(server, operation, result, durationMs) {
      expect(durationMs).toBeGreaterThanOrEqual(0);
      operations.push(`${server} ${operation} ${result}`);
    },
    directoryFailover: (server) => failovers.push(server),
    directoryConnectionOpened: (server) => open.set(server, (open.get(server) ?? 0) + 1),
    directoryConnectionClosed: (server) => open.set(server, (open.get(server) ?? 0) - 1),
  };
  return { metrics, operations, failovers, open };
}

/** A loopback port nothing listens on (opened, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const until = async (condition: () => boolean) => {
  for (let tries = 0; tries < 100 && !condition(); tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
};

describe('directory metrics', () => {
  it('counts each operation by server and result: a wrong password is an answer, not an error', async () => {
    const env = directoryEnv();
    const server = env.LDAP_URLS as string;
    const recorded = recordingMetrics();
    const directory = createLdapDirectory(loadDirectoryConfig(env).directory, silent, { metrics: recorded.metrics });
    try {
      const [entry] = await directory.findUsers('(uid=alice)', 2);
      expect(entry).toBeDefined();
      expect(await directory.verifyPassword(entry?.dn as string, alice.password)).toEqual({ kind: 'ok' });
      expect(await directory.verifyPassword(entry?.dn as string, 'not-her-password')).toEqual({
        kind: 'invalid_credentials',
      });
      await directory.findGroupDNs(env.LDAP_BASE_DN as string, '(objectClass=groupOfNames)', 10);
      expect(recorded.operations).toEqual([
        `${server} connect ok`,
        `${server} service_bind ok`,
        `${server} user_search ok`,
        `${server} connect ok`,
        `${server} user_bind ok`,
        `${server} user_bind answered`,
        `${server} group_search ok`,
      ]);
      expect(recorded.open.get(server)).toBe(2);
      expect(recorded.failovers).toEqual([]);
    } finally {
      await directory.close();
    }
    await until(() => recorded.open.get(server) === 0);
    expect(recorded.open.get(server)).toBe(0);
  });

  it('counts a failover past a server that does not answer, and its failed connect', async () => {
    const dead = `ldap://127.0.0.1:${await closedPort()}`;
    const env = directoryEnv();
    const live = env.LDAP_URLS as string;
    const recorded = recordingMetrics();
    const directory = createLdapDirectory(
      loadDirectoryConfig(directoryEnv({ LDAP_URLS: `${dead},${live}` })).directory,
      silent,
      { metrics: recorded.metrics },
    );
    try {
      expect(await directory.findUsers('(uid=alice)', 2)).toHaveLength(1);
    } finally {
      await directory.close();
    }
    expect(recorded.failovers).toEqual([dead]);
    expect(recorded.operations.slice(0, 4)).toEqual([
      `${dead} connect connection_error`,
      `${live} connect ok`,
      `${live} service_bind ok`,
      `${live} user_search ok`,
    ]);
    expect(recorded.open.get(dead)).toBeUndefined();
  });

  it('counts a refused service bind as an error of that server, and no failover (the next server would refuse too)', async () => {
    const env = directoryEnv({ LDAP_BIND_PASSWORD: 'not-the-service-password' });
    const server = env.LDAP_URLS as string;
    const recorded = recordingMetrics();
    const directory = createLdapDirectory(loadDirectoryConfig(env).directory, silent, { metrics: recorded.metrics });
    try {
      await expect(directory.findUsers('(uid=alice)', 2)).rejects.toThrow(/refused the service account bind/);
    } finally {
      await directory.close();
    }
    expect(recorded.operations).toEqual([`${server} connect ok`, `${server} service_bind error`]);
    expect(recorded.failovers).toEqual([]);
  });
});

describe('a refused service bind is not repeated', () => {
  it('binds once with a wrong service password however many requests follow, so the directory never locks the account', async () => {
    const env = directoryEnv({ LDAP_BIND_PASSWORD: 'not-the-service-password' });
    const server = env.LDAP_URLS as string;
    const recorded = recordingMetrics();
    const directory = createLdapDirectory(loadDirectoryConfig(env).directory, silent, { metrics: recorded.metrics });
    try {
      await expect(directory.findUsers('(uid=alice)', 2)).rejects.toThrow(/refused the service account bind/);
      for (let request = 0; request < 20; request += 1) {
        await expect(directory.findUsers('(uid=alice)', 2)).rejects.toThrow(/the same credentials are not tried again/);
        await expect(directory.checkReady()).rejects.toThrow(/not tried again/);
      }
    } finally {
      await directory.close();
    }
    expect(recorded.operations.filter((operation) => operation.includes('service_bind'))).toEqual([
      `${server} service_bind error`,
    ]);
  });
});
