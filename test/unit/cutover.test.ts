// What cutover decides without touching Auth0: which scripts a connection runs, the options it
// writes (only the Login and Get User scripts and import_mode change), the readiness rules and the
// command each failed rule names, how options are compared (settings Auth0 returns encrypted only
// by presence, no value ever shown), and the save file a rollback trusts: strict parsing, the
// digest that catches an edit, another connection's save, and what a rollback writes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ConnectionOptions,
  CutoverSaveError,
  cutoverOptions,
  describeChange,
  isSealedSetting,
  judgeReadiness,
  type LastImport,
  makeCutoverSave,
  optionChanges,
  parseCutoverSave,
  planRollback,
  type ReadinessInput,
  saveMismatch,
  scriptKind,
} from '../../lambdas/core/migration/cutover.ts';
import type { ImportState } from '../../lambdas/core/migration/import-state.ts';
import { main } from '../../lambdas/entry/cli.ts';

const NOOP = {
  login: readFileSync('auth0/noop/login.js', 'utf8'),
  get_user: readFileSync('auth0/noop/get_user.js', 'utf8'),
};
const BRIDGE = {
  login: readFileSync('auth0/login.js', 'utf8'),
  get_user: readFileSync('auth0/get_user.js', 'utf8'),
};
const CLIENT_SECRET = 'bridge-client-secret-5d1e9a3c77';
/** A value as Auth0 returns a setting (taken from the answers recorded in Auth0's Terraform provider tests). */
const SEALED =
  'CkIKIFB7R8wZCpI7EmB+Xi0yrkcsnlo9S4lw0w0fZNRPLoK1Egwup/B8S+PhjMznpJAaEFY09s+i9mJHrG6itFiWxVESJQoDExi0Egx2lYFZiCnGFWhQC1waECJlTmqcu42XS4gAVIvIRT8aEPB6GqhVqkcZlx3F3TSqs9k=';

/** A database connection's options as Auth0 returns them, the bridge's scripts in place. */
const options = (changes: ConnectionOptions = {}): ConnectionOptions => ({
  mfa: { active: true, return_enroll_settings: true },
  import_mode: true,
  configuration: {
    AUTH0_DOMAIN: 'tenant.auth0.test',
    BRIDGE_CLIENT_ID: 'bridge-client',
    BRIDGE_CLIENT_SECRET: CLIENT_SECRET,
    BRIDGE_AUDIENCE: 'https://ldap-bridge.example.test/',
    BRIDGE_URL: 'https://bridge.example.test/prod',
  },
  customScripts: {
    login: BRIDGE.login,
    create: 'function create(user, callback) { callback(null); }',
    get_user: BRIDGE.get_user,
    change_password: 'function changePassword(email, newPassword, callback) { callback(null, false); }',
  },
  disable_signup: true,
  passwordPolicy: 'good',
  brute_force_protection: true,
  enabledDatabaseCustomization: true,
  strategy_version: 2,
  password_complexity_options: { min_length: 12 },
  ...changes,
});

describe('scriptKind', () => {
  it("recognises the bridge's scripts, the no-op scripts, missing ones and anyone else's", () => {
    expect(scriptKind(options(), 'login', NOOP)).toBe('bridge');
    expect(scriptKind(options(), 'get_user', NOOP)).toBe('bridge');
    const cut = cutoverOptions(options(), NOOP);
    expect(scriptKind(cut, 'login', NOOP)).toBe('noop');
    expect(scriptKind(cut, 'get_user', NOOP)).toBe('noop');
    const other = options({ customScripts: { login: 'function login(e, p, cb) { mysql(); }' } });
    expect(scriptKind(other, 'login', NOOP)).toBe('other');
    expect(scriptKind(other, 'get_user', NOOP)).toBe('missing');
    // The bridge's login script pasted as Get User is not the bridge's Get User.
    expect(scriptKind(options({ customScripts: { get_user: BRIDGE.login } }), 'get_user', NOOP)).toBe('other');
  });
});

