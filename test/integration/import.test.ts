// `import` against the local emulation of Auth0's Management API (test/support/
// management-api-emulator.ts, HTTPS with its own CA, written from Auth0's documentation), through
// Auth0's SDK and the adapter's tenant-wide rate limiter: files, jobs and per-user errors; and
// everything that must not lose what a submitted job did: a busy tenant, a run stopped or killed
// after submitting, an answer that was never recorded, a state file that cannot be used.
import { type CliRun, runCliAgainstEmulator } from '../support/cli-process.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManagementApi } from '../../lambdas/adapters/auth0-management-api.ts';
import { splitIntoImportFiles, type ImportUser } from '../../lambdas/core/migration/import-files.ts';
import type { ImportState } from '../../lambdas/core/migration/import-state.ts';
import { importFiles, type ImportOptions } from '../../lambdas/entry/commands/import.ts';
import { startManagementApiEmulator, type ManagementApiEmulator } from '../support/management-api-emulator.ts';

const DOMAIN = 'tenant.auth0.test';
const CLIENT = { clientId: 'importer-client', clientSecret: 'importer-secret-8c1f2d7e' };
const CONNECTION = { id: 'con_ldapbridge000001', name: 'ldap-bridge' };

const makeUsers = (count: number, prefix = 'user'): ImportUser[] =>
  Array.from({ length: count }, (_, index) => ({
    user_id: `${prefix}-${String(index).padStart(4, '0')}`,
    email: `${prefix}${index}@example.test`,
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

const statePath = () => path.join(dir, 'import-state.json');
const readState = () => JSON.parse(readFileSync(statePath(), 'utf8')) as ImportState;
const submissions = () => emulator.requests.filter((request) => request.path === '/api/v2/jobs/users-imports');

const options = (changes: Partial<ImportOptions> = {}): ImportOptions => ({
  dir,
  domain: DOMAIN,
  ...CLIENT,
  connectionName: CONNECTION.name,
  upsert: false,
  sendCompletionEmail: false,
  apiHost: emulator.host,
  fetch: emulator.fetch,
  pollIntervalMs: 20,
  log: (line) => logs.push(line),
  ...changes,
});

async function startEmulator(limits: { ratePerSecond: number; burst: number }): Promise<void> {
  emulator = await startManagementApiEmulator({
    domain: DOMAIN,
    clients: [CLIENT],
    connections: [CONNECTION, { id: 'con_othersource00001', name: 'other-users' }],
    ...limits,
  });
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-import-'));
  logs = [];
});
afterEach(async () => {
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('import', () => {
  beforeEach(() => startEmulator({ ratePerSecond: 20, burst: 5 }));

  it('imports every file, at most two jobs at a time, never sending inside a wait the tenant announced', async () => {
    const files = writeExport(makeUsers(600), 30_000);
    expect(files.length).toBeGreaterThanOrEqual(6);
    const summary = await importFiles(options());
    expect(summary).toMatchObject({ files: files.length, inserted: 600, updated: 0, failed: 0, filesFailed: [] });
    expect(emulator.users(CONNECTION.name)).toHaveLength(600);
    expect(emulator.users(CONNECTION.name)[0]).toMatchObject({
      user_id: 'auth0|user-0000',
      identities: [{ connection: CONNECTION.name, provider: 'auth0', user_id: 'user-0000' }],
    });
    expect(submissions()).toHaveLength(files.length);
    expect(emulator.maxActiveJobs).toBeLessThanOrEqual(2);
    expect(emulator.impatientRequests).toBe(0);
    const state = readState();
    expect(state).toMatchObject({ version: 2, connectionId: CONNECTION.id, connectionName: CONNECTION.name });
    for (const file of files) expect(state.files[file]).toMatchObject({ status: 'completed', jobId: /^job_/ });
  });

  it("reports per-user failures with Auth0's reasons, and updates instead with --upsert", async () => {
    writeExport(makeUsers(50), 500 * 1024);
    await importFiles(options());
    rmSync(statePath());
    const again = await importFiles(options());
    expect(again).toMatchObject({ inserted: 0, failed: 50 });
    const state = readState();
    const entry = state.files['users-0001.json'];
    expect(entry?.status).toBe('completed');
    if (entry?.status !== 'completed') return;
    expect(entry.errors[0]).toEqual({
      email: 'user0@example.test',
      user_id: 'user-0000',
      errors: [{ code: 'DUPLICATED_USER', message: 'The user already exist and upsert parameter is false' }],
    });
    expect(JSON.stringify(state)).not.toContain('{SSHA}');
    rmSync(statePath());
    expect(await importFiles(options({ upsert: true }))).toMatchObject({ updated: 50, failed: 0 });
  });

  it('records a file Auth0 refuses (over 500 KB) without a job, goes on with the others, and sends it again next time', async () => {
    writeExport(makeUsers(10), 500 * 1024);
    writeFileSync(
      path.join(dir, 'users-0002.json'),
      JSON.stringify([{ email: 'big@example.test', user_metadata: { blob: 'x'.repeat(600 * 1024) } }]),
    );
    const summary = await importFiles(options());
    expect(summary).toMatchObject({ inserted: 10, filesFailed: ['users-0002.json'] });
    expect(readState().files['users-0002.json']).toMatchObject({
      status: 'refused',
      problem: expect.stringContaining('413'),
    });
    writeFileSync(path.join(dir, 'users-0002.json'), JSON.stringify([{ email: 'small@example.test' }]));
    expect(await importFiles(options())).toMatchObject({ inserted: 11, filesFailed: [] });
    expect(submissions()).toHaveLength(3);
  });

  it('refuses an unknown connection before sending any file, naming the connections there are', async () => {
    writeExport(makeUsers(5), 500 * 1024);
    await expect(importFiles(options({ connectionName: 'no-such-connection' }))).rejects.toThrow(
      'no connection named "no-such-connection" in tenant.auth0.test (its connections: ldap-bridge, other-users)',
    );
    await expect(
      importFiles(options({ connectionName: undefined, connectionId: 'con_nosuchconnectio1' })),
    ).rejects.toThrow('--connection-id: no connection con_nosuchconnectio1');
    expect(submissions()).toHaveLength(0);
    expect(() => readFileSync(statePath())).toThrow();
  });

  it('fails clearly for a wrong client secret or a missing scope, never quoting the secret', async () => {
    writeExport(makeUsers(5), 500 * 1024);
    const wrong = importFiles(options({ clientSecret: 'wrong-secret-value-1234' }));
    await expect(wrong).rejects.toThrow('could not get a Management API token (HTTP 401 access_denied');
    await expect(importFiles(options({ clientSecret: 'wrong-secret-value-1234' }))).rejects.not.toThrow(
      'wrong-secret-value-1234',
    );
    await emulator.stop();
    emulator = await startManagementApiEmulator({
      domain: DOMAIN,
      clients: [{ ...CLIENT, scopes: ['read:connections', 'read:users'] }],
      connections: [CONNECTION],
    });
    await expect(importFiles(options())).rejects.toThrow(
      'POST /api/v2/jobs/users-imports: the application lacks the scope create:users',
    );
    expect(readState().files).toEqual({});
  });

  it('refuses to import without files', async () => {
    await expect(importFiles(options())).rejects.toThrow('no users-NNNN.json files');
  });

  describe('refuses a state file it cannot use, naming it and what to do, changing nothing and sending nothing', () => {
    const cases: Array<[string, string]> = [
      ['not JSON', '{"connectionId": "con_ldapbridge000001", "files": {'],
      [
        'the wrong shape',
        JSON.stringify({ connectionId: CONNECTION.id, files: { 'users-0001.json': { status: 'done' } } }),
      ],
      ['a newer version', JSON.stringify({ version: 3, connectionId: CONNECTION.id, files: {} })],
      [
        "another connection's",
        JSON.stringify({ version: 2, connectionId: 'con_othersource00001', connectionName: 'other-users', files: {} }),
      ],
    ];
    it.each(cases)('%s', async (_case, text) => {
      writeExport(makeUsers(5), 500 * 1024);
      writeFileSync(statePath(), text);
      const attempt = importFiles(options());
      await expect(attempt).rejects.toThrow(statePath());
      await expect(importFiles(options())).rejects.toThrow(/move (it|the file) away/);
      expect(readFileSync(statePath(), 'utf8')).toBe(text);
      expect(emulator.requests).toHaveLength(0);
    });
  });
});

describe('import under a busy tenant (Free plan: 2 requests/s, burst 2)', () => {
  beforeEach(() => startEmulator({ ratePerSecond: 2, burst: 2 }));

  it("follows its jobs to the end while another application uses the tenant's budget, and reports them imported", async () => {
    const files = writeExport(makeUsers(50), 6_000);
    expect(files.length).toBe(3);
    // Each time one of our jobs is submitted, another application takes the whole budget for a while.
    emulator.hooks.jobCreated = () => emulator.occupyTenant(1500);
    const summary = await importFiles(options());
    expect(summary).toMatchObject({ inserted: 50, failed: 0, filesFailed: [], notYetRead: [], unconfirmed: [] });
    const refusedPolls = emulator.requests.filter(
      (request) => /^\/api\/v2\/jobs\/job_/.test(request.path) && request.status === 429,
    );
    expect(refusedPolls.length).toBeGreaterThan(0);
    expect(emulator.impatientRequests).toBe(0);
    expect(submissions().filter((request) => request.status === 202)).toHaveLength(files.length);
    expect(logs.some((line) => line.includes("the tenant's rate limit was reached"))).toBe(true);
    for (const file of files) expect(readState().files[file]).toMatchObject({ status: 'completed' });
  }, 60_000);
});

describe('import stopped, killed or unanswered', () => {
  beforeEach(() => startEmulator({ ratePerSecond: 20, burst: 5 }));

  it('stopped after a submission, keeps the job id; the next run reads its result and sends nothing twice', async () => {
    writeExport(makeUsers(40), 2_500);
    emulator.holdJobs = true;
    const controller = new AbortController();
    const stopped = await importFiles(
      options({
        signal: controller.signal,
        log: (line) => {
          logs.push(line);
          if (line.includes('submitted as')) controller.abort();
        },
      }),
    );
    expect(stopped.interrupted).toBe(true);
    const submittedEntries = Object.values(readState().files).filter((file) => file.status === 'submitted');
    expect(submittedEntries.length).toBeGreaterThan(0);
    const jobsAfterStop = submissions().length;

    emulator.holdJobs = false;
    const resumed = await importFiles(options());
    expect(resumed).toMatchObject({ inserted: 40, failed: 0, filesFailed: [], notYetRead: [], interrupted: false });
    const resubmittedFiles = submissions().length - jobsAfterStop;
    expect(resubmittedFiles).toBe(resumed.files - submittedEntries.length);
    expect(emulator.users(CONNECTION.name)).toHaveLength(40);
  });

  it('a file sent without a recorded answer is not sent again without upsert, and with --resubmit-unconfirmed its users are updated, not failed', async () => {
    const [file] = writeExport(makeUsers(10), 500 * 1024);
    // The run that sent it died before Auth0's answer was recorded: the job exists and ran.
    const api = new ManagementApi({ domain: DOMAIN, ...CLIENT, apiHost: emulator.host, fetch: emulator.fetch });
    const lost = await api.submitUsersImport({
      users: readFileSync(path.join(dir, file!)),
      fileName: file!,
      connectionId: CONNECTION.id,
      upsert: false,
      sendCompletionEmail: false,
    });
    await api.waitForJob(lost.id, { pollIntervalMs: 20 });
    writeFileSync(
      statePath(),
      JSON.stringify({
        version: 2,
        connectionId: CONNECTION.id,
        connectionName: CONNECTION.name,
        files: { [file!]: { status: 'submitting', externalId: 'auth0-ldap-bridge:x:1', upsert: false } },
      }),
    );
    const cautious = await importFiles(options());
    expect(cautious).toMatchObject({ unconfirmed: [file], inserted: 0, failed: 0 });
    expect(submissions()).toHaveLength(1);
    expect(logs.join('\n')).toContain('--resubmit-unconfirmed');

    const resubmitted = await importFiles(options({ resubmitUnconfirmed: true }));
    expect(resubmitted).toMatchObject({ unconfirmed: [], updated: 10, failed: 0 });
    expect(emulator.jobs.at(-1)).toMatchObject({ upsert: true });
    expect(emulator.users(CONNECTION.name)).toHaveLength(10);
  });

  it('recovers a job an earlier version recorded as failed without its id (the id in its message), and reports a job Auth0 deleted as lost', async () => {
    const [first, second] = writeExport(makeUsers(20), 1_500);
    const api = new ManagementApi({ domain: DOMAIN, ...CLIENT, apiHost: emulator.host, fetch: emulator.fetch });
    const job = await api.submitUsersImport({
      users: readFileSync(path.join(dir, first!)),
      fileName: first!,
      connectionId: CONNECTION.id,
      upsert: false,
      sendCompletionEmail: false,
    });
    const dayAgo = new Date(Date.now() - 25 * 60 * 60 * 1000).toISOString();
    writeFileSync(
      statePath(),
      JSON.stringify({
        connectionId: CONNECTION.id,
        files: {
          [first!]: {
            status: 'failed',
            problem: `GET /api/v2/jobs/${job.id} answered 429 (Global limit has been reached)`,
          },
        },
      }),
    );
    const summary = await importFiles(options());
    expect(readState().files[first!]).toMatchObject({ status: 'completed', jobId: job.id });
    expect(summary.filesFailed).toEqual([]);
    expect(submissions()).toHaveLength(1 + summary.files - 1);

    const state = readState();
    state.files[second!] = { status: 'submitted', jobId: 'job_deletedlongago01', createdAt: dayAgo };
    writeFileSync(statePath(), JSON.stringify(state));
    const later = await importFiles(options());
    expect(later.filesFailed).toEqual([second]);
    expect(readState().files[second!]).toMatchObject({ status: 'lost', problem: expect.stringContaining('deleted') });
  });

  it.each(['SIGINT', 'SIGKILL'] as const)(
    'the command stopped by %s after it submitted: the rerun recovers the job, sends nothing twice, and no secret or token is printed',
    async (signal) => {
      writeExport(makeUsers(30, signal.toLowerCase()), 2_000);
      emulator.holdJobs = true;
      const run = await runCommandUntil('submitted as', signal);
      if (signal === 'SIGINT') {
        expect(run.code).toBe(1);
        expect(run.stderr).toContain('stopping after the request in flight');
        expect(run.stdout).toContain('jobs whose result is still to be read (run import again)');
      } else expect(run.signal).toBe('SIGKILL');
      const state = readState();
      const recorded = Object.values(state.files).filter((file) => file.status === 'submitted');
      expect(recorded.length).toBeGreaterThan(0);
      if (signal === 'SIGINT')
        expect(Object.values(state.files).some((file) => file.status === 'submitting')).toBe(false);
      const sentBefore = submissions().length;

      emulator.holdJobs = false;
      const resumed = await importFiles(options({ resubmitUnconfirmed: true }));
      expect(resumed).toMatchObject({ inserted: 30, failed: 0, filesFailed: [], notYetRead: [], unconfirmed: [] });
      expect(submissions().length - sentBefore).toBe(resumed.files - recorded.length);

      const printed = [run.stdout, run.stderr, ...logs, readFileSync(statePath(), 'utf8')].join('\n');
      expect(emulator.issuedTokens.length).toBeGreaterThan(0);
      for (const secret of [CLIENT.clientSecret, ...emulator.issuedTokens]) expect(printed).not.toContain(secret);
    },
    30_000,
  );
});

/** Runs `auth0-ldap-bridge import` as its own process and sends it `signal` once stderr shows `marker`. */
function runCommandUntil(marker: string, signal: NodeJS.Signals): Promise<CliRun> {
  return runCliAgainstEmulator(['import', '--dir', dir, '--connection', CONNECTION.name], {
    emulator,
    domain: DOMAIN,
    env: { AUTH0_DOMAIN: DOMAIN, AUTH0_CLIENT_ID: CLIENT.clientId, AUTH0_CLIENT_SECRET: CLIENT.clientSecret },
    stopAt: { marker, signal },
  });
}
