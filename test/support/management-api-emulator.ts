// A local stand-in for the parts of Auth0's Management API that import and the migration commands
// (progress, sync-leavers, cutover) call, written from Auth0's documentation so that it fails the
// way Auth0 fails. Pages it follows:
// - rate limits: https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy
//   and .../rate-limit-configurations/free-public (Free plan: 2 requests/s, burst 2; limits are per
//   tenant, not per endpoint; x-ratelimit-limit / -remaining / -reset (UTC epoch seconds) on every
//   answer; 429 when the bucket is empty);
// - client credentials: https://auth0.com/docs/secure/tokens/access-tokens/management-api-access-tokens
//   (a token for https://<domain>/api/v2/ carrying the application's granted scopes; each endpoint
//   names the scopes it accepts: 403 insufficient_scope otherwise);
// - import jobs: https://auth0.com/docs/manage-users/user-migration/bulk-user-imports and
//   .../bulk-user-import-database-schema-and-examples (multipart users file of at most 500 KB
//   holding a JSON array; 202; at most two import jobs pending or processing; password_hash and
//   custom_password_hash bcrypt only with $2a$ / $2b$; DUPLICATED_USER without upsert; `auth0|`
//   prepended to user_id);
// - jobs: https://auth0.com/docs/api/management/v2/jobs/get-jobs-by-id and .../get-errors
//   (pending -> processing -> completed with summary; errors 204 when there are none; jobs expire
//   after 2 hours and their data is deleted after 24 hours: forgetJob);
// - export jobs: https://auth0.com/docs/manage-users/user-migration/bulk-user-exports and
//   https://auth0.com/docs/api/management/v2/jobs/post-users-exports (format json = NDJSON, or
//   csv; at most 30 fields; a gzipped file at `location`, a link valid for 60 seconds; reading the
//   job again gives a new link);
// - user search: https://auth0.com/docs/manage-users/user-search/user-search-query-syntax and
//   .../view-search-results-by-page (page, per_page at most 100, include_totals -> {start, limit,
//   length, total, users}; only the first 1,000 results can be paged through);
// - users: https://auth0.com/docs/api/management/v2/users/get-users-by-id and
//   .../patch-users-by-id (404 inexistent_user; app_metadata merged one level deep, a null value
//   removes the key);
// - connections: https://auth0.com/docs/api/management/v2/connections/get-connections,
//   .../get-connections-by-id and .../patch-connections-by-id ("if you use the options parameter,
//   the entire options object is overridden"; name and strategy cannot be changed).
// - users by email: https://auth0.com/docs/api/management/v2/users-by-email/get-users-by-email
//   (read:users; an exact, case-sensitive match; Auth0 stores database users' emails in lower case;
//   an array of users, fields / include_fields as elsewhere).
//
// The Authentication API's password-realm grant, for tests that use this emulator as an old tenant
// whose users log in with their passwords (https://auth0.com/docs/api/authentication/resource-owner-
// password-flow/get-token, .../errors and .../secure/attack-protection/brute-force-protection):
// POST /oauth/token with grant_type http://auth0.com/oauth/grant-type/password-realm, the realm being a
// connection's name; the application must have that grant type (403 unauthorized_client "Grant type
// '...' not allowed for the client." otherwise); a wrong password or an unknown user is 403 invalid_grant
// "Wrong email or password."; a blocked user 401 unauthorized "user is blocked"; after 10 consecutive
// failures for one user from one IP address that user is refused from there with 429 too_many_attempts,
// whatever the password. Success answers an opaque access token and, for scope openid, an RS256
// id_token (iss https://<domain>/, aud the client id, sub the user_id; the email and profile scopes add
// those claims). Auth0 documents neither an unknown realm's answer nor whether a blocked user's password
// is checked first: here an unknown realm holds no users, and the block is answered before the password.
//
// The query language is a subset of Auth0's Lucene syntax: `field:"value"` or `field:value` terms
// joined by AND, over identities.connection, user_id, email (case-insensitive), blocked and
// app_metadata.<key>; anything else is answered 400 invalid_query_string, so a command that needs
// more fails loudly here rather than silently against Auth0.
//
// Tests seed it with addConnection/addUser, read it with connection/user/users/jobs/requests,
// and break it with occupyTenant (another application uses the tenant's whole budget for a while),
// holdJobs (jobs stay processing), forgetJob (Auth0 deleted the job's data) and per-client scopes.
//
// Script settings (a database connection's options.configuration): Auth0 encrypts each value when
// it is written and answers only the encrypted form, new ciphertext on every write even for the
// same value (its Terraform provider: "the values are encrypted once set ... the API will return
// the encrypted value"; the answers recorded in its tests). With sealSettings the emulator does
// the same (`connection()` still shows the values as written), and takes every value it is sent
// as a value to store, its own ciphertext included: Auth0 does not document otherwise.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Agent } from 'undici';
import { makeCertificates } from '../../dev/throwaway-slapd.ts';

/** Every scope an endpoint here asks for. */
export const ALL_SCOPES = [
  'read:users',
  'create:users',
  'update:users',
  'update:users_app_metadata',
  'read:connections',
  'update:connections',
] as const;

export interface EmulatedClient {
  clientId: string;
  clientSecret: string;
  /** The scopes granted to this application for the Management API. Default: ALL_SCOPES. */
  scopes?: readonly string[];
  /** The application's grant types. Default: ['client_credentials']. */
  grantTypes?: readonly string[];
}

export interface ConnectionSeed {
  /** Default: con_ and 16 random characters. */
  id?: string;
  name: string;
  /** Default 'auth0' (a database connection). */
  strategy?: string;
  options?: Record<string, unknown>;
  enabled_clients?: string[];
}

export interface EmulatedConnection {
  id: string;
  name: string;
  strategy: string;
  options: Record<string, unknown>;
  enabled_clients: string[];
  realms: string[];
  display_name?: string;
  is_domain_connection: boolean;
}

