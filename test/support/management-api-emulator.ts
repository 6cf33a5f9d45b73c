// A local stand-in for the parts of Auth0's Management API the importer uses, written from
// Auth0's documentation so it fails the way Auth0 fails: client-credentials tokens for the
// https://<domain>/api/v2/ audience, a per-second rate limit answered with 429 and
// x-ratelimit-reset, users files of at most 500 KB holding a JSON array, at most two import jobs
// pending or processing at once, jobs that go pending -> processing -> completed, and per-user
// errors (invalid users, existing users without upsert) with password hashes redacted.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EmulatorOptions {
  domain: string;
  clientId: string;
  clientSecret: string;
  connections: Array<{ id: string; name: string }>;
  /** Requests per second before 429 (Auth0 free tenants: about 2, burst 10). */
  ratePerSecond: number;
  burst: number;
}

interface Job {
  id: string;
  connectionId: string;
  status: 'pending' | 'processing' | 'completed' | 'failed';
  upsert: boolean;
  externalId?: string;
  users: Array<Record<string, unknown>>;
  polls: number;
  summary?: { failed: number; updated: number; inserted: number; total: number };
  errors: Array<{ user: Record<string, unknown>; errors: Array<{ code: string; message: string; path: string }> }>;
  fileName: string;
}

export interface ManagementApiEmulator {
  url: string;
  /** Users stored per connection, by lower-cased email. */
  users: Map<string, Map<string, Record<string, unknown>>>;
  jobs: Job[];
  readonly rateLimited: number;
  readonly maxActiveJobs: number;
  /** Requests that arrived while the caller was told to wait (after a 429, before x-ratelimit-reset). */
  readonly impatientRequests: number;
  stop(): Promise<void>;
}

const MAX_FILE_BYTES = 500 * 1024;

