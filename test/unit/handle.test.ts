// handle() with recording stand-ins for the directory and the authorizer: what reaches the
// directory, in which order, for each kind of request. The real directory is in test/integration.
import { describe, expect, it } from 'vitest';
import { handle, type BridgeRequest, type CallerAuthorizer, type HandlerDeps } from '../../lambdas/core/http/handle.ts';
import type { BridgeResponse } from '../../lambdas/core/http/responses.ts';
import { DirectoryUnavailable, InvalidToken, JwksUnavailable } from '../../lambdas/contract/errors.ts';
import {
  type BindOutcome,
  type BridgeMetrics,
  type Logger,
  NO_METRICS,
  type UserDirectory,
} from '../../lambdas/core/ports.ts';
import type { LockoutShield } from '../../lambdas/core/directory/lockout-shield.ts';
import type { GroupSearchResult } from '../../lambdas/core/directory/groups.ts';
import type { DirectoryEntry } from '../../lambdas/core/profile/map-entry.ts';
import { PRESETS } from '../../lambdas/core/directory/presets.ts';

const ALICE: DirectoryEntry = {
  dn: 'uid=alice,ou=people,dc=x',
  attributes: { entryuuid: ['id-alice'], uid: ['alice'], mail: ['alice@x.test'] },
};

class RecordingDirectory implements UserDirectory {
  readonly calls: string[] = [];
  constructor(
    private readonly entries: DirectoryEntry[],
    private readonly passwords: Record<string, string> = { [ALICE.dn]: 'right' },
    private readonly failure?: Error,
  ) {}
  async findUsers(filter: string, limit: number): Promise<DirectoryEntry[]> {
    this.calls.push(`search ${filter} limit ${limit}`);
    if (this.failure) throw this.failure;
    return this.entries;
  }
  async verifyPassword(dn: string, password: string): Promise<BindOutcome> {
    this.calls.push(`bind ${dn}`);
    if (this.failure) throw this.failure;
    return this.passwords[dn] === password ? { kind: 'ok' } : { kind: 'invalid_credentials' };
  }
  readonly readable = new Map<string, DirectoryEntry>();
  async readEntry(dn: string): Promise<DirectoryEntry | undefined> {
    this.calls.push(`read ${dn}`);
    return this.readable.get(dn);
  }
  async findGroupDNs(baseDN: string, filter: string, limit: number): Promise<GroupSearchResult> {
    this.calls.push(`groups ${baseDN} ${filter} limit ${limit}`);
    return { dns: [], complete: true };
  }
}

const allowAll: CallerAuthorizer = {
  authorize: async () => ({ clientId: 'c', scopes: ['users:login', 'users:read'], expiresAt: 0 }),
};
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function deps(directory: UserDirectory, authorizer: CallerAuthorizer = allowAll): HandlerDeps {
  return {
    settings: {
      userFilter: '(uid={username})',
      mapping: PRESETS.openldap.mapping,
      groups: {
        mode: 'member-of',
        memberOfAttribute: 'memberOf',
        baseDN: 'dc=x',
        objectFilter: '(objectClass=groupOfNames)',
        memberAttributes: ['member'],
        memberUidAttribute: undefined,
        filter: undefined,
        maxDepth: 5,
        maxCount: 100,
        cacheSeconds: 0,
      },
      accountStates: 'openldap',
      hideInactiveUsers: true,
      scopes: { login: 'users:login', 'get-user': 'users:read' },
      timingDecoyDN: 'cn=decoy,dc=x',
    },
    directory,
    authorizer,
    logger: silent,
  };
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}, method = 'POST'): BridgeRequest => ({
  id: 'req-1',
  method,
  path,
  headers: { 'content-type': 'application/json', ...headers },
  body: new TextEncoder().encode(JSON.stringify(body)),
});
const json = (response: BridgeResponse): unknown => JSON.parse(response.body);

