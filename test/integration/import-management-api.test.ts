// The Management API adapter (Auth0's SDK under the tenant-wide limiter) against the emulator, for
// the operations beyond import that the migration commands (progress, sync-leavers, cutover) call:
// connections (a whole-options update), users (read, search with Auth0's 1,000-result cap,
// block and app_metadata), and users-export jobs (a gzipped NDJSON file behind a short-lived link).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManagementApi, type ManagementApiError } from '../../lambdas/adapters/auth0-management-api.ts';
import { startManagementApiEmulator, type ManagementApiEmulator } from '../support/management-api-emulator.ts';

const DOMAIN = 'tenant.auth0.test';
const CLIENT = { clientId: 'migration-client', clientSecret: 'migration-secret-41c9a7' };
const SCRIPTS = { login: 'function login(u, p, cb) {}', get_user: 'function getByEmail(e, cb) {}' };

let emulator: ManagementApiEmulator;
let api: ManagementApi;

const adapter = (clientId = CLIENT.clientId, clientSecret = CLIENT.clientSecret) =>
  new ManagementApi({ domain: DOMAIN, clientId, clientSecret, apiHost: emulator.host, fetch: emulator.fetch });

async function failure(promise: Promise<unknown>): Promise<ManagementApiError> {
  return promise.then(
    () => {
      throw new Error('expected a ManagementApiError');
    },
    (error: ManagementApiError) => error,
  );
}

beforeEach(async () => {
  emulator = await startManagementApiEmulator({
    domain: DOMAIN,
    clients: [
      CLIENT,
      { clientId: 'reader', clientSecret: 'reader-secret-0c2d', scopes: ['read:users', 'read:connections'] },
    ],
    connections: [
      {
        id: 'con_ldapbridge000001',
        name: 'ldap-bridge',
        options: { enabledDatabaseCustomization: true, import_mode: true, customScripts: SCRIPTS },
      },
      { id: 'con_othersource00001', name: 'other-users' },
    ],
  });
  for (let index = 0; index < 30; index += 1)
    emulator.addUser('ldap-bridge', {
      user_id: `u${String(index).padStart(3, '0')}`,
      email: `u${index}@example.test`,
      app_metadata: { dn: `uid=u${index},dc=example` },
    });
  emulator.addUser('other-users', { user_id: 'elsewhere', email: 'elsewhere@example.test' });
  api = adapter();
});
afterEach(() => emulator.stop());

describe('connections', () => {
  it('replaces the whole options object, as Auth0 does: read, change, write back', async () => {
    const connection = await api.findConnection('ldap-bridge');
    expect(connection).toMatchObject({ id: 'con_ldapbridge000001', strategy: 'auth0', options: { import_mode: true } });
    await api.updateConnectionOptions(connection.id, { import_mode: false });
    expect(emulator.connection('ldap-bridge')?.options).toEqual({ import_mode: false });
    const again = await api.getConnection(connection.id);
    await api.updateConnectionOptions(again.id, { ...again.options, customScripts: SCRIPTS });
    expect(emulator.connection('ldap-bridge')?.options).toEqual({ import_mode: false, customScripts: SCRIPTS });
  });

  it('names the scope an update needs when the application lacks it', async () => {
    const error = await failure(
      adapter('reader', 'reader-secret-0c2d').updateConnectionOptions('con_ldapbridge000001', {}),
    );
    expect(error.code).toBe('missing_scope');
    expect(error.message).toContain('update:connections');
    expect(error.message).not.toContain('reader-secret-0c2d');
  });
});

describe('users', () => {
  it('reads a user by id, and answers undefined for one Auth0 does not have', async () => {
    expect(await api.getUser('auth0|u001')).toMatchObject({
      email: 'u1@example.test',
      identities: [{ connection: 'ldap-bridge', provider: 'auth0', user_id: 'u001' }],
    });
    expect(await api.getUser('auth0|nobody')).toBeUndefined();
  });

  it('blocks a user and merges app_metadata one level deep (null removes a key)', async () => {
    await api.updateUser('auth0|u002', { app_metadata: { leaver: '2026-12-01' } });
    const blocked = await api.updateUser('auth0|u002', { blocked: true, app_metadata: { dn: null } });
    expect(blocked).toMatchObject({ blocked: true, app_metadata: { leaver: '2026-12-01' } });
    expect(emulator.user('auth0|u002')?.app_metadata).toEqual({ leaver: '2026-12-01' });
  });

  it('searches a connection page by page, with the totals', async () => {
    await api.updateUser('auth0|u003', { blocked: true });
    const page = await api.searchUsers({ q: 'identities.connection:"ldap-bridge"', page: 1, perPage: 10 });
    expect(page).toMatchObject({ total: 30, start: 10, limit: 10 });
    expect(page.users.map((user) => user.user_id)).toEqual(
      Array.from({ length: 10 }, (_, index) => `auth0|u${String(index + 10).padStart(3, '0')}`),
    );
    const blocked = await api.searchAllUsers('identities.connection:"ldap-bridge" AND blocked:true');
    expect(blocked.map((user) => user.user_id)).toEqual(['auth0|u003']);
    expect(await api.searchAllUsers('email:"U4@EXAMPLE.TEST"')).toHaveLength(1);
  });

  it("stops at Auth0's 1,000-result cap instead of reporting a partial list", async () => {
    for (let index = 30; index < 1005; index += 1)
      emulator.addUser('ldap-bridge', { user_id: `u${index}`, email: `u${index}@example.test` });
    const first = await api.searchUsers({ q: 'identities.connection:"ldap-bridge"' });
    expect(first.total).toBe(1000);
    expect((await failure(api.searchAllUsers('identities.connection:"ldap-bridge"'))).code).toBe('too_many_results');
  });

  it('refuses a query the emulated search does not understand, with Auth0-shaped reasons', async () => {
    const error = await failure(api.searchUsers({ q: 'name:john~' }));
    expect(error.code).toBe('refused');
    expect(error.message).toContain('400');
  });
});

describe('users-export jobs', () => {
  it("exports a connection's users with the fields asked for, from the gzipped NDJSON file", async () => {
    const users = await api.exportUsers(
      {
        connectionId: 'con_ldapbridge000001',
        fields: [
          { name: 'user_id' },
          { name: 'email' },
          { name: 'app_metadata' },
          { name: 'identities[0].connection', export_as: 'connection' },
        ],
      },
      { pollIntervalMs: 20 },
    );
    expect(users).toHaveLength(30);
    expect(users[0]).toEqual({
      user_id: 'auth0|u000',
      email: 'u0@example.test',
      app_metadata: { dn: 'uid=u0,dc=example' },
      connection: 'ldap-bridge',
    });
    expect(emulator.impatientRequests).toBe(0);
  });

  it('reads the job again for a new link when the file link has expired', async () => {
    await emulator.stop();
    emulator = await startManagementApiEmulator({
      domain: DOMAIN,
      clients: [CLIENT],
      connections: [{ id: 'con_ldapbridge000001', name: 'ldap-bridge' }],
      exportLinkTtlMs: 0,
    });
    const error = await failure(
      adapter().exportUsers({ connectionId: 'con_ldapbridge000001' }, { pollIntervalMs: 20 }),
    );
    expect(error.message).toContain('downloading its file answered 403');
    const jobReads = emulator.requests.filter((request) => /^\/api\/v2\/jobs\/job_/.test(request.path));
    expect(jobReads.length).toBeGreaterThanOrEqual(4);
  });
});
