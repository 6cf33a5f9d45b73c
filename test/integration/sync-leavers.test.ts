// `sync-leavers` against a real slapd and the Management API emulator: a directory where some
// migrated users have since been disabled or expired, a tenant that also holds users the
// directory no longer has, a leaver and an active user an administrator blocked, and a user that
// signed up in Auth0 itself. A dry run changes nothing; apply blocks exactly the leavers with the
// marker, unblocks a user it blocked once the account is active again, leaves anyone else's block,
// is a no-op when run again, finishes an interrupted run without doing anything twice, honours a
// busy tenant, and refuses to act when the directory listed nothing or too many users would be
// blocked. No secret is printed or written.
import { type CliRun, runCliAgainstEmulator } from '../support/cli-process.ts';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SeedUser, userDN, withAdmin } from '../../dev/directory-data.ts';
import { type SeededSlapd, startSeededSlapd } from '../../dev/seeded-slapd.ts';
import { BLOCK_MARKER_BY, BLOCK_MARKER_KEY, type SyncLeaversReport } from '../../lambdas/core/migration/leavers.ts';
import { MigrationCheckFailed, runSyncLeavers } from '../../lambdas/entry/run-migration-checks.ts';
import { type ManagementApiEmulator, startManagementApiEmulator } from '../support/management-api-emulator.ts';

const DOMAIN = 'tenant.auth0.test';
const CLIENT = { clientId: 'leavers-client', clientSecret: 'leavers-secret-3f9a61c2' };
const CONNECTION = { id: 'con_ldapbridge000001', name: 'ldap-bridge' };
const PREFIX = 'corp-';
const ADMIN_BLOCK = { blocked_by: 'helpdesk', ticket: 'INC-4711' };

const people: SeedUser[] = Array.from({ length: 12 }, (_, index) => ({
  uid: `l${String(index).padStart(2, '0')}`,
  password: `password of l${index}`,
  cn: `Leaver test ${index}`,
  sn: `${index}`,
  mail: `l${index}@example.test`,
}));

let seeded: SeededSlapd;
let emulator: ManagementApiEmulator;
let out: string;
const ids = new Map<string, string>();

const env = (overrides: Record<string, string | undefined> = {}) => ({
  ...seeded.bridgeEnv({ LDAP_USER_ID_PREFIX: PREFIX }),
  AUTH0_DOMAIN: DOMAIN,
  AUTH0_CLIENT_ID: CLIENT.clientId,
  AUTH0_CLIENT_SECRET: CLIENT.clientSecret,
  ...overrides,
});
const managementApi = () => ({ apiHost: emulator.host, fetch: emulator.fetch, pollIntervalMs: 20 });
const auth0Id = (uid: string) => `auth0|${PREFIX}${ids.get(uid)}`;
const GONE = [`auth0|${PREFIX}gone-1`, `auth0|${PREFIX}gone-2`];
const LEAVERS = () => [auth0Id('l08'), auth0Id('l09'), ...GONE].sort();
const writes = () => emulator.requests.filter((request) => request.method === 'PATCH');
const written = (userId: string) => writes().filter((request) => decodeURIComponent(request.path).endsWith(userId));

async function setState(uid: string, type: string, value: string | undefined): Promise<void> {
  await withAdmin(seeded.admin, (client) =>
    client.modify(
      userDN(uid, seeded.slapd.suffix),
      new Change({
        operation: value === undefined ? 'delete' : 'replace',
        modification: new Attribute({ type, values: value === undefined ? [] : [value] }),
      }),
    ),
  );
}

beforeAll(async () => {
  seeded = await startSeededSlapd({ users: people });
  await setState('l08', 'pwdAccountLockedTime', '000001010000Z'); // disabled
  await setState('l09', 'pwdEndTime', '20200101000000Z'); // expired
  await setState('l10', 'pwdAccountLockedTime', '000001010000Z'); // disabled, and blocked by the helpdesk
  await withAdmin(seeded.admin, async (client) => {
    const { searchEntries } = await client.search(`ou=people,${seeded.slapd.suffix}`, {
      filter: '(objectClass=inetOrgPerson)',
      attributes: ['uid', 'entryUUID'],
    });
    for (const found of searchEntries) ids.set(String(found.uid), String(found.entryUUID));
  });
}, 120_000);
afterAll(() => seeded?.stop());

