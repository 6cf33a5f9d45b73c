// The scheduled sync-leavers' handler against the shared slapd and the Management API emulator,
// with the environment prod's stack gives it (the login function's, with the service account as
// static credentials or from the bind secret) and its Management API credentials from a mocked
// Secrets Manager: a dry run changes nothing, a run that applies blocks the users who left and
// unblocks the one who came back; the summary log line holds counts, user ids only at debug;
// every failure (the secret unreadable or unfilled, a refused guard, Auth0 out of reach, a run
// cut short, an event with settings) is thrown with a message that says what to look at; and no
// credential reaches a report, a log line or an error.
import { createServer } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { peopleDN, withAdmin } from '../../dev/directory-data.ts';
import { BLOCK_MARKER_BY, BLOCK_MARKER_KEY, type SyncLeaversReport } from '../../lambdas/core/migration/leavers.ts';
import {
  handler,
  SYNC_LEAVERS_ENV,
  SyncLeaversEventError,
  SyncLeaversRunFailed,
} from '../../lambdas/entry/sync-leavers-function.ts';
import { lambdaEnvironment, readDeploymentConfig } from '../../lib/config.ts';
import { CDK_CONTEXT } from '../infra/support.ts';
import { DEMO_USERS } from '../support/fixtures.ts';
import { type ManagementApiEmulator, startManagementApiEmulator } from '../support/management-api-emulator.ts';
import { directoryEnv } from '../support/stack.ts';