export interface UserSeed {
  email: string;
  /** Without the `auth0|` prefix; default: 24 random hex characters. */
  user_id?: string;
  email_verified?: boolean;
  username?: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  picture?: string;
  blocked?: boolean;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
  /** For the password-realm grant; kept apart, never part of the user as the API answers it. */
  password?: string;
  /** ISO time; default now. */
  created_at?: string;
  last_login?: string;
  logins_count?: number;
}

export interface EmulatedUser {
  /** `auth0|<id>`, as Auth0 stores database users. */
  user_id: string;
  email: string;
  email_verified: boolean;
  username?: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  picture?: string;
  blocked?: boolean;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  last_login?: string;
  logins_count?: number;
  identities: Array<{ connection: string; provider: 'auth0'; user_id: string; isSocial: false }>;
}

type JobError = { user: Record<string, unknown>; errors: Array<{ code: string; message: string; path: string }> };

export interface EmulatedJob {
  id: string;
  type: 'users_import' | 'users_export';
  status: 'pending' | 'processing' | 'completed' | 'failed' | 'expired';
  connectionId?: string;
  createdAt: number;
  externalId?: string;
  /** users_import: the users file, its name and the upsert flag. */
  users?: Array<Record<string, unknown>>;
  fileName?: string;
  upsert?: boolean;
  /** users_export: the format, fields and limit asked for. */
  format?: 'json' | 'csv';
  fields?: Array<{ name: string; export_as?: string }>;
  limit?: number;
  polls: number;
  summary?: { failed: number; updated: number; inserted: number; total: number };
  errors: JobError[];
}

export interface RecordedRequest {
  method: string;
  /** The path without its query. */
  path: string;
  query: string;
  status: number;
  /** Epoch milliseconds at arrival. */
  at: number;
  clientId?: string;
}

export interface EmulatorOptions {
  /**
   * The tenant's domain: tokens are issued for the audience https://<domain>/api/v2/. Default: the
   * emulator's own 127.0.0.1:PORT, as a command whose AUTH0_DOMAIN is that address asks for it.
   */
  domain?: string;
  clients: EmulatedClient[];
  connections?: ConnectionSeed[];
  /** Sustained Management API requests per second, for the whole tenant. Default 2 (Free plan). */
  ratePerSecond?: number;
  /** The bucket's size. Default 2 (Free plan). */
  burst?: number;
  /** Polls of GET /jobs/{id} a job takes from pending to its end. Default 2 (processing, then done). */
  pollsPerJob?: number;
  /** How long a users-export `location` link works, in milliseconds. Default 60000 (Auth0: 60 s). */
  exportLinkTtlMs?: number;
  /** Answer script settings (options.configuration values) encrypted, as Auth0 does. Default false: as written. */
  sealSettings?: boolean;
}

export interface ManagementApiEmulator {
  /** https://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT: what the adapter's apiHost (or the SDK's domain) takes. */
  host: string;
  /** The throwaway CA that signed the emulator's certificate (PEM), and its file. */
  ca: string;
  caPath: string;
  /** A fetch that trusts the CA (NODE_EXTRA_CA_CERTS is read only at process start). */
  fetch: typeof fetch;
  addConnection(seed: ConnectionSeed): EmulatedConnection;
  /** By name or id. */
  connection(nameOrId: string): EmulatedConnection | undefined;
  addUser(connectionName: string, seed: UserSeed): EmulatedUser;
  /** By user_id (with its `auth0|` prefix). */
  user(userId: string): EmulatedUser | undefined;
  /** A connection's users (by name), or every user. */
  users(connectionName?: string): EmulatedUser[];
  jobs: EmulatedJob[];
  /** Every /api/v2 request, in arrival order. */
  requests: RecordedRequest[];
  /** Another application uses the tenant's whole budget for `ms`: every request is answered 429 until then. */
  occupyTenant(ms: number): void;
  /** While true, jobs stay processing however often they are polled. */
  holdJobs: boolean;
  /** Auth0 deleted the job's data (24 hours after it was created): it answers 404 from now on. */
  forgetJob(id: string): void;
  hooks: {
    jobCreated?: (job: EmulatedJob) => void;
    /** After a connection PATCH was applied and its answer made: a test may change what is stored (an answer that is not what Auth0 kept). */
    connectionUpdated?: (connection: EmulatedConnection) => void;
  };
  /** Answers 429 so far (rate limit and the import-job limit). */
  readonly rateLimited: number;
  /** Most import jobs pending or processing at once. */
  readonly maxActiveJobs: number;
  /** Every access token issued so far (to prove that none is printed). */
  readonly issuedTokens: string[];
  /** Every access and ID token the password-realm grant issued so far (to prove that none is printed). */
  readonly issuedUserTokens: string[];
  /** Requests that arrived before the x-ratelimit-reset a rate-limit 429 had announced. */
  readonly impatientRequests: number;
  stop(): Promise<void>;
}

const MAX_FILE_BYTES = 500 * 1024;
const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';
/** Brute-force protection's default threshold: failed logins for one user from one IP address. */
const BRUTE_FORCE_THRESHOLD = 10;
const JOB_LIFETIME_MS = 2 * 60 * 60 * 1000;
const MAX_SEARCH_RESULTS = 1000;
const BCRYPT = /^\$2[ab]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const HASH_ALGORITHMS = ['argon2', 'bcrypt', 'hmac', 'ldap', 'md4', 'md5', 'sha1', 'sha256', 'sha512', 'pbkdf2'];
const CONNECTION_PATCHABLE = [
  'options',
  'display_name',
  'enabled_clients',
  'metadata',
  'realms',
  'is_domain_connection',
  'show_as_button',
];
const USER_PATCHABLE = [
  'blocked',
  'app_metadata',
  'user_metadata',
  'email',
  'email_verified',
  'name',
  'given_name',
  'family_name',
  'nickname',
  'username',
];

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

