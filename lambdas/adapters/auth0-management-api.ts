// The one adapter for Auth0's Management API, over Auth0's official SDK (`auth0` on npm): the
// operations import and the migration commands need (connections, import and export jobs, users),
// typed, with errors an operator can act on. Every request of the process to a tenant goes
// through one TenantRateLimiter, because Auth0 limits the Management API per tenant, not per
// endpoint: after any 429 nobody sends until the announced x-ratelimit-reset (or Retry-After) has
// passed, and requests are paced by x-ratelimit-remaining so that 429s stay rare.
//
// Why the SDK is wrapped rather than used as it comes (measured against the emulator at the Free
// plan's 2 requests/s, burst 2): its own retries are per request (twice by default, 408/429/5xx,
// writes included), so 12 concurrent reads sent 25 requests inside a wait the tenant had announced
// and 7 of them failed; a tenant busy for 4 s failed every call. Here the SDK's retries are off
// (maxRetries 0) and its `fetch` is ours: 429s are retried for any call (Auth0 did nothing),
// 5xx and network failures only for reads and the token request; a write that got no answer is
// reported as such (outcomeUnknown), never resent. A request that ends without an answer reaches
// the SDK as a stand-in answer, not a rejection: the SDK clears its per-request timer only when
// fetch resolves, and a timer left behind kept the command from exiting after Ctrl-C.
import type { ManagementClient } from 'auth0';
import { gunzipSync } from 'node:zlib';

type Sdk = typeof import('auth0');
let sdk: Promise<Sdk> | undefined;
/**
 * The SDK, loaded on first use: its module graph costs about 0.7 s of CPU, which every other
 * command of the command line (serve, doctor, ...) would otherwise pay at start.
 */
const loadSdk = () => {
  sdk ??= import('auth0');
  return sdk;
};

/** Time as the limiter sees it; tests pass a virtual clock. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Sent this long after an announced reset, for the clocks of Auth0 and this machine not agreeing to the millisecond. */
const RESET_MARGIN_MS = 100;

/** What the limiter tells its owner when the tenant refuses a request. */
export interface Throttled {
  /** How long nothing will be sent, in milliseconds. */
  waitMs: number;
  /** How long the tenant has refused every request, in milliseconds (0 for the first 429). */
  refusedForMs: number;
}

/**
 * The Management API budget of one tenant, as this process knows it. `acquire` before sending,
 * `observe` each answer (or `release` when there was none). Callers are served in arrival order.
 */
export class TenantRateLimiter {
  private blockedUntil = 0;
  /** Requests the tenant still allows now; undefined when not known (then one at a time). */
  private budget: number | undefined;
  /** When the tenant's bucket will hold another request, once the budget is spent. */
  private nextTokenAt = 0;
  private inFlight = 0;
  private refusedSince: number | undefined;
  private consecutiveRefusals = 0;
  private turn: Promise<void> = Promise.resolve();
  private answered: Array<() => void> = [];

  constructor(private readonly clock: Clock = systemClock) {}

  /** Waits until a request may be sent without breaking what the tenant announced. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const previous = this.turn;
    let done: () => void = () => undefined;
    this.turn = new Promise<void>((resolve) => {
      done = resolve;
    });
    try {
      await previous;
      await this.waitForRoom(signal);
      this.inFlight += 1;
      if (this.budget !== undefined) this.budget -= 1;
    } finally {
      done();
    }
  }

  /** Records an answer: its x-ratelimit-* headers, and a 429 as a wait for everyone (returned). */
  observe(status: number, headers: Headers): Throttled | undefined {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const now = this.clock.now();
    const limit = wholeNumber(headers.get('x-ratelimit-limit'));
    const remaining = wholeNumber(headers.get('x-ratelimit-remaining'));
    const reset = wholeNumber(headers.get('x-ratelimit-reset'));
    if (status === 429) {
      this.consecutiveRefusals += 1;
      this.refusedSince ??= now;
      const announced = Math.max(reset === undefined ? 0 : reset * 1000, now + (retryAfterMs(headers, now) ?? 0));
      // Without a usable announcement: 1 s, 2 s, 4 s ... up to a minute.
      const until = announced > now ? announced : now + Math.min(60_000, 1000 * 2 ** (this.consecutiveRefusals - 1));
      this.blockedUntil = Math.max(this.blockedUntil, until);
      this.budget = 0;
      this.nextTokenAt = this.blockedUntil;
      this.wake();
      return { waitMs: this.blockedUntil - now, refusedForMs: now - this.refusedSince };
    }
    this.consecutiveRefusals = 0;
    this.refusedSince = undefined;
    if (remaining !== undefined && reset !== undefined) {
      // Requests still in flight were sent after this one was counted: take them off too.
      this.budget = Math.max(0, remaining - this.inFlight);
      // The reset is when the bucket is full again: limit - remaining requests come back by then,
      // so one comes back every (reset - now) / (limit - remaining). Without the limit: at the reset.
      const missing = limit !== undefined && limit > remaining ? limit - remaining : 1;
      this.nextTokenAt = now + Math.max(0, reset * 1000 - now) / missing;
    }
    this.wake();
    return undefined;
  }

