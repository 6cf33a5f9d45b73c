// `auth0-ldap-bridge import --connection NAME [--dir DIR] [--upsert] [--send-completion-email]
// [--external-id ID]` (also `npm run import`): submits the files `export` wrote as Auth0
// user-import jobs through the Management API (adapters/auth0-management-api.ts), at most two
// jobs in flight (Auth0's limit), polling each job to its end, fetching its per-user errors, and
// keeping DIR/import-state.json so an interrupted import resumes without resubmitting a file.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ManagementApi } from '../../adapters/auth0-management-api.ts';
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import { ConfigError, SettingsReader } from '../../core/config/read-settings.ts';
import { DEFAULT_EXPORT_DIR, isImportFileName } from '../../core/migration/import-files.ts';
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
  externalId?: string;
  /** Where the Management API is; default https://<domain>. Tests point it at a local emulator. */
  baseUrl?: string;
  /** Milliseconds between two polls of a job. Default 5000. */
  pollIntervalMs?: number;
  /** Jobs in flight at once. Default 2, Auth0's limit. */
  maxConcurrentJobs?: number;
  log?: (line: string) => void;
}

export interface FileState {
  status: 'submitted' | 'completed' | 'failed';
  jobId?: string;
  summary?: { inserted: number; updated: number; failed: number; total: number };
  errors?: Array<{ email?: string; errors: Array<{ code: string; message: string }> }>;
  problem?: string;
}

export interface ImportState {
  connectionId: string;
  files: Record<string, FileState>;
}

export interface ImportSummary {
  files: number;
  inserted: number;
  updated: number;
  failed: number;
  filesFailed: string[];
}

const STATE_FILE = 'import-state.json';

function readState(statePath: string): ImportState {
  try {
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as ImportState;
    if (typeof state.connectionId === 'string' && typeof state.files === 'object' && state.files !== null) return state;
  } catch {
    // reported below
  }
  throw new CommandFailed(`${statePath} is not an import state this command wrote; move it away to start over`);
}

export async function importFiles(options: ImportOptions): Promise<ImportSummary> {
  const log = options.log ?? (() => undefined);
  const api = new ManagementApi(options);
  const statePath = path.join(options.dir, STATE_FILE);
  if (!existsSync(options.dir))
    throw new UsageError(`--dir: ${options.dir} does not exist (run auth0-ldap-bridge export first)`);
  const files = readdirSync(options.dir).filter(isImportFileName).sort();
  if (files.length === 0)
    throw new CommandFailed(`no users-NNNN.json files in ${options.dir} (run auth0-ldap-bridge export first)`);

  const connectionId = options.connectionId ?? (await api.connectionIdByName(options.connectionName ?? ''));
  const state: ImportState = existsSync(statePath) ? readState(statePath) : { connectionId, files: {} };
  if (state.connectionId !== connectionId)
    throw new CommandFailed(
      `${statePath} belongs to connection ${state.connectionId}, not ${connectionId}; move it away to start over`,
    );
  // Written to a temporary file and renamed, so an interruption never leaves half a state file.
  const save = () => {
    writeFileSync(`${statePath}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(`${statePath}.tmp`, statePath);
  };
  save();

  const pending = files.filter(
    (name) => state.files[name]?.status !== 'completed' && state.files[name]?.status !== 'failed',
  );
  log(
    `${files.length} file(s), ${files.length - pending.length} already done, ${pending.length} to import into connection ${connectionId}`,
  );
  let next = 0;
  const worker = async () => {
    for (let name = pending[next++]; name !== undefined; name = pending[next++]) {
      const fileState = state.files[name];
      try {
        let jobId = fileState?.jobId;
        if (!jobId) {
          jobId = await api.submitJob(path.join(options.dir, name), name, connectionId, options);
          state.files[name] = { status: 'submitted', jobId };
          save();
          log(`${name}: submitted as ${jobId}`);
        } else {
          log(`${name}: resuming ${jobId}`);
        }
        const finished = await api.waitForJob(jobId, options.pollIntervalMs ?? 5000);
        const errors = finished.status === 'completed' ? await api.jobErrors(jobId) : [];
        state.files[name] = {
          status: finished.status === 'completed' ? 'completed' : 'failed',
          jobId,
          ...(finished.summary ? { summary: finished.summary } : {}),
          errors,
          ...(finished.status !== 'completed' ? { problem: `job ended ${finished.status}` } : {}),
        };
        save();
        log(
          `${name}: ${finished.status}${finished.summary ? `, ${finished.summary.inserted} inserted, ${finished.summary.updated} updated, ${finished.summary.failed} failed` : ''}`,
        );
      } catch (error) {
        state.files[name] = {
          status: 'failed',
          ...(fileState?.jobId ? { jobId: fileState.jobId } : {}),
          problem: error instanceof Error ? error.message : String(error),
        };
        save();
        log(`${name}: failed: ${state.files[name]?.problem}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.maxConcurrentJobs ?? 2, 2) }, worker));

  const all = Object.entries(state.files);
  return {
    files: files.length,
    inserted: all.reduce((sum, [, file]) => sum + (file.summary?.inserted ?? 0), 0),
    updated: all.reduce((sum, [, file]) => sum + (file.summary?.updated ?? 0), 0),
    failed: all.reduce((sum, [, file]) => sum + (file.summary?.failed ?? 0), 0),
    filesFailed: all
      .filter(([, file]) => file.status === 'failed')
      .map(([name]) => name)
      .sort(),
  };
}