describe('handle', () => {
  it('searches with the escaped filter, asks for at most 2 entries, binds with the DN found', async () => {
    const directory = new RecordingDirectory([ALICE]);
    const response = await handle(post('/login', { username: 'ali*', password: 'right' }), deps(directory));
    expect(directory.calls).toEqual(['search (uid=ali\\2a) limit 2', `bind ${ALICE.dn}`]);
    expect(response.status).toBe(200);
    expect(response.headers['x-request-id']).toBe('req-1');
  });

  it('binds the decoy DN for an unknown user, so it costs the same round trip as a wrong password', async () => {
    const directory = new RecordingDirectory([]);
    const response = await handle(post('/login', { username: 'nobody', password: 'x' }), deps(directory));
    expect(response.status).toBe(401);
    expect(directory.calls).toEqual(['search (uid=nobody) limit 2', 'bind cn=decoy,dc=x']);
  });

  it('touches the directory not at all for a blank password', async () => {
    const directory = new RecordingDirectory([ALICE]);
    const response = await handle(post('/login', { username: 'alice', password: '  ' }), deps(directory));
    expect(response.status).toBe(401);
    expect(directory.calls).toEqual([]);
  });

  it('never binds when two entries match', async () => {
    const directory = new RecordingDirectory([ALICE, { ...ALICE, dn: 'uid=alice2,dc=x' }]);
    const response = await handle(post('/login', { username: 'alice', password: 'right' }), deps(directory));
    expect(response.status).toBe(500);
    expect(directory.calls).toHaveLength(1);
  });

  it('touches the directory not at all when the caller is refused', async () => {
    const directory = new RecordingDirectory([ALICE]);
    const refuse: CallerAuthorizer = {
      authorize: async () => {
        throw new InvalidToken('no');
      },
    };
    expect(
      (await handle(post('/login', { username: 'alice', password: 'right' }), deps(directory, refuse))).status,
    ).toBe(401);
    expect(directory.calls).toEqual([]);
  });

  it('answers 503 jwks_unavailable when the signing keys cannot be fetched', async () => {
    const keysDown: CallerAuthorizer = {
      authorize: async () => {
        throw new JwksUnavailable('down');
      },
    };
    const response = await handle(
      post('/get-user', { username: 'alice' }),
      deps(new RecordingDirectory([ALICE]), keysDown),
    );
    expect(response.status).toBe(503);
    expect(json(response)).toEqual({ error: 'jwks_unavailable' });
  });

  it('answers 503 with Retry-After when the directory is unavailable, on both routes', async () => {
    const directory = new RecordingDirectory([ALICE], {}, new DirectoryUnavailable('down'));
    for (const [path, body] of [
      ['/login', { username: 'a', password: 'b' }],
      ['/get-user', { username: 'a' }],
    ] as const) {
      const response = await handle(post(path, body), deps(directory));
      expect(response.status).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
    }
  });

  it('answers 500 with only the request id for an unexpected error, and logs its cause', async () => {
    const lines: string[] = [];
    const logger: Logger = {
      ...silent,
      error: (message, fields) => lines.push(`${message} ${JSON.stringify(fields)}`),
    };
    const directory = new RecordingDirectory([ALICE], {}, new RangeError('boom'));
    const response = await handle(post('/get-user', { username: 'a' }), { ...deps(directory), logger });
    expect(response.status).toBe(500);
    expect(json(response)).toEqual({ error: 'internal_error', request_id: 'req-1' });
    expect(lines.join()).toContain('RangeError: boom');
  });

  it("answers with the request's own id, and logs it, for every request", async () => {
    const lines: string[] = [];
    const logger: Logger = { ...silent, info: (_message, fields) => lines.push(String(fields?.request_id)) };
    const directory = new RecordingDirectory([ALICE]);
    const first = await handle(
      { ...post('/get-user', { username: 'alice' }), id: 'one' },
      { ...deps(directory), logger },
    );
    const second = await handle({ ...post('/nowhere', {}), id: 'two' }, { ...deps(directory), logger });
    expect([first.headers['x-request-id'], second.headers['x-request-id']]).toEqual(['one', 'two']);
    expect(lines).toEqual(['one', 'two']);
  });

  it('answers 413 from the declared Content-Length before reading the body', async () => {
    const request = post('/get-user', {}, { 'content-length': '999999' });
    expect((await handle(request, deps(new RecordingDirectory([])))).status).toBe(413);
  });

  it('answers 400 for a body that is not UTF-8', async () => {
    const request = { ...post('/get-user', {}), body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) };
    const response = await handle(request, deps(new RecordingDirectory([])));
    expect(json(response)).toEqual({
      error: 'invalid_request',
      field: 'body',
      error_description: 'is not valid UTF-8',
    });
  });

  it('answers 404 for paths that are not routes, including names every object has', async () => {
    for (const path of ['/', '/logins', '/__proto__', '/constructor', '/toString', '/login/']) {
      const directory = new RecordingDirectory([ALICE]);
      const response = await handle(post(path, { username: 'alice', password: 'right' }), deps(directory));
      expect(response.status, path).toBe(404);
      expect(directory.calls).toEqual([]);
    }
  });

  it('answers 405 for a route asked with another method, before the caller is checked', async () => {
    const directory = new RecordingDirectory([ALICE]);
    const refuse: CallerAuthorizer = {
      authorize: async () => {
        throw new InvalidToken('no');
      },
    };
    const response = await handle(
      post('/login', { username: 'alice', password: 'right' }, {}, 'GET'),
      deps(directory, refuse),
    );
    expect(response.status).toBe(405);
  });

  it('answers 415 for a body that is not declared JSON', async () => {
    const response = await handle(
      post('/get-user', { username: 'alice' }, { 'content-type': 'text/plain' }),
      deps(new RecordingDirectory([ALICE])),
    );
    expect(response.status).toBe(415);
  });
});

