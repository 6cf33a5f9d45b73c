// `cutover` and `cutover --rollback` against the Management API emulator (HTTPS, written from
// Auth0's documentation: a connection update replaces the whole options object) and the shared
// test directory (readiness through progress and sync-leavers, which read it): the dry run changes
// nothing, apply writes exactly the no-op scripts and keeps every other option, the read-back
// catches an update Auth0 answered but stored otherwise, rollback restores exactly what was saved
// and refuses a file that is not that connection's unchanged save, settings Auth0 returns
// encrypted survive the round trip, a busy tenant only slows it down, a run killed after it saved
// is finished by the next one, and no secret is printed.
import { type CliRun, runCliAgainstEmulator } from '../support/cli-process.ts';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JsonLogger } from '../../lambdas/adapters/json-logger.ts';
import { loadDirectoryConfig } from '../../lambdas/core/config/bridge-config.ts';
import {
  type ConnectionOptions,
  cutoverOptions,
  makeCutoverSave,
  parseCutoverSave,
} from '../../lambdas/core/migration/cutover.ts';
import { type DirectoryUser, isActive } from '../../lambdas/core/migration/directory-users.ts';
import type { ImportState } from '../../lambdas/core/migration/import-state.ts';
import { CommandFailed, UsageError } from '../../lambdas/entry/commands/command.ts';
import {
  type CutoverOptions,
  type RollbackOptions,
  readNoopScripts,
  runCutover,
  runRollback,
} from '../../lambdas/entry/commands/cutover.ts';
import { readDirectoryUsers } from '../../lambdas/entry/run-migration-checks.ts';
import { type ManagementApiEmulator, startManagementApiEmulator } from '../support/management-api-emulator.ts';
import { directoryEnv } from '../support/stack.ts';

const DOMAIN = 'tenant.auth0.test';
const MGMT = { clientId: 'cutover-client', clientSecret: 'mgmt-secret-3b8e1f07c2' };
/** An application that may read connections and users but not update a connection. */
const READER = {
  clientId: 'reader-client',
  clientSecret: 'reader-secret-61d0c4',
  scopes: ['read:connections', 'read:users', 'create:users'],
};
const BRIDGE_SECRET = 'bridge-client-secret-9f2a64d1e0';
const CONNECTION_ID = 'con_ldapbridge000001';
const NOOP = readNoopScripts();

/** The bridge's connection as an operator set it up (Setting up Auth0), with some options of its own. */
const SEEDED_OPTIONS: ConnectionOptions = {
  mfa: { active: true, return_enroll_settings: true },
  import_mode: true,
  configuration: {
    AUTH0_DOMAIN: DOMAIN,
    BRIDGE_CLIENT_ID: 'bridge-client',
    BRIDGE_CLIENT_SECRET: BRIDGE_SECRET,
    BRIDGE_AUDIENCE: 'https://ldap-bridge.example.test/',
    BRIDGE_URL: 'https://bridge.example.test/prod',
  },
  customScripts: {
    login: readFileSync('auth0/login.js', 'utf8'),
    get_user: readFileSync('auth0/get_user.js', 'utf8'),
    change_password: 'function changePassword(email, newPassword, callback) {\n  return callback(null, false);\n}',
  },
  disable_signup: true,
  passwordPolicy: 'good',
  password_complexity_options: { min_length: 12 },
  brute_force_protection: true,
  enabledDatabaseCustomization: true,
  strategy_version: 2,
};

let directoryUsers: DirectoryUser[];
let emulator: ManagementApiEmulator;
let dir: string;
let out: string[];
let err: string[];

const env = () => ({
  ...directoryEnv(),
  LOG_LEVEL: 'error',
  AUTH0_DOMAIN: DOMAIN,
  AUTH0_CLIENT_ID: MGMT.clientId,
  AUTH0_CLIENT_SECRET: MGMT.clientSecret,
});

beforeAll(async () => {
  const { directory } = loadDirectoryConfig(directoryEnv());
  directoryUsers = await readDirectoryUsers(directory, new JsonLogger('error', () => undefined), {
    pageSize: 100,
    passwords: false,
    groups: false,
    now: new Date(),
  });
  expect(directoryUsers.filter(isActive).length).toBeGreaterThan(5);
});