export const importCommand: Command = {
  name: 'import',
  summary: 'submit the export files as Auth0 user-import jobs and wait for their results',
  description: [
    'Submits every users-NNNN.json in --dir as a Management API user-import job into the connection, at most',
    "two at a time (Auth0's limit), polls each to its end and records who failed and why in",
    'DIR/import-state.json, so an interrupted import resumes without resubmitting a file. Without --upsert,',
    'users already in the connection (for example those who migrated by logging in) fail with DUPLICATED_USER',
    'and are left as they are. Exit code 1 when any user or file did not import.',
  ].join('\n'),
  options: {
    dir: { type: 'string', valueName: 'DIR', description: 'the directory `export` wrote', default: DEFAULT_EXPORT_DIR },
    connection: { type: 'string', valueName: 'NAME', description: 'the database connection, by name' },
    'connection-id': { type: 'string', valueName: 'ID', description: 'the database connection, by id (con_...)' },
    upsert: { type: 'boolean', description: 'update users that already exist instead of failing them' },
    'send-completion-email': { type: 'boolean', description: "have Auth0 email the tenant's admins when a job ends" },
    'external-id': { type: 'string', valueName: 'ID', description: 'an id of yours recorded on each job' },
  },
  settingGroups: ['management-api'],
  async run(options, io) {
    const connectionName = stringOption(options, 'connection');
    const connectionId = stringOption(options, 'connection-id');
    if ((connectionName === undefined) === (connectionId === undefined))
      throw new UsageError('give exactly one of --connection NAME or --connection-id ID');
    const reader = new SettingsReader(io.env);
    const domain = reader.string(S.AUTH0_DOMAIN);
    const clientId = reader.string(S.AUTH0_CLIENT_ID);
    const clientSecret = reader.string(S.AUTH0_CLIENT_SECRET);
    if (reader.found.length > 0 || !domain || !clientId || !clientSecret) throw new ConfigError([...reader.found]);
    const externalId = stringOption(options, 'external-id');
    const summary = await importFiles({
      dir: stringOption(options, 'dir') ?? DEFAULT_EXPORT_DIR,
      domain,
      clientId,
      clientSecret,
      ...(connectionName ? { connectionName } : {}),
      ...(connectionId ? { connectionId } : {}),
      ...(externalId ? { externalId } : {}),
      upsert: options.upsert === true,
      sendCompletionEmail: options['send-completion-email'] === true,
      log: io.err,
    });
    io.out(
      `${summary.files} file(s): ${summary.inserted} users imported, ${summary.updated} updated, ${summary.failed} failed (reasons per user in import-state.json)${summary.filesFailed.length ? `; files that did not import: ${summary.filesFailed.join(', ')}` : ''}`,
    );
    return summary.filesFailed.length > 0 || summary.failed > 0 ? EXIT.failed : EXIT.ok;
  },
};