const ERROR_NAMES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  429: 'Too Many Requests',
};

function failure(status: number, message: string, errorCode?: string): Answer {
  return {
    status,
    body: { statusCode: status, error: ERROR_NAMES[status] ?? 'Error', message, ...(errorCode ? { errorCode } : {}) },
  };
}

const randomId = (length: number) =>
  Array.from(
    crypto.getRandomValues(new Uint8Array(length)),
    (byte) => 'abcdefghijklmnopqrstuvwxyz0123456789'[byte % 36],
  )
    .join('')
    .slice(0, length);

export async function startManagementApiEmulator(options: EmulatorOptions): Promise<ManagementApiEmulator> {
  const ratePerSecond = options.ratePerSecond ?? 2;
  const burst = options.burst ?? 2;
  const pollsPerJob = options.pollsPerJob ?? 2;
  const exportLinkTtlMs = options.exportLinkTtlMs ?? 60_000;
  const certificates = mkdtempSync(path.join(os.tmpdir(), 'mgmt-api-emulator-'));
  makeCertificates(certificates);
  const caPath = path.join(certificates, 'ca.pem');
  const ca = readFileSync(caPath, 'utf8');

  const connections: EmulatedConnection[] = [];
  const users = new Map<string, EmulatedUser>();
  const jobs: EmulatedJob[] = [];
  const requests: RecordedRequest[] = [];
  const tokens = new Map<string, { clientId: string; scopes: readonly string[] }>();
  const exportLinks = new Map<string, { jobId: string; expiresAt: number }>();
  /** user_id -> password, for the password-realm grant. */
  const passwords = new Map<string, string>();
  /** `<user_id>|<IP address>` -> consecutive failed password-realm logins (brute-force protection). */
  const failedLogins = new Map<string, number>();
  const userTokens: string[] = [];
  let idTokenKey: KeyObject | undefined;
  let bucket = burst;
  let refilledAt = Date.now();
  let busyUntil = 0;
  let announcedReset = 0;
  let rateLimited = 0;
  let maxActiveJobs = 0;
  let impatientRequests = 0;
  let baseUrl = '';
  let host = '';
  const domain = () => options.domain ?? host;

  const activeImports = () =>
    jobs.filter((job) => job.type === 'users_import' && (job.status === 'pending' || job.status === 'processing'))
      .length;
  const connectionOf = (nameOrId: string) =>
    connections.find((connection) => connection.id === nameOrId || connection.name === nameOrId);
  const usersOf = (connectionName: string) =>
    [...users.values()].filter((user) => user.identities[0]?.connection === connectionName);

  function addConnection(seed: ConnectionSeed): EmulatedConnection {
    const connection: EmulatedConnection = {
      id: seed.id ?? `con_${randomId(16)}`,
      name: seed.name,
      strategy: seed.strategy ?? 'auth0',
      options: structuredClone(seed.options ?? {}),
      enabled_clients: seed.enabled_clients ?? [],
      realms: [seed.name],
      is_domain_connection: false,
    };
    connections.push(connection);
    sealSettingsOf(connection);
    return connection;
  }

  /** The encrypted form of each script setting, made when the settings are written (options.sealSettings). */
  const sealedSettings = new WeakMap<EmulatedConnection, Record<string, string>>();
  function sealSettingsOf(connection: EmulatedConnection): void {
    const settings = connection.options.configuration;
    if (!options.sealSettings || typeof settings !== 'object' || settings === null) return;
    // Shaped like Auth0's: base64 of a protobuf envelope (key material, nonce, ciphertext, tag).
    const seal = (value: unknown) =>
      Buffer.concat([
        Buffer.from([0x0a, 0x42, 0x0a, 0x20]),
        crypto.getRandomValues(new Uint8Array(92 + String(value).length)),
      ]).toString('base64');
    sealedSettings.set(
      connection,
      Object.fromEntries(Object.entries(settings).map(([key, value]) => [key, seal(value)])),
    );
  }

  /** A connection as the API answers it: settings sealed when options.sealSettings. */
  function connectionView(connection: EmulatedConnection): EmulatedConnection {
    const view = structuredClone(connection);
    const sealed = sealedSettings.get(connection);
    if (options.sealSettings && sealed && typeof view.options.configuration === 'object')
      view.options.configuration = { ...sealed };
    return view;
  }

  function addUser(connectionName: string, seed: UserSeed): EmulatedUser {
    if (!connectionOf(connectionName)) throw new Error(`the emulator has no connection named ${connectionName}`);
    const id = seed.user_id ?? randomId(24);
    const now = new Date().toISOString();
    const { user_id: _id, created_at, password, ...fields } = seed;
    const user: EmulatedUser = {
      ...structuredClone(fields),
      user_id: `auth0|${id}`,
      email_verified: seed.email_verified ?? false,
      created_at: created_at ?? now,
      updated_at: now,
      identities: [{ connection: connectionName, provider: 'auth0', user_id: id, isSocial: false }],
    };
    users.set(user.user_id, user);
    if (password !== undefined) passwords.set(user.user_id, password);
    return user;
  }

  for (const seed of options.connections ?? []) addConnection(seed);

  /** The tenant-wide token bucket; headers for every answer, or the 429 itself. */
  function rateLimit(now: number): { headers: Record<string, string>; refused?: Answer } {
    if (now < announcedReset) impatientRequests += 1;
    if (now < busyUntil) {
      // The other application takes every token as it comes back.
      bucket = 0;
      refilledAt = now;
      return { headers: {}, refused: refuse(now + 1000 / ratePerSecond) };
    }
    if (refilledAt < busyUntil) {
      // Whatever came back while the other application was busy, it took.
      bucket = 0;
      refilledAt = busyUntil;
    }
    bucket = Math.min(burst, bucket + ((now - refilledAt) / 1000) * ratePerSecond);
    refilledAt = now;
    if (bucket < 1) return { headers: {}, refused: refuse(now + ((1 - bucket) / ratePerSecond) * 1000) };
    bucket -= 1;
    const fullAt = now + ((burst - bucket) / ratePerSecond) * 1000;
    return {
      headers: {
        'x-ratelimit-limit': String(burst),
        'x-ratelimit-remaining': String(Math.floor(bucket)),
        'x-ratelimit-reset': String(Math.ceil(fullAt / 1000)),
      },
    };
  }

  function refuse(passesAt: number): Answer {
    rateLimited += 1;
    const reset = Math.ceil(passesAt / 1000);
    announcedReset = Math.max(announcedReset, reset * 1000);
    return {
      status: 429,
      body: { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' },
      headers: { 'x-ratelimit-limit': String(burst), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
    };
  }

  function requireScope(scopes: readonly string[], ...anyOf: string[]): void {
    if (!anyOf.some((scope) => scopes.includes(scope)))
      throw new HttpFailure(403, `Insufficient scope, expected any of: ${anyOf.join(',')}`, 'insufficient_scope');
  }

  function jobView(job: EmulatedJob): Record<string, unknown> {
    expire(job);
    const view: Record<string, unknown> = {
      type: job.type,
      status: job.status,
      id: job.id,
      created_at: new Date(job.createdAt).toISOString(),
      ...(job.connectionId ? { connection_id: job.connectionId } : {}),
      ...(job.externalId ? { external_id: job.externalId } : {}),
    };
    if (job.status === 'processing') Object.assign(view, { percentage_done: 50, time_left_seconds: 1 });
    if (job.summary) view.summary = job.summary;
    if (job.type === 'users_export') {
      Object.assign(view, { format: job.format, ...(job.fields ? { fields: job.fields } : {}) });
      if (job.status === 'completed') {
        const link = `/exports/${job.id}/${randomId(24)}.${job.format}.gz`;
        exportLinks.set(link, { jobId: job.id, expiresAt: Date.now() + exportLinkTtlMs });
        view.location = `${baseUrl}${link}`;
      }
    }
    return view;
  }

  function expire(job: EmulatedJob): void {
    if ((job.status === 'pending' || job.status === 'processing') && Date.now() - job.createdAt > JOB_LIFETIME_MS)
      job.status = 'expired';
  }

  function advance(job: EmulatedJob): void {
    job.polls += 1;
    if (job.status === 'pending') job.status = 'processing';
    if (emulator.holdJobs || job.status !== 'processing' || job.polls < pollsPerJob) return;
    if (job.type === 'users_import') runImport(job);
    job.status = 'completed';
  }

  function runImport(job: EmulatedJob): void {
    const connection = connectionOf(job.connectionId ?? '') as EmulatedConnection;
    const summary = { failed: 0, updated: 0, inserted: 0, total: job.users?.length ?? 0 };
    for (const user of job.users ?? []) {
      const problems = validateImportUser(user);
      const email = typeof user.email === 'string' ? user.email : '';
      if (problems.length === 0) {
        const existing = usersOf(connection.name).find((stored) => stored.email.toLowerCase() === email.toLowerCase());
        const sameId = typeof user.user_id === 'string' ? users.get(`auth0|${user.user_id}`) : undefined;
        if ((existing || sameId) && !job.upsert)
          problems.push({
            code: 'DUPLICATED_USER',
            message: 'The user already exist and upsert parameter is false',
            path: '',
          });
        else if (existing) {
          const { user_id: _id, password_hash: _p, custom_password_hash: _c, ...fields } = user;
          Object.assign(existing, structuredClone(fields), { updated_at: new Date().toISOString() });
          summary.updated += 1;
        } else {
          const { password_hash: _p, custom_password_hash: _c, ...fields } = user;
          addUser(connection.name, structuredClone(fields) as unknown as UserSeed);
          summary.inserted += 1;
        }
      }
      if (problems.length > 0) {
        summary.failed += 1;
        job.errors.push({ user: redactHashes(user), errors: problems });
      }
    }
    job.summary = summary;
  }

  async function route(
    method: string,
    url: URL,
    body: Buffer,
    headers: IncomingHttpHeaders,
    scopes: readonly string[],
  ): Promise<Answer> {
    const pathname = url.pathname;
    const json = () => {
      try {
        return JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new HttpFailure(400, 'Invalid request payload JSON format');
      }
    };

    if (method === 'GET' && pathname === '/api/v2/connections') {
      requireScope(scopes, 'read:connections');
      const name = url.searchParams.get('name');
      const strategy = url.searchParams.getAll('strategy');
      const found = connections.filter(
        (connection) =>
          (!name || connection.name === name) && (strategy.length === 0 || strategy.includes(connection.strategy)),
      );
      const fields = url.searchParams.get('fields');
      const shaped = found.map((connection) =>
        pick(connectionView(connection), fields, url.searchParams.get('include_fields')),
      );
      // Checkpoint pagination (from/take) answers {connections, next}; offset pagination with
      // include_totals answers {connections, start, limit, total}; otherwise a plain array.
      if (url.searchParams.has('take') || url.searchParams.has('from')) {
        const from = Number(url.searchParams.get('from') ?? 0);
        const take = Number(url.searchParams.get('take') ?? 50);
        const page = shaped.slice(from, from + take);
        return {
          status: 200,
          body: { connections: page, ...(from + take < shaped.length ? { next: String(from + take) } : {}) },
        };
      }
      if (url.searchParams.get('include_totals') === 'true')
        return { status: 200, body: { connections: shaped, start: 0, limit: 50, total: shaped.length } };
      return { status: 200, body: shaped };
    }
    const connectionMatch = /^\/api\/v2\/connections\/([^/]+)$/.exec(pathname);
    if (connectionMatch && (method === 'GET' || method === 'PATCH')) {
      requireScope(scopes, method === 'GET' ? 'read:connections' : 'update:connections');
      const connection = connections.find((candidate) => candidate.id === decodeURIComponent(connectionMatch[1] ?? ''));
      if (!connection) return failure(404, 'The connection does not exist', 'inexistent_connection');
      if (method === 'PATCH') {
        const changes = json();
        const unknown = Object.keys(changes).filter((key) => !CONNECTION_PATCHABLE.includes(key));
        if (unknown.length > 0)
          return failure(400, `Payload validation error: 'Additional properties not allowed: ${unknown.join(',')}'.`);
        if ('options' in changes) {
          if (typeof changes.options !== 'object' || changes.options === null || Array.isArray(changes.options))
            return failure(
              400,
              "Payload validation error: 'Expected type object but found type " +
                typeof changes.options +
                "' on property options.",
            );
          // Auth0: "the entire options object is overridden".
          connection.options = structuredClone(changes.options as Record<string, unknown>);
          sealSettingsOf(connection);
        }
        const { options: _options, ...rest } = changes;
        Object.assign(connection, structuredClone(rest));
        const answer = connectionView(connection);
        emulator.hooks.connectionUpdated?.(connection);
        return { status: 200, body: answer };
      }
      return { status: 200, body: connectionView(connection) };
    }

    if (method === 'POST' && pathname === '/api/v2/jobs/users-imports') {
      requireScope(scopes, 'create:users');
      let form: FormData;
      try {
        form = await new Request('https://emulator.invalid/', {
          method: 'POST',
          headers: { 'content-type': headers['content-type'] ?? '' },
          body: new Uint8Array(body),
        }).formData();
      } catch {
        return failure(400, 'Payload must be multipart/form-data');
      }
      const file = form.get('users');
      const connectionId = String(form.get('connection_id') ?? '');
      if (!(file instanceof Blob)) return failure(400, 'Missing users file');
      const connection = connections.find((candidate) => candidate.id === connectionId);
      if (!connection) return failure(400, 'Connection not found', 'inexistent_connection');
      if (file.size > MAX_FILE_BYTES)
        return failure(413, 'Payload content length greater than maximum allowed: 512000');
      let parsed: unknown;
      try {
        parsed = JSON.parse(await file.text());
      } catch {
        return failure(400, 'Users file must be a valid JSON array');
      }
      if (!Array.isArray(parsed)) return failure(400, 'Users file must be an array');
      if (activeImports() >= 2) {
        rateLimited += 1;
        return {
          ...failure(429, 'There are too many pending import jobs'),
          headers: { 'retry-after': '1' },
        };
      }
      const externalId = form.get('external_id');
      const job: EmulatedJob = {
        id: `job_${randomId(16)}`,
        type: 'users_import',
        status: 'pending',
        connectionId,
        createdAt: Date.now(),
        upsert: form.get('upsert') === 'true',
        ...(typeof externalId === 'string' && externalId ? { externalId } : {}),
        users: parsed as Array<Record<string, unknown>>,
        fileName: file instanceof File ? file.name : 'users.json',
        polls: 0,
        errors: [],
      };
      jobs.push(job);
      maxActiveJobs = Math.max(maxActiveJobs, activeImports());
      emulator.hooks.jobCreated?.(job);
      return { status: 202, body: jobView(job) };
    }
    if (method === 'POST' && pathname === '/api/v2/jobs/users-exports') {
      requireScope(scopes, 'read:users');
      const request = json();
      const connectionId = request.connection_id;
      if (connectionId !== undefined && !connections.some((candidate) => candidate.id === connectionId))
        return failure(400, 'The connection does not exist', 'inexistent_connection');
      const format = request.format ?? 'json';
      if (format !== 'json' && format !== 'csv')
        return failure(400, `Payload validation error: 'No enum match for: "${String(format)}"' on property format.`);
      const fields = request.fields as Array<{ name: string; export_as?: string }> | undefined;
      if (fields !== undefined && (!Array.isArray(fields) || fields.some((field) => typeof field?.name !== 'string')))
        return failure(400, "Payload validation error: 'Expected type array' on property fields.");
      if (fields && fields.length > 30) return failure(400, 'You can export at most 30 fields');
      const job: EmulatedJob = {
        id: `job_${randomId(16)}`,
        type: 'users_export',
        status: 'pending',
        ...(typeof connectionId === 'string' ? { connectionId } : {}),
        createdAt: Date.now(),
        format,
        ...(fields ? { fields } : {}),
        ...(typeof request.limit === 'number' ? { limit: request.limit } : {}),
        polls: 0,
        errors: [],
      };
      jobs.push(job);
      emulator.hooks.jobCreated?.(job);
      return { status: 200, body: jobView(job) };
    }
    const jobMatch = /^\/api\/v2\/jobs\/([^/]+)(\/errors)?$/.exec(pathname);
    if (method === 'GET' && jobMatch) {
      requireScope(scopes, 'create:users', 'read:users');
      const job = jobs.find((candidate) => candidate.id === decodeURIComponent(jobMatch[1] ?? ''));
      if (!job) return failure(404, 'The job does not exist', 'inexistent_job');
      if (jobMatch[2]) return job.errors.length === 0 ? { status: 204 } : { status: 200, body: job.errors };
      advance(job);
      return { status: 200, body: jobView(job) };
    }

    if (method === 'GET' && pathname === '/api/v2/users-by-email') {
      requireScope(scopes, 'read:users');
      const email = url.searchParams.get('email');
      if (!email)
        return failure(400, "Query validation error: 'Missing required property: email'.", 'invalid_query_string');
      return {
        status: 200,
        body: [...users.values()]
          .filter((user) => user.email === email)
          .map((user) => pick(user, url.searchParams.get('fields'), url.searchParams.get('include_fields'))),
      };
    }
    if (method === 'GET' && pathname === '/api/v2/users') {
      requireScope(scopes, 'read:users');
      const engine = url.searchParams.get('search_engine');
      if (engine !== null && engine !== 'v3')
        return failure(400, `The search engine ${engine} is no longer available; use v3`, 'operation_not_supported');
      const perPage = Number(url.searchParams.get('per_page') ?? 50);
      const page = Number(url.searchParams.get('page') ?? 0);
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100)
        return failure(
          400,
          'Query validation error: per_page must be an integer from 1 to 100',
          'invalid_query_string',
        );
      if (!Number.isInteger(page) || page < 0)
        return failure(400, 'Query validation error: page must be a whole number', 'invalid_query_string');
      if ((page + 1) * perPage > MAX_SEARCH_RESULTS)
        return failure(
          400,
          'You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation',
          'invalid_paging',
        );
      const matches = filterUsers([...users.values()], url.searchParams.get('q'), url.searchParams.get('connection'));
      const sorted = sortUsers(matches, url.searchParams.get('sort'));
      const slice = sorted
        .slice(page * perPage, page * perPage + perPage)
        .map((user) => pick(user, url.searchParams.get('fields'), url.searchParams.get('include_fields')));
      if (url.searchParams.get('include_totals') === 'true')
        return {
          status: 200,
          body: {
            start: page * perPage,
            limit: perPage,
            length: slice.length,
            total: Math.min(matches.length, MAX_SEARCH_RESULTS),
            users: slice,
          },
        };
      return { status: 200, body: slice };
    }
    const userMatch = /^\/api\/v2\/users\/([^/]+)$/.exec(pathname);
    if (userMatch && (method === 'GET' || method === 'PATCH')) {
      const user = users.get(decodeURIComponent(userMatch[1] ?? ''));
      if (method === 'GET') {
        requireScope(scopes, 'read:users');
        if (!user) return failure(404, 'The user does not exist.', 'inexistent_user');
        return { status: 200, body: structuredClone(user) };
      }
      const changes = json();
      const onlyAppMetadata = Object.keys(changes).every((key) => key === 'app_metadata');
      requireScope(scopes, ...(onlyAppMetadata ? ['update:users', 'update:users_app_metadata'] : ['update:users']));
      if (!user) return failure(404, 'The user does not exist.', 'inexistent_user');
      const unknown = Object.keys(changes).filter((key) => !USER_PATCHABLE.includes(key));
      if (unknown.length > 0)
        return failure(400, `Payload validation error: 'Additional properties not allowed: ${unknown.join(',')}'.`);
      if ('blocked' in changes && typeof changes.blocked !== 'boolean')
        return failure(400, "Payload validation error: 'Expected type boolean' on property blocked.");
      for (const [key, value] of Object.entries(changes)) {
        if (key === 'app_metadata' || key === 'user_metadata') {
          // Merged one level deep; a null value removes the key.
          const merged: Record<string, unknown> = { ...(user[key] ?? {}) };
          for (const [inner, innerValue] of Object.entries((value ?? {}) as Record<string, unknown>)) {
            if (innerValue === null) delete merged[inner];
            else merged[inner] = structuredClone(innerValue);
          }
          user[key] = merged;
        } else Object.assign(user, { [key]: value });
      }
      user.updated_at = new Date().toISOString();
      return { status: 200, body: structuredClone(user) };
    }
    return failure(404, 'Not Found');
  }

  function exportFile(job: EmulatedJob): Buffer {
    const connection = connectionOf(job.connectionId ?? '');
    const selected = (connection ? usersOf(connection.name) : [...users.values()]).slice(0, job.limit ?? undefined);
    const fields = job.fields ?? [
      { name: 'user_id' },
      { name: 'email' },
      { name: 'email_verified' },
      { name: 'name' },
      { name: 'created_at' },
      { name: 'updated_at' },
    ];
    const rows = selected.map((user) =>
      Object.fromEntries(
        fields
          .map((field) => [field.export_as ?? field.name, valueAt(user, field.name)] as const)
          .filter(([, value]) => value !== undefined),
      ),
    );
    if (job.format === 'json') return gzipSync(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
    // CSV as Auth0 writes it (OWASP CSV-injection escaping): each string quoted, prefixed with ', quotes doubled.
    const cell = (value: unknown) =>
      value === undefined
        ? ''
        : typeof value === 'string'
          ? `"'${value.replaceAll('"', '""')}"`
          : JSON.stringify(value);
    const header = fields.map((field) => field.export_as ?? field.name).join(',');
    const lines = rows.map((row) => fields.map((field) => cell(row[field.export_as ?? field.name])).join(','));
    return gzipSync(`${[header, ...lines].join('\n')}\n`);
  }

  const server = https.createServer(
    {
      key: readFileSync(path.join(certificates, 'server.key')),
      cert: readFileSync(path.join(certificates, 'server.pem')),
    },
    async (incoming, response) => {
      const at = Date.now();
      const send = ({ status, body, headers = {} }: Answer) => {
        response.writeHead(status, {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        });
        response.end(body === undefined ? '' : JSON.stringify(body));
      };
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of incoming) chunks.push(chunk as Buffer);
      } catch {
        // The client went away mid-request (a test killed it): nothing to answer.
        return;
      }
      const body = Buffer.concat(chunks);
      const url = new URL(incoming.url ?? '/', 'https://emulator.invalid');
      const method = incoming.method ?? 'GET';

      if (method === 'POST' && url.pathname === '/oauth/token')
        return send(issueToken(incoming.headers, body, incoming.socket.remoteAddress ?? ''));
      if (method === 'GET' && url.pathname.startsWith('/exports/')) {
        const link = exportLinks.get(url.pathname);
        const job = link ? jobs.find((candidate) => candidate.id === link.jobId) : undefined;
        // The real link is a signed storage URL: past its 60 seconds it answers 403.
        if (!link || !job || Date.now() > link.expiresAt)
          return send({ status: 403, body: { error: 'AccessDenied', message: 'Request has expired' } });
        response.writeHead(200, { 'content-type': 'application/gzip' });
        return response.end(exportFile(job));
      }
      if (!url.pathname.startsWith('/api/v2/')) return send(failure(404, 'Not Found'));

      const record: RecordedRequest = { method, path: url.pathname, query: url.search, status: 0, at };
      requests.push(record);
      const answer = await (async (): Promise<Answer> => {
        const authorization = incoming.headers.authorization;
        const grant = authorization?.startsWith('Bearer ') ? tokens.get(authorization.slice(7)) : undefined;
        if (!authorization) return failure(401, 'Missing authentication');
        if (!grant) return failure(401, 'Invalid token');
        record.clientId = grant.clientId;
        const limited = rateLimit(at);
        if (limited.refused) return limited.refused;
        try {
          const routed = await route(method, url, body, incoming.headers, grant.scopes);
          return { ...routed, headers: { ...limited.headers, ...routed.headers } };
        } catch (error) {
          if (error instanceof HttpFailure)
            return { ...failure(error.status, error.message, error.errorCode), headers: limited.headers };
          throw error;
        }
      })();
      record.status = answer.status;
      send(answer);
    },
  );

  function issueToken(headers: IncomingHttpHeaders, body: Buffer, ip: string): Answer {
    const text = body.toString('utf8');
    const form: Record<string, string> = (headers['content-type'] ?? '').includes('application/json')
      ? (JSON.parse(text || '{}') as Record<string, string>)
      : Object.fromEntries(new URLSearchParams(text));
    const client = options.clients.find(
      (candidate) => candidate.clientId === form.client_id && candidate.clientSecret === form.client_secret,
    );
    if (form.grant_type === PASSWORD_REALM) return passwordRealmGrant(form, ip);
    if (form.grant_type !== 'client_credentials')
      return { status: 403, body: { error: 'unauthorized_client', error_description: 'Grant type not allowed' } };
    if (!client) return { status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } };
    if (form.audience !== `https://${domain()}/api/v2/`)
      return { status: 403, body: { error: 'access_denied', error_description: 'Service not enabled within domain' } };
    const token = `mgmt-${crypto.randomUUID()}`;
    const scopes = client.scopes ?? ALL_SCOPES;
    tokens.set(token, { clientId: client.clientId, scopes });
    return {
      status: 200,
      body: { access_token: token, token_type: 'Bearer', expires_in: 86400, scope: scopes.join(' ') },
    };
  }

  function passwordRealmGrant(form: Record<string, string>, ip: string): Answer {
    const client = options.clients.find(
      (candidate) => candidate.clientId === form.client_id && candidate.clientSecret === form.client_secret,
    );
    if (!client) return { status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } };
    if (!(client.grantTypes ?? ['client_credentials']).includes(PASSWORD_REALM))
      return {
        status: 403,
        body: {
          error: 'unauthorized_client',
          error_description: `Grant type '${PASSWORD_REALM}' not allowed for the client.`,
          error_uri: 'https://auth0.com/docs/clients/client-grant-types',
        },
      };
    const wrong = { status: 403, body: { error: 'invalid_grant', error_description: 'Wrong email or password.' } };
    const name = String(form.username ?? '').toLowerCase();
    const user = usersOf(String(form.realm ?? '')).find(
      (candidate) => candidate.email.toLowerCase() === name || candidate.username?.toLowerCase() === name,
    );
    if (!user) return wrong;
    const attempts = `${user.user_id}|${ip}`;
    if ((failedLogins.get(attempts) ?? 0) >= BRUTE_FORCE_THRESHOLD)
      return {
        status: 429,
        body: {
          error: 'too_many_attempts',
          error_description:
            "Your account has been blocked after multiple consecutive login attempts. We've sent you an email with instructions on how to unblock it.",
        },
      };
    if (user.blocked) return { status: 401, body: { error: 'unauthorized', error_description: 'user is blocked' } };
    if (!passwords.has(user.user_id) || passwords.get(user.user_id) !== form.password) {
      failedLogins.set(attempts, (failedLogins.get(attempts) ?? 0) + 1);
      return wrong;
    }
    failedLogins.delete(attempts);
    const scope = String(form.scope ?? '').split(/\s+/);
    const accessToken = `user-${crypto.randomUUID()}`;
    userTokens.push(accessToken);
    const answer: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 86400,
      scope: scope.join(' '),
    };
    if (scope.includes('openid')) {
      const idToken = signIdToken({
        iss: `https://${domain()}/`,
        sub: user.user_id,
        aud: client.clientId,
        iat: Math.floor(Date.now() / 1000),
        // Auth0's default ID token lifetime: 36,000 seconds.
        exp: Math.floor(Date.now() / 1000) + 36000,
        ...(scope.includes('email') ? { email: user.email, email_verified: user.email_verified } : {}),
        ...(scope.includes('profile')
          ? Object.fromEntries(
              (['name', 'nickname', 'picture', 'given_name', 'family_name', 'updated_at'] as const)
                .filter((claim) => user[claim] !== undefined)
                .map((claim) => [claim, user[claim]]),
            )
          : {}),
      });
      userTokens.push(idToken);
      answer.id_token = idToken;
    }
    return { status: 200, body: answer };
  }

  /** An RS256 JWT signed with a key made on first use (signing needs a key; nothing here verifies it). */
  function signIdToken(claims: Record<string, unknown>): string {
    idTokenKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
    const signingInput = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(claims)}`;
    return `${signingInput}.${sign('sha256', Buffer.from(signingInput), idTokenKey).toString('base64url')}`;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  baseUrl = `https://${host}`;
  const agent = new Agent({ connect: { ca } });

  const emulator: ManagementApiEmulator = {
    url: baseUrl,
    host,
    ca,
    caPath,
    // Node's own fetch with a dispatcher that trusts the CA (undici's fetch would not take Node's FormData).
    fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
      fetch(input, { ...init, dispatcher: agent } as RequestInit)) as typeof fetch,
    addConnection,
    connection: connectionOf,
    addUser,
    user: (userId) => users.get(userId),
    users: (connectionName) => (connectionName ? usersOf(connectionName) : [...users.values()]),
    jobs,
    requests,
    occupyTenant(ms) {
      busyUntil = Date.now() + ms;
    },
    holdJobs: false,
    forgetJob(id) {
      const index = jobs.findIndex((job) => job.id === id);
      if (index >= 0) jobs.splice(index, 1);
    },
    hooks: {},
    get rateLimited() {
      return rateLimited;
    },
    get maxActiveJobs() {
      return maxActiveJobs;
    },
    get issuedTokens() {
      return [...tokens.keys()];
    },
    get issuedUserTokens() {
      return [...userTokens];
    },
    get impatientRequests() {
      return impatientRequests;
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await agent.close();
      rmSync(certificates, { recursive: true, force: true });
    },
  };
  return emulator;
}

