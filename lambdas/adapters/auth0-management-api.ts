// The parts of Auth0's Management API the migration commands use, over fetch: a
// client-credentials token for https://<domain>/api/v2/ (refetched once on 401), connections by
// name, user-import jobs (submit, poll, per-user errors). Every call has a timeout; 429 is
// honoured (Retry-After, else x-ratelimit-reset, else exponential backoff, with jitter) and 5xx
// retried with backoff, up to MAX_ATTEMPTS.
import { readFileSync } from 'node:fs';

export interface ManagementApiOptions {
  domain: string;
  clientId: string;
  clientSecret: string;
  /** Where the Management API is; default https://<domain>. Tests point it at a local emulator. */
  baseUrl?: string;
}

export interface ImportJobOptions {
  upsert: boolean;
  sendCompletionEmail: boolean;
  externalId?: string;
}

export interface ImportJobErrors {
  email?: string;
  errors: Array<{ code: string; message: string }>;
}

const MAX_ATTEMPTS = 8;

/** The Management API refused or failed a call; the message says which call and what it answered (never a secret). */
export class ManagementApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManagementApiError';
  }
}

export interface Job {
  status: string;
  summary?: { inserted: number; updated: number; failed: number; total: number };
}

export class ManagementApi {
  private token: Promise<string> | undefined;
  private readonly baseUrl: string;

  constructor(private readonly options: ManagementApiOptions) {
    this.baseUrl = (options.baseUrl ?? `https://${options.domain}`).replace(/\/$/, '');
    const parsed = new URL(this.baseUrl);
    if (parsed.protocol !== 'https:' && parsed.hostname !== '127.0.0.1')
      throw new ManagementApiError(`${this.baseUrl} must be https`);
  }

  async connectionIdByName(name: string): Promise<string> {
    if (!name) throw new ManagementApiError('a connection name is required');
    const connections = (await (
      await this.request('GET', `/api/v2/connections?name=${encodeURIComponent(name)}&fields=id,name`)
    ).json()) as Array<{ id: string; name: string }>;
    const match = connections.find((connection) => connection.name === name);
    if (!match) throw new ManagementApiError(`no connection named "${name}" in ${this.options.domain}`);
    return match.id;
  }

  async submitJob(file: string, name: string, connectionId: string, options: ImportJobOptions): Promise<string> {
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

  async jobErrors(jobId: string): Promise<ImportJobErrors[]> {
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
        throw new ManagementApiError(
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
        throw new ManagementApiError(
          `could not get a Management API token (HTTP ${response.status} ${json.error ?? ''}): check the client id and secret, and that the application is authorised for the Management API`,
        );
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
