// One contract, three real directory servers: OpenLDAP (slapd), 389 Directory Server and Active
// Directory (Samba AD DC), each seeded with the same people, nested groups and account states
// (test/support/contract-directories.ts) and served through the bridge with its preset. A
// behaviour cannot drift between presets without one row of this table failing.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDirectory } from '../../lambdas/entry/commands/export.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import {
  ALICE_NESTED_GROUPS,
  BOB_GROUPS,
  PEOPLE,
  STATE_PEOPLE,
  start389dsUnderTest,
  startActiveDirectoryUnderTest,
  startOpenLdapUnderTest,
  CONTRACT_STATES,
  LOCKOUT_THRESHOLD,
  type ContractState,
  type DirectoryUnderTest,
  type StateExpectation,
} from '../support/contract-directories.ts';
import type { PresetName } from '../../lambdas/core/directory/presets.ts';

const SERVERS: Array<[string, PresetName, () => Promise<DirectoryUnderTest>]> = [
  ['OpenLDAP', 'openldap', startOpenLdapUnderTest],
  ['389 Directory Server', '389ds', start389dsUnderTest],
  ['Active Directory (Samba AD DC)', 'active-directory', startActiveDirectoryUnderTest],
];

const INJECTION_STRINGS = [
  '*',
  'alice*',
  '*)(uid=*',
  'alice)(|(objectClass=*',
  '\\2a',
  'ali\\63e',
  '(&)',
  '*)(sAMAccountName=*))(|(cn=*',
  'alice@*',
];

