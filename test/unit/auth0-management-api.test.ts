// The Management API adapter without a network: the tenant-wide rate limiter on a virtual clock
// (no request before an announced reset, pacing by x-ratelimit-remaining, one request at a time
// while nothing is known), and the adapter over a scripted fetch (what is retried and what is not,
// messages an operator can act on, never a secret or token). The adapter against the emulator and
// Auth0's SDK end to end is in test/integration/import.test.ts.
import { describe, expect, it } from 'vitest';
import {
  type Clock,
  ManagementApi,
  ManagementApiError,
  TenantRateLimiter,
} from '../../lambdas/adapters/auth0-management-api.ts';

/** Time that only moves when someone sleeps: every wait is exact and instant. */
function virtualClock(start = 1_000_000): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      slept.push(ms);
      now += ms;
      await Promise.resolve();
    },
  };
}

const headers = (values: Record<string, string | number>) =>
  new Headers(Object.fromEntries(Object.entries(values).map(([key, value]) => [key, String(value)])));

describe('TenantRateLimiter', () => {
  it('after a 429, nobody sends until its x-ratelimit-reset has passed', async () => {
    const clock = virtualClock(1_000_000);
    const limiter = new TenantRateLimiter(clock);
    await limiter.acquire();
    limiter.observe(429, headers({ 'x-ratelimit-limit': 2, 'x-ratelimit-remaining': 0, 'x-ratelimit-reset': 1_003 }));
    const sentAt: number[] = [];
    await Promise.all(
      [1, 2, 3].map(() =>
        limiter.acquire().then(() => {
          sentAt.push(clock.now());
          limiter.release();
        }),
      ),
    );
    expect(sentAt).toHaveLength(3);
    for (const at of sentAt) expect(at).toBeGreaterThanOrEqual(1_003_000);
  });

  it.each([
    ['seconds', '7', 1_007_000],
    ['an HTTP date', new Date(1_009_000).toUTCString(), 1_009_000],
  ])('honours Retry-After given as %s', async (_form, retryAfter, notBefore) => {
    const clock = virtualClock(1_000_000);
    const limiter = new TenantRateLimiter(clock);
    await limiter.acquire();
    limiter.observe(429, headers({ 'retry-after': retryAfter }));
    await limiter.acquire();
    expect(clock.now()).toBeGreaterThanOrEqual(notBefore);
  });

  it('backs off 1 s, then 2 s, after 429s that announce nothing', async () => {
    const clock = virtualClock(1_000_000);
    const limiter = new TenantRateLimiter(clock);
    await limiter.acquire();
    limiter.observe(429, new Headers());
    await limiter.acquire();
    expect(clock.now()).toBeGreaterThanOrEqual(1_001_000);
    limiter.observe(429, new Headers());
    const before = clock.now();
    await limiter.acquire();
    expect(clock.now() - before).toBeGreaterThanOrEqual(2_000);
  });

  it('sends what x-ratelimit-remaining allows at once, then waits for the bucket to give one back', async () => {
    const clock = virtualClock(1_000_000);
    const limiter = new TenantRateLimiter(clock);
    await limiter.acquire();
    // Two left; the bucket (limit 4) is full again in 4 s: one comes back every 2 s.
    limiter.observe(200, headers({ 'x-ratelimit-limit': 4, 'x-ratelimit-remaining': 2, 'x-ratelimit-reset': 1_004 }));
    await limiter.acquire();
    await limiter.acquire();
    expect(clock.now()).toBe(1_000_000);
    limiter.release();
    limiter.release();
    await limiter.acquire();
    expect(clock.now()).toBeGreaterThanOrEqual(1_002_000);
    expect(clock.now()).toBeLessThan(1_004_000);
  });

  it('while it knows nothing of the budget, sends one request at a time', async () => {
    const limiter = new TenantRateLimiter(virtualClock());
    await limiter.acquire();
    let secondSent = false;
    const second = limiter.acquire().then(() => {
      secondSent = true;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(secondSent).toBe(false);
    limiter.release();
    await second;
    expect(secondSent).toBe(true);
  });

  it('a caller that stops while waiting gives its turn to the next one', async () => {
    const clock = virtualClock(1_000_000);
    const limiter = new TenantRateLimiter(clock);
    await limiter.acquire();
    const controller = new AbortController();
    const stopped = limiter.acquire(controller.signal);
    controller.abort(new Error('stopped'));
    await expect(stopped).rejects.toThrow('stopped');
    limiter.release();
    await limiter.acquire();
  });
});

const SECRET = 'client-secret-value-9f3e';
const TOKEN = 'issued-access-token-5b2a';

interface Scripted {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A fetch that issues TOKEN and answers Management API requests from a script, recording them. */
function scriptedFetch(script: Array<Scripted | 'no answer'>) {
  const calls: Array<{ method: string; path: string }> = [];
  const fake = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname === '/oauth/token') {
      const form = new URLSearchParams(String(init?.body));
      if (form.get('client_secret') !== SECRET)
        return Response.json({ error: 'access_denied', error_description: 'Unauthorized' }, { status: 401 });
      return Response.json({ access_token: TOKEN, token_type: 'Bearer', expires_in: 86400 });
    }
    calls.push({ method: init?.method ?? 'GET', path: url.pathname });
    const next = script.shift();
    if (next === undefined) throw new Error(`unscripted request ${url.pathname}`);
    if (next === 'no answer')
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
    return new Response(next.body === undefined ? null : JSON.stringify(next.body), {
      status: next.status,
      headers: { ...(next.body === undefined ? {} : { 'content-type': 'application/json' }), ...next.headers },
    });
  }) as typeof fetch;
  return { fake, calls };
}