const DOMAIN = 'tenant.auth0.test';
/** The scopes the settings table says the application needs, and no more. */
const CLIENT = {
  clientId: 'sync-leavers-client',
  clientSecret: 'sync-leavers-client-secret-5e81c0',
  scopes: ['read:connections', 'read:users', 'update:users'],
};
const CONNECTION = { id: 'con_ldapbridge000001', name: 'ldap-bridge' };
const BIND_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/management-AbCdEf';
/** Another secret per scenario that changes what the secret holds: the handler keeps a read secret per container. */
const arnFor = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/${name}-AbCdEf`;
const GONE = ['auth0|gone-0001', 'auth0|gone-0002'];
const GONE_BLOCKED_BY_HELPDESK = 'auth0|gone-0003';
/** Active in the directory, blocked by an earlier run: the run unblocks them. */
const returning = DEMO_USERS[0]!;
const deployment = readDeploymentConfig(CDK_CONTEXT.environments, 'prod');
const context = { getRemainingTimeInMillis: () => 15 * 60 * 1000 };

const saved = { ...process.env };
const directoryIds = new Map<string, string>();
let emulator: ManagementApiEmulator;
const secrets = mockClient(SecretsManagerClient);
let logLines: string[] = [];

beforeAll(async () => {
  const directory = inject('directory');
  await withAdmin(
    {
      url: directory.ldapUrl,
      suffix: directory.suffix,
      rootDN: directory.rootDN,
      rootPassword: directory.rootPassword,
    },
    async (client) => {
      const { searchEntries } = await client.search(peopleDN(directory.suffix), {
        filter: '(objectClass=inetOrgPerson)',
        attributes: ['uid', 'entryUUID'],
      });
      for (const entry of searchEntries) directoryIds.set(String(entry.uid), String(entry.entryUUID));
    },
  );
  // prod's environment for the login function, the shared slapd's settings and service account in place of the secret.
  const { LDAP_BIND_SECRET_ARN: _secret, ...stated } = lambdaEnvironment(deployment, BIND_SECRET_ARN);
  Object.assign(process.env, stated, directoryEnv(), {
    [SYNC_LEAVERS_ENV.connection]: CONNECTION.name,
    [SYNC_LEAVERS_ENV.apply]: 'false',
    [SYNC_LEAVERS_ENV.managementApiSecretArn]: SECRET_ARN,
  });
});
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  secrets.restore();
});

beforeEach(async () => {
  emulator = await startManagementApiEmulator({
    domain: DOMAIN,
    clients: [CLIENT],
    connections: [CONNECTION],
    ratePerSecond: 50,
    burst: 20,
  });
  for (const [uid, entryUUID] of directoryIds)
    emulator.addUser(CONNECTION.name, {
      user_id: entryUUID,
      email: `${entryUUID}@example.test`,
      ...(uid === returning.uid
        ? {
            blocked: true,
            app_metadata: {
              [BLOCK_MARKER_KEY]: { by: BLOCK_MARKER_BY, reason: 'gone', at: '2026-01-01T00:00:00.000Z' },
            },
          }
        : { app_metadata: { dn: `uid=${uid},ou=people` } }),
    });
  // Deleted from the directory since they migrated: their profile still names the entry they had.
  for (const id of GONE)
    emulator.addUser(CONNECTION.name, {
      user_id: id.slice(6),
      email: `${id.slice(6)}@example.test`,
      app_metadata: { dn: `uid=${id.slice(6)},ou=people` },
    });
  emulator.addUser(CONNECTION.name, {
    user_id: GONE_BLOCKED_BY_HELPDESK.slice(6),
    email: 'helpdesk-blocked@example.test',
    blocked: true,
    app_metadata: { dn: 'uid=helpdesk-blocked,ou=people' },
  });
  secrets.reset();
  secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: secretFor(CLIENT) });
});
afterEach(() => emulator.stop());

function secretFor(client: { clientId: string; clientSecret: string }, domain = DOMAIN): string {
  return JSON.stringify({ domain, clientId: client.clientId, clientSecret: client.clientSecret });
}

/** A secret of its own for one test, holding `text`: its ARN, for the function's environment. */
function ownSecret(name: string, text = secretFor(CLIENT)): Record<string, string> {
  const arn = arnFor(name);
  secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: text });
  return { [SYNC_LEAVERS_ENV.managementApiSecretArn]: arn };
}

/** Runs the handler with its stdout (the JSON log) captured and `env` over the function's environment. */
async function invoke(
  env: Record<string, string | undefined> = {},
  event: unknown = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} },
  managementApi: { apiHost: string; fetch: typeof fetch; pollIntervalMs: number } = {
    apiHost: emulator.host,
    fetch: emulator.fetch,
    pollIntervalMs: 20,
  },
  lambdaContext = context,
): Promise<SyncLeaversReport> {
  logLines = [];
  const before = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  vi.spyOn(process.stdout, 'write').mockImplementation((line) => {
    logLines.push(String(line));
    return true;
  });
  try {
    return await handler(event, lambdaContext, { managementApi });
  } finally {
    vi.restoreAllMocks();
    for (const key of Object.keys(env)) {
      if (before[key] === undefined) delete process.env[key];
      else process.env[key] = before[key];
    }
  }
}

/** The failure a run threw, with the log lines it wrote. */
async function failure(run: Promise<unknown>): Promise<Error> {
  return run.then(
    () => {
      throw new Error('expected the run to throw');
    },
    (error: Error) => error,
  );
}

const lines = () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
const summary = () => lines().find((line) => line.message === 'sync-leavers ran');
const blockedIds = () =>
  emulator
    .users(CONNECTION.name)
    .filter((user) => user.blocked)
    .map((user) => user.user_id)
    .sort();
const writes = () => emulator.requests.filter((request) => request.method === 'PATCH');
const returningId = () => `auth0|${directoryIds.get(returning.uid)}`;
/** Every credential the runs could have held: none may appear in what they give back or write. */
const credentials = () => [CLIENT.clientSecret, directoryEnv().LDAP_BIND_PASSWORD!, ...emulator.issuedTokens];

describe('the scheduled sync-leavers function', () => {
  it('in a dry run reports what it would block and unblock, writes nothing, and logs one line of counts', async () => {
    const report = await invoke(ownSecret('dry'));
    expect(report).toMatchObject({ connection: CONNECTION.name, applied: false, interrupted: false });
    expect(report.refused).toBeUndefined();
    // Users by Auth0 id only: no email or DN in what the invocation answers.
    expect(report.changes.length).toBeGreaterThan(0);
    expect(JSON.stringify(report)).not.toMatch(/@example\.test|ou=people/);
    expect(report.counts).toMatchObject({
      directory: directoryIds.size,
      toBlock: 2,
      toUnblock: 1,
      alreadyBlocked: 1,
      blocked: 0,
      unblocked: 0,
      failed: 0,
    });
    expect(report.changes.map((row) => `${row.action} ${row.user_id} ${row.outcome}`).sort()).toEqual(
      [...GONE.map((id) => `block ${id} planned`), `unblock ${returningId()} planned`].sort(),
    );
    expect(writes()).toEqual([]);
    expect(blockedIds()).toEqual([GONE_BLOCKED_BY_HELPDESK, returningId()].sort());
    expect(lines()).toHaveLength(1);
    expect(summary()).toMatchObject({
      level: 'info',
      connection: CONNECTION.name,
      applied: false,
      to_block: 2,
      to_unblock: 1,
      blocked: 0,
      failed: 0,
    });
    // Counts only: no user id, email or DN at info.
    for (const id of [...GONE, returningId()]) expect(logLines.join('')).not.toContain(id.slice(6));
    expect(logLines.join('')).not.toContain('@example.test');
    expect(secrets.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId)).toEqual([
      arnFor('dry'),
    ]);
  });

  it('applying, blocks the users who left and unblocks the one who came back; run again, it has nothing to do and reads the secret no more', async () => {
    const env = { ...ownSecret('apply'), [SYNC_LEAVERS_ENV.apply]: 'true' };
    const report = await invoke(env);
    expect(report.applied).toBe(true);
    expect(report.counts).toMatchObject({ toBlock: 2, blocked: 2, toUnblock: 1, unblocked: 1, failed: 0 });
    expect(blockedIds()).toEqual([...GONE, GONE_BLOCKED_BY_HELPDESK].sort());
    for (const id of GONE)
      expect(emulator.user(id)?.app_metadata?.[BLOCK_MARKER_KEY]).toMatchObject({
        by: BLOCK_MARKER_BY,
        reason: 'gone',
      });
    expect(summary()).toMatchObject({ level: 'info', applied: true, blocked: 2, unblocked: 1 });

    const again = await invoke(env);
    expect(again.counts).toMatchObject({ toBlock: 0, toUnblock: 0, blocked: 0, alreadyBlocked: 3 });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    const everything = JSON.stringify([report, again]) + logLines.join('');
    for (const credential of credentials()) expect(everything).not.toContain(credential);
  });

  it('names each change by Auth0 user id at LOG_LEVEL debug, without email or DN', async () => {
    await invoke({ LOG_LEVEL: 'debug' });
    const changes = lines().filter((line) => line.message === 'sync-leavers change');
    expect(
      changes.map((line) => `${String(line.action)} ${String(line.user_id)} ${String(line.outcome)}`).sort(),
    ).toEqual([...GONE.map((id) => `block ${id} planned`), `unblock ${returningId()} planned`].sort());
    for (const line of changes)
      expect(Object.keys(line).sort()).toEqual(['action', 'level', 'message', 'outcome', 'reason', 'time', 'user_id']);
    expect(logLines.join('')).not.toContain('@example.test');
    expect(logLines.join('')).not.toContain('dc=');
  });

  it('reads the service account from the bind secret too, as deployed, and carries neither secret anywhere', async () => {
    const { LDAP_BIND_DN: bindDN, LDAP_BIND_PASSWORD: password } = directoryEnv();
    secrets
      .on(GetSecretValueCommand, { SecretId: BIND_SECRET_ARN })
      .resolves({ SecretString: JSON.stringify({ bindDN, password }) });
    const ran = await invoke({
      ...ownSecret('with-bind-secret'),
      LDAP_BIND_SECRET_ARN: BIND_SECRET_ARN,
      LDAP_BIND_DN: undefined,
      LDAP_BIND_PASSWORD: undefined,
    });
    expect(ran.counts).toMatchObject({ directory: directoryIds.size, toBlock: 2 });
    const read = secrets.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId);
    expect(read.sort()).toEqual([BIND_SECRET_ARN, arnFor('with-bind-secret')].sort());
    const everything = JSON.stringify(ran) + logLines.join('');
    for (const credential of credentials()) expect(everything).not.toContain(credential);
  });

  it('throws a clear error when the secret cannot be read, and sends nothing to Auth0', async () => {
    const arn = arnFor('denied');
    secrets
      .on(GetSecretValueCommand, { SecretId: arn })
      .rejects(
        Object.assign(
          new Error(`User is not authorized to perform: secretsmanager:GetSecretValue on resource: ${arn}`),
          { name: 'AccessDeniedException' },
        ),
      );
    const error = await failure(invoke({ [SYNC_LEAVERS_ENV.managementApiSecretArn]: arn }));
    expect(error).toBeInstanceOf(SyncLeaversRunFailed);
    expect(error.message).toBe(
      `could not read the Management API secret ${arn}: User is not authorized to perform: secretsmanager:GetSecretValue on resource: ${arn}`,
    );
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'error', message: 'sync-leavers failed', error: error.message }),
    ]);
    expect(emulator.requests).toEqual([]);
  });

  it.each([
    [
      'still holds the placeholders the stack wrote',
      JSON.stringify({
        domain: 'REPLACE-WITH-THE-TENANT-DOMAIN',
        clientId: 'REPLACE-WITH-THE-CLIENT-ID',
        clientSecret: 'generated0placeholder0secret',
      }),
      'it still holds the placeholders the stack wrote',
    ],
    ['is not JSON', 'sync-leavers-client:sync-leavers-client-secret-5e81c0', 'is not JSON'],
    [
      'has no client secret',
      JSON.stringify({ domain: DOMAIN, clientId: CLIENT.clientId }),
      '"clientSecret" must be a non-empty string',
    ],
    [
      'names a domain that is a URL',
      secretFor(CLIENT, `https://${DOMAIN}/`),
      `"domain" "https://${DOMAIN}/" is not the tenant domain`,
    ],
  ])('refuses a secret that %s, naming the field and never the client secret', async (name, text, message) => {
    const arn = arnFor(`bad-${name.replace(/\W+/g, '-')}`);
    const error = await failure(invoke(ownSecret(`bad-${name.replace(/\W+/g, '-')}`, text)));
    expect(error.message).toContain(`the Management API secret ${arn}`);
    expect(error.message).toContain(message);
    expect(error.message + logLines.join('')).not.toContain(CLIENT.clientSecret);
    expect(error.message + logLines.join('')).not.toContain('generated0placeholder0secret');
    expect(emulator.requests).toEqual([]);
  });

  it('throws when Auth0 refuses the application, naming the secret to fix and not its client secret; the next run reads the secret again', async () => {
    const arn = arnFor('rotated');
    const wrongSecret = 'the-client-secret-before-rotation-77aa';
    secrets
      .on(GetSecretValueCommand, { SecretId: arn })
      .resolvesOnce({ SecretString: secretFor({ ...CLIENT, clientSecret: wrongSecret }) })
      .resolves({ SecretString: secretFor(CLIENT) });
    const error = await failure(invoke({ [SYNC_LEAVERS_ENV.managementApiSecretArn]: arn }));
    expect(error).toBeInstanceOf(SyncLeaversRunFailed);
    expect(error.message).toContain(`(this function reads them from the secret ${arn})`);
    expect(error.message + logLines.join('')).not.toContain(wrongSecret);
    const report = await invoke({ [SYNC_LEAVERS_ENV.managementApiSecretArn]: arn });
    expect(report.counts.toBlock).toBe(2);
    expect(secrets.commandCalls(GetSecretValueCommand, { SecretId: arn })).toHaveLength(2);
  });

  it('throws when the guard refuses to act, after logging the counts, and blocks nobody', async () => {
    const error = await failure(invoke({ [SYNC_LEAVERS_ENV.apply]: 'true', [SYNC_LEAVERS_ENV.maxBlock]: '1' }));
    expect(error).toBeInstanceOf(SyncLeaversRunFailed);
    expect(error.message).toContain(
      `sync-leavers for connection ${CONNECTION.name}: refused to act: 2 users would be blocked`,
    );
    expect(summary()).toMatchObject({ level: 'error', applied: false, to_block: 2, blocked: 0, max_block: 1 });
    expect(writes()).toEqual([]);
  });

  it('throws when Auth0 cannot be reached, saying the subnets need a route to the internet', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const error = await failure(
      invoke({}, {}, { apiHost: `127.0.0.1:${closedPort}`, fetch: emulator.fetch, pollIntervalMs: 20 }),
    );
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain(
      "This function reaches Auth0's Management API on TCP 443 through its subnets' route to the internet: those subnets need a NAT gateway or equivalent",
    );
  }, 30_000);

  it("stops before the function's timeout and throws, saying nothing was changed", async () => {
    emulator.holdJobs = true;
    const error = await failure(
      invoke({ [SYNC_LEAVERS_ENV.apply]: 'true' }, {}, undefined, { getRemainingTimeInMillis: () => 61_000 }),
    );
    expect(error.message).toContain(
      "stopped 60 s before the function's timeout while reading the directory and Auth0; nothing was changed",
    );
    expect(writes()).toEqual([]);
  });

  it.each([
    ['settings', { apply: true }],
    ['a list', [{}]],
    ['text', 'apply'],
    ["another service's event", { source: 'aws.s3', 'detail-type': 'Object Created' }],
  ])('refuses an event with %s before reading anything', async (_case, event) => {
    const error = await failure(invoke({}, event));
    expect(error).toBeInstanceOf(SyncLeaversEventError);
    expect(error.message).toBe(
      'sync-leavers event refused: the function runs as deployed (syncLeavers.* in cdk.json) and takes no settings from its event; invoke it with {} or let its schedule run it',
    );
    expect(secrets.commandCalls(GetSecretValueCommand)).toEqual([]);
    expect(emulator.requests).toEqual([]);
  });

  it('runs on an empty event, as `aws lambda invoke` sends', async () => {
    expect((await invoke({}, {})).applied).toBe(false);
  });

  it('fails naming the variable when the stack did not set its settings', async () => {
    const error = await failure(invoke({ [SYNC_LEAVERS_ENV.connection]: undefined, [SYNC_LEAVERS_ENV.apply]: 'yes' }));
    expect(error.message).toContain(`${SYNC_LEAVERS_ENV.connection}: is required`);
    expect(error.message).toContain(`${SYNC_LEAVERS_ENV.apply}: "yes" expected true or false`);
  });
});
