// `auth0-ldap-bridge import --connection NAME [--dir DIR] [--upsert] [--send-completion-email]
// [--external-id PREFIX] [--resubmit-unconfirmed]` (also `npm run import`): submits the files
// `export` wrote as Auth0 user-import jobs through the Management API adapter (one rate limiter
// for the whole tenant), at most two jobs in flight (Auth0's limit), follows each job to its end
// however long the tenant is busy (bounded by Auth0's 2-hour job lifetime), and keeps
// DIR/import-state.json (core/migration/import-state.ts) so that nothing a submitted job did is
// lost: a file is recorded before it is sent and its job id as soon as Auth0 answers, every write
// is atomic, and a rerun reads every job whose result is not recorded yet. Ctrl-C stops after the
// request in flight and leaves a state the next run resumes from.
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import {
  JOB_RETENTION_MS,
  ManagementApi,
  ManagementApiError,
  type Connection,
  type Job,
} from '../../adapters/auth0-management-api.ts';
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import { ConfigError, SettingsReader } from '../../core/config/read-settings.ts';
import { DEFAULT_EXPORT_DIR, isImportFileName } from '../../core/migration/import-files.ts';
import {
  type FileState,
  type ImportState,
  ImportStateError,
  type ImportTotals,
  IMPORT_STATE_VERSION,
  importTotals,
  nextStep,
  parseImportState,
} from '../../core/migration/import-state.ts';
import { type Command, CommandFailed, EXIT, stringOption, UsageError } from './command.ts';

export interface ImportOptions {
  dir: string;
  domain: string;
  clientId: string;
  clientSecret: string;
  connectionName?: string;
  connectionId?: string;
  upsert: boolean;
  sendCompletionEmail: boolean;
  /** Each job's external_id is PREFIX:FILE:RANDOM. Default auth0-ldap-bridge. */
  externalIdPrefix?: string;
  /** Send files whose submission answer was never recorded again, with upsert. */
  resubmitUnconfirmed?: boolean;
  /** host[:port] of the Management API; default the domain. Tests point it at the emulator. */
  apiHost?: string;
  /** The fetch underneath the SDK; tests pass one that trusts the emulator's CA. */
  fetch?: typeof fetch;
  /** Milliseconds between two polls of a job. Default 5000. */
  pollIntervalMs?: number;
  /** Jobs in flight at once. Default 2, Auth0's limit. */
  maxConcurrentJobs?: number;
  /** Stops the run: the request in flight finishes and is recorded, nothing new starts. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface ImportSummary extends ImportTotals {
  /** The run was stopped (Ctrl-C) before every file was done. */
  interrupted: boolean;
}

const STATE_FILE = 'import-state.json';
const DEFAULT_EXTERNAL_ID_PREFIX = 'auth0-ldap-bridge';

/** The run must stop: the application cannot do what import needs (credentials, scopes). */
function stopsTheRun(error: ManagementApiError): boolean {
  return error.code === 'invalid_credentials' || error.code === 'missing_scope' || error.code === 'unauthorized';
}

