// `npm run import` against a local emulation of Auth0's Management API that enforces Auth0's
// documented rules (see test/support/management-api-emulator.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitIntoImportFiles, type ImportUser } from '../../lambdas/core/migration/import-files.ts';
import { importFiles, type ImportOptions, type ImportState } from '../../lambdas/entry/commands/import.ts';
import { retryDelayMs } from '../../lambdas/adapters/auth0-management-api.ts';
import { startManagementApiEmulator, type ManagementApiEmulator } from '../support/management-api-emulator.ts';

const DOMAIN = 'tenant.auth0.test';
const CLIENT = { clientId: 'importer-client', clientSecret: 'importer-secret-8c1f' };
const CONNECTION = { id: 'con_ldapbridge0001', name: 'ldap-bridge' };

const users: ImportUser[] = Array.from({ length: 600 }, (_, index) => ({
  user_id: `id-${String(index).padStart(4, '0')}`,
  email: `user${index}@example.test`,
  email_verified: false,
  name: `User ${index}`,
  app_metadata: { dn: `uid=user${index},ou=people,dc=example,dc=test` },
  custom_password_hash: {
    algorithm: 'ldap',
    hash: { value: '{SSHA}c2VjcmV0LWhhc2gtdmFsdWUtYnl0ZXMtLS0tLS0=', encoding: 'utf8' },
  },
}));

let emulator: ManagementApiEmulator;
let dir: string;
let logs: string[];

function writeExport(list: ImportUser[], maxBytes: number): string[] {
  const { files } = splitIntoImportFiles(list, maxBytes);
  return files.map((file, index) => {
    const name = `users-${String(index + 1).padStart(4, '0')}.json`;
    writeFileSync(path.join(dir, name), file);
    return name;
  });
}

const options = (changes: Partial<ImportOptions> = {}): ImportOptions => ({
  dir,
  domain: DOMAIN,
  ...CLIENT,
  connectionName: CONNECTION.name,
  upsert: false,
  sendCompletionEmail: false,
  baseUrl: emulator.url,
  pollIntervalMs: 20,
  log: (line) => logs.push(line),
  ...changes,
});

beforeEach(async () => {
  emulator = await startManagementApiEmulator({
    domain: DOMAIN,
    ...CLIENT,
    connections: [CONNECTION],
    ratePerSecond: 20,
    burst: 5,
  });
  dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-import-'));
  logs = [];
});
afterEach(async () => {
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('import', () => {
  it('imports every file, at most two jobs at a time, waiting as the rate limiter says', async () => {
    const files = writeExport(users, 30_000);
    expect(files.length).toBeGreaterThanOrEqual(6);
    const summary = await importFiles(options());
    expect(summary).toEqual({ files: files.length, inserted: 600, updated: 0, failed: 0, filesFailed: [] });
    expect(emulator.users.get(CONNECTION.id)!.size).toBe(600);
    expect(emulator.jobs).toHaveLength(files.length);
    expect(emulator.maxActiveJobs).toBeLessThanOrEqual(2);
    expect(emulator.rateLimited).toBeGreaterThan(0); // the limiter was hit, and honoured:
    expect(emulator.impatientRequests).toBe(0);
    const state = JSON.parse(readFileSync(path.join(dir, 'import-state.json'), 'utf8')) as ImportState;
    expect(Object.values(state.files).every((file) => file.status === 'completed')).toBe(true);
  });

  it("reports per-user failures with Auth0's reasons, and updates instead with --upsert", async () => {
    writeExport(users.slice(0, 50), 500 * 1024);
    await importFiles(options());
    rmSync(path.join(dir, 'import-state.json'));
    const again = await importFiles(options());
    expect(again).toMatchObject({ inserted: 0, failed: 50 });
    const state = JSON.parse(readFileSync(path.join(dir, 'import-state.json'), 'utf8')) as ImportState;
    const errors = state.files['users-0001.json']!.errors!;
    expect(errors[0]).toEqual({
      email: 'user0@example.test',
      errors: [{ code: 'DUPLICATED_USER', message: 'The user already exist and upsert parameter is false' }],
    });
    expect(JSON.stringify(state)).not.toContain('{SSHA}');
    rmSync(path.join(dir, 'import-state.json'));
    expect(await importFiles(options({ upsert: true }))).toMatchObject({ updated: 50, failed: 0 });
  });

  it('resumes an interrupted import without resubmitting finished or submitted files', async () => {
    const files = writeExport(users, 60_000);
    await importFiles(options());
    const jobsAfterFirstRun = emulator.jobs.length;
    // Pretend the run stopped after submitting the last file but before it finished.
    const state = JSON.parse(readFileSync(path.join(dir, 'import-state.json'), 'utf8')) as ImportState;
    const last = files.at(-1)!;
    state.files[last] = { status: 'submitted', jobId: state.files[last]!.jobId! };
    writeFileSync(path.join(dir, 'import-state.json'), JSON.stringify(state));
    const summary = await importFiles(options());
    expect(emulator.jobs).toHaveLength(jobsAfterFirstRun);
    expect(summary.inserted).toBe(600);
    expect(logs.some((line) => line.includes(`${last}: resuming`))).toBe(true);
  });

  it('records a file the API refuses (over 500 KB) and goes on with the others', async () => {
    writeExport(users.slice(0, 10), 500 * 1024);
    writeFileSync(
      path.join(dir, 'users-0002.json'),
      JSON.stringify([{ email: 'big@example.test', user_metadata: { blob: 'x'.repeat(600 * 1024) } }]),
    );
    const summary = await importFiles(options());
    expect(summary).toMatchObject({ inserted: 10, filesFailed: ['users-0002.json'] });
    const state = JSON.parse(readFileSync(path.join(dir, 'import-state.json'), 'utf8')) as ImportState;
    expect(state.files['users-0002.json']!.problem).toContain('413');
  });

  it('fails clearly for a wrong client secret or an unknown connection, never quoting the secret', async () => {
    writeExport(users.slice(0, 5), 500 * 1024);
    await expect(importFiles(options({ clientSecret: 'wrong-secret-value' }))).rejects.toThrow(
      'could not get a Management API token (HTTP 401 access_denied)',
    );
    await expect(importFiles(options({ clientSecret: 'wrong-secret-value' }))).rejects.not.toThrow(
      'wrong-secret-value',
    );
    await expect(importFiles(options({ connectionName: 'no-such-connection' }))).rejects.toThrow(
      'no connection named "no-such-connection"',
    );
  });

  it('refuses to import without files', async () => {
    await expect(importFiles(options())).rejects.toThrow('no users-NNNN.json files');
  });
});

describe('retryDelayMs', () => {
  const response = (headers: Record<string, string>) => new Response(null, { status: 429, headers });
  it('waits Retry-After seconds, else until x-ratelimit-reset, else backs off exponentially, with jitter', () => {
    expect(retryDelayMs(response({ 'retry-after': '3' }), 1)).toBeGreaterThanOrEqual(3000);
    expect(retryDelayMs(response({ 'retry-after': '3' }), 1)).toBeLessThan(3250);
    expect(retryDelayMs(response({ 'x-ratelimit-reset': '1002' }), 1, 1_000_000)).toBeGreaterThanOrEqual(2000);
    expect(retryDelayMs(response({}), 4)).toBeGreaterThanOrEqual(4000);
    expect(retryDelayMs(response({}), 20)).toBeLessThan(30_250);
  });
});
