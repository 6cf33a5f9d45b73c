// The lockout shield against a real OpenLDAP whose password policy locks an account after 5 wrong
// passwords (ppolicy: pwdLockout, pwdMaxFailure 5): a spray of wrong passwords through the bridge
// never locks the account, the user keeps their own attempts, and a typo or two still lets the
// right password in. 389-ds and Active Directory (Samba) run the same rows in the directory
// contract (test/integration/directory-contract.test.ts).
import { Change, Attribute, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SeedUser, userDN, withAdmin } from '../../dev/directory-data.ts';
import { type SeededSlapd, startSeededSlapd } from '../../dev/seeded-slapd.ts';
import { startDevTokenIssuer } from '../../dev/dev-token-issuer.ts';
import { cleanEnv, startServerProcess } from '../../dev/server-process.ts';
import { startTestStack, TEST_AUDIENCE, TEST_CLIENT, type TestStack } from '../support/stack.ts';

const users: SeedUser[] = ['sprayed', 'typist', 'parallel', 'unshielded', 'workers'].map((uid) => ({
  uid,
  password: `right password of ${uid} ../<script>`,
  cn: uid,
  sn: uid,
  mail: `${uid}@example.test`,
}));
const [sprayed, typist, parallel, unshielded] = users as [SeedUser, SeedUser, SeedUser, SeedUser];
const burstUsers = users.slice(4);

let seeded: SeededSlapd;
let stack: TestStack;

beforeAll(async () => {
  seeded = await startSeededSlapd({ users });
  // The usual production policy: 5 wrong passwords in 10 minutes lock the account for an hour.
  await withAdmin(seeded.admin, (client) =>
    client.modify(`cn=default,ou=policies,${seeded.slapd.suffix}`, [
      new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdLockout', values: ['TRUE'] }) }),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdMaxFailure', values: ['5'] }) }),
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'pwdFailureCountInterval', values: ['600'] }),
      }),
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'pwdLockoutDuration', values: ['3600'] }),
      }),
    ]),
  );
  stack = await startTestStack(seeded.bridgeEnv());
});
afterAll(async () => {
  await stack?.stop();
  await seeded?.stop();
});

/** A bind straight to the directory, as the user's laptop would. */
async function directBind(user: SeedUser, password: string): Promise<'ok' | 'refused'> {
  const client = new Client({ url: seeded.slapd.ldapUrl, timeout: 5000, connectTimeout: 5000 });
  try {
    await client.bind(userDN(user.uid, seeded.slapd.suffix), password);
    return 'ok';
  } catch {
    return 'refused';
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

const login = async (user: SeedUser, password: string) => {
  const response = await stack.post('/login', { username: user.uid, password });
  return { status: response.status, body: await response.text() };
};

describe('the lockout shield (OpenLDAP ppolicy, lockout after 5)', () => {
  it('a spray of 20 wrong passwords through the bridge leaves the account usable, every answer a plain 401', async () => {
    const answers = [];
    for (let attempt = 0; attempt < 20; attempt += 1) answers.push(await login(sprayed, `guess ${attempt}`));
    expect(new Set(answers.map((answer) => `${answer.status} ${answer.body}`))).toEqual(
      new Set(['401 {"error":"invalid_credentials"}']),
    );
    // The directory saw 3 failures (5 - the 2 kept in reserve): the user's own devices still work.
    expect(await directBind(sprayed, sprayed.password)).toBe('ok');
    const held = stack.logs.filter((line) => line.includes('"lockout_shield":"held"'));
    expect(held).toHaveLength(17);
    expect(held[0]).toContain('"lockout_failures":3,"lockout_threshold":5');
    expect(held.join('')).not.toContain('guess');
  });

  it('a user who mistypes twice and then types the right password gets in', async () => {
    expect((await login(typist, 'typo one')).status).toBe(401);
    expect((await login(typist, 'typo two')).status).toBe(401);
    expect((await login(typist, typist.password)).status).toBe(200);
  });

  it('concurrent wrong passwords cannot all slip under the threshold', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => login(parallel, `burst ${index}`)));
    expect(answers.every((answer) => answer.status === 401)).toBe(true);
    expect(await directBind(parallel, parallel.password)).toBe('ok');
  });

  it('serve with two workers: 20 concurrent wrong passwords at one account leave it usable', async () => {
    const [burst] = burstUsers;
    const issuer = await startDevTokenIssuer({ audience: TEST_AUDIENCE, clients: [TEST_CLIENT] });
    const server = await startServerProcess(
      ['--import', 'tsx', 'lambdas/entry/cli.ts', 'serve'],
      cleanEnv({
        ...seeded.bridgeEnv(),
        AUTH_ISSUER: issuer.issuer,
        AUTH_AUDIENCE: TEST_AUDIENCE,
        AUTH_ALLOWED_CLIENT_IDS: TEST_CLIENT.clientId,
        PORT: '0',
        SERVER_WORKERS: '2',
        LOG_LEVEL: 'warn',
      }),
    );
    try {
      const token = await issuer.mint({ clientId: TEST_CLIENT.clientId });
      const statuses = await Promise.all(
        Array.from({ length: 20 }, async (_, index) => {
          const response = await fetch(`${server.url}/login`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ username: burst?.uid, password: `burst ${index}` }),
          });
          await response.arrayBuffer();
          return response.status;
        }),
      );
      expect(statuses).toEqual(Array(20).fill(401));
    } finally {
      await server.stop('SIGTERM');
      await issuer.stop();
    }
    expect(await directBind(burst as SeedUser, (burst as SeedUser).password)).toBe('ok');
  }, 40_000);

  it('without the shield, the same spray locks the account (what the shield prevents)', async () => {
    const unguarded = await startTestStack(seeded.bridgeEnv({ LDAP_LOCKOUT_SHIELD: 'false' }));
    try {
      for (let attempt = 0; attempt < 6; attempt += 1) {
        const response = await unguarded.post('/login', { username: unshielded.uid, password: `guess ${attempt}` });
        await response.arrayBuffer();
      }
    } finally {
      await unguarded.stop();
    }
    expect(await directBind(unshielded, unshielded.password)).toBe('refused');
  });
});