function api(
  script: Array<Scripted | 'no answer'>,
  changes: { clientSecret?: string; rateLimitPatienceMs?: number } = {},
) {
  const clock = virtualClock(Date.now());
  const { fake, calls } = scriptedFetch(script);
  const adapter = new ManagementApi({
    domain: 'tenant.example.com',
    clientId: 'client-id',
    clientSecret: SECRET,
    fetch: fake,
    clock,
    limiter: new TenantRateLimiter(clock),
    ...changes,
  });
  return { adapter, calls, clock };
}

const IMPORT = {
  users: '[{"email":"a@example.test"}]',
  fileName: 'users-0001.json',
  connectionId: 'con_aaaaaaaaaaaaaaaa',
  upsert: false,
  sendCompletionEmail: false,
};
const JOB = { id: 'job_abc', type: 'users_import', status: 'pending', created_at: new Date().toISOString() };

async function failure(promise: Promise<unknown>): Promise<ManagementApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ManagementApiError);
  return error as ManagementApiError;
}

describe('ManagementApi', () => {
  it('sends a write refused with 429 again once the announced reset has passed (Auth0 did nothing)', async () => {
    const resetAt = Math.ceil(Date.now() / 1000) + 30;
    const { adapter, calls, clock } = api([
      {
        status: 429,
        body: { message: 'Global limit has been reached' },
        headers: { 'x-ratelimit-reset': String(resetAt) },
      },
      { status: 202, body: JOB },
    ]);
    const job = await adapter.submitUsersImport(IMPORT);
    expect(job.id).toBe('job_abc');
    expect(calls.map((call) => call.method)).toEqual(['POST', 'POST']);
    expect(clock.now()).toBeGreaterThanOrEqual(resetAt * 1000);
  });

  it('never sends a write again that got no answer or a 5xx, and says Auth0 may have done it', async () => {
    for (const answer of ['no answer', { status: 503, body: { message: 'Service Unavailable' } }] as const) {
      const { adapter, calls } = api([answer]);
      const error = await failure(adapter.submitUsersImport(IMPORT));
      expect(error.outcomeUnknown).toBe(true);
      expect(error.transient).toBe(true);
      expect(calls).toHaveLength(1);
    }
  });

  it('retries a read that got a 5xx or no answer, with backoff', async () => {
    const { adapter, calls, clock } = api([
      { status: 503 },
      'no answer',
      { status: 200, body: { ...JOB, status: 'completed' } },
    ]);
    expect(await adapter.getJob('job_abc')).toMatchObject({ status: 'completed' });
    expect(calls).toHaveLength(3);
    expect(clock.slept.length).toBeGreaterThanOrEqual(2);
  });

  it('follows a job through any number of refused polls to its end', async () => {
    const refusals = Array.from({ length: 12 }, () => ({
      status: 429,
      body: { message: 'Global limit has been reached' },
    }));
    const { adapter } = api(
      [
        ...refusals,
        { status: 200, body: { ...JOB, status: 'processing' } },
        { status: 200, body: { ...JOB, status: 'completed' } },
      ],
      {
        rateLimitPatienceMs: 0,
      },
    );
    const job = await adapter.waitForJob('job_abc', { pollIntervalMs: 1000, createdAt: JOB.created_at });
    expect(job.status).toBe('completed');
  });

  it("stops following a job that stays unreadable past Auth0's 2-hour job lifetime", async () => {
    const threeHoursAgo = new Date(Date.now() - 3 * 60 * 60 * 1000).toISOString();
    const { adapter } = api([{ status: 429, body: {} }], { rateLimitPatienceMs: 0 });
    const error = await failure(adapter.waitForJob('job_abc', { pollIntervalMs: 1000, createdAt: threeHoursAgo }));
    expect(error.code).toBe('rate_limited');
  });

  it('names the scope the application lacks', async () => {
    const { adapter } = api([
      {
        status: 403,
        body: {
          statusCode: 403,
          error: 'Forbidden',
          message: 'Insufficient scope, expected any of: create:users',
          errorCode: 'insufficient_scope',
        },
      },
    ]);
    const error = await failure(adapter.submitUsersImport(IMPORT));
    expect(error.code).toBe('missing_scope');
    expect(error.message).toContain('lacks the scope create:users');
  });

  it('says which settings to check when the token is refused, without quoting the secret', async () => {
    const { adapter } = api([], { clientSecret: 'a-wrong-secret-1234' });
    const error = await failure(adapter.getJob('job_abc'));
    expect(error.code).toBe('invalid_credentials');
    expect(error.message).toContain('check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET');
    expect(error.message).not.toContain('a-wrong-secret-1234');
  });

  it('never puts the client secret or a token into a message, even when Auth0 echoes them', async () => {
    const { adapter } = api([{ status: 400, body: { message: `bad request: ${SECRET} ${TOKEN}` } }]);
    const error = await failure(adapter.submitUsersImport(IMPORT));
    expect(error.code).toBe('refused');
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).toContain('[redacted]');
  });

  it('answers undefined for a user Auth0 does not have', async () => {
    const { adapter } = api([
      { status: 404, body: { statusCode: 404, message: 'The user does not exist.', errorCode: 'inexistent_user' } },
    ]);
    expect(await adapter.getUser('auth0|nobody')).toBeUndefined();
  });

  it('refuses to page a user search past the first 1,000 users, without asking Auth0', async () => {
    const { adapter, calls } = api([]);
    const error = await failure(adapter.searchUsers({ q: 'identities.connection:"x"', page: 10, perPage: 100 }));
    expect(error.code).toBe('too_many_results');
    expect(calls).toHaveLength(0);
  });

  it('stopped by its caller before sending: aborted, nothing sent', async () => {
    const { adapter, calls } = api([]);
    const controller = new AbortController();
    controller.abort();
    const error = await failure(adapter.getJob('job_abc', controller.signal));
    expect(error.code).toBe('aborted');
    expect(calls).toHaveLength(0);
  });
});
