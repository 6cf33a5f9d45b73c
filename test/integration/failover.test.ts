// Several directory servers: a server that stops answering is paid for once per cool-down, the
// next one serves meanwhile, and the first comes back when the cool-down has passed. Two real
// slapds stand in for replicas; their `cn` differs so each answer says which one served it.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peopleDN, type SeedUser } from '../../dev/directory-data.ts';
import { startSeededSlapd, type SeededSlapd } from '../../dev/seeded-slapd.ts';
import { randomSecret } from '../../dev/throwaway-slapd.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

const user = (server: string): SeedUser => ({
  uid: 'replicated',
  password: 'replicated-password-1',
  cn: `Served by ${server}`,
  sn: 'Replica',
  mail: 'replicated@example.test',
});
let primary: SeededSlapd;
let secondary: SeededSlapd;
let stack: TestStack;
const COOLDOWN_MS = 8000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  const servicePassword = randomSecret();
  primary = await startSeededSlapd({ users: [user('primary')], servicePassword });
  secondary = await startSeededSlapd({ users: [user('secondary')], servicePassword });
  stack = await startTestStack({
    LDAP_URLS: `${primary.slapd.ldapUrl},${secondary.slapd.ldapUrl}`,
    LDAP_CA_CERT: undefined,
    LDAP_BASE_DN: peopleDN(primary.slapd.suffix),
    LDAP_BIND_DN: primary.slapd.serviceDN,
    LDAP_BIND_PASSWORD: servicePassword,
    // Generous against this suite's own load (Samba and 389-ds start beside it on two cores): a
    // healthy server must never miss them. A frozen server costs them, once per cool-down.
    LDAP_CONNECT_TIMEOUT_MS: '1000',
    LDAP_TIMEOUT_MS: '1500',
    LDAP_FAILOVER_COOLDOWN_MS: `${COOLDOWN_MS}`,
    // Every request after a pause reconnects: the path where a dead primary would cost its timeout.
    LDAP_IDLE_TIMEOUT_MS: '100',
  });
});
afterAll(async () => {
  primary?.slapd.signal('SIGCONT');
  await stack?.stop();
  await primary?.stop();
  await secondary?.stop();
});

const servedBy = async (path: '/login' | '/get-user') => {
  const response = await stack.post(
    path,
    path === '/login' ? { username: 'replicated', password: 'replicated-password-1' } : { username: 'replicated' },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { name: string }).name;
};

describe('failover across LDAP_URLS', () => {
  it('serves from the first server while it answers', async () => {
    expect(await servedBy('/get-user')).toBe('Served by primary');
    expect(await servedBy('/login')).toBe('Served by primary');
  });

  it('fails over to the next server when the first freezes, paying its timeout once per cool-down', async () => {
    primary.slapd.signal('SIGSTOP');
    const warningsBefore = stack.logs.filter((line) => line.includes('directory server did not answer')).length;
    for (let index = 0; index < 5; index += 1) {
      await sleep(150);
      expect(await servedBy(index % 2 === 0 ? '/get-user' : '/login')).toBe('Served by secondary');
    }
    const warnings = stack.logs
      .filter((line) => line.includes('directory server did not answer'))
      .slice(warningsBefore);
    // The search and the bind connection each found the primary dead once; then it was skipped.
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(warnings.every((line) => line.includes(primary.slapd.ldapUrl))).toBe(true);
  });

  it('comes back to the first server once it answers and the cool-down has passed', async () => {
    primary.slapd.signal('SIGCONT');
    await sleep(COOLDOWN_MS + 100);
    expect(await servedBy('/get-user')).toBe('Served by primary');
    expect(await servedBy('/login')).toBe('Served by primary');
  });

  it('keeps logins succeeding while the first server is stopped in the middle of a run', async () => {
    const statuses: number[] = [];
    let running = true;
    const loginsInALoop = (async () => {
      while (running) {
        const response = await stack.post('/login', { username: 'replicated', password: 'replicated-password-1' });
        statuses.push(response.status);
      }
    })();
    await sleep(300);
    const before = statuses.length;
    primary.slapd.signal('SIGKILL'); // stopped mid-run, its connections gone at once
    await sleep(1500);
    running = false;
    await loginsInALoop;
    await primary.slapd.restart();
    expect(before).toBeGreaterThan(0);
    expect(statuses.length - before).toBeGreaterThan(5); // logins went on after the stop
    // On failure, say which answers and what the bridge logged meanwhile.
    const refusals = statuses.filter((status) => status !== 200);
    expect(
      refusals,
      stack.logs
        .filter((line) => !line.includes('"request handled"'))
        .slice(-10)
        .join('\n'),
    ).toEqual([]);
  });
});

describe('a server that accepts a connection and drops it at once (a server going away)', () => {
  // A relay to the secondary that forwards the first connection (the search connection) and
  // drops every later one the moment it is accepted, as a killed server's listener can.
  let relay: net.Server;
  let viaRelay: TestStack;
  beforeAll(async () => {
    let accepted = 0;
    relay = net.createServer((incoming) => {
      accepted += 1;
      if (accepted > 1) return void incoming.destroy();
      const outgoing = net.connect(Number(new URL(secondary.slapd.ldapUrl).port), '127.0.0.1');
      incoming.pipe(outgoing).pipe(incoming);
      incoming.on('error', () => outgoing.destroy());
      outgoing.on('error', () => incoming.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    viaRelay = await startTestStack({
      LDAP_URLS: `ldap://127.0.0.1:${(relay.address() as net.AddressInfo).port},${secondary.slapd.ldapUrl}`,
      LDAP_CA_CERT: undefined,
      LDAP_BASE_DN: peopleDN(secondary.slapd.suffix),
      LDAP_BIND_DN: secondary.slapd.serviceDN,
      LDAP_BIND_PASSWORD: secondary.servicePassword,
    });
  });
  afterAll(async () => {
    await viaRelay?.stop();
    relay?.close();
  });

  it('sends the bind on to the next server instead of answering 503', async () => {
    const response = await viaRelay.post('/login', { username: 'replicated', password: 'replicated-password-1' });
    expect(response.status, viaRelay.logs.filter((line) => line.includes('"warn"')).join('\n')).toBe(200);
    // The bind connection found its new connection dropped on the first operation, marked that
    // server and bound on the next one.
    expect(
      viaRelay.logs.some(
        (line) => line.includes('directory server closed a new connection') && line.includes('"role":"bind-'),
      ),
    ).toBe(true);
  });
});