function validateImportUser(user: Record<string, unknown>): Array<{ code: string; message: string; path: string }> {
  const problems: Array<{ code: string; message: string; path: string }> = [];
  const email = typeof user.email === 'string' ? user.email : undefined;
  if (!email)
    problems.push({
      code: 'OBJECT_MISSING_REQUIRED_PROPERTY',
      message: 'Missing required property: email',
      path: 'email',
    });
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
    problems.push({ code: 'FORMAT', message: "Object didn't pass validation for format email", path: 'email' });
  const custom = user.custom_password_hash as { algorithm?: string; hash?: { value?: string } } | undefined;
  if (custom && !HASH_ALGORITHMS.includes(String(custom.algorithm)))
    problems.push({
      code: 'ENUM_MISMATCH',
      message: 'No enum match for custom_password_hash.algorithm',
      path: 'custom_password_hash.algorithm',
    });
  // Auth0 documents bcrypt hashes as $2a$ or $2b$ only.
  if (custom?.algorithm === 'bcrypt' && !BCRYPT.test(String(custom.hash?.value)))
    problems.push({
      code: 'PATTERN',
      message: 'custom_password_hash.hash.value is not a bcrypt $2a$ or $2b$ hash',
      path: 'custom_password_hash.hash.value',
    });
  if (user.password_hash !== undefined && !BCRYPT.test(String(user.password_hash)))
    problems.push({
      code: 'PATTERN',
      message: 'password_hash is not a bcrypt $2a$ or $2b$ hash',
      path: 'password_hash',
    });
  return problems;
}

