// The whole end of a migration as a migration lead runs it from the README against
// `npm run demo:migration`: the demo's directory and Management API emulator started in-process
// through the same function (startMigrationDemo), then each printed step (demoSteps) run as the
// real command line in a child process with the printed environment (AUTH0_DOMAIN=127.0.0.1:PORT,
// NODE_EXTRA_CA_CERTS naming the emulator's CA). Each step's effect is checked in the emulator:
// progress counts, the long tail exported and imported, the leaver blocked, progress with nobody
// left, the cut-over's no-op scripts with every other option kept, and the rollback restoring the
// options exactly. No secret the demo made, and no token the emulator issued, is ever printed.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_CONNECTION,
  DEMO_LEAVER,
  type DemoStep,
  MIGRATED_DAYS_AGO,
  MIGRATION_DEMO_USERS,
  type MigrationDemo,
  startMigrationDemo,
  stepCommandLine,
} from '../../dev/migration-demo.ts';
import type { ImportUser } from '../../lambdas/core/migration/import-files.ts';
import type { ProgressReport } from '../../lambdas/core/migration/progress.ts';
import { readNoopScripts } from '../../lambdas/entry/commands/cutover.ts';

const NOOP = readNoopScripts();

let demo: MigrationDemo;
/** Everything every step printed, stdout and stderr. */
const printed: string[] = [];