  /** A request ended without an answer (network failure, timeout). */
  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.wake();
  }

  private async waitForRoom(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.clock.now();
      if (now < this.blockedUntil) {
        await this.clock.sleep(this.blockedUntil - now + RESET_MARGIN_MS, signal);
        continue;
      }
      if (this.budget !== undefined && this.budget <= 0) {
        if (now < this.nextTokenAt) {
          await this.clock.sleep(this.nextTokenAt - now + RESET_MARGIN_MS, signal);
          continue;
        }
        this.budget = undefined;
      }
      // Nothing known about the budget: one request at a time until an answer says more.
      if (this.budget === undefined && this.inFlight > 0) {
        await this.nextAnswer(signal);
        continue;
      }
      return;
    }
  }

  private nextAnswer(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.answered.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  private wake(): void {
    const waiting = this.answered;
    this.answered = [];
    for (const resolve of waiting) resolve();
  }
}

function wholeNumber(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

/** Retry-After as milliseconds from now: a number of seconds or an HTTP date. */
function retryAfterMs(headers: Headers, now: number): number | undefined {
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = wholeNumber(value);
  if (seconds !== undefined) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const limiters = new Map<string, TenantRateLimiter>();

/** The limiter every ManagementApi of this process uses for the tenant at `host`. */
export function tenantRateLimiter(host: string): TenantRateLimiter {
  let limiter = limiters.get(host);
  if (!limiter) {
    limiter = new TenantRateLimiter();
    limiters.set(host, limiter);
  }
  return limiter;
}

/** Why a Management API request has no answer, by the headers of the stand-in answer the SDK was given. */
const unanswered = new WeakMap<Headers, unknown>();

/** A write that was sent and got no answer: Auth0 may have acted on it. */
class UnansweredWrite extends Error {
  constructor(cause: unknown) {
    super(causeOf(cause), { cause });
    this.name = 'UnansweredWrite';
  }
}

export type ManagementApiErrorCode =
  /** The client id or secret is wrong, or the application may not use the Management API. */
  | 'invalid_credentials'
  /** The application lacks a scope the call needs (the message names it). */
  | 'missing_scope'
  /** The token was refused. */
  | 'unauthorized'
  | 'unknown_connection'
  | 'not_found'
  /** Auth0 refused the request (4xx); the message has Auth0's reason. */
  | 'refused'
  /** The tenant answered 429 for longer than the patience allows. */
  | 'rate_limited'
  | 'server_error'
  /** No answer (network failure, timeout). */
  | 'unreachable'
  /** Stopped by the caller (Ctrl-C). */
  | 'aborted'
  /** Auth0 answered something this adapter cannot read. */
  | 'invalid_answer'
  /** A user search matches more than the 1,000 users Auth0 lets one page through. */
  | 'too_many_results'
  /** A job still runs past Auth0's job lifetime. */
  | 'job_unfinished';

/** A Management API call failed. The message names the call and what to do, never a secret or token. */
export class ManagementApiError extends Error {
  constructor(
    message: string,
    readonly code: ManagementApiErrorCode,
    readonly status?: number,
    /** For a write: Auth0 may have acted on it (no answer, or a 5xx). */
    readonly outcomeUnknown = false,
  ) {
    super(message);
    this.name = 'ManagementApiError';
  }

  /** The same call may succeed later (429, 5xx, no answer). */
  get transient(): boolean {
    return this.code === 'rate_limited' || this.code === 'server_error' || this.code === 'unreachable';
  }
}

export interface ManagementApiOptions {
  /**
   * The tenant's domain (or its custom domain): tokens are for https://<domain>/api/v2/, and
   * requests go to https://<domain> unless apiHost says otherwise. A loopback 127.0.0.1:PORT (the
   * only host with a port AUTH0_DOMAIN accepts) is a local emulator, reached over HTTPS like Auth0:
   * its CA comes from NODE_EXTRA_CA_CERTS, which Node reads at start for its own fetch.
   */
  domain: string;
  clientId: string;
  clientSecret: string;
  /** host[:port] the requests go to. Default: the domain. Tests point it at the emulator. */
  apiHost?: string;
  /** The fetch underneath. Default: Node's. Tests pass one that trusts the emulator's CA. */
  fetch?: typeof fetch;
  /** Default: the process-wide limiter of the tenant (tenantRateLimiter). */
  limiter?: TenantRateLimiter;
  /** Time one attempt may take, in milliseconds. Default 60000. */
  timeoutMs?: number;
  /** How long one call keeps retrying 429s before it fails rate_limited, in milliseconds. Default 900000 (15 min). */
  rateLimitPatienceMs?: number;
  /** Attempts for a read (and the token request) that fails with a 5xx or no answer. Default 4. */
  readAttempts?: number;
  /** Progress worth telling an operator (long rate-limit waits). */
  log?: (line: string) => void;
  /** Time for retries and waits. Default: the system's. Tests pass a virtual clock (with a limiter on it). */
  clock?: Clock;
}

export interface Connection {
  id: string;
  name: string;
  strategy: string;
  /** The whole options object: an update replaces it, so change a copy of this one. */
  options: Record<string, unknown>;
  enabled_clients?: string[];
}

export type JobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'expired';

export interface Job {
  id: string;
  type: string;
  status: JobStatus | (string & {});
  created_at?: string;
  connection_id?: string;
  external_id?: string;
  percentage_done?: number;
  time_left_seconds?: number;
  status_details?: string;
  summary?: { inserted: number; updated: number; failed: number; total: number };
  /** users_export: where the file is (a link valid for a short time). */
  location?: string;
  format?: string;
}

/** Who did not import and why; never the user object (it may hold a password hash). */
export interface ImportUserErrors {
  email?: string;
  user_id?: string;
  errors: Array<{ code: string; message: string }>;
}

export interface UsersImport {
  /** The JSON array text of the users file (at most 500 KB). */
  users: string | Uint8Array;
  fileName: string;
  connectionId: string;
  upsert: boolean;
  sendCompletionEmail: boolean;
  externalId?: string;
}

export interface UsersExport {
  connectionId?: string;
  /** Fields to export (at most 30); `export_as` renames. Default: Auth0's default set. */
  fields?: Array<{ name: string; export_as?: string }>;
  limit?: number;
}

export interface User {
  user_id: string;
  email?: string;
  email_verified?: boolean;
  username?: string;
  name?: string;
  blocked?: boolean;
  created_at?: string;
  updated_at?: string;
  last_login?: string;
  logins_count?: number;
  identities?: Array<{ connection: string; provider: string; user_id: string }>;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
}

export interface UserSearchPage {
  users: User[];
  /** Matches, as Auth0 counts them for a search (it stops counting at 1,000). */
  total: number;
  start: number;
  limit: number;
}

/** Auth0 keeps a job running for at most 2 hours, then it expires. */
export const JOB_LIFETIME_MS = 2 * 60 * 60 * 1000;
/** Auth0 deletes a job's data 24 hours after it was created. */
export const JOB_RETENTION_MS = 24 * 60 * 60 * 1000;
/** How long past its lifetime a job may still say pending or processing before following it stops. */
const UNFINISHED_GRACE_MS = 10 * 60 * 1000;
/** A user search pages through at most this many users; more need an export job. */
export const MAX_SEARCH_RESULTS = 1000;

export class ManagementApi {
  private connected: Promise<{ client: ManagementClient; sdk: Sdk }> | undefined;
  private readonly limiter: TenantRateLimiter;
  private readonly host: string;
  /** Values that must never appear in a message: the client secret, and every token sent. */
  private readonly secrets = new Set<string>();
  private toldRefusedForMs = 0;
  private readonly clock: Clock;

  constructor(private readonly options: ManagementApiOptions) {
    this.host = options.apiHost ?? options.domain;
    this.clock = options.clock ?? systemClock;
    this.secrets.add(options.clientSecret);
    this.limiter = options.limiter ?? tenantRateLimiter(this.host);
  }

  /** The database connection called `name`; unknown_connection names the ones that exist. */
  async findConnection(name: string): Promise<Connection> {
    const call = 'GET /api/v2/connections';
    const page = await this.call(call, (client) => client.connections.list({ name }));
    const match = page.data.find((connection) => connection.name === name);
    if (match) return toConnection(match);
    const names = await this.call(call, async (client) => {
      const found: string[] = [];
      for await (const connection of await client.connections.list({ fields: 'name', include_fields: true }))
        if (connection.name) found.push(connection.name);
      return found;
    });
    throw new ManagementApiError(
      `no connection named "${name}" in ${this.options.domain}${names.length > 0 ? ` (its connections: ${names.sort().join(', ')})` : ' (it has no connections this application may read)'}`,
      'unknown_connection',
    );
  }

  async getConnection(id: string): Promise<Connection> {
    return toConnection(await this.call('GET /api/v2/connections/{id}', (client) => client.connections.get(id)));
  }

  /** Replaces the connection's whole options object (Auth0 does not merge it): read, change, write back. */
  async updateConnectionOptions(id: string, options: Record<string, unknown>): Promise<Connection> {
    return toConnection(
      await this.call('PATCH /api/v2/connections/{id}', (client) =>
        client.connections.update(id, { options: options as never }),
      ),
    );
  }

  /** Submits a users file as an import job. A failure with outcomeUnknown means the job may exist. */
  async submitUsersImport(request: UsersImport, signal?: AbortSignal): Promise<Job> {
    const job = await this.call(
      'POST /api/v2/jobs/users-imports',
      (client) =>
        client.jobs.usersImports.create(
          {
            users: {
              data: typeof request.users === 'string' ? Buffer.from(request.users, 'utf8') : request.users,
              filename: request.fileName,
              contentType: 'application/json',
            },
            connection_id: request.connectionId,
            upsert: request.upsert,
            send_completion_email: request.sendCompletionEmail,
            ...(request.externalId ? { external_id: request.externalId } : {}),
          },
          signal ? { abortSignal: signal } : undefined,
        ),
      { write: true, signal },
    );
    return toJob(job);
  }

  async getJob(id: string, signal?: AbortSignal): Promise<Job> {
    return toJob(
      await this.call(
        'GET /api/v2/jobs/{id}',
        (client) => client.jobs.get(id, signal ? { abortSignal: signal } : undefined),
        {
          signal,
        },
      ),
    );
  }

  /** Per-user errors of an import job (none: Auth0 answers 204). */
  async getJobErrors(id: string, signal?: AbortSignal): Promise<ImportUserErrors[]> {
    const answer = await this.call(
      'GET /api/v2/jobs/{id}/errors',
      (client) => client.jobs.errors.get(id, signal ? { abortSignal: signal } : undefined),
      { signal },
    );
    if (answer === undefined || answer === null) return [];
    if (!Array.isArray(answer)) {
      // A job that failed as a whole answers one object rather than a list of users.
      const generic = answer as { message?: string; status?: string };
      return [{ errors: [{ code: generic.status ?? 'job_failed', message: generic.message ?? 'the job failed' }] }];
    }
    return answer.map((entry) => {
      const user = (entry.user ?? {}) as { email?: unknown; user_id?: unknown };
      return {
        ...(typeof user.email === 'string' ? { email: user.email } : {}),
        ...(typeof user.user_id === 'string' ? { user_id: user.user_id } : {}),
        errors: (entry.errors ?? []).map((error) => ({
          code: String(error.code ?? ''),
          message: String(error.message ?? ''),
        })),
      };
    });
  }

  /**
   * Polls a job until it ends (completed, failed, expired). Refused polls (429, 5xx, no answer)
   * wait and poll again for as long as the job can live: Auth0 ends every job within 2 hours of
   * `created_at`. Fails with not_found, unauthorized, missing_scope as they come, and with
   * rate_limited / server_error / unreachable only once the job's lifetime has passed.
   */
  async waitForJob(
    id: string,
    options: {
      pollIntervalMs: number;
      createdAt?: string;
      signal?: AbortSignal;
      /** Each answer while the job runs (its status and percentage_done), for a progress bar. */
      onPoll?: (job: Job) => void;
    },
  ): Promise<Job> {
    const clock = this.clock;
    let deadline = options.createdAt ? Date.parse(options.createdAt) + JOB_LIFETIME_MS : undefined;
    let refusals = 0;
    for (;;) {
      try {
        const job = await this.getJob(id, options.signal);
        options.onPoll?.(job);
        refusals = 0;
        if (deadline === undefined && job.created_at) deadline = Date.parse(job.created_at) + JOB_LIFETIME_MS;
        if (job.status !== 'pending' && job.status !== 'processing') return job;
        if (deadline !== undefined && clock.now() > deadline + UNFINISHED_GRACE_MS)
          throw new ManagementApiError(
            `job ${id} is still ${job.status} past Auth0's 2-hour job lifetime (created ${job.created_at ?? 'at an unknown time'})`,
            'job_unfinished',
          );
      } catch (error) {
        if (!(error instanceof ManagementApiError) || !error.transient) throw error;
        // Before the first answer the lifetime is counted from the first refusal.
        deadline ??= clock.now() + JOB_LIFETIME_MS;
        if (clock.now() > deadline + options.pollIntervalMs) throw error;
        refusals += 1;
        await clock.sleep(Math.min(60_000, options.pollIntervalMs * 2 ** Math.min(refusals, 6)), options.signal);
        continue;
      }
      await clock.sleep(options.pollIntervalMs, options.signal);
    }
  }

  async createUsersExport(request: UsersExport): Promise<Job> {
    return toJob(
      await this.call(
        'POST /api/v2/jobs/users-exports',
        (client) =>
          client.jobs.usersExports.create({
            format: 'json',
            ...(request.connectionId ? { connection_id: request.connectionId } : {}),
            ...(request.fields ? { fields: request.fields } : {}),
            ...(request.limit ? { limit: request.limit } : {}),
          }),
        { write: true },
      ),
    );
  }

  /**
   * The users of a completed export job: its gzipped NDJSON file downloaded from `location` (a
   * link that works for a short time; an expired one is renewed by reading the job again).
   */
  async downloadUsersExport(job: Job, signal?: AbortSignal): Promise<Array<Record<string, unknown>>> {
    let current = job;
    for (let attempt = 1; ; attempt += 1) {
      if (current.status !== 'completed' || !current.location)
        throw new ManagementApiError(
          `export job ${job.id} has no file to download (status ${current.status})`,
          'invalid_answer',
        );
      const location = new URL(current.location);
      if (location.protocol !== 'https:')
        throw new ManagementApiError(`export job ${job.id}: the file's location is not https`, 'invalid_answer');
      let response: Response;
      try {
        response = await (this.options.fetch ?? fetch)(location, {
          signal: signal
            ? AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)])
            : AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        if (signal?.aborted) throw new ManagementApiError(`export job ${job.id}: download stopped`, 'aborted');
        throw new ManagementApiError(
          `export job ${job.id}: could not download its file from ${location.host} (${causeOf(error)})`,
          'unreachable',
        );
      }
      if (response.ok) {
        const text = gunzipSync(Buffer.from(await response.arrayBuffer())).toString('utf8');
        try {
          return text
            .split('\n')
            .filter((line) => line.trim() !== '')
            .map((line) => JSON.parse(line) as Record<string, unknown>);
        } catch {
          throw new ManagementApiError(`export job ${job.id}: its file is not NDJSON`, 'invalid_answer');
        }
      }
      await response.arrayBuffer();
      // An expired link answers 403; the job gives a new one while Auth0 keeps it (24 hours).
      if ((response.status === 403 || response.status === 404) && attempt < 3) {
        current = await this.getJob(job.id, signal);
        continue;
      }
      throw new ManagementApiError(
        `export job ${job.id}: downloading its file answered ${response.status}`,
        response.status >= 500 ? 'server_error' : 'refused',
        response.status,
      );
    }
  }

  /** Exports users (all of a connection's, or the tenant's) and returns them: create, wait, download. */
  async exportUsers(
    request: UsersExport,
    options: { pollIntervalMs: number; signal?: AbortSignal; onPoll?: (job: Job) => void },
  ): Promise<Array<Record<string, unknown>>> {
    const created = await this.createUsersExport(request);
    const finished = await this.waitForJob(created.id, {
      pollIntervalMs: options.pollIntervalMs,
      ...(created.created_at ? { createdAt: created.created_at } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onPoll ? { onPoll: options.onPoll } : {}),
    });
    if (finished.status !== 'completed')
      throw new ManagementApiError(
        `export job ${finished.id} ended ${finished.status}${finished.status_details ? `: ${finished.status_details}` : ''}`,
        'refused',
      );
    return this.downloadUsersExport(finished, options.signal);
  }

  /** The user, or undefined when Auth0 has none with this id. `signal` stops a wait for the tenant's rate limit. */
  async getUser(userId: string, signal?: AbortSignal): Promise<User | undefined> {
    try {
      return toUser(
        await this.call(
          'GET /api/v2/users/{id}',
          (client) => client.users.get(userId, {}, signal ? { abortSignal: signal } : undefined),
          { signal },
        ),
      );
    } catch (error) {
      if (error instanceof ManagementApiError && error.code === 'not_found') return undefined;
      throw error;
    }
  }

  /**
   * One page of a user search (Lucene syntax, search engine v3), e.g.
   * `identities.connection:"ldap-bridge" AND blocked:false`. Auth0 lets a search page through
   * its first 1,000 users only; a page past that fails too_many_results.
   */
  async searchUsers(request: { q: string; page?: number; perPage?: number; sort?: string }): Promise<UserSearchPage> {
    const page = request.page ?? 0;
    const perPage = request.perPage ?? 100;
    if ((page + 1) * perPage > MAX_SEARCH_RESULTS)
      throw new ManagementApiError(
        `a user search pages through its first ${MAX_SEARCH_RESULTS} users only (asked for page ${page} of ${perPage}); use an export job`,
        'too_many_results',
      );
    const answer = await this.call('GET /api/v2/users', (client) =>
      client.users.list({
        q: request.q,
        search_engine: 'v3',
        page,
        per_page: perPage,
        include_totals: true,
        ...(request.sort ? { sort: request.sort } : {}),
      }),
    );
    const body = answer.response as { total?: number; start?: number; limit?: number };
    return {
      users: answer.data.map(toUser),
      total: body.total ?? answer.data.length,
      start: body.start ?? page * perPage,
      limit: body.limit ?? perPage,
    };
  }

  /** Every user a search matches, or too_many_results when Auth0 counts more than 1,000 (use exportUsers). */
  async searchAllUsers(q: string): Promise<User[]> {
    const users: User[] = [];
    for (let page = 0; ; page += 1) {
      const answer = await this.searchUsers({ q, page, perPage: 100, sort: 'user_id:1' });
      if (answer.total >= MAX_SEARCH_RESULTS)
        throw new ManagementApiError(
          `more than ${MAX_SEARCH_RESULTS - 1} users match ${q}: a search cannot list them all; use an export job`,
          'too_many_results',
        );
      users.push(...answer.users);
      if (answer.users.length < 100 || users.length >= answer.total) return users;
    }
  }

  /**
   * Changes a user's `blocked` and/or `app_metadata` (merged one level deep by Auth0; null removes a
   * key). `signal` stops the call while it waits for the tenant's rate limit (aborted: not sent);
   * once sent, the write runs to its answer.
   */
  async updateUser(
    userId: string,
    changes: { blocked?: boolean; app_metadata?: Record<string, unknown> },
    signal?: AbortSignal,
  ): Promise<User> {
    return toUser(
      await this.call(
        'PATCH /api/v2/users/{id}',
        (client) => client.users.update(userId, changes, signal ? { abortSignal: signal } : undefined),
        { write: true, signal },
      ),
    );
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 60_000;
  }

  /** Runs one SDK call and turns whatever it throws into a ManagementApiError with an operator's message. */
  private async call<T>(
    name: string,
    run: (client: ManagementClient) => Promise<T>,
    how: { write?: boolean; signal?: AbortSignal | undefined } = {},
  ): Promise<T> {
    const { client, sdk } = await this.sdk();
    try {
      return await run(client);
    } catch (error) {
      throw this.describe(error, sdk, name, how);
    }
  }

  private sdk(): Promise<{ client: ManagementClient; sdk: Sdk }> {
    this.connected ??= loadSdk().then((sdk) => ({
      sdk,
      client: new sdk.ManagementClient({
        domain: this.host,
        audience: `https://${this.options.domain}/api/v2/`,
        clientId: this.options.clientId,
        clientSecret: this.options.clientSecret,
        fetch: this.tenantFetch(),
        // Retries and timeouts are the tenant fetch's, per attempt; the SDK's would retry writes
        // and count rate-limit waits against the timeout.
        maxRetries: 0,
        timeoutInSeconds: 24 * 60 * 60,
      }),
    }));
    return this.connected;
  }

  private describe(
    error: unknown,
    { ManagementError, ManagementTimeoutError }: Sdk,
    call: string,
    how: { write?: boolean; signal?: AbortSignal | undefined },
  ): ManagementApiError {
    const say = (message: string, code: ManagementApiErrorCode, status?: number, outcomeUnknown = false) =>
      new ManagementApiError(this.redact(message), code, status, outcomeUnknown);
    if (error instanceof ManagementApiError) return error;
    const rawHeaders = error instanceof ManagementError ? error.rawResponse?.headers : undefined;
    const failure = rawHeaders ? unanswered.get(rawHeaders as Headers) : undefined;
    if (failure instanceof UnansweredWrite)
      return say(
        `${call}: sent, but no answer from ${this.host} (${failure.message}); Auth0 may have done it`,
        'unreachable',
        undefined,
        true,
      );
    if (how.signal?.aborted) return say(`${call}: stopped before it was sent`, 'aborted');
    if (failure !== undefined) return say(`${call}: no answer from ${this.host} (${causeOf(failure)})`, 'unreachable');
    if (error instanceof ManagementTimeoutError)
      return say(`${call}: no answer from ${this.host} within ${seconds(this.timeoutMs)}`, 'unreachable');
    if (!(error instanceof ManagementError)) {
      // The token request's network failures reach here as they are (fetch's TypeError).
      if (error instanceof TypeError && error.cause !== undefined)
        return say(`${call}: no answer from ${this.host} (${causeOf(error)})`, 'unreachable');
      return say(`${call}: ${error instanceof Error ? error.message : String(error)}`, 'invalid_answer');
    }
    const status = error.statusCode;
    const body = (typeof error.body === 'object' && error.body !== null ? error.body : {}) as {
      message?: string;
      error?: string;
      error_description?: string;
      errorCode?: string;
    };
    const auth0Says =
      body.message ?? body.error_description ?? (typeof error.body === 'string' ? error.body : undefined);
    if (error.message.startsWith('ManagementClient: token request')) {
      if (status === undefined || status === 408)
        return say(
          `could not reach https://${this.host}/oauth/token for a Management API token (${causeOf(error.cause ?? error)})`,
          'unreachable',
        );
      return say(
        `could not get a Management API token (HTTP ${status} ${body.error ?? ''}${body.error_description ? `: ${body.error_description}` : ''}): check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET, and that the application is authorised for the Management API of ${this.options.domain}`,
        'invalid_credentials',
        status,
      );
    }
    if (status === undefined)
      return say(`${call}: no answer from ${this.host} (${causeOf(error.cause ?? error)})`, 'unreachable');
    if (status === 403 && (body.errorCode === 'insufficient_scope' || /scope/i.test(auth0Says ?? ''))) {
      const scopes = /expected any of:\s*(.+)$/i.exec(auth0Says ?? '')?.[1]?.trim() ?? 'a scope it needs';
      return say(
        `${call}: the application lacks the scope ${scopes.split(',').join(' or ')}; grant it under Applications > APIs > Auth0 Management API > Machine to Machine Applications`,
        'missing_scope',
        status,
      );
    }
    if (status === 401)
      return say(`${call}: Auth0 refused the token (401${auth0Says ? ` ${auth0Says}` : ''})`, 'unauthorized', status);
    if (status === 404) return say(`${call}: not found${auth0Says ? ` (${auth0Says})` : ''}`, 'not_found', status);
    if (status === 429)
      return say(
        `${call}: the tenant's rate limit refused every attempt for ${seconds(this.options.rateLimitPatienceMs ?? 900_000)} (another application may be using the Management API budget); try again later`,
        'rate_limited',
        status,
      );
    if (status >= 500)
      return say(
        `${call}: Auth0 answered ${status}${auth0Says ? ` (${auth0Says})` : ''}`,
        'server_error',
        status,
        how.write === true,
      );
    return say(`${call}: Auth0 answered ${status}${auth0Says ? ` (${auth0Says})` : ''}`, 'refused', status);
  }

  private redact(message: string): string {
    let safe = message;
    for (const secret of this.secrets) if (secret.length >= 4) safe = safe.replaceAll(secret, '[redacted]');
    return safe;
  }

  /**
   * The fetch the SDK uses: every Management API request waits its turn in the tenant's limiter;
   * 429s are retried for any request (Auth0 did nothing) as long as the patience lasts; 5xx and
   * network failures are retried, with backoff, only for reads and the token request.
   *
   * A Management API request that ends without an answer (stopped, network failure) resolves to a
   * stand-in 599 answer carrying the failure (see unanswered) rather than rejecting: the SDK (7.1)
   * clears its per-request timer only when fetch resolves, and a timer left behind keeps the
   * process from exiting.
   */
  private tenantFetch(): typeof fetch {
    const patienceMs = this.options.rateLimitPatienceMs ?? 900_000;
    const readAttempts = this.options.readAttempts ?? 4;
    return async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const method = (init?.method ?? 'GET').toUpperCase();
      const managementApi = url.pathname.startsWith('/api/v2/');
      const repeatable = method === 'GET' || url.pathname === '/oauth/token';
      const authorization = new Headers(init?.headers).get('authorization');
      if (authorization?.startsWith('Bearer ')) this.secrets.add(authorization.slice(7));
      const attempts = () => this.attempts(input, init, { managementApi, repeatable, patienceMs, readAttempts });
      if (!managementApi) return attempts();
      try {
        return await attempts();
      } catch (error) {
        const standIn = new Response(JSON.stringify({ message: 'no answer' }), {
          status: 599,
          headers: { 'content-type': 'application/json' },
        });
        unanswered.set(standIn.headers, error);
        return standIn;
      }
    };
  }

  private async attempts(
    input: RequestInfo | URL,
    init: RequestInit | undefined,
    how: { managementApi: boolean; repeatable: boolean; patienceMs: number; readAttempts: number },
  ): Promise<Response> {
    const underlying = this.options.fetch ?? fetch;
    const callerSignal = init?.signal ?? undefined;
    const started = this.clock.now();
    for (let attempt = 1; ; attempt += 1) {
      if (how.managementApi) await this.limiter.acquire(callerSignal);
      let response: Response;
      try {
        // A write that was sent is not abandoned when the caller stops: its answer says what Auth0 did.
        const timeout = AbortSignal.timeout(this.timeoutMs);
        const signal = how.repeatable && callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
        response = await underlying(input, { ...init, signal });
      } catch (error) {
        if (how.managementApi) this.limiter.release();
        if (!how.repeatable) throw new UnansweredWrite(error);
        if (callerSignal?.aborted || attempt >= how.readAttempts) throw error;
        await this.clock.sleep(backoffMs(attempt), callerSignal);
        continue;
      }
      const throttled = how.managementApi ? this.limiter.observe(response.status, response.headers) : undefined;
      if (throttled) this.tellThrottled(throttled);
      if (response.status === 429 && this.clock.now() - started < how.patienceMs) {
        await response.arrayBuffer();
        // The limiter holds Management API requests back; anything else waits here.
        if (!how.managementApi)
          await this.clock.sleep(retryAfterMs(response.headers, this.clock.now()) ?? backoffMs(attempt), callerSignal);
        continue;
      }
      if (response.status >= 500 && how.repeatable && attempt < how.readAttempts) {
        await response.arrayBuffer();
        await this.clock.sleep(backoffMs(attempt), callerSignal);
        continue;
      }
      return response;
    }
  }

  /** Said once when the tenant starts refusing, then every 30 s while it goes on. */
  private tellThrottled(event: Throttled): void {
    const every = 30_000;
    if (event.refusedForMs === 0)
      this.options.log?.(
        `Management API: the tenant's rate limit was reached; nothing is sent for ${seconds(event.waitMs)}`,
      );
    else if (Math.floor(event.refusedForMs / every) > Math.floor(this.toldRefusedForMs / every))
      this.options.log?.(
        `Management API: the tenant has refused every request for ${seconds(event.refusedForMs)} (another application may be using its budget); still waiting`,
      );
    this.toldRefusedForMs = event.refusedForMs;
  }
}