describe('cutoverOptions', () => {
  it('replaces only the Login and Get User scripts and turns import on; every other key keeps its value and place', () => {
    const before = options({ import_mode: false });
    const snapshot = structuredClone(before);
    const after = cutoverOptions(before, NOOP);
    expect(before).toEqual(snapshot);
    expect(after.customScripts).toEqual({
      login: NOOP.login,
      create: (snapshot.customScripts as Record<string, string>).create,
      get_user: NOOP.get_user,
      change_password: (snapshot.customScripts as Record<string, string>).change_password,
    });
    expect(after.import_mode).toBe(true);
    const { customScripts: _a, import_mode: _b, ...rest } = after;
    const { customScripts: _c, import_mode: _d, ...restBefore } = snapshot;
    expect(JSON.stringify(rest)).toBe(JSON.stringify(restBefore));
    expect(Object.keys(after)).toEqual(Object.keys(snapshot));
    expect(optionChanges(snapshot, after).map((change) => change.path)).toEqual([
      'import_mode',
      'customScripts.login',
      'customScripts.get_user',
    ]);
  });

  it('adds the scripts and import_mode to a connection that had neither', () => {
    const after = cutoverOptions({ enabledDatabaseCustomization: true }, NOOP);
    expect(after).toEqual({ enabledDatabaseCustomization: true, customScripts: NOOP, import_mode: true });
  });
});

const completed = (failed: number, errors: Array<{ code: string }[]>) => ({
  status: 'completed' as const,
  jobId: `job_${failed}`,
  summary: { inserted: 10 - failed, updated: 0, failed, total: 10 },
  errors: errors.map((codes, index) => ({
    email: `u${index}@example.test`,
    errors: codes.map(({ code }) => ({ code, message: code })),
  })),
});

const state = (files: ImportState['files'], connectionId = 'con_ldapbridge000001'): ImportState => ({
  version: 2,
  connectionId,
  connectionName: 'ldap-bridge',
  files,
});

const imported = (importState: ImportState, fileNames = Object.keys(importState.files)): LastImport => ({
  found: true,
  dir: 'export',
  state: importState,
  fileNames,
});

const readiness = (changes: Partial<ReadinessInput> = {}) =>
  judgeReadiness({
    connection: { id: 'con_ldapbridge000001', name: 'ldap-bridge' },
    progress: { counts: { directory: 120, migrated: 120, notMigrated: 0 } },
    leavers: { counts: { toBlock: 0, toUnblock: 0 } },
    lastImport: imported(state({ 'users-0001.json': completed(0, []) })),
    allowNotMigrated: 0,
    ...changes,
  });

const check = (result: ReturnType<typeof judgeReadiness>, name: string) =>
  result.checks.find((each) => each.name === name);