/** The emulator with the bridge's connection, and every active directory user migrated but `leaveOut`. */
async function startTenant(
  changes: { leaveOut?: number; sealSettings?: boolean; ratePerSecond?: number } = {},
): Promise<void> {
  emulator = await startManagementApiEmulator({
    domain: DOMAIN,
    clients: [MGMT, READER],
    connections: [
      { id: CONNECTION_ID, name: 'ldap-bridge', options: SEEDED_OPTIONS },
      {
        id: 'con_otherdatabase001',
        name: 'other-db',
        options: { enabledDatabaseCustomization: true, customScripts: { login: 'function login(e, p, cb) {}' } },
      },
      { id: 'con_googlesocial0001', name: 'google-oauth2', strategy: 'google-oauth2', options: {} },
    ],
    ratePerSecond: changes.ratePerSecond ?? 50,
    burst: 10,
    ...(changes.sealSettings ? { sealSettings: true } : {}),
  });
  const active = directoryUsers.filter((user) => isActive(user) && user.userId !== undefined);
  for (const user of active.slice(changes.leaveOut ?? 0))
    emulator.addUser('ldap-bridge', { user_id: user.userId as string, email: `${user.userId}@example.test` });
}

const cutoverOptionsFor = (changes: Partial<CutoverOptions> = {}): CutoverOptions => ({
  domain: DOMAIN,
  ...MGMT,
  apiHost: emulator.host,
  fetch: emulator.fetch,
  out: (line) => out.push(line),
  log: (line) => err.push(line),
  connectionName: 'ldap-bridge',
  apply: false,
  force: false,
  env: env(),
  importDir: dir,
  savePath: path.join(dir, 'save.json'),
  pollIntervalMs: 20,
  ...changes,
});

const rollbackOptionsFor = (changes: Partial<RollbackOptions> = {}): RollbackOptions => ({
  domain: DOMAIN,
  ...MGMT,
  apiHost: emulator.host,
  fetch: emulator.fetch,
  out: (line) => out.push(line),
  log: (line) => err.push(line),
  connectionName: 'ldap-bridge',
  saveFile: path.join(dir, 'save.json'),
  apply: false,
  force: false,
  ...changes,
});

/** Runs as the command line does: a failure it explains becomes its message and exit code 1 (2 for usage). */
async function exitCode(run: Promise<number>): Promise<number> {
  try {
    return await run;
  } catch (error) {
    if (error instanceof UsageError) {
      err.push(error.message);
      return 2;
    }
    if (error instanceof CommandFailed) {
      err.push(error.message);
      return 1;
    }
    throw error;
  }
}

/** How cutover shows a script: its lines and the start of its SHA-256. */
const scriptSummary = (script: string) =>
  `a script of ${script.trimEnd().split('\n').length} line(s), sha256 ${createHash('sha256').update(script).digest('hex').slice(0, 12)}`;