/** The user as Auth0 lists it in job errors: password hashes replaced. */
function redactHashes(user: Record<string, unknown>): Record<string, unknown> {
  const redacted = { ...user };
  const custom = user.custom_password_hash as { hash?: Record<string, unknown> } | undefined;
  if (custom) redacted.custom_password_hash = { ...custom, hash: { ...custom.hash, value: '*****' } };
  if (user.password_hash !== undefined) redacted.password_hash = '*****';
  return redacted;
}

const SEARCHABLE = /^(identities\.connection|user_id|email|blocked|app_metadata\.[A-Za-z0-9_.]+)$/;

function filterUsers(all: EmulatedUser[], q: string | null, connection: string | null): EmulatedUser[] {
  let matches = connection ? all.filter((user) => user.identities[0]?.connection === connection) : all;
  if (!q) return matches;
  const terms = q.split(/\s+AND\s+/i).map((term) => term.trim());
  for (const term of terms) {
    const match = /^([A-Za-z0-9_.]+):(?:"((?:[^"\\]|\\.)*)"|([^\s"()*?]+))$/.exec(term);
    if (!match || !SEARCHABLE.test(match[1] ?? ''))
      throw new HttpFailure(
        400,
        `Invalid query: ${q} (the emulator supports field:"value" terms joined by AND over identities.connection, user_id, email, blocked, app_metadata.<key>)`,
        'invalid_query_string',
      );
    const field = match[1] as string;
    const wanted = (match[2] ?? match[3] ?? '').replaceAll(/\\(.)/g, '$1');
    matches = matches.filter((user) => {
      const value = field === 'identities.connection' ? user.identities[0]?.connection : valueAt(user, field);
      if (field === 'email') return typeof value === 'string' && value.toLowerCase() === wanted.toLowerCase();
      return value !== undefined && String(value) === wanted;
    });
  }
  return matches;
}