describe('judgeReadiness', () => {
  it('is ready when every directory user is in Auth0, no leaver is unblocked and the last import completed', () => {
    const result = readiness();
    expect(result.ready).toBe(true);
    expect(result.checks.map((each) => [each.name, each.ok])).toEqual([
      ['not-migrated', true],
      ['leavers', true],
      ['last-import', true],
    ]);
  });

  it('waits for directory users without an Auth0 user, unless they are within --allow-not-migrated', () => {
    const progress = { counts: { directory: 120, migrated: 117, notMigrated: 3 } };
    const waiting = readiness({ progress });
    expect(waiting.ready).toBe(false);
    expect(check(waiting, 'not-migrated')).toMatchObject({
      ok: false,
      says: expect.stringContaining('3 of 120 directory users have no Auth0 user in ldap-bridge'),
      fix: expect.stringMatching(
        /progress --connection ldap-bridge.*export --only not-migrated.*--allow-not-migrated 3/,
      ),
    });
    const allowed = readiness({ progress, allowNotMigrated: 3 });
    expect(allowed.ready).toBe(true);
    expect(check(allowed, 'not-migrated')?.says).toContain(
      'within --allow-not-migrated 3: after cutover they cannot log in',
    );
    expect(readiness({ progress, allowNotMigrated: 2 }).ready).toBe(false);
  });

  it('waits for leavers still unblocked in Auth0 and names sync-leavers --apply; users to unblock are only a note', () => {
    const blocking = readiness({ leavers: { counts: { toBlock: 2, toUnblock: 0 } } });
    expect(blocking.ready).toBe(false);
    expect(check(blocking, 'leavers')?.fix).toBe('auth0-ldap-bridge sync-leavers --connection ldap-bridge --apply');
    const unblock = readiness({ leavers: { counts: { toBlock: 0, toUnblock: 1 } } });
    expect(unblock.ready).toBe(true);
    expect(unblock.notes.join('\n')).toContain('1 user(s) blocked in Auth0 are active in the directory again');
  });

  it('needs no import when none was run from the directory, and says so', () => {
    const result = readiness({ lastImport: { found: false, dir: 'export' } });
    expect(result.ready).toBe(true);
    expect(result.notes.join('\n')).toContain('no import-state.json in export');
  });

  it.each([
    [
      'a job whose result was never read',
      { 'users-0001.json': { status: 'submitted' as const, jobId: 'job_a' } },
      /jobs whose result was never read: users-0001.json/,
      'auth0-ldap-bridge import --dir export --connection ldap-bridge',
    ],
    [
      'a file sent without a recorded answer',
      { 'users-0001.json': { status: 'submitting' as const } },
      /files sent without a recorded answer: users-0001.json/,
      '--resubmit-unconfirmed',
    ],
    [
      'a job that failed',
      {
        'users-0001.json': {
          status: 'failed' as const,
          jobId: 'job_a',
          jobStatus: 'expired',
          problem: 'Auth0 ended the job expired',
        },
      },
      /files that did not import \(job failed, refused or lost\): users-0001.json/,
      '--upsert',
    ],
    [
      'users Auth0 refused',
      { 'users-0001.json': completed(2, [[{ code: 'INVALID_FORMAT' }], [{ code: 'DUPLICATED_USER' }]]) },
      /1 user\(s\) did not import for a reason other than already being in Auth0/,
      'fix them in the directory, export and import again',
    ],
    [
      'failures Auth0 counted but did not list',
      { 'users-0001.json': completed(3, [[{ code: 'DUPLICATED_USER' }]]) },
      /2 user\(s\) did not import/,
      'export and import again',
    ],
  ])('waits for the last import when it has %s', (_, files, says, fix) => {
    const result = readiness({ lastImport: imported(state(files)) });
    expect(result.ready).toBe(false);
    expect(check(result, 'last-import')?.says).toMatch(says);
    expect(check(result, 'last-import')?.fix).toContain(fix);
  });

  it('counts users Auth0 refused because it holds them already as imported (they logged in meanwhile)', () => {
    const result = readiness({
      lastImport: imported(
        state({ 'users-0001.json': completed(2, [[{ code: 'DUPLICATED_USER' }], [{ code: 'DUPLICATED_USER' }]]) }),
      ),
    });
    expect(result.ready).toBe(true);
    expect(result.notes.join('\n')).toContain('2 user(s) of the last import were already in Auth0 (DUPLICATED_USER)');
  });

  it('waits when an export file was never sent, when the state is unreadable, or when it is another connection’s', () => {
    const notSent = readiness({
      lastImport: imported(state({ 'users-0001.json': completed(0, []) }), ['users-0001.json', 'users-0002.json']),
    });
    expect(check(notSent, 'last-import')?.says).toContain('files never sent: users-0002.json');
    const unreadable = readiness({ lastImport: { found: true, dir: 'export', problem: 'it is not JSON' } });
    expect(check(unreadable, 'last-import')).toMatchObject({
      ok: false,
      says: expect.stringContaining('it is not JSON'),
    });
    const elsewhere = readiness({ lastImport: imported(state({}, 'con_otherconnection01')) });
    expect(elsewhere.ready).toBe(false);
    expect(check(elsewhere, 'last-import')).toMatchObject({
      says: expect.stringContaining(
        'records an import into ldap-bridge (con_otherconnection01), not ldap-bridge (con_ldapbridge000001)',
      ),
      fix: expect.stringContaining('--import-dir'),
    });
  });
});

describe('optionChanges and describeChange', () => {
  it('compares settings Auth0 returns encrypted by presence only, and never shows a setting’s value', () => {
    const before = options();
    const sealed = options({ configuration: { ...(before.configuration as object), BRIDGE_CLIENT_SECRET: SEALED } });
    expect(isSealedSetting(SEALED)).toBe(true);
    expect(isSealedSetting(CLIENT_SECRET)).toBe(false);
    expect(optionChanges(before, sealed)).toEqual([]);
    const changed = options({
      configuration: { ...(before.configuration as object), BRIDGE_CLIENT_SECRET: 'other-secret-value' },
    });
    const [change] = optionChanges(before, changed);
    expect(change?.path).toBe('configuration.BRIDGE_CLIENT_SECRET');
    const line = describeChange(change!);
    expect(line).toBe('configuration.BRIDGE_CLIENT_SECRET: (set, value not shown) -> (set, value not shown)');
    const { configuration: _gone, ...withoutSettings } = before;
    const dropped = optionChanges(before, withoutSettings);
    expect(dropped.map(describeChange)).toEqual(['configuration: (set, value not shown) -> (absent)']);
    expect(JSON.stringify(dropped.map(describeChange))).not.toContain(CLIENT_SECRET);
  });

  it('shows a script by its size and digest, and other values as JSON', () => {
    const before = options({ import_mode: false });
    const lines = optionChanges(before, cutoverOptions(before, NOOP)).map(describeChange);
    expect(lines).toContain('import_mode: false -> true');
    expect(lines.find((line) => line.startsWith('customScripts.login'))).toMatch(
      /^customScripts\.login: a script of \d+ line\(s\), sha256 [0-9a-f]{12} -> a script of \d+ line\(s\), sha256 [0-9a-f]{12}$/,
    );
  });
});