export async function importFiles(options: ImportOptions): Promise<ImportSummary> {
  const log = options.log ?? (() => undefined);
  const signal = options.signal;
  const statePath = path.join(options.dir, STATE_FILE);
  if (!existsSync(options.dir))
    throw new UsageError(`--dir: ${options.dir} does not exist (run auth0-ldap-bridge export first)`);
  const files = readdirSync(options.dir).filter(isImportFileName).sort();
  if (files.length === 0)
    throw new CommandFailed(`no users-NNNN.json files in ${options.dir} (run auth0-ldap-bridge export first)`);

  // Read and checked before anything is asked of Auth0 or written.
  const existing = existsSync(statePath) ? readState(statePath) : undefined;
  if (existing?.connectionName && options.connectionName && existing.connectionName !== options.connectionName)
    throw otherConnection(statePath, existing, options.connectionName);

  const api = new ManagementApi({
    domain: options.domain,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    ...(options.apiHost ? { apiHost: options.apiHost } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    log,
  });
  const connection = await resolveConnection(api, options);
  if (existing && existing.connectionId !== connection.id) throw otherConnection(statePath, existing, connection.id);
  const state: ImportState = existing ?? {
    version: IMPORT_STATE_VERSION,
    connectionId: connection.id,
    connectionName: connection.name,
    files: {},
  };
  const save = () => writeAtomically(statePath, `${JSON.stringify(state, null, 2)}\n`);
  save();

  const run = { upsert: options.upsert, resubmitUnconfirmed: options.resubmitUnconfirmed === true };
  const steps = files.map((name) => ({ name, step: nextStep(state.files[name], run) }));
  const toFollow = steps.filter(({ step }) => step === 'follow').map(({ name }) => name);
  const toSubmit = steps.filter(({ step }) => step === 'submit').map(({ name }) => name);
  const unconfirmed = steps.filter(({ step }) => step === 'unconfirmed').map(({ name }) => name);
  log(
    `${files.length} file(s) for connection ${connection.name} (${connection.id}): ${files.length - toFollow.length - toSubmit.length - unconfirmed.length} done, ${toFollow.length} job(s) to read, ${toSubmit.length} to submit${unconfirmed.length ? `, ${unconfirmed.length} unconfirmed` : ''}`,
  );
  for (const name of unconfirmed)
    log(
      `${name}: sent by an earlier run that stopped before Auth0's answer was recorded; Auth0 offers no way to look the job up, so it is not sent again without upsert: rerun with --resubmit-unconfirmed (or --upsert)`,
    );

  let fatal: ManagementApiError | undefined;
  const stopped = () => signal?.aborted === true || fatal !== undefined;

  /** Follows a submitted job to its end and records Auth0's result. */
  const follow = async (name: string): Promise<void> => {
    const entry = state.files[name] as Extract<FileState, { status: 'submitted' }>;
    let job: Job;
    try {
      job = await api.waitForJob(entry.jobId, {
        pollIntervalMs: options.pollIntervalMs ?? 5000,
        ...(entry.createdAt ? { createdAt: entry.createdAt } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) return;
      if (!(error instanceof ManagementApiError)) throw error;
      if (
        error.code === 'not_found' &&
        entry.createdAt &&
        Date.now() - Date.parse(entry.createdAt) > JOB_RETENTION_MS
      ) {
        state.files[name] = {
          status: 'lost',
          jobId: entry.jobId,
          problem: `Auth0 deleted job ${entry.jobId} (24 hours after it was created) before its result was read: count the connection's users to see what it did`,
        };
        save();
        log(`${name}: job ${entry.jobId} is gone`);
        return;
      }
      if (stopsTheRun(error)) fatal ??= error;
      state.files[name] = { ...entry, note: `its result could not be read yet: ${error.message}` };
      save();
      log(`${name}: job ${entry.jobId} not read yet (${error.message}); a rerun reads it`);
      return;
    }
    const summary = job.summary ?? entry.summary;
    if (job.status === 'completed' && !summary) {
      state.files[name] = { ...entry, note: `Auth0 answered that job ${entry.jobId} completed, without its summary` };
      save();
      log(`${name}: job ${entry.jobId} completed without a summary; a rerun reads it again`);
      return;
    }
    let errors: Awaited<ReturnType<ManagementApi['getJobErrors']>>;
    try {
      errors = await api.getJobErrors(entry.jobId, signal);
    } catch (error) {
      if (signal?.aborted) return;
      if (!(error instanceof ManagementApiError)) throw error;
      // The job's end is known; who failed is not yet: keep it to be read again.
      state.files[name] = {
        ...entry,
        ...(summary ? { summary } : {}),
        note: `the job ended ${job.status}; its per-user errors could not be read yet: ${error.message}`,
      };
      save();
      log(`${name}: job ${entry.jobId} ended ${job.status}, its errors not read yet (${error.message})`);
      return;
    }
    const identity = { jobId: entry.jobId, ...(entry.externalId ? { externalId: entry.externalId } : {}) };
    if (job.status === 'completed' && summary)
      state.files[name] = { status: 'completed', ...identity, summary, errors };
    else
      state.files[name] = {
        status: 'failed',
        ...identity,
        jobStatus: job.status,
        problem: `Auth0 ended the job ${job.status}${job.status_details ? `: ${job.status_details}` : ''}`,
        ...(summary ? { summary } : {}),
        errors,
      };
    save();
    log(
      `${name}: ${job.status}${summary ? `, ${summary.inserted} inserted, ${summary.updated} updated, ${summary.failed} failed` : ''}`,
    );
  };

  /** Records the file, sends it, records Auth0's answer, then follows the job. */
  const submit = async (name: string): Promise<void> => {
    const before = state.files[name];
    const upsert = options.upsert || before?.status === 'submitting';
    const externalId = `${options.externalIdPrefix ?? DEFAULT_EXTERNAL_ID_PREFIX}:${name}:${crypto.randomUUID().slice(0, 8)}`;
    state.files[name] = { status: 'submitting', externalId, since: new Date().toISOString(), upsert };
    save();
    let job: Job;
    try {
      job = await api.submitUsersImport(
        {
          users: readFileSync(path.join(options.dir, name)),
          fileName: name,
          connectionId: connection.id,
          upsert,
          sendCompletionEmail: options.sendCompletionEmail,
          externalId,
        },
        signal,
      );
    } catch (error) {
      if (!(error instanceof ManagementApiError)) throw error;
      if (error.outcomeUnknown) {
        state.files[name] = {
          status: 'submitting',
          externalId,
          since: new Date().toISOString(),
          upsert,
          note: error.message,
        };
        save();
        log(`${name}: ${error.message}; unconfirmed: rerun with --resubmit-unconfirmed`);
        return;
      }
      // Not sent, or refused: no job exists.
      if (error.code === 'refused') state.files[name] = { status: 'refused', problem: error.message };
      else if (before) state.files[name] = before;
      else delete state.files[name];
      save();
      if (stopsTheRun(error)) fatal ??= error;
      else if (error.code !== 'aborted') log(`${name}: not imported: ${error.message}`);
      return;
    }
    state.files[name] = {
      status: 'submitted',
      jobId: job.id,
      externalId,
      upsert,
      ...(job.created_at ? { createdAt: job.created_at } : {}),
    };
    save();
    log(`${name}: submitted as ${job.id}${upsert ? ' (upsert)' : ''}`);
    await follow(name);
  };

  // Jobs already submitted first: they may still be running in Auth0 and count toward its limit.
  const queue = [...toFollow.map((name) => () => follow(name)), ...toSubmit.map((name) => () => submit(name))];
  const worker = async () => {
    while (!stopped()) {
      const task = queue.shift();
      if (task === undefined) return;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.maxConcurrentJobs ?? 2, 2)) }, worker));
  if (fatal)
    throw new CommandFailed(`${fatal.message} (${STATE_FILE} records what was done; run import again once fixed)`);
  const totals = importTotals(state, files);
  const interrupted =
    signal?.aborted === true && queue.length + totals.notYetRead.length + totals.notSubmitted.length > 0;
  if (interrupted) log(`stopped: ${STATE_FILE} records where; run the same command again to resume`);
  return { ...totals, interrupted };
}

