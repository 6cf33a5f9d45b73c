// `npm run import -- --dir DIR --connection NAME [--upsert] [--send-completion-email]
// [--external-id ID]`: submits the files `npm run export` wrote as Auth0 user-import jobs through
// the Management API (POST /api/v2/jobs/users-imports), at most two jobs in flight (Auth0's
// limit), honouring 429 with Retry-After / x-ratelimit-reset and jittered backoff, polling each job
// to its end, fetching its per-user errors, and keeping DIR/import-state.json so an interrupted
// import resumes without resubmitting a file. Environment: AUTH0_DOMAIN, AUTH0_CLIENT_ID,
// AUTH0_CLIENT_SECRET (a machine-to-machine application with create:users, read:users,
// read:connections).
import { readFileSync, readdirSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

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
const MAX_ATTEMPTS = 8;

export async function importFiles(options: ImportOptions): Promise<ImportSummary> {
  const log = options.log ?? (() => undefined);
  const api = new ManagementApi(options);
  const statePath = path.join(options.dir, STATE_FILE);
  const files = readdirSync(options.dir)
    .filter((name) => /^users-\d{4}\.json$/.test(name))
    .sort();
  if (files.length === 0)
    throw new Error(`import: no users-NNNN.json files in ${options.dir} (run npm run export first)`);

  const connectionId = options.connectionId ?? (await api.connectionIdByName(options.connectionName ?? ''));
  const state: ImportState = existsSync(statePath)
    ? (JSON.parse(readFileSync(statePath, 'utf8')) as ImportState)
    : { connectionId, files: {} };
  if (state.connectionId !== connectionId)
    throw new Error(
      `import: ${statePath} belongs to connection ${state.connectionId}, not ${connectionId}; move it away to start over`,
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
    for (let index = next++; index < pending.length; index = next++) {
      const name = pending[index]!;
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
        log(`${name}: failed: ${state.files[name]!.problem}`);
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

interface Job {
  status: string;
  summary?: { inserted: number; updated: number; failed: number; total: number };
}

class ManagementApi {
  private token: Promise<string> | undefined;
  private readonly baseUrl: string;

  constructor(private readonly options: ImportOptions) {
    this.baseUrl = (options.baseUrl ?? `https://${options.domain}`).replace(/\/$/, '');
    const parsed = new URL(this.baseUrl);
    if (parsed.protocol !== 'https:' && parsed.hostname !== '127.0.0.1')
      throw new Error(`import: ${this.baseUrl} must be https`);
  }

  async connectionIdByName(name: string): Promise<string> {
    if (!name) throw new Error('import: give --connection NAME (or --connection-id ID)');
    const connections = (await (
      await this.request('GET', `/api/v2/connections?name=${encodeURIComponent(name)}&fields=id,name`)
    ).json()) as Array<{ id: string; name: string }>;
    const match = connections.find((connection) => connection.name === name);
    if (!match) throw new Error(`import: no connection named "${name}" in ${this.options.domain}`);
    return match.id;
  }

  async submitJob(file: string, name: string, connectionId: string, options: ImportOptions): Promise<string> {
    const response = await this.request('POST', '/api/v2/jobs/users-imports', () => {
      const form = new FormData();
      form.set('users', new Blob([readFileSync(file)], { type: 'application/json' }), name);
      form.set('connection_id', connectionId);
      form.set('upsert', String(options.upsert));
      form.set('send_completion_email', String(options.sendCompletionEmail));
      if (options.externalId) form.set('external_id', options.externalId);
      return form;
    });
    return ((await response.json()) as { id: string }).id;
  }

  async waitForJob(jobId: string, pollIntervalMs: number): Promise<Job> {
    for (;;) {
      const job = (await (await this.request('GET', `/api/v2/jobs/${encodeURIComponent(jobId)}`)).json()) as Job;
      if (job.status !== 'pending' && job.status !== 'processing') return job;
      await sleep(pollIntervalMs);
    }
  }

  async jobErrors(jobId: string): Promise<NonNullable<FileState['errors']>> {
    const response = await this.request('GET', `/api/v2/jobs/${encodeURIComponent(jobId)}/errors`);
    if (response.status === 204) return [];
    const errors = (await response.json()) as Array<{
      user: { email?: string };
      errors: Array<{ code: string; message: string }>;
    }>;
    // Keep who and why; never the user object, which may hold a (redacted) password hash.
    return errors.map((entry) => ({
      ...(entry.user.email ? { email: entry.user.email } : {}),
      errors: entry.errors.map(({ code, message }) => ({ code, message })),
    }));
  }

  /** One Management API call, retried on 429 (as the server says) and 5xx (with backoff). */
  private async request(method: string, pathAndQuery: string, body?: () => FormData): Promise<Response> {
    let refreshedToken = false;
    for (let attempt = 1; ; attempt += 1) {
      const response = await fetch(`${this.baseUrl}${pathAndQuery}`, {
        method,
        headers: { authorization: `Bearer ${await this.accessToken()}` },
        ...(body ? { body: body() } : {}),
        signal: AbortSignal.timeout(60_000),
      });
      if (response.ok) return response;
      if (response.status === 401 && !refreshedToken) {
        refreshedToken = true;
        this.token = undefined;
        continue;
      }
      const retryable = response.status === 429 || response.status >= 500;
      if (!retryable || attempt >= MAX_ATTEMPTS) {
        const detail = ((await response.json().catch(() => ({}))) as { message?: string }).message ?? '';
        throw new Error(
          `${method} ${pathAndQuery.split('?')[0]} answered ${response.status}${detail ? ` (${detail})` : ''}`,
        );
      }
      await response.arrayBuffer();
      await sleep(retryDelayMs(response, attempt));
    }
  }

  private accessToken(): Promise<string> {
    this.token ??= (async () => {
      const response = await fetch(`${this.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          grant_type: 'client_credentials',
          client_id: this.options.clientId,
          client_secret: this.options.clientSecret,
          audience: `https://${this.options.domain}/api/v2/`,
        }),
        signal: AbortSignal.timeout(30_000),
      });
      const json = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string };
      if (!response.ok || !json.access_token) {
        this.token = undefined;
        throw new Error(`import: could not get a Management API token (HTTP ${response.status} ${json.error ?? ''})`);
      }
      return json.access_token;
    })();
    return this.token;
  }
}