function sortUsers(users: EmulatedUser[], sort: string | null): EmulatedUser[] {
  const [field, direction] = (sort ?? 'user_id:1').split(':');
  const sign = direction === '-1' ? -1 : 1;
  return [...users].sort((a, b) => {
    const left = String(valueAt(a, field ?? 'user_id') ?? '');
    const right = String(valueAt(b, field ?? 'user_id') ?? '');
    return left < right ? -sign : left > right ? sign : 0;
  });
}

/** A dotted path with optional [n] indexes: identities[0].connection, app_metadata.dn. */
function valueAt(object: unknown, dotted: string): unknown {
  let current: unknown = object;
  for (const part of dotted.split('.')) {
    const match = /^([^[\]]+)(?:\[(\d+)\])?$/.exec(part);
    if (!match || current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[match[1] as string];
    if (match[2] !== undefined) current = Array.isArray(current) ? current[Number(match[2])] : undefined;
  }
  return current;
}

/** Auth0's fields / include_fields: keep (or drop) the comma-separated top-level fields. */
function pick<T extends object>(
  value: T,
  fields: string | null,
  includeFields: string | null,
): Record<string, unknown> {
  const copy = structuredClone(value) as Record<string, unknown>;
  if (!fields) return copy;
  const names = fields.split(',');
  const include = includeFields !== 'false';
  return Object.fromEntries(Object.entries(copy).filter(([key]) => names.includes(key) === include));
}