const saved = (changes: ConnectionOptions = {}) =>
  makeCutoverSave({
    savedAt: '2026-12-01T10:15:00.000Z',
    tenant: 'tenant.auth0.test',
    connection: { id: 'con_ldapbridge000001', name: 'ldap-bridge', strategy: 'auth0' },
    options: options(changes),
    cutoverScripts: NOOP,
  });

describe('the save file', () => {
  it('reads back what cutover writes', () => {
    const save = saved();
    expect(parseCutoverSave(JSON.stringify(save, null, 2))).toEqual(save);
    expect(save.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['not JSON', '{"format":', 'it is not JSON'],
    ['an array', '[]', 'it is not a JSON object'],
    ['another file', JSON.stringify({ version: 2, connectionId: 'con_a', files: {} }), 'it is not a cutover save'],
    ['a later version', JSON.stringify({ ...saved(), version: 2 }), 'its version 2 is not one this command knows'],
    ['no connection', JSON.stringify({ ...saved(), connection: { name: 'x' } }), 'it names no connection'],
    ['no options', JSON.stringify({ ...saved(), options: 'x' }), 'it holds no options object'],
    ['no scripts', JSON.stringify({ ...saved(), cutoverScripts: {} }), 'cutoverScripts.login, get_user'],
    ['no time', JSON.stringify({ ...saved(), savedAt: 'yesterday' }), 'its savedAt is not a time'],
  ])('refuses %s, saying why', (_, text, reason) => {
    expect(() => parseCutoverSave(text)).toThrow(CutoverSaveError);
    expect(() => parseCutoverSave(text)).toThrow(reason);
  });

  it('refuses a save edited since it was written: an option, the connection, or the digest itself', () => {
    const save = saved();
    const editedOption = { ...save, options: { ...save.options, disable_signup: false } };
    const movedConnection = { ...save, connection: { ...save.connection, id: 'con_otherconnection01' } };
    const newDigest = { ...save, sha256: save.sha256.replace(/^./, (first) => (first === '0' ? '1' : '0')) };
    for (const edited of [editedOption, movedConnection, newDigest])
      expect(() => parseCutoverSave(JSON.stringify(edited))).toThrow(
        'it was changed after cutover wrote it (its sha256 does not match its contents)',
      );
  });

  it("names the connection a save belongs to when it is another one's", () => {
    const save = saved();
    expect(saveMismatch(save, { id: 'con_ldapbridge000001', name: 'ldap-bridge' })).toBeUndefined();
    expect(saveMismatch(save, { id: 'con_otherconnection01', name: 'other-db' })).toBe(
      'it was saved from connection ldap-bridge (con_ldapbridge000001) of tenant.auth0.test, not other-db (con_otherconnection01)',
    );
  });
});

describe('planRollback', () => {
  it('writes the saved options exactly onto a connection as cutover left it', () => {
    const save = saved();
    const plan = planRollback(save, cutoverOptions(save.options, NOOP));
    expect(plan).toEqual({ target: save.options, alreadyRestored: false, changedSinceCutover: [], sealedSettings: [] });
  });

  it('names what changed since cutover, and has nothing to do on a connection already restored', () => {
    const save = saved();
    const changedByHand = { ...cutoverOptions(save.options, NOOP), disable_signup: false };
    expect(planRollback(save, changedByHand).changedSinceCutover.map(describeChange)).toEqual([
      'disable_signup: true -> false',
    ]);
    expect(planRollback(save, structuredClone(save.options))).toMatchObject({
      alreadyRestored: true,
      changedSinceCutover: [],
    });
  });

  it('takes clear values for settings the save holds encrypted, only for exactly the saved keys, never quoting a value', () => {
    const save = saved({
      configuration: { BRIDGE_CLIENT_SECRET: SEALED, BRIDGE_URL: SEALED.replace('CkIKIF', 'CkIKIG') },
    });
    const cutOver = cutoverOptions(save.options, NOOP);
    expect(planRollback(save, cutOver).sealedSettings).toEqual(['BRIDGE_CLIENT_SECRET', 'BRIDGE_URL']);
    const clear = { BRIDGE_CLIENT_SECRET: CLIENT_SECRET, BRIDGE_URL: 'https://bridge.example.test/prod' };
    const plan = planRollback(save, cutOver, clear);
    expect(plan.sealedSettings).toEqual([]);
    expect(plan.target).toEqual({ ...save.options, configuration: clear });
    let refused: unknown;
    try {
      planRollback(save, cutOver, { BRIDGE_CLIENT_SECRET: CLIENT_SECRET, BRIDGE_TYPO: 'https://x' });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(CutoverSaveError);
    expect((refused as Error).message).toBe(
      'the settings given are not the saved ones (missing BRIDGE_URL; not saved: BRIDGE_TYPO); the save holds BRIDGE_CLIENT_SECRET, BRIDGE_URL',
    );
    expect((refused as Error).message).not.toContain(CLIENT_SECRET);
  });
});

describe('auth0-ldap-bridge cutover, before anything is sent', () => {
  const tenant = {
    AUTH0_DOMAIN: 'tenant.auth0.test',
    AUTH0_CLIENT_ID: 'client',
    AUTH0_CLIENT_SECRET: 'mgmt-secret-0a9b',
  };
  async function run(argv: string[], env: Record<string, string> = tenant) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['cutover', ...argv], {
      env,
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });
    return { code, text: [...out, ...err].join('\n') };
  }

  it.each([
    [[], '--connection NAME is required'],
    [['--connection', 'ldap-bridge', '--settings', 's.json'], '--settings is for --rollback'],
    [
      ['--connection', 'ldap-bridge', '--rollback', 'r.json', '--save', 'x.json'],
      '--save is for cutover, not --rollback',
    ],
    [
      ['--connection', 'ldap-bridge', '--allow-not-migrated', 'some'],
      '--allow-not-migrated: "some" expected a whole number',
    ],
    [
      ['--connection', 'ldap-bridge', '--rollback', '/nonexistent/save.json'],
      '--rollback: cannot read /nonexistent/save.json (ENOENT)',
    ],
  ])('refuses %j with exit code 2, naming what is wrong', async (argv, message) => {
    const { code, text } = await run(argv);
    expect(code).toBe(2);
    expect(text).toContain(message);
  });

  it('names the missing settings: AUTH0_* for a rollback, LDAP_* as well for a cutover', async () => {
    const rollback = await run(['--connection', 'ldap-bridge', '--rollback', 'r.json'], {});
    expect(rollback.code).toBe(2);
    expect(rollback.text).toContain('AUTH0_DOMAIN');
    const cutover = await run(['--connection', 'ldap-bridge'], tenant);
    expect(cutover.code).toBe(2);
    expect(cutover.text).toContain('LDAP_URLS');
  });

  it('refuses a save file that is not one, before asking Auth0 anything, and prints nothing of it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-unit-'));
    try {
      const file = path.join(dir, 'save.json');
      writeFileSync(file, `{"BRIDGE_CLIENT_SECRET": "${CLIENT_SECRET}"`);
      const { code, text } = await run(['--connection', 'ldap-bridge', '--rollback', file, '--apply']);
      expect(code).toBe(1);
      expect(text).toContain(
        `${file} is not a cutover save this command can restore: it is not JSON. Nothing was sent.`,
      );
      expect(text).not.toContain(CLIENT_SECRET);
      const settings = path.join(dir, 'settings.json');
      writeFileSync(settings, `{"BRIDGE_CLIENT_SECRET": "${CLIENT_SECRET}",}`);
      writeFileSync(file, JSON.stringify(saved()));
      const badSettings = await run(['--connection', 'ldap-bridge', '--rollback', file, '--settings', settings]);
      expect(badSettings.code).toBe(2);
      expect(badSettings.text).toContain(`--settings: ${settings} is not JSON`);
      expect(badSettings.text).not.toContain(CLIENT_SECRET);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