/** Retry-After (seconds), else x-ratelimit-reset (epoch seconds), else exponential backoff; plus jitter. */
export function retryDelayMs(response: Response, attempt: number, now = Date.now()): number {
  const jitter = Math.random() * 250;
  const retryAfter = Number(response.headers.get('retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000 + jitter;
  const reset = Number(response.headers.get('x-ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now) + jitter;
  return Math.min(30_000, 500 * 2 ** (attempt - 1)) + jitter;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const argument = (name: string) => {
    const index = process.argv.indexOf(name);
    return index >= 0 ? process.argv[index + 1] : undefined;
  };
  const required = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`import: ${name} is required`);
    return value;
  };
  const connectionName = argument('--connection');
  const connectionId = argument('--connection-id');
  const externalId = argument('--external-id');
  const summary = await importFiles({
    dir: argument('--dir') ?? 'export',
    domain: required('AUTH0_DOMAIN'),
    clientId: required('AUTH0_CLIENT_ID'),
    clientSecret: required('AUTH0_CLIENT_SECRET'),
    ...(connectionName ? { connectionName } : {}),
    ...(connectionId ? { connectionId } : {}),
    ...(externalId ? { externalId } : {}),
    upsert: process.argv.includes('--upsert'),
    sendCompletionEmail: process.argv.includes('--send-completion-email'),
    log: (line) => console.error(line),
  });
  console.log(
    `${summary.files} file(s): ${summary.inserted} users imported, ${summary.updated} updated, ${summary.failed} failed (reasons per user in import-state.json)${summary.filesFailed.length ? `; files that did not import: ${summary.filesFailed.join(', ')}` : ''}`,
  );
  if (summary.filesFailed.length > 0 || summary.failed > 0) process.exitCode = 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
