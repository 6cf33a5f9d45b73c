// Several directory servers: a server that stops answering is paid for once per cool-down, the
// next one serves meanwhile, and the first comes back when the cool-down has passed. Two real
// slapds stand in for replicas; their `cn` differs so each answer says which one served it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peopleDN, type SeedUser } from '../../scripts/directory-data.ts';
import { startSeededSlapd, type SeededSlapd } from '../../scripts/seeded-slapd.ts';
import { randomSecret } from '../../scripts/throwaway-slapd.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

const user = (server: string): SeedUser => ({ uid: 'replicated', password: 'replicated-password-1', cn: `Served by ${server}`, sn: 'Replica', mail: 'replicated@example.test' });
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
  const response = await stack.post(path, path === '/login' ? { username: 'replicated', password: 'replicated-password-1' } : { username: 'replicated' });
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
    const warnings = stack.logs.filter((line) => line.includes('directory server did not answer')).slice(warningsBefore);
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
    expect(statuses.every((status) => status === 200)).toBe(true);
  });
});