describe.each(SERVERS)('directory contract: %s', (_name, kind, start) => {
  let directory: DirectoryUnderTest;
  let bridge: TestStack;
  let filtered: TestStack;
  let showingInactive: TestStack;

  beforeAll(async () => {
    directory = await start();
    bridge = await startTestStack(directory.env);
    filtered = await startTestStack({ ...directory.env, LDAP_GROUP_FILTER: '(cn=app-*)' });
    showingInactive = await startTestStack({ ...directory.env, LDAP_HIDE_INACTIVE_USERS: 'false' });
  }, 180_000);

  afterAll(async () => {
    await Promise.all([bridge?.stop(), filtered?.stop(), showingInactive?.stop()]);
    await directory?.stop();
  }, 60_000);

  it('lockout shield: 20 wrong passwords through the bridge leave the account usable (policy: lock after 5)', async () => {
    const sam = PEOPLE.sam;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const response = await bridge.post('/login', { username: sam.uid, password: `spray ${attempt}` });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'invalid_credentials' });
    }
    expect(await directory.directBind('sam', sam.password)).toBe(true);
    const { dn } = await directory.identity('sam');
    const held = bridge.logs.filter(
      (line) => line.includes('"lockout_shield":"held"') && line.includes(JSON.stringify(dn).slice(1, -1)),
    );
    expect(held.length).toBeGreaterThan(0);
    expect(held[0]).toContain(`"lockout_threshold":${LOCKOUT_THRESHOLD}`);
  });

  it('lockout shield: a user who mistypes twice, then types the right password, gets in', async () => {
    const tom = PEOPLE.tom;
    expect((await bridge.post('/login', { username: tom.uid, password: 'first typo' })).status).toBe(401);
    expect((await bridge.post('/login', { username: tom.uid, password: 'second typo' })).status).toBe(401);
    expect((await bridge.post('/login', { username: tom.uid, password: tom.password })).status).toBe(200);
  });

  it('logs in with every login name the preset accepts, with the same profile, groups nested, id from the server', async () => {
    const alice = PEOPLE.alice;
    const { dn, userId } = await directory.identity('alice');
    const expected = {
      user_id: userId,
      email: alice.mail,
      email_verified: false,
      username: alice.uid,
      name: `${alice.givenName} ${alice.sn}`,
      given_name: alice.givenName,
      family_name: alice.sn,
      nickname: alice.uid,
      app_metadata: { dn, groups: ALICE_NESTED_GROUPS },
    };
    for (const loginName of directory.loginNames('alice')) {
      const response = await bridge.post('/login', { username: loginName, password: alice.password });
      expect(response.status, loginName).toBe(200);
      expect(await response.json(), loginName).toEqual(expected);
    }
    const byGetUser = await bridge.post('/get-user', { username: alice.mail });
    expect(await byGetUser.json()).toEqual(expected);
  });

  it('answers a wrong password and an unknown user with the same 401 body', async () => {
    const wrong = await bridge.post('/login', { username: PEOPLE.alice.uid, password: 'not-her-password' });
    const unknown = await bridge.post('/login', { username: 'nobody-here', password: 'whatever-1' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.text()).toBe(await unknown.text());
    expect((await bridge.post('/get-user', { username: 'nobody-here' })).status).toBe(404);
  });

  it('lists direct groups without nesting for a user outside the nest (RFC 2307 memberUid groups too), and only matching groups with LDAP_GROUP_FILTER', async () => {
    const bob = await (await bridge.post('/get-user', { username: PEOPLE.bob.uid })).json();
    expect(bob.app_metadata.groups).toEqual(BOB_GROUPS[directory.kind]);
    const alice = await (
      await filtered.post('/login', { username: PEOPLE.alice.uid, password: PEOPLE.alice.password })
    ).json();
    expect(alice.app_metadata.groups).toEqual(['app-wiki']);
    const bobFiltered = await (await filtered.post('/get-user', { username: PEOPLE.bob.uid })).json();
    expect(bobFiltered.app_metadata).not.toHaveProperty('groups');
  });

  it.each(INJECTION_STRINGS)('treats %j as a literal name: nobody found, nothing matched', async (username) => {
    const login = await bridge.post('/login', { username, password: PEOPLE.alice.password });
    expect(login.status).toBe(401);
    expect((await bridge.post('/get-user', { username })).status).toBe(404);
  });

  it('exports the same users /get-user answers (groups included), leaving out and listing the inactive ones', async () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-contract-export-'));
    try {
      await exportDirectory({ env: directory.env, outDir, pageSize: 2 }); // small pages: paging is exercised
      const exported = readdirSync(outDir)
        .filter((name) => name.startsWith('users-'))
        .flatMap((name) => JSON.parse(readFileSync(path.join(outDir, name), 'utf8')) as Array<Record<string, unknown>>);
      const report = JSON.parse(readFileSync(path.join(outDir, 'report.json'), 'utf8')) as {
        skipped: Array<{ dn: string; reason: string }>;
      };
      for (const key of ['alice', 'bob'] as const) {
        const fromGetUser = await (await bridge.post('/get-user', { username: PEOPLE[key].uid })).json();
        const { custom_password_hash: _hash, ...fromExport } =
          exported.find((user) => user.username === PEOPLE[key].uid) ?? {};
        expect(fromExport).toEqual(fromGetUser);
      }
      const inactive = Object.entries(CONTRACT_STATES[kind])
        .filter(([, expectation]) => expectation.hiddenFromGetUser)
        .map(([state]) => STATE_PEOPLE[state as ContractState]);
      const skippedAsInactive = report.skipped.filter((skip) => skip.reason === 'inactive').map((skip) => skip.dn);
      // Every disabled or expired person is listed; so are the directory's own switched-off accounts (AD: Guest, krbtgt).
      expect(skippedAsInactive).toEqual(
        expect.arrayContaining(await Promise.all(inactive.map(async (key) => (await directory.identity(key)).dn))),
      );
      for (const key of ['alice', 'bob', 'mike'] as const)
        expect(skippedAsInactive).not.toContain((await directory.identity(key)).dn);
      for (const key of inactive) expect(exported.some((user) => user.username === PEOPLE[key].uid)).toBe(false);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('refuses a username with a control character before the directory (389-ds and AD end a value at NUL)', async () => {
    const login = await bridge.post('/login', {
      username: `${PEOPLE.alice.uid}\u0000`,
      password: PEOPLE.alice.password,
    });
    expect(login.status).toBe(400);
    expect((await bridge.post('/get-user', { username: `${PEOPLE.alice.uid}\u0000` })).status).toBe(400);
  });

  const states = Object.entries(CONTRACT_STATES[kind]) as Array<[ContractState, StateExpectation]>;
  describe.each(states)('account state %s', (state, expectation) => {
    const person = PEOPLE[STATE_PEOPLE[state]];

    it('right password: the documented answer (403 only when the server proved the password); wrong password: plain 401', async () => {
      const right = await bridge.post('/login', { username: person.uid, password: person.password });
      const body = await right.json();
      expect(right.status).toBe(expectation.rightPassword.status);
      if (expectation.rightPassword.status === 403) expect(body).toEqual({ error: expectation.rightPassword.error });
      else expect(body).toEqual({ error: 'invalid_credentials' });

      const wrong = await bridge.post('/login', { username: person.uid, password: 'not-the-password' });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ error: 'invalid_credentials' });
    });

    it('/get-user hides disabled and expired accounts unless LDAP_HIDE_INACTIVE_USERS=false', async () => {
      const response = await bridge.post('/get-user', { username: person.uid });
      expect(response.status).toBe(expectation.hiddenFromGetUser ? 404 : 200);
      const shown = await showingInactive.post('/get-user', { username: person.uid });
      expect(shown.status).toBe(200);
      expect((await shown.json()).user_id).toBe((await directory.identity(STATE_PEOPLE[state])).userId);
    });
  });
});