interface StepRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a printed step as `npm run <command> -- <args>` does, with the printed environment and nothing else. */
function runStep(step: DemoStep): Promise<StepRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'lambdas/entry/cli.ts', step.command, ...step.args], {
    env: { PATH: process.env.PATH, ...demo.environment, ...step.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      printed.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The next printed step, which must be the one the test expects. */
let next = 0;
async function runNext(command: DemoStep['command'], ...flags: string[]): Promise<StepRun> {
  const step = demo.steps[next];
  next += 1;
  expect(step?.command).toBe(command);
  for (const flag of flags) expect(step?.args).toContain(flag);
  const run = await runStep(step as DemoStep);
  expect(run.code, `${stepCommandLine(step as DemoStep)}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

const inWorkDir = (...parts: string[]) => path.join(demo.workDir, ...parts);
const readJson = <T>(...parts: string[]) => JSON.parse(readFileSync(inWorkDir(...parts), 'utf8')) as T;
const auth0Id = (uid: string) => `auth0|${demo.userIds.get(uid)}`;
const connectionOptions = () => demo.emulator.connection(DEMO_CONNECTION)?.options;
const notMigratedAtStart = MIGRATION_DEMO_USERS.map((user) => user.uid).filter((uid) => !(uid in MIGRATED_DAYS_AGO));

beforeAll(async () => {
  demo = await startMigrationDemo();
}, 120_000);
afterAll(() => demo?.stop());

// Each step is a whole command (cutover runs progress and sync-leavers first): generous, on a shared machine.
describe('the migration sequence against npm run demo:migration', { timeout: 120_000 }, () => {
  it('the demo tenant holds the migrated users under the ids the bridge maps, and the directory the rest', () => {
    expect(demo.environment.AUTH0_DOMAIN).toBe(demo.emulator.host);
    expect(demo.environment.AUTH0_DOMAIN).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(readFileSync(demo.environment.NODE_EXTRA_CA_CERTS ?? '', 'utf8')).toBe(demo.emulator.ca);
    expect(
      demo.emulator
        .users(DEMO_CONNECTION)
        .map((user) => user.user_id)
        .sort(),
    ).toEqual(Object.keys(MIGRATED_DAYS_AGO).map(auth0Id).sort());
    expect(new Set(demo.emulator.users().map((user) => user.created_at.slice(0, 10))).size).toBe(4);
    expect(notMigratedAtStart).toEqual(['erin', 'frank', 'grace']);
    expect(demo.steps.map((step) => [step.command, step.args.includes('--apply')])).toEqual([
      ['progress', false],
      ['export', false],
      ['import', false],
      ['sync-leavers', false],
      ['sync-leavers', true],
      ['progress', false],
      ['cutover', false],
      ['cutover', true],
      ['cutover', true],
    ]);
  });

  it('1. progress: 3 of 6 active users migrated, 3 not, 1 leaver not yet blocked', async () => {
    await runNext('progress');
    const report = readJson<ProgressReport>('progress', 'progress.json');
    expect(report.counts).toEqual({
      directory: 7,
      migrated: 3,
      notMigrated: 3,
      leavers: 1,
      inactive: 0,
      unmappable: 0,
      auth0Users: 4,
    });
    expect(report.leavers).toMatchObject({ disabled: 1, blocked: 0 });
    expect(report.leavers.users.map((leaver) => [leaver.user_id, leaver.reason])).toEqual([
      [auth0Id(DEMO_LEAVER), 'account_disabled'],
    ]);
    // One a day, on the days alice, bob and dave logged in (carol, the leaver, no longer counts).
    expect(report.perDay.map((day) => [day.migrated, day.cumulative])).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
    ]);
    const listed = readJson<{ users: Array<{ user_id: string }> }>('progress', 'not-migrated.json');
    expect(listed.users.map((user) => `auth0|${user.user_id}`).sort()).toEqual(notMigratedAtStart.map(auth0Id).sort());
  });

  it('2. export --only: exactly the users not migrated, with their password hashes', async () => {
    await runNext('export', '--only');
    const users = readJson<ImportUser[]>('export', 'users-0001.json');
    expect(users.map((user) => user.user_id).sort()).toEqual(
      notMigratedAtStart.map((uid) => demo.userIds.get(uid)).sort(),
    );
    for (const user of users) expect(user.custom_password_hash?.algorithm).toBe('ldap');
  });

  it('3. import: the users not migrated are in Auth0, under the ids a login would have given them', async () => {
    await runNext('import');
    for (const uid of notMigratedAtStart) {
      const user = demo.emulator.user(auth0Id(uid));
      expect(user, uid).toMatchObject({
        email: `${uid}@example.test`,
        identities: [{ connection: DEMO_CONNECTION, user_id: demo.userIds.get(uid) }],
      });
      expect(user?.blocked, uid).not.toBe(true);
    }
    expect(demo.emulator.users(DEMO_CONNECTION)).toHaveLength(7);
  });

  it('4. sync-leavers dry run: names the leaver and blocks nobody', async () => {
    const { stdout } = await runNext('sync-leavers');
    expect(stdout).toContain(`block ${auth0Id(DEMO_LEAVER)}`);
    expect(demo.emulator.users().filter((user) => user.blocked)).toEqual([]);
  });

  it('5. sync-leavers --apply: blocks the leaver, and only the leaver', async () => {
    await runNext('sync-leavers', '--apply');
    expect(
      demo.emulator
        .users()
        .filter((user) => user.blocked)
        .map((user) => user.user_id),
    ).toEqual([auth0Id(DEMO_LEAVER)]);
  });

  it('6. progress again: 0 not migrated and 0 unblocked leavers', async () => {
    await runNext('progress');
    const report = readJson<ProgressReport>('progress', 'progress.json');
    expect(report.counts).toMatchObject({ directory: 7, migrated: 6, notMigrated: 0, leavers: 1, auth0Users: 7 });
    expect(report.leavers.blocked).toBe(report.counts.leavers);
    expect(readJson<{ users: unknown[] }>('progress', 'not-migrated.json').users).toEqual([]);
  });

  it('7. cutover dry run: ready, and nothing saved or changed', async () => {
    const { stdout } = await runNext('cutover');
    expect(stdout).toContain('ok    not-migrated:');
    expect(stdout).toContain('ok    leavers: every leaver is blocked in Auth0');
    expect(stdout).toContain('ok    last-import: the last import (1 file(s)) completed');
    expect(connectionOptions()).toEqual(demo.connectionOptions);
    expect(existsSync(inWorkDir('cutover-save.json'))).toBe(false);
  });

  it('8. cutover --apply: the no-op scripts, import mode on, every other option unchanged, the save 0600', async () => {
    await runNext('cutover', '--apply');
    const options = connectionOptions() as Record<string, unknown> & { customScripts: Record<string, string> };
    expect(options.customScripts).toEqual({ login: NOOP.login, get_user: NOOP.get_user });
    expect(options.import_mode).toBe(true);
    const { customScripts: _after, ...otherAfter } = options;
    const { customScripts: _before, ...otherBefore } = demo.connectionOptions;
    expect(otherAfter).toEqual(otherBefore);
    expect(statSync(inWorkDir('cutover-save.json')).mode & 0o777).toBe(0o600);
  });

  it('9. cutover --rollback --apply: the options exactly as before the cut-over', async () => {
    await runNext('cutover', '--rollback', '--apply');
    expect(connectionOptions()).toEqual(demo.connectionOptions);
    expect(next).toBe(demo.steps.length);
  });

  it('no step printed a client secret, the bind password, a script setting secret or a token', () => {
    expect(printed.length).toBe(2 * demo.steps.length);
    const text = printed.join('\n');
    expect(demo.emulator.issuedTokens.length).toBeGreaterThan(0);
    for (const secret of [...demo.secrets, ...demo.emulator.issuedTokens]) expect(text).not.toContain(secret);
  });
});