async function resolveConnection(api: ManagementApi, options: ImportOptions): Promise<Connection> {
  let connection: Connection;
  try {
    if (options.connectionId) connection = await api.getConnection(options.connectionId);
    else connection = await api.findConnection(options.connectionName ?? '');
  } catch (error) {
    if (error instanceof ManagementApiError && error.code === 'not_found')
      throw new CommandFailed(`--connection-id: no connection ${options.connectionId} in ${options.domain}`);
    if (error instanceof ManagementApiError) throw new CommandFailed(error.message);
    throw error;
  }
  if (connection.strategy !== 'auth0')
    throw new CommandFailed(
      `connection ${connection.name} is a "${connection.strategy}" connection; users can be imported only into a database connection (strategy auth0)`,
    );
  return connection;
}

function readState(statePath: string): ImportState {
  try {
    return parseImportState(readFileSync(statePath, 'utf8'));
  } catch (error) {
    if (!(error instanceof ImportStateError)) throw error;
    throw new CommandFailed(
      `${statePath} is not an import state this command can use: ${error.message}. It records which files were submitted as jobs: restore it from where it came from, or move it away to start over (users already imported then fail as DUPLICATED_USER unless --upsert). Nothing was sent.`,
    );
  }
}

function otherConnection(statePath: string, state: ImportState, wanted: string): CommandFailed {
  return new CommandFailed(
    `${statePath} records an import into connection ${state.connectionName ? `${state.connectionName} (${state.connectionId})` : state.connectionId}, not ${wanted}: finish that import with --connection-id ${state.connectionId}, or move the file away to start a new one. Nothing was sent.`,
  );
}

/** Written to a temporary file, flushed and renamed: an interruption leaves the old state or the new one, never half of one. */
function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const descriptor = openSync(temporary, 'w', 0o600);
  try {
    writeSync(descriptor, text);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  renameSync(temporary, file);
}