const stored = () => emulator.connection('ldap-bridge')?.options;
const patches = () => emulator.requests.filter((request) => request.method === 'PATCH');
const printed = () => [...out, ...err].join('\n');

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-cutover-'));
  out = [];
  err = [];
});
afterEach(async () => {
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('cutover', () => {
  it('dry run: prints the readiness, the changes and where it would save, and changes nothing', async () => {
    await startTenant();
    expect(await exitCode(runCutover(cutoverOptionsFor()))).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/ok {4}not-migrated: (\d+) of \d+ directory users are in Auth0/);
    expect(text).toContain('ok    leavers: every leaver is blocked in Auth0');
    expect(text).toContain(`no bulk import recorded in ${dir}`);
    expect(text).toMatch(/customScripts\.login: a script of \d+ line\(s\), sha256 \w{12} -> /);
    expect(text).toContain(`-> ${scriptSummary(NOOP.login)}`);
    expect(text).toContain(`save: ${path.join(dir, 'save.json')}`);
    expect(text).toContain('dry run: nothing was saved or changed');
    expect(patches()).toEqual([]);
    expect(() => statSync(path.join(dir, 'save.json'))).toThrow();
    expect(stored()).toEqual(SEEDED_OPTIONS);
  });

  it('apply: saves the options 0600, writes exactly the no-op scripts with import on, keeps every other option, and verifies', async () => {
    await startTenant();
    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true })))).toBe(0);
    expect(out.join('\n')).toContain('cut over: connection ldap-bridge has the no-op Login and Get User scripts');
    expect(patches()).toHaveLength(1);
    const now = stored() as ConnectionOptions;
    const scripts = now.customScripts as Record<string, string>;
    expect(scripts.login).toBe(readFileSync('auth0/noop/login.js', 'utf8'));
    expect(scripts.get_user).toBe(readFileSync('auth0/noop/get_user.js', 'utf8'));
    expect(now).toEqual(cutoverOptions(SEEDED_OPTIONS, NOOP));
    const { customScripts: _a, ...rest } = now;
    const { customScripts: _b, ...restBefore } = SEEDED_OPTIONS;
    expect(rest).toEqual(restBefore);
    expect(scripts.change_password).toBe((SEEDED_OPTIONS.customScripts as Record<string, string>).change_password);

    const savePath = path.join(dir, 'save.json');
    expect(statSync(savePath).mode & 0o777).toBe(0o600);
    const save = parseCutoverSave(readFileSync(savePath, 'utf8'));
    expect(save).toMatchObject({ connection: { id: CONNECTION_ID, name: 'ldap-bridge' }, tenant: DOMAIN });
    expect(save.options).toEqual(SEEDED_OPTIONS);
    expect(printed()).not.toContain(BRIDGE_SECRET);

    // Run again: already cut over, nothing saved or written.
    out = [];
    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true, savePath: path.join(dir, 'again.json') })))).toBe(
      0,
    );
    expect(out.join('\n')).toContain('is already cut over');
    expect(patches()).toHaveLength(1);
    expect(() => statSync(path.join(dir, 'again.json'))).toThrow();
  });

  it('is not ready while a directory user has no Auth0 user, a leaver is unblocked or the last import is unread: names each fix, saves and writes nothing', async () => {
    await startTenant({ leaveOut: 1 });
    emulator.addUser('ldap-bridge', {
      user_id: 'left-the-company-01',
      email: 'left@example.test',
      app_metadata: { dn: 'uid=left,ou=people,dc=example,dc=test' },
    });
    const state: ImportState = {
      version: 2,
      connectionId: CONNECTION_ID,
      connectionName: 'ldap-bridge',
      files: { 'users-0001.json': { status: 'submitted', jobId: 'job_neverreadback01' } },
    };
    writeFileSync(path.join(dir, 'import-state.json'), JSON.stringify(state));
    writeFileSync(path.join(dir, 'users-0001.json'), '[]');

    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true })))).toBe(1);
    const text = out.join('\n');
    expect(text).toMatch(/FAIL {2}not-migrated: 1 of \d+ directory users have no Auth0 user in ldap-bridge/);
    expect(text).toContain('--allow-not-migrated 1');
    expect(text).toContain('FAIL  leavers: 1 user(s) who left the directory');
    expect(text).toContain('fix: auth0-ldap-bridge sync-leavers --connection ldap-bridge --apply');
    expect(text).toContain('jobs whose result was never read: users-0001.json');
    expect(text).toContain(`fix: auth0-ldap-bridge import --dir ${dir} --connection ldap-bridge`);
    expect(err.join('\n')).toContain('not ready (see above): nothing was saved or changed');
    expect(patches()).toEqual([]);
    expect(() => statSync(path.join(dir, 'save.json'))).toThrow();
    expect(stored()).toEqual(SEEDED_OPTIONS);

    out = [];
    expect(await exitCode(runCutover(cutoverOptionsFor({ allowNotMigrated: 1 })))).toBe(1);
    expect(out.join('\n')).toMatch(/ok {4}not-migrated: .*within --allow-not-migrated 1/);
  });

  it('refuses an unknown connection (naming the ones there are), a social connection, and scripts that are not the bridge’s unless --force', async () => {
    await startTenant();
    expect(await exitCode(runCutover(cutoverOptionsFor({ connectionName: 'ldap-brigde' })))).toBe(1);
    expect(err.join('\n')).toContain(
      'no connection named "ldap-brigde" in tenant.auth0.test (its connections: google-oauth2, ldap-bridge, other-db)',
    );
    expect(await exitCode(runCutover(cutoverOptionsFor({ connectionName: 'google-oauth2' })))).toBe(1);
    expect(err.join('\n')).toContain('is a "google-oauth2" connection, not a database connection');
    expect(await exitCode(runCutover(cutoverOptionsFor({ connectionName: 'other-db', apply: true })))).toBe(1);
    expect(err.join('\n')).toContain(
      "customScripts.login is not the bridge's (auth0/login.js) and customScripts.get_user is missing in connection other-db",
    );
    expect(patches()).toEqual([]);
  });

  it('refused by Auth0 after it saved: nothing changed, and the next run keeps that save rather than refuse it', async () => {
    await startTenant();
    const reader = { clientId: READER.clientId, clientSecret: READER.clientSecret };
    expect(await exitCode(runCutover(cutoverOptionsFor({ ...reader, apply: true })))).toBe(1);
    expect(err.join('\n')).toMatch(/Auth0 refused the update \(.*update:connections.*\): nothing was changed/);
    expect(stored()).toEqual(SEEDED_OPTIONS);
    const savePath = path.join(dir, 'save.json');
    const first = readFileSync(savePath, 'utf8');

    // A file at the save path that is not a save of these options is never replaced.
    const other = path.join(dir, 'other.json');
    writeFileSync(other, first.replace('"disable_signup": true', '"disable_signup": false'));
    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true, savePath: other })))).toBe(1);
    expect(out.join('\n')).toContain('exists already and is not a save of these options');
    expect(err.at(-1)).toContain(`${other} exists already: --save FILE names another. Nothing was changed.`);
    expect(patches().map((request) => request.status)).toEqual([403]);

    out = [];
    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true })))).toBe(0);
    expect(out.join('\n')).toContain('exists already and saves exactly these options');
    expect(readFileSync(savePath, 'utf8')).toBe(first);
    expect(stored()).toEqual(cutoverOptions(SEEDED_OPTIONS, NOOP));
  });

  it('catches an update Auth0 answered but stored otherwise, says what is configured and how to restore it', async () => {
    await startTenant();
    emulator.hooks.connectionUpdated = (connection) => {
      connection.options.import_mode = false;
      (connection.options.configuration as Record<string, string>).BRIDGE_CLIENT_SECRET = 'not-what-was-sent-77';
    };
    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true })))).toBe(1);
    const message = err.join('\n');
    expect(message).toContain(
      'Auth0 answered the update, but connection ldap-bridge holds something else than was sent:',
    );
    expect(message).toContain('import_mode: true -> false (sent -> held)');
    expect(message).toContain(
      'configuration.BRIDGE_CLIENT_SECRET: (set, value not shown) -> (set, value not shown) (sent -> held)',
    );
    expect(message).toContain('It now has: Login noop, Get User noop, Import Users to Auth0 off.');
    expect(message).toContain(
      `auth0-ldap-bridge cutover --connection ldap-bridge --rollback ${path.join(dir, 'save.json')} --apply --force restores them`,
    );
    expect(message).not.toContain(BRIDGE_SECRET);
    expect(message).not.toContain('not-what-was-sent-77');

    emulator.hooks.connectionUpdated = undefined;
    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true })))).toBe(1);
    expect(err.join('\n')).toContain('was changed since cutover wrote it');
    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true, force: true })))).toBe(0);
    expect(stored()).toEqual(SEEDED_OPTIONS);
  });

  it('finishes on a tenant that refuses every request for a while (another application uses its budget)', async () => {
    await startTenant({ ratePerSecond: 5 });
    emulator.occupyTenant(2500);
    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true })))).toBe(0);
    expect(emulator.rateLimited).toBeGreaterThan(0);
    expect(emulator.impatientRequests).toBe(0);
    expect(stored()).toEqual(cutoverOptions(SEEDED_OPTIONS, NOOP));
    emulator.occupyTenant(2500);
    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true })))).toBe(0);
    expect(stored()).toEqual(SEEDED_OPTIONS);
  });
});