/** Every requestHandled call, as "route outcome". */
function recordingMetrics(): BridgeMetrics & { requests: string[] } {
  const requests: string[] = [];
  return {
    ...NO_METRICS,
    requests,
    requestHandled(route, outcome, durationMs) {
      expect(durationMs).toBeGreaterThanOrEqual(0);
      requests.push(`${route ?? '-'} ${outcome}`);
    },
  };
}

describe('handle counts every request by route and outcome', () => {
  it('counts ok, the error code of a refusal, and a request no route matched', async () => {
    const metrics = recordingMetrics();
    const withMetrics = { ...deps(new RecordingDirectory([ALICE])), metrics };
    await handle(post('/login', { username: 'alice', password: 'right' }), withMetrics);
    await handle(post('/login', { username: 'alice', password: 'wrong' }), withMetrics);
    await handle(post('/get-user', { username: 'alice', extra: 1 }), withMetrics);
    await handle(post('/nowhere', {}), withMetrics);
    await handle(post('/login', {}, {}, 'GET'), withMetrics);
    expect(metrics.requests).toEqual([
      'login ok',
      'login invalid_credentials',
      'get-user invalid_request',
      '- not_found',
      'login method_not_allowed',
    ]);
  });

  it('counts a login the lockout shield answered as lockout_shield, although the caller sees a wrong password', async () => {
    const metrics = recordingMetrics();
    const directory = new RecordingDirectory([ALICE]);
    const holding = { verdict: async () => ({ kind: 'hold', failures: 3, threshold: 5 }) } as unknown as LockoutShield;
    const response = await handle(post('/login', { username: 'alice', password: 'right' }), {
      ...deps(directory),
      lockoutShield: holding,
      metrics,
    });
    expect(json(response)).toEqual({ error: 'invalid_credentials' });
    expect(metrics.requests).toEqual(['login lockout_shield']);
  });

  it('counts a failure that is not a BridgeError as internal_error', async () => {
    const metrics = recordingMetrics();
    const directory = new RecordingDirectory([ALICE], {}, new TypeError('boom'));
    await handle(post('/get-user', { username: 'alice' }), { ...deps(directory), metrics });
    expect(metrics.requests).toEqual(['get-user internal_error']);
  });
});