async function startTenant(limits: { ratePerSecond: number; burst: number }): Promise<void> {
  emulator = await startManagementApiEmulator({
    domain: DOMAIN,
    clients: [CLIENT],
    connections: [CONNECTION, { id: 'con_othersource00001', name: 'other-users' }],
    ...limits,
  });
  for (const person of people)
    emulator.addUser(CONNECTION.name, {
      user_id: `${PREFIX}${ids.get(person.uid)}`,
      email: person.mail ?? '',
      ...(person.uid === 'l10' || person.uid === 'l11'
        ? { blocked: true, app_metadata: ADMIN_BLOCK }
        : { app_metadata: { dn: `uid=${person.uid},ou=people` } }),
    });
  // Deleted from the directory since they migrated: their profile still names the entry they had.
  for (const id of GONE)
    emulator.addUser(CONNECTION.name, {
      user_id: id.slice('auth0|'.length),
      email: `${id.slice(-6)}@example.test`,
      app_metadata: { dn: `uid=${id.slice(-6)},ou=people` },
    });
  emulator.addUser(CONNECTION.name, { user_id: 'signed-up-in-auth0', email: 'signup@example.test' });
  emulator.addUser('other-users', { user_id: `${PREFIX}elsewhere`, email: 'elsewhere@example.test' });
}

beforeEach(async () => {
  await startTenant({ ratePerSecond: 50, burst: 20 });
  out = mkdtempSync(path.join(os.tmpdir(), 'bridge-sync-leavers-'));
});
afterEach(async () => {
  await emulator.stop();
  rmSync(out, { recursive: true, force: true });
});

const sync = (apply: boolean, more: Partial<Parameters<typeof runSyncLeavers>[1]> = {}, overrides = {}) =>
  runSyncLeavers(env(overrides), { connection: CONNECTION.name, apply, managementApi: managementApi(), ...more });

const blockedUsers = () =>
  emulator
    .users(CONNECTION.name)
    .filter((user) => user.blocked)
    .map((user) => user.user_id)
    .sort();

