// `progress` against a real slapd and the Management API emulator: a directory with users in two
// containers, a group with a hostile name, disabled and expired accounts; a tenant where some users
// migrated on different days, some of them since disabled, expired or deleted in the directory,
// plus users the directory never had. Exact counts in progress.json; not-migrated.json fed to
// `export --only` exports exactly those users; progress.html opened in Debian's Chromium renders
// the same numbers and shows the hostile group name as text; an unknown connection and a file
// that is not a not-migrated.json are refused; a rate-limited tenant still completes; no secret
// is printed or written.
import { type CliRun, runCliAgainstEmulator } from '../support/cli-process.ts';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Attribute, Change } from 'ldapts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SeedUser, userDN, withAdmin } from '../../dev/directory-data.ts';
import { type SeededSlapd, startSeededSlapd } from '../../dev/seeded-slapd.ts';
import type { ImportUser } from '../../lambdas/core/migration/import-files.ts';
import type { ProgressReport } from '../../lambdas/core/migration/progress.ts';
import { exportDirectory } from '../../lambdas/entry/commands/export.ts';
import { UsageError } from '../../lambdas/entry/commands/command.ts';
import { writeProgressFiles } from '../../lambdas/entry/commands/progress.ts';
import { computeProgress, MigrationCheckFailed } from '../../lambdas/entry/run-migration-checks.ts';
import { type ManagementApiEmulator, startManagementApiEmulator } from '../support/management-api-emulator.ts';

const DOMAIN = 'tenant.auth0.test';
const CLIENT = { clientId: 'progress-client', clientSecret: 'progress-secret-5d1e9a0b' };
const CONNECTION = { id: 'con_ldapbridge000001', name: 'ldap-bridge' };
const PREFIX = 'corp-';
const HOSTILE_GROUP = '<script>alert(1)</script>';
const DAY_MS = 86_400_000;

const people: SeedUser[] = Array.from({ length: 30 }, (_, index) => ({
  uid: `u${String(index).padStart(2, '0')}`,
  password: `password of u${index}`,
  cn: `User ${index}`,
  sn: `${index}`,
  mail: `u${index}@example.test`,
}));
const contractors = Array.from({ length: 5 }, (_, index) => `c${index}`);

let seeded: SeededSlapd;
let emulator: ManagementApiEmulator;
let out: string;
/** entryUUID by uid. */
const ids = new Map<string, string>();
const execFileAsync = promisify(execFile);

const env = (overrides: Record<string, string | undefined> = {}) => ({
  ...seeded.bridgeEnv({ LDAP_USER_ID_PREFIX: PREFIX }),
  AUTH0_DOMAIN: DOMAIN,
  AUTH0_CLIENT_ID: CLIENT.clientId,
  AUTH0_CLIENT_SECRET: CLIENT.clientSecret,
  ...overrides,
});
const managementApi = () => ({ apiHost: emulator.host, fetch: emulator.fetch, pollIntervalMs: 20 });
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString();
const userId = (uid: string) => `${PREFIX}${ids.get(uid)}`;