export const importCommand: Command = {
  name: 'import',
  summary: 'submit the export files as Auth0 user-import jobs and wait for their results',
  description: [
    'Submits every users-NNNN.json in --dir as a Management API user-import job into the connection, at most',
    "two at a time (Auth0's limit), follows each job to its end however long the tenant is busy, and records",
    'who failed and why in DIR/import-state.json. Every file is recorded before it is sent and its job id as',
    'soon as Auth0 answers, so a rerun (after Ctrl-C, a crash or a busy tenant) reads every job whose result',
    'is missing and never sends a submitted file twice. Without --upsert, users already in the connection (for',
    'example those who migrated by logging in) fail with DUPLICATED_USER and are left as they are.',
    'Exit code 1 when any user or file did not import, or a job is still to be read (run import again).',
  ].join('\n'),
  options: {
    dir: { type: 'string', valueName: 'DIR', description: 'the directory `export` wrote', default: DEFAULT_EXPORT_DIR },
    connection: { type: 'string', valueName: 'NAME', description: 'the database connection, by name' },
    'connection-id': { type: 'string', valueName: 'ID', description: 'the database connection, by id (con_...)' },
    upsert: { type: 'boolean', description: 'update users that already exist instead of failing them' },
    'send-completion-email': { type: 'boolean', description: "have Auth0 email the tenant's admins when a job ends" },
    'external-id': {
      type: 'string',
      valueName: 'PREFIX',
      description: "start of each job's external_id (PREFIX:FILE:RANDOM; default auth0-ldap-bridge)",
    },
    'resubmit-unconfirmed': {
      type: 'boolean',
      description:
        'send again, with upsert, files an earlier run sent without recording the answer (Auth0 cannot list jobs)',
    },
  },
  settingGroups: ['management-api'],
  async run(options, io) {
    const connectionName = stringOption(options, 'connection');
    const connectionId = stringOption(options, 'connection-id');
    if ((connectionName === undefined) === (connectionId === undefined))
      throw new UsageError('give exactly one of --connection NAME or --connection-id ID');
    if (connectionId !== undefined && !/^con_[A-Za-z0-9]{16}$/.test(connectionId))
      throw new UsageError(`--connection-id: "${connectionId}" is not a connection id (con_ and 16 letters or digits)`);
    const externalIdPrefix = stringOption(options, 'external-id');
    if (externalIdPrefix !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(externalIdPrefix))
      throw new UsageError(
        `--external-id: "${externalIdPrefix}" expected 1 to 64 letters, digits, dots, dashes or underscores`,
      );
    const reader = new SettingsReader(io.env);
    const domain = reader.string(S.AUTH0_DOMAIN);
    const clientId = reader.string(S.AUTH0_CLIENT_ID);
    const clientSecret = reader.string(S.AUTH0_CLIENT_SECRET);
    if (reader.found.length > 0 || !domain || !clientId || !clientSecret) throw new ConfigError([...reader.found]);

    // First Ctrl-C: finish the request in flight, record it, stop. A second one ends the process at once.
    const controller = new AbortController();
    const onInterrupt = () => {
      io.err(
        'import: stopping after the request in flight (its answer is recorded); press Ctrl-C again to end at once',
      );
      controller.abort();
    };
    process.once('SIGINT', onInterrupt);
    let summary: ImportSummary;
    try {
      summary = await importFiles({
        dir: stringOption(options, 'dir') ?? DEFAULT_EXPORT_DIR,
        domain,
        clientId,
        clientSecret,
        ...(connectionName ? { connectionName } : {}),
        ...(connectionId ? { connectionId } : {}),
        ...(externalIdPrefix ? { externalIdPrefix } : {}),
        upsert: options.upsert === true,
        sendCompletionEmail: options['send-completion-email'] === true,
        resubmitUnconfirmed: options['resubmit-unconfirmed'] === true,
        signal: controller.signal,
        log: io.err,
      });
    } finally {
      process.off('SIGINT', onInterrupt);
    }
    const parts = [
      `${summary.files} file(s): ${summary.inserted} users imported, ${summary.updated} updated, ${summary.failed} failed (reasons per user in ${STATE_FILE})`,
      summary.filesFailed.length ? `files that did not import: ${summary.filesFailed.join(', ')}` : '',
      summary.notYetRead.length
        ? `jobs whose result is still to be read (run import again): ${summary.notYetRead.join(', ')}`
        : '',
      summary.unconfirmed.length
        ? `sent without a recorded answer (rerun with --resubmit-unconfirmed): ${summary.unconfirmed.join(', ')}`
        : '',
      summary.notSubmitted.length ? `not submitted yet (run import again): ${summary.notSubmitted.join(', ')}` : '',
    ];
    io.out(parts.filter(Boolean).join('; '));
    const incomplete =
      summary.filesFailed.length + summary.notYetRead.length + summary.unconfirmed.length + summary.notSubmitted.length;
    return incomplete > 0 || summary.failed > 0 || summary.interrupted ? EXIT.failed : EXIT.ok;
  },
};