/** 1 s, 2 s, 4 s ... at most 30 s, with up to a quarter more at random so retries spread out. */
function backoffMs(attempt: number): number {
  const base = Math.min(30_000, 1000 * 2 ** (attempt - 1));
  return base + Math.random() * base * 0.25;
}

function seconds(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.max(1, Math.round(ms / 1000))} s`;
}

/** A network failure's cause, as its code (ECONNREFUSED, ...) or message. */
function causeOf(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (!(current.cause instanceof Error)) return current.message;
    current = current.cause;
  }
  return String(current);
}

function toConnection(answer: {
  id?: string;
  name?: string;
  strategy?: string;
  options?: unknown;
  enabled_clients?: string[];
}): Connection {
  if (!answer.id || !answer.name)
    throw new ManagementApiError('Auth0 answered a connection without an id or name', 'invalid_answer');
  return {
    id: answer.id,
    name: answer.name,
    strategy: answer.strategy ?? '',
    options: { ...((answer.options ?? {}) as Record<string, unknown>) },
    ...(answer.enabled_clients ? { enabled_clients: answer.enabled_clients } : {}),
  };
}

function toJob(answer: unknown): Job {
  const job = answer as Partial<Job> | undefined;
  if (!job || typeof job.id !== 'string' || typeof job.status !== 'string')
    throw new ManagementApiError('Auth0 answered a job without an id or status', 'invalid_answer');
  return job as Job;
}

function toUser(answer: unknown): User {
  const user = answer as Partial<User> | undefined;
  if (!user || typeof user.user_id !== 'string')
    throw new ManagementApiError('Auth0 answered a user without a user_id', 'invalid_answer');
  return user as User;
}