beforeAll(async () => {
  seeded = await startSeededSlapd({
    users: people,
    groups: [
      { cn: 'sales', members: people.slice(0, 12).map((person) => person.uid) },
      { cn: HOSTILE_GROUP, members: ['u15', 'u16'] },
    ],
  });
  const suffix = seeded.slapd.suffix;
  await withAdmin(seeded.admin, async (client) => {
    await client.add(`ou=contractors,ou=people,${suffix}`, {
      objectClass: ['top', 'organizationalUnit'],
      ou: 'contractors',
    });
    for (const uid of contractors)
      await client.add(`uid=${uid},ou=contractors,ou=people,${suffix}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid,
        cn: `Contractor ${uid}`,
        sn: uid,
        mail: `${uid}@contractors.example.test`,
      });
    const replace = (type: string, value: string) =>
      new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
    await client.modify(userDN('u20', suffix), replace('pwdAccountLockedTime', '000001010000Z')); // disabled
    await client.modify(userDN('u21', suffix), replace('pwdEndTime', '20200101000000Z')); // expired
    await client.modify(userDN('u23', suffix), replace('pwdAccountLockedTime', '000001010000Z')); // disabled, never migrated
    const { searchEntries } = await client.search(`ou=people,${suffix}`, {
      filter: '(objectClass=inetOrgPerson)',
      attributes: ['uid', 'entryUUID'],
    });
    for (const found of searchEntries) ids.set(String(found.uid), String(found.entryUUID));
  });
}, 120_000);
afterAll(() => seeded?.stop());

beforeEach(async () => {
  emulator = await startManagementApiEmulator({
    domain: DOMAIN,
    clients: [CLIENT],
    connections: [CONNECTION, { id: 'con_othersource00001', name: 'other-users' }],
    ratePerSecond: 20,
    burst: 10,
  });
  const migrate = (uid: string, days: number, extra: Record<string, unknown> = {}) =>
    emulator.addUser(CONNECTION.name, {
      user_id: userId(uid),
      email: `${uid}@example.test`,
      created_at: daysAgo(days),
      app_metadata: { dn: userDN(uid, seeded.slapd.suffix) },
      ...extra,
    });
  // 15 active users migrated on three days: 20, 10 and 2 days ago.
  for (let index = 0; index < 15; index += 1)
    migrate(`u${String(index).padStart(2, '0')}`, [20, 10, 2][Math.floor(index / 5)] ?? 2);
  migrate('u20', 30); // since disabled in the directory
  migrate('u21', 30, { blocked: true }); // since expired, already blocked
  emulator.addUser(CONNECTION.name, {
    user_id: `${PREFIX}0b7c6e3a-deleted-from-directory`,
    email: 'left@example.test',
    created_at: daysAgo(30),
    app_metadata: { dn: userDN('left', seeded.slapd.suffix) },
  }); // gone
  emulator.addUser(CONNECTION.name, { user_id: 'signed-up-in-auth0', email: 'signup@example.test' }); // not from this directory
  emulator.addUser('other-users', { user_id: `${PREFIX}elsewhere`, email: 'elsewhere@example.test' });
  out = mkdtempSync(path.join(os.tmpdir(), 'bridge-progress-'));
});
afterEach(async () => {
  await emulator.stop();
  rmSync(out, { recursive: true, force: true });
});

const readJson = <T>(file: string) => JSON.parse(readFileSync(path.join(out, file), 'utf8')) as T;

describe('progress', () => {
  it('counts migrated, not migrated and leavers exactly, and writes the three files owner-only', async () => {
    const steps = new Set<string>();
    const report = await computeProgress(env(), {
      connection: CONNECTION.name,
      managementApi: managementApi(),
      pageSize: 7,
      onProgress: (step) => steps.add(step),
    });
    writeProgressFiles(out, report);
    const written = readJson<ProgressReport>('progress.json');
    // 35 entries: 30 people (u20, u23 disabled; u21 expired) and 5 contractors.
    expect(written.counts).toEqual({
      directory: 35,
      migrated: 15,
      notMigrated: 17,
      leavers: 3,
      inactive: 1,
      unmappable: 0,
      auth0Users: 18,
    });
    expect(written.share).toBe(15 / 32);
    expect(written.leavers).toMatchObject({ disabled: 1, expired: 1, gone: 1, blocked: 1 });
    expect(written.leavers.users.map((leaver) => [leaver.user_id, leaver.reason])).toEqual(
      [
        [`auth0|${userId('u20')}`, 'account_disabled'],
        [`auth0|${userId('u21')}`, 'account_expired'],
        [`auth0|${PREFIX}0b7c6e3a-deleted-from-directory`, 'gone'],
      ].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    );
    expect(written.problems.ignoredAuth0Rows).toMatchObject({ notFromDirectory: ['auth0|signed-up-in-auth0'] });
    expect(written.perDay.map((day) => [day.migrated, day.cumulative])).toEqual([
      [5, 5],
      [5, 10],
      [5, 15],
    ]);
    // 31 of 32 is 95 %; 16 missing at 10 migrations in the last 14 days: 23 days.
    const today = Date.parse(`${written.generatedAt.slice(0, 10)}T00:00:00Z`);
    expect(written.projection).toMatchObject({
      status: 'projected',
      targetUsers: 31,
      windowDays: 14,
      reachesOn: new Date(today + 23 * DAY_MS).toISOString().slice(0, 10),
    });
    expect(written.longTail.byContainer).toEqual([
      { name: `ou=people,${seeded.slapd.suffix}`, notMigrated: 12, total: 27 },
      { name: `ou=contractors,ou=people,${seeded.slapd.suffix}`, notMigrated: 5, total: 5 },
    ]);
    expect(written.longTail.byGroup).toContainEqual({ name: 'sales', notMigrated: 0, total: 12 });
    expect(written.longTail.byGroup).toContainEqual({ name: HOSTILE_GROUP, notMigrated: 2, total: 2 });
    expect(written).not.toHaveProperty('notMigratedUsers');
    expect(steps).toEqual(new Set(['directory', 'auth0']));

    const listed = readJson<{ users: Array<{ user_id: string; dn: string }> }>('not-migrated.json');
    expect(listed.users.map((user) => user.user_id).sort()).toEqual(
      [...people.map((person) => person.uid).filter((uid) => !/^u(0\d|1[0-4]|20|21|23)$/.test(uid)), ...contractors]
        .map(userId)
        .sort(),
    );
    for (const name of ['progress.json', 'not-migrated.json', 'progress.html'])
      expect(statSync(path.join(out, name)).mode & 0o777, name).toBe(0o600);
    expect(statSync(out).mode & 0o777).toBe(0o700);
  });

  it('feeds not-migrated.json to export --only, which exports exactly those users', async () => {
    writeProgressFiles(
      out,
      await computeProgress(env(), { connection: CONNECTION.name, managementApi: managementApi() }),
    );
    const exportDir = path.join(out, 'final');
    const summary = await exportDirectory({
      env: env({ LDAP_BIND_DN: `cn=bridge-exporter,ou=services,${seeded.slapd.suffix}` }),
      outDir: exportDir,
      only: path.join(out, 'not-migrated.json'),
    });
    const exported = readdirSync(exportDir)
      .filter((name) => /^users-\d{4}\.json$/.test(name))
      .flatMap((name) => JSON.parse(readFileSync(path.join(exportDir, name), 'utf8')) as ImportUser[]);
    const listed = readJson<{ users: Array<{ user_id: string }> }>('not-migrated.json').users.map(
      (user) => user.user_id,
    );
    expect(exported.map((user) => user.user_id).sort()).toEqual([...listed].sort());
    expect(summary).toMatchObject({ exported: 17, only: { listed: 17, notInDirectory: [] } });
  });

  it('refuses, naming the file, an --only file that is not a not-migrated.json, before reading the directory', async () => {
    writeProgressFiles(
      out,
      await computeProgress(env(), { connection: CONNECTION.name, managementApi: managementApi() }),
    );
    const malformed = path.join(out, 'edited.json');
    writeFileSync(
      malformed,
      readFileSync(path.join(out, 'not-migrated.json'), 'utf8').replace('"count": 17', '"count": 3'),
    );
    for (const [file, why] of [
      [path.join(out, 'progress.json'), 'its "format" is undefined'],
      [malformed, '"count" says 3 but "users" lists 17'],
      [path.join(out, 'missing.json'), 'cannot be read (ENOENT)'],
    ] as const) {
      // No directory listens there: the file is refused before anything is read.
      const refusal = await exportDirectory({
        env: env({ LDAP_URLS: 'ldaps://127.0.0.1:9' }),
        outDir: path.join(out, 'x'),
        only: file,
      }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(UsageError);
      expect((refusal as Error).message).toContain(`--only: ${file} `);
      expect((refusal as Error).message).toContain(why);
    }
    expect(existsSync(path.join(out, 'x'))).toBe(false);
  });

  it('draws progress.html that a real browser renders with the numbers of progress.json, the hostile group as text', async () => {
    writeProgressFiles(
      out,
      await computeProgress(env(), { connection: CONNECTION.name, managementApi: managementApi() }),
    );
    const written = readJson<ProgressReport>('progress.json');
    const { stdout: dom } = await execFileAsync(
      'chromium',
      ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${path.join(out, 'progress.html')}`],
      { encoding: 'utf8', maxBuffer: 10 * 1024 * 1024 },
    );
    const figure = (name: string) => {
      const match = new RegExp(`data-figure="${name.replace('.', '\\.')}" data-value="([^"]*)">([^<]*)<`).exec(dom);
      expect(match, name).not.toBeNull();
      return { value: match?.[1], text: match?.[2] };
    };
    expect(figure('migrated')).toEqual({ value: '15', text: String(written.counts.migrated) });
    expect(figure('notMigrated')).toEqual({ value: '17', text: String(written.counts.notMigrated) });
    expect(figure('leavers')).toEqual({ value: '3', text: String(written.counts.leavers) });
    expect(figure('share')).toEqual({ value: String(written.share), text: '46.9 %' });
    expect(figure('leavers.gone').value).toBe(String(written.leavers.gone));
    expect(figure('targetUsers').value).toBe(String(written.projection.targetUsers));
    expect(written.projection.status).toBe('projected');
    const projected = written.projection as Extract<ProgressReport['projection'], { status: 'projected' }>;
    expect(figure('reachesOn')).toEqual({ value: projected.reachesOn, text: projected.reachesOn });
    expect(dom).toMatch(/<svg[^>]*data-figure="chart" data-value="15"/);
    // The group name is text in the page, never an element: the browser would have run it.
    expect(dom).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(dom).not.toMatch(/<script/i);
  });

  it('refuses an unknown connection, naming the ones there are, before reading the directory or exporting', async () => {
    const failure = await computeProgress(env({ LDAP_URLS: 'ldaps://127.0.0.1:9' }), {
      connection: 'no-such-connection',
      managementApi: managementApi(),
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MigrationCheckFailed);
    expect((failure as Error).message).toBe(
      'no connection named "no-such-connection" in tenant.auth0.test (its connections: ldap-bridge, other-users)',
    );
    expect(emulator.jobs).toEqual([]);
  });

  it('completes against a tenant another application keeps busy, sending nothing before each announced reset', async () => {
    emulator.occupyTenant(2500);
    const report = await computeProgress(env(), { connection: CONNECTION.name, managementApi: managementApi() });
    expect(report.counts.migrated).toBe(15);
    expect(emulator.rateLimited).toBeGreaterThan(0);
    expect(emulator.impatientRequests).toBe(0);
  });

  it('runs as a command (exit 0, the summary on stdout), and never prints or writes a secret', async () => {
    const run = await runCli(['progress', '--connection', CONNECTION.name, '--out', out], env());
    expect(run.stderr).not.toContain('failed');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('15 of 32 active directory users are in Auth0 (46.9 %); 17 not migrated yet');
    expect(run.stdout).toContain(
      '3 leavers in Auth0 (1 disabled, 1 expired, 1 gone in the directory; 1 of them blocked)',
    );
    expect(run.stdout).toContain(path.join(out, 'progress.html'));
    // Not a terminal: the long steps' progress as plain lines on stderr.
    expect(run.stderr).toContain('directory: 35 entries read');
    expect(run.stderr).toContain('Auth0 export: 100 %');
    const everything = [
      run.stdout,
      run.stderr,
      ...['progress.json', 'not-migrated.json', 'progress.html'].map((name) =>
        readFileSync(path.join(out, name), 'utf8'),
      ),
    ].join('\n');
    expect(emulator.issuedTokens.length).toBeGreaterThan(0);
    for (const secret of [CLIENT.clientSecret, seeded.servicePassword, ...emulator.issuedTokens])
      expect(everything).not.toContain(secret);
  });

  it('exits 1 for an unknown connection and 2 without --connection or with bad settings', async () => {
    const unknown = await runCli(['progress', '--connection', 'nope', '--out', out], env());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('progress: no connection named "nope" in tenant.auth0.test');
    const missing = await runCli(['progress', '--out', out], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--connection NAME is required');
    const settings = await runCli(['progress', '--connection', 'ldap-bridge'], env({ AUTH0_CLIENT_SECRET: undefined }));
    expect(settings.code).toBe(2);
    expect(settings.stderr).toContain('AUTH0_CLIENT_SECRET');
    expect(readdirSync(out)).toEqual([]);
  });
});

/** `auth0-ldap-bridge ARGS` as its own process against the emulator. */
function runCli(args: string[], environment: Record<string, string | undefined>): Promise<CliRun> {
  return runCliAgainstEmulator(args, { emulator, domain: DOMAIN, env: environment });
}