describe('sync-leavers', () => {
  it('plans the blocks in a dry run and changes nothing', async () => {
    const before = structuredClone(emulator.users());
    const report = await sync(false);
    expect(report).toMatchObject({ applied: false, interrupted: false });
    expect(report).not.toHaveProperty('refused');
    expect(report.counts).toMatchObject({
      directory: 12,
      auth0Users: 14,
      leavers: 5,
      alreadyBlocked: 1,
      keptBlocked: 1,
      toBlock: 4,
      toUnblock: 0,
      blocked: 0,
    });
    expect(report.changes.map((change) => [change.user_id, change.outcome])).toEqual(
      LEAVERS().map((id) => [id, 'planned']),
    );
    expect(writes()).toEqual([]);
    expect(emulator.users()).toEqual(before);
  });

  it('blocks exactly the leavers, with the marker and its reason, and nobody else', async () => {
    const report = await sync(true);
    expect(report.counts).toMatchObject({ toBlock: 4, blocked: 4, failed: 0, skipped: 0 });
    expect(blockedUsers()).toEqual([...LEAVERS(), auth0Id('l10'), auth0Id('l11')].sort());
    expect(emulator.user(auth0Id('l08'))?.app_metadata?.[BLOCK_MARKER_KEY]).toMatchObject({
      by: BLOCK_MARKER_BY,
      reason: 'account_disabled',
    });
    expect(emulator.user(auth0Id('l09'))?.app_metadata?.[BLOCK_MARKER_KEY]).toMatchObject({
      reason: 'account_expired',
    });
    expect(emulator.user(GONE[0] as string)?.app_metadata?.[BLOCK_MARKER_KEY]).toMatchObject({ reason: 'gone' });
    // The helpdesk's blocks are not touched; the sign-up Auth0 made itself is not the directory's to judge.
    expect(emulator.user(auth0Id('l10'))?.app_metadata).toEqual(ADMIN_BLOCK);
    expect(emulator.user(auth0Id('l11'))?.app_metadata).toEqual(ADMIN_BLOCK);
    expect(emulator.user('auth0|signed-up-in-auth0')?.blocked).toBeUndefined();
    expect(writes()).toHaveLength(4);
    expect(report.keptBlocked).toEqual([{ user_id: auth0Id('l11'), email: 'l11@example.test' }]);
  });

  it('does nothing when run again', async () => {
    await sync(true);
    const requestsBefore = emulator.requests.length;
    const again = await sync(true);
    expect(again.counts).toMatchObject({ toBlock: 0, toUnblock: 0, blocked: 0, alreadyBlocked: 5 });
    expect(writes()).toHaveLength(4);
    // Only the connection lookup and the export job: no user is read or written.
    expect(
      emulator.requests.slice(requestsBefore).filter((request) => request.path.startsWith('/api/v2/users')),
    ).toEqual([]);
  });

  it('unblocks a user it blocked once the directory account is active again, and only that one', async () => {
    await sync(true);
    await setState('l08', 'pwdAccountLockedTime', undefined);
    await setState('l10', 'pwdAccountLockedTime', undefined);
    try {
      const report = await sync(true);
      expect(report.counts).toMatchObject({ toUnblock: 1, unblocked: 1, keptBlocked: 2, toBlock: 0 });
      expect(emulator.user(auth0Id('l08'))?.blocked).toBe(false);
      expect(emulator.user(auth0Id('l08'))?.app_metadata).not.toHaveProperty(BLOCK_MARKER_KEY);
      // Re-enabled too, but blocked by the helpdesk: it stays blocked.
      expect(emulator.user(auth0Id('l10'))).toMatchObject({ blocked: true, app_metadata: ADMIN_BLOCK });
      expect(written(auth0Id('l10'))).toEqual([]);
    } finally {
      await setState('l08', 'pwdAccountLockedTime', '000001010000Z');
      await setState('l10', 'pwdAccountLockedTime', '000001010000Z');
    }
  });

  it('clears its marker from a user someone unblocked by hand, so that a later block by them is left alone', async () => {
    await sync(true);
    await setState('l08', 'pwdAccountLockedTime', undefined);
    try {
      const user = emulator.user(auth0Id('l08'));
      if (user) user.blocked = false; // the helpdesk unblocked them in the dashboard
      const report = await sync(true);
      expect(report.counts).toMatchObject({ toClearMarker: 1, markersCleared: 1 });
      expect(emulator.user(auth0Id('l08'))?.app_metadata).not.toHaveProperty(BLOCK_MARKER_KEY);
    } finally {
      await setState('l08', 'pwdAccountLockedTime', '000001010000Z');
    }
  });

  it('finishes an interrupted run without doing anything twice', async () => {
    const controller = new AbortController();
    const first = await sync(true, {
      signal: controller.signal,
      onProgress: (step, done) => {
        if (step === 'apply' && done === 1) controller.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    expect(first.counts).toMatchObject({ toBlock: 4, blocked: 1 });
    expect(first.changes.filter((change) => change.outcome === 'not_reached')).toHaveLength(3);
    const resumed = await sync(true);
    expect(resumed).toMatchObject({ interrupted: false, counts: { toBlock: 3, blocked: 3, alreadyBlocked: 2 } });
    for (const id of LEAVERS()) expect(written(id), id).toHaveLength(1);
    expect(blockedUsers()).toEqual([...LEAVERS(), auth0Id('l10'), auth0Id('l11')].sort());
  });

  it('completes against a tenant another application keeps busy, sending nothing before each announced reset', async () => {
    await emulator.stop();
    await startTenant({ ratePerSecond: 2, burst: 2 });
    emulator.occupyTenant(1500);
    const report = await sync(true, {
      onProgress: (step, done) => {
        if (step === 'apply' && done === 2) emulator.occupyTenant(1500);
      },
    });
    expect(report.counts).toMatchObject({ blocked: 4, failed: 0 });
    expect(emulator.rateLimited).toBeGreaterThan(0);
    expect(emulator.impatientRequests).toBe(0);
  }, 60_000);

  it('refuses to act when the directory lists no entries, and says why', async () => {
    const report = await sync(true, {}, { LDAP_BASE_DN: `ou=policies,${seeded.slapd.suffix}` });
    expect(report.applied).toBe(false);
    expect(report.refused).toContain('the directory listed no entries while Auth0 has 14 users in the connection');
    expect(report.counts).toMatchObject({ toBlock: 12, blocked: 0 });
    expect(writes()).toEqual([]);
  });

  it('fails, changing nothing, when the directory cannot be read', async () => {
    const failure = await sync(true, {}, { LDAP_URLS: 'ldaps://127.0.0.1:9', LDAP_CONNECT_TIMEOUT_MS: '500' }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(MigrationCheckFailed);
    expect((failure as Error).message).toContain('the directory stopped answering while it was read');
    expect(writes()).toEqual([]);
  });

  it('refuses to block more users than --max-block allows', async () => {
    const report = await sync(true, { maxBlock: { kind: 'count', value: 3 } });
    expect(report.refused).toContain('4 users would be blocked, more than --max-block allows (3)');
    expect(report.refused).toContain('--max-block 4');
    expect(writes()).toEqual([]);
    expect((await sync(true, { maxBlock: { kind: 'percent', value: 30 } })).counts.blocked).toBe(4);
  });

  it('runs as a command: the plan, a report per run, exit codes, and never a secret', async () => {
    const dry = await runCli(['sync-leavers', '--connection', CONNECTION.name, '--out', out], env());
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      `block ${auth0Id('l08')}  l8@example.test  ${userDN('l08', seeded.slapd.suffix)} (account_disabled)`,
    );
    expect(dry.stdout).toContain('Dry run: 4 to block, 0 to unblock, 0 markers to clear; nothing was changed');
    expect(writes()).toEqual([]);

    const refused = await runCli(
      ['sync-leavers', '--connection', CONNECTION.name, '--out', out, '--apply', '--max-block', '1'],
      env(),
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('Refused: 4 users would be blocked');
    expect(writes()).toEqual([]);

    const applied = await runCli(['sync-leavers', '--connection', CONNECTION.name, '--out', out, '--apply'], env());
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('Applied: 4 blocked, 0 unblocked, 0 markers cleared, 0 skipped');

    const reports = readdirSync(out).sort();
    expect(reports).toHaveLength(3);
    for (const name of reports) expect(statSync(path.join(out, name)).mode & 0o777, name).toBe(0o600);
    const last = JSON.parse(readFileSync(path.join(out, reports.at(-1) as string), 'utf8')) as SyncLeaversReport;
    expect(last).toMatchObject({ applied: true, counts: { blocked: 4 } });

    const bad = await runCli(['sync-leavers', '--connection', CONNECTION.name, '--max-block', 'lots'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-block: "lots" expected a whole number (25) or a percentage from 0 to 100 (5%)');
    const unknown = await runCli(['sync-leavers', '--connection', 'nope', '--out', out], env());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'no connection named "nope" in tenant.auth0.test (its connections: ldap-bridge, other-users)',
    );

    const everything = [dry, refused, applied, bad, unknown]
      .flatMap((run) => [run.stdout, run.stderr])
      .concat(reports.map((name) => readFileSync(path.join(out, name), 'utf8')))
      .join('\n');
    expect(emulator.issuedTokens.length).toBeGreaterThan(0);
    for (const secret of [CLIENT.clientSecret, seeded.servicePassword, ...emulator.issuedTokens])
      expect(everything).not.toContain(secret);
  }, 60_000);
});

/** `auth0-ldap-bridge ARGS` as its own process against the emulator. */
function runCli(args: string[], environment: Record<string, string | undefined>): Promise<CliRun> {
  return runCliAgainstEmulator(args, { emulator, domain: DOMAIN, env: environment });
}