describe('cutover --rollback', () => {
  beforeEach(async () => {
    await startTenant();
    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true })))).toBe(0);
    out = [];
    err = [];
  });

  it('dry run shows the changes and writes nothing; apply restores exactly the saved options; again, nothing to do', async () => {
    expect(await exitCode(runRollback(rollbackOptionsFor()))).toBe(0);
    expect(out.join('\n')).toContain(`customScripts.login: ${scriptSummary(NOOP.login)} -> a script of`);
    expect(out.join('\n')).toContain('dry run: nothing was changed');
    expect(patches()).toHaveLength(1);
    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true })))).toBe(0);
    expect(out.join('\n')).toContain('restored: connection ldap-bridge holds the options saved in');
    expect(stored()).toEqual(SEEDED_OPTIONS);
    expect(patches()).toHaveLength(2);
    out = [];
    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true })))).toBe(0);
    expect(out.join('\n')).toContain('already holds the saved options: nothing to do');
    expect(patches()).toHaveLength(2);
  });

  it('refuses a malformed file, a file edited since it was saved, and another connection’s save, sending nothing', async () => {
    const savePath = path.join(dir, 'save.json');
    const save = parseCutoverSave(readFileSync(savePath, 'utf8'));
    const cases: Array<[string, string, string]> = [
      [
        'malformed.json',
        '{"format": "auth0-ldap-bridge cutover save", ',
        'is not a cutover save this command can restore: it is not JSON',
      ],
      [
        'tampered.json',
        JSON.stringify({ ...save, options: { ...save.options, disable_signup: false } }),
        'it was changed after cutover wrote it (its sha256 does not match its contents)',
      ],
      [
        'foreign.json',
        JSON.stringify(
          makeCutoverSave({
            savedAt: save.savedAt,
            tenant: DOMAIN,
            connection: { id: 'con_otherdatabase001', name: 'other-db', strategy: 'auth0' },
            options: { enabledDatabaseCustomization: true },
            cutoverScripts: NOOP,
          }),
        ),
        'cannot be restored onto ldap-bridge: it was saved from connection other-db (con_otherdatabase001)',
      ],
    ];
    const requestsBefore = emulator.requests.length;
    for (const [name, text, reason] of cases) {
      writeFileSync(path.join(dir, name), text);
      expect(
        await exitCode(runRollback(rollbackOptionsFor({ saveFile: path.join(dir, name), apply: true, force: true }))),
      ).toBe(1);
      expect(err.at(-1)).toContain(reason);
    }
    expect(patches()).toHaveLength(1);
    // Only the foreign save needed the connection to be read; the others were refused before any request.
    expect(emulator.requests.slice(requestsBefore).every((request) => request.method === 'GET')).toBe(true);
    expect(stored()).toEqual(cutoverOptions(SEEDED_OPTIONS, NOOP));
  });

  it('refuses a connection changed since cutover, naming the change, unless --force', async () => {
    (stored() as ConnectionOptions).disable_signup = false;
    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true })))).toBe(1);
    expect(err.join('\n')).toContain('disable_signup: true -> false (cutover wrote -> now)');
    expect(patches()).toHaveLength(1);
    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true, force: true })))).toBe(0);
    expect(stored()).toEqual(SEEDED_OPTIONS);
  });
});