export async function startManagementApiEmulator(options: EmulatorOptions): Promise<ManagementApiEmulator> {
  const token = `mgmt-${crypto.randomUUID()}`;
  const users = new Map(
    options.connections.map((connection) => [connection.id, new Map<string, Record<string, unknown>>()]),
  );
  const jobs: Job[] = [];
  let tokens = options.burst;
  let refilledAt = Date.now();
  let rateLimited = 0;
  let maxActiveJobs = 0;
  let impatientRequests = 0;
  let blockedUntil = 0;

  const activeJobs = () => jobs.filter((job) => job.status === 'pending' || job.status === 'processing').length;

  const server = http.createServer(async (incoming, response) => {
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(incoming.url ?? '/', 'http://emulator.local');

    if (incoming.method === 'POST' && url.pathname === '/oauth/token') {
      const form = JSON.parse(body.toString('utf8') || '{}') as Record<string, string>;
      if (form.client_id !== options.clientId || form.client_secret !== options.clientSecret)
        return send(401, { error: 'access_denied', error_description: 'Unauthorized' });
      if (form.audience !== `https://${options.domain}/api/v2/`)
        return send(403, { error: 'access_denied', error_description: 'Service not enabled within domain' });
      return send(200, {
        access_token: token,
        token_type: 'Bearer',
        expires_in: 86400,
        scope: 'read:users create:users read:connections',
      });
    }
    if (!url.pathname.startsWith('/api/v2/')) return send(404, { statusCode: 404, error: 'Not Found' });
    if (incoming.headers.authorization !== `Bearer ${token}`)
      return send(401, { statusCode: 401, error: 'Unauthorized', message: 'Invalid token' });

    // Token bucket, as Auth0's rate limiter: 429 with the epoch second when a request will pass.
    const now = Date.now();
    if (now < blockedUntil) impatientRequests += 1;
    tokens = Math.min(options.burst, tokens + ((now - refilledAt) / 1000) * options.ratePerSecond);
    refilledAt = now;
    if (tokens < 1) {
      rateLimited += 1;
      const resetAt = now + ((1 - tokens) / options.ratePerSecond) * 1000;
      blockedUntil = resetAt - 50;
      return send(
        429,
        { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' },
        {
          'x-ratelimit-limit': String(options.burst),
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.ceil(resetAt / 1000)),
        },
      );
    }
    tokens -= 1;

    if (incoming.method === 'GET' && url.pathname === '/api/v2/connections') {
      const name = url.searchParams.get('name');
      return send(
        200,
        options.connections
          .filter((connection) => !name || connection.name === name)
          .map((connection) => ({ ...connection, strategy: 'auth0' })),
      );
    }
    if (incoming.method === 'POST' && url.pathname === '/api/v2/jobs/users-imports') {
      const request = new Request('http://emulator.local/', {
        method: 'POST',
        headers: incoming.headers as Record<string, string>,
        body,
      });
      let form: FormData;
      try {
        form = await request.formData();
      } catch {
        return send(400, { statusCode: 400, error: 'Bad Request', message: 'Payload must be multipart/form-data' });
      }
      const file = form.get('users');
      const connectionId = String(form.get('connection_id') ?? '');
      if (!(file instanceof Blob))
        return send(400, { statusCode: 400, error: 'Bad Request', message: 'Missing users file' });
      if (!users.has(connectionId))
        return send(400, {
          statusCode: 400,
          error: 'Bad Request',
          message: 'Connection not found',
          errorCode: 'inexistent_connection',
        });
      if (file.size > MAX_FILE_BYTES)
        return send(413, {
          statusCode: 413,
          error: 'Request Entity Too Large',
          message: 'Payload content length greater than maximum allowed: 512000',
        });
      let parsed: unknown;
      try {
        parsed = JSON.parse(await file.text());
      } catch {
        return send(400, { statusCode: 400, error: 'Bad Request', message: 'Users file must be a valid JSON array' });
      }
      if (!Array.isArray(parsed))
        return send(400, { statusCode: 400, error: 'Bad Request', message: 'Users file must be an array' });
      if (activeJobs() >= 2) {
        rateLimited += 1;
        return send(
          429,
          { statusCode: 429, error: 'Too Many Requests', message: 'There are too many pending import jobs' },
          { 'retry-after': '1' },
        );
      }
      const job: Job = {
        id: `job_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`,
        connectionId,
        status: 'pending',
        upsert: form.get('upsert') === 'true',
        ...(form.get('external_id') ? { externalId: String(form.get('external_id')) } : {}),
        users: parsed as Array<Record<string, unknown>>,
        polls: 0,
        errors: [],
        fileName: file instanceof File ? file.name : 'users.json',
      };
      jobs.push(job);
      maxActiveJobs = Math.max(maxActiveJobs, activeJobs());
      return send(202, {
        status: job.status,
        type: 'users_import',
        created_at: new Date().toISOString(),
        id: job.id,
        connection_id: connectionId,
        ...(job.externalId ? { external_id: job.externalId } : {}),
      });
    }
    const jobMatch = /^\/api\/v2\/jobs\/(job_[a-z0-9]+)(\/errors)?$/.exec(url.pathname);
    if (incoming.method === 'GET' && jobMatch) {
      const job = jobs.find((candidate) => candidate.id === jobMatch[1]);
      if (!job) return send(404, { statusCode: 404, error: 'Not Found', message: 'The job does not exist' });
      if (jobMatch[2]) return job.errors.length === 0 ? send(204) : send(200, job.errors);
      job.polls += 1;
      if (job.status === 'pending') job.status = 'processing';
      else if (job.status === 'processing') runJob(job, users.get(job.connectionId)!);
      return send(200, {
        type: 'users_import',
        status: job.status,
        id: job.id,
        connection_id: job.connectionId,
        ...(job.status === 'processing' ? { percentage_done: 50, time_left_seconds: 1 } : {}),
        ...(job.summary ? { summary: job.summary } : {}),
      });
    }
    return send(404, { statusCode: 404, error: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    users,
    jobs,
    get rateLimited() {
      return rateLimited;
    },
    get maxActiveJobs() {
      return maxActiveJobs;
    },
    get impatientRequests() {
      return impatientRequests;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function runJob(job: Job, stored: Map<string, Record<string, unknown>>): void {
  const summary = { failed: 0, updated: 0, inserted: 0, total: job.users.length };
  for (const user of job.users) {
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
    const hash = user.custom_password_hash as { algorithm?: string; hash?: { value?: string } } | undefined;
    if (
      hash &&
      !['argon2', 'bcrypt', 'hmac', 'ldap', 'md4', 'md5', 'sha1', 'sha256', 'sha512', 'pbkdf2'].includes(
        String(hash.algorithm),
      )
    ) {
      problems.push({
        code: 'ENUM_MISMATCH',
        message: 'No enum match for custom_password_hash.algorithm',
        path: 'custom_password_hash.algorithm',
      });
    }
    if (problems.length === 0 && email) {
      const key = email.toLowerCase();
      if (stored.has(key) && !job.upsert)
        problems.push({
          code: 'DUPLICATED_USER',
          message: 'The user already exist and upsert parameter is false',
          path: '',
        });
      else {
        if (stored.has(key)) summary.updated += 1;
        else summary.inserted += 1;
        stored.set(key, user);
      }
    }
    if (problems.length > 0) {
      summary.failed += 1;
      const redacted = hash
        ? { ...user, custom_password_hash: { ...hash, hash: { ...hash.hash, value: '*****' } } }
        : user;
      job.errors.push({ user: redacted, errors: problems });
    }
  }
  job.summary = summary;
  job.status = 'completed';
}