describe('settings Auth0 returns encrypted', () => {
  beforeEach(() => startTenant({ sealSettings: true }));

  it('cutover keeps them; rollback asks for their clear values and restores them, or sends them as saved with --force', async () => {
    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true })))).toBe(0);
    // Said at cutover, not first at rollback time: which settings a rollback will need in clear.
    expect(out.join('\n')).toContain(
      'encrypted (AUTH0_DOMAIN, BRIDGE_CLIENT_ID, BRIDGE_CLIENT_SECRET, BRIDGE_AUDIENCE, BRIDGE_URL)',
    );
    expect(out.join('\n')).toContain('--settings FILE --apply');
    const savePath = path.join(dir, 'save.json');
    const saved = readFileSync(savePath, 'utf8');
    expect(saved).not.toContain(BRIDGE_SECRET);
    expect(Object.keys((stored() as { configuration: object }).configuration)).toEqual(
      Object.keys(SEEDED_OPTIONS.configuration as object),
    );

    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true })))).toBe(2);
    expect(err.at(-1)).toContain(
      "the save holds the scripts' settings AUTH0_DOMAIN, BRIDGE_CLIENT_ID, BRIDGE_CLIENT_SECRET, BRIDGE_AUDIENCE, BRIDGE_URL as Auth0 returned them: encrypted",
    );
    expect(patches()).toHaveLength(1);

    const settingsFile = path.join(dir, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify({ ...(SEEDED_OPTIONS.configuration as object), BRIDGE_URL: undefined }));
    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true, settingsFile })))).toBe(2);
    expect(err.at(-1)).toContain('missing BRIDGE_URL');
    expect(err.at(-1)).not.toContain(BRIDGE_SECRET);

    writeFileSync(settingsFile, JSON.stringify(SEEDED_OPTIONS.configuration), { mode: 0o600 });
    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true, settingsFile })))).toBe(0);
    expect(stored()).toEqual(SEEDED_OPTIONS);
    expect(printed()).not.toContain(BRIDGE_SECRET);
  });

  it('rollback --force without the clear values sends them as saved and says to re-enter them', async () => {
    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true })))).toBe(0);
    expect(await exitCode(runRollback(rollbackOptionsFor({ apply: true, force: true })))).toBe(0);
    expect(out.join('\n')).toContain(
      're-enter the settings AUTH0_DOMAIN, BRIDGE_CLIENT_ID, BRIDGE_CLIENT_SECRET, BRIDGE_AUDIENCE, BRIDGE_URL under Authentication > Database > ldap-bridge > Custom Database > Settings',
    );
    const { configuration, ...rest } = stored() as ConnectionOptions;
    const { configuration: _seeded, ...seededRest } = SEEDED_OPTIONS;
    expect(rest).toEqual(seededRest);
    expect(configuration).not.toEqual(SEEDED_OPTIONS.configuration);
  });
});

describe('the command as a process', () => {
  it('killed right after it saved: the next run finishes the cutover, rollback restores it, and no secret or token is printed', async () => {
    await startTenant();
    const savePath = path.join(dir, 'cutover-save.json');
    const killed = await runCli(['--connection', 'ldap-bridge', '--apply', '--save', savePath, '--import-dir', dir], {
      killAt: 'saved the connection',
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(statSync(savePath).mode & 0o777).toBe(0o600);

    expect(await exitCode(runCutover(cutoverOptionsFor({ apply: true, savePath })))).toBe(0);
    expect(out.join('\n')).toMatch(/is already cut over|cut over: connection ldap-bridge/);
    expect(stored()).toEqual(cutoverOptions(SEEDED_OPTIONS, NOOP));
    expect(parseCutoverSave(readFileSync(savePath, 'utf8')).options).toEqual(SEEDED_OPTIONS);

    const rollback = await runCli(['--connection', 'ldap-bridge', '--rollback', savePath, '--apply']);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain('restored: connection ldap-bridge');
    expect(stored()).toEqual(SEEDED_OPTIONS);

    const everything = [killed.stdout, killed.stderr, rollback.stdout, rollback.stderr, printed()].join('\n');
    expect(emulator.issuedTokens.length).toBeGreaterThan(0);
    for (const secret of [
      BRIDGE_SECRET,
      MGMT.clientSecret,
      directoryEnv().LDAP_BIND_PASSWORD as string,
      ...emulator.issuedTokens,
    ])
      expect(everything).not.toContain(secret);
  }, 60_000);
});

/** Runs `auth0-ldap-bridge cutover` as its own process, and kills it once stderr shows `killAt`. */
function runCli(args: string[], how: { killAt?: string } = {}): Promise<CliRun> {
  return runCliAgainstEmulator(['cutover', ...args], {
    emulator,
    domain: DOMAIN,
    env: env(),
    ...(how.killAt ? { stopAt: { marker: how.killAt, signal: 'SIGKILL' as const } } : {}),
  });
}
