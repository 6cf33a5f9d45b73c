// The same people, groups and account states seeded into three real directory servers (OpenLDAP,
// 389 Directory Server, Samba AD DC), each with what the bridge needs to reach it, and what the
// server itself says (identifiers, DNs) read back through its own tools so the tests never check
// the bridge against the bridge. Used by test/integration/directory-contract.test.ts.
import { readFileSync } from 'node:fs';
import { Attribute, Change, Client } from 'ldapts';
import { sshaHash, userDN, withAdmin, type DirectoryAdmin } from '../../dev/directory-data.ts';
import { startSeededSlapd } from '../../dev/seeded-slapd.ts';
import { startThrowaway389ds } from '../../dev/throwaway-389ds.ts';
import { startThrowawaySambaAd } from '../../dev/throwaway-samba-ad.ts';
import { randomSecret } from '../../dev/throwaway-slapd.ts';
import type { PresetName } from '../../lambdas/core/directory/presets.ts';

/** The account states the contract covers; a server that cannot express one leaves it out. */
export type ContractState = 'disabled' | 'expired' | 'must_change' | 'password_expired' | 'locked';

export interface ContractPerson {
  uid: string;
  password: string;
  givenName: string;
  sn: string;
  mail: string;
}

const person = (uid: string, givenName: string, sn: string): ContractPerson => ({
  uid,
  // Meets AD's complexity rules; different for every person.
  password: `Pw1!${uid}-${randomSecret().slice(0, 10)}`,
  givenName,
  sn,
  mail: `${givenName.toLowerCase()}.${sn.toLowerCase()}@example.test`,
});

export const PEOPLE = {
  alice: person('alice', 'Alice', 'Anderson'),
  bob: person('bob', 'Bob', 'Brown'),
  dora: person('dora', 'Dora', 'Disabled'),
  eve: person('eve', 'Eve', 'Expired'),
  mike: person('mike', 'Mike', 'Mustchange'),
  pat: person('pat', 'Pat', 'Pwexpired'),
  lou: person('lou', 'Lou', 'Locked'),
  // Under a lockout policy of 5 failures: sam is sprayed through the bridge, tom mistypes.
  sam: person('sam', 'Sam', 'Sprayed'),
  tom: person('tom', 'Tom', 'Typist'),
} as const;

/** The lockout policy sam and tom are under on every server: 5 failed binds lock the account. */
export const LOCKOUT_THRESHOLD = 5;
export type PersonKey = keyof typeof PEOPLE;

/** Which person is in which state (on servers that can express it). */
export const STATE_PEOPLE: Record<ContractState, PersonKey> = {
  disabled: 'dora',
  expired: 'eve',
  must_change: 'mike',
  password_expired: 'pat',
  locked: 'lou',
};

/**
 * Groups: engineering -> platform -> app-wiki -> everyone -> engineering (a loop), alice directly
 * in engineering; bob directly in staff only. So alice's groups, nested, are app-wiki, engineering,
 * everyone, platform; with LDAP_GROUP_FILTER=(cn=app-*), app-wiki.
 */
export const GROUPS: Array<{ cn: string; users: PersonKey[]; groups: string[] }> = [
  { cn: 'engineering', users: ['alice'], groups: ['everyone'] },
  { cn: 'platform', users: [], groups: ['engineering'] },
  { cn: 'app-wiki', users: [], groups: ['platform'] },
  { cn: 'everyone', users: [], groups: ['app-wiki'] },
  { cn: 'staff', users: ['bob'], groups: [] },
];
export const ALICE_NESTED_GROUPS = ['app-wiki', 'engineering', 'everyone', 'platform'];

/**
 * An RFC 2307 group on the servers that have them (OpenLDAP, 389-ds): it lists bob by uid in
 * memberUid, not by DN. Bob's groups are staff, and there also this one.
 */
export const POSIX_GROUP = { cn: 'unix-staff', gidNumber: '5001', memberUid: ['bob'] };
export const BOB_GROUPS: Record<PresetName, string[]> = {
  openldap: ['staff', POSIX_GROUP.cn],
  '389ds': ['staff', POSIX_GROUP.cn],
  'active-directory': ['staff'],
};

/** What logging in with the right password answers for a person in a state, on one server. */
export interface StateExpectation {
  /** 401: the server does not prove the password for this state (it refuses right and wrong alike). */
  rightPassword: { status: 401 } | { status: 403; error: string };
  /** Whether /get-user leaves the account out by default (disabled and expired accounts). */
  hiddenFromGetUser: boolean;
}

export interface DirectoryUnderTest {
  kind: PresetName;
  /** LDAP_* for the bridge. */
  env: Record<string, string | undefined>;
  /** Names a person may log in with (each must find the same entry). */
  loginNames(key: PersonKey): string[];
  /** The person's DN and stable id as the server itself reports them. */
  identity(key: PersonKey): Promise<{ dn: string; userId: string }>;
  /** A bind straight to the server as the person (their own laptop): whether the server accepts it. */
  directBind(key: PersonKey, password: string): Promise<boolean>;
  stop(): Promise<void>;
}

const hidden = (rightPassword: StateExpectation['rightPassword']): StateExpectation => ({
  rightPassword,
  hiddenFromGetUser: true,
});
const shown = (rightPassword: StateExpectation['rightPassword']): StateExpectation => ({
  rightPassword,
  hiddenFromGetUser: false,
});

/**
 * What each account state answers on each server; a state a server cannot express is absent
 * (389-ds has no account expiry or password expiry without extra plugins; OpenLDAP's ppolicy
 * hides an expired password behind a response control the LDAP client cannot read).
 */
export const CONTRACT_STATES: Record<PresetName, Partial<Record<ContractState, StateExpectation>>> = {
  // With pwdLockout off (the default policy here) slapd lets an administrator-locked account bind:
  // the bridge sees the right password and names the state from pwdAccountLockedTime. ppolicy
  // refuses a bind after pwdEndTime whatever the password: nothing is proven, so 401.
  openldap: {
    disabled: hidden({ status: 403, error: 'account_disabled' }),
    expired: hidden({ status: 401 }),
    must_change: shown({ status: 403, error: 'password_change_required' }),
    locked: shown({ status: 401 }),
  },
  // 389-ds answers 53 "Account inactivated" before it checks the password: nothing is proven.
  '389ds': {
    disabled: hidden({ status: 401 }),
    must_change: shown({ status: 403, error: 'password_change_required' }),
  },
  'active-directory': {
    disabled: hidden({ status: 403, error: 'account_disabled' }), // 533
    expired: hidden({ status: 403, error: 'account_expired' }), // 701
    must_change: shown({ status: 403, error: 'password_change_required' }), // 773
    password_expired: shown({ status: 403, error: 'password_expired' }), // 532
    locked: shown({ status: 401 }), // 775, reported whatever the password
  },
};

const replace = (type: string, values: string[] | Buffer[]) =>
  new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
const addValues = (type: string, values: string[]) =>
  new Change({ operation: 'add', modification: new Attribute({ type, values }) });

/** FILETIME (100 ns since 1601) of a moment: AD's accountExpires. */
const filetime = (date: Date) => String((BigInt(date.getTime()) + 11_644_473_600_000n) * 10_000n);

// ---------------------------------------------------------------------------------------------
// OpenLDAP (the throwaway slapd with memberof, refint and ppolicy)

export async function startOpenLdapUnderTest(): Promise<DirectoryUnderTest> {
  const seeded = await startSeededSlapd({
    users: Object.values(PEOPLE).map((p) => ({
      uid: p.uid,
      password: p.password,
      cn: `${p.givenName} ${p.sn}`,
      givenName: p.givenName,
      sn: p.sn,
      mail: p.mail,
    })),
  });
  const { admin } = seeded;
  const suffix = seeded.slapd.suffix;
  try {
    await addLdapGroups(
      admin,
      (key) => userDN(PEOPLE[key].uid, suffix),
      `ou=groups,${suffix}`,
      'groupOfNames',
      'member',
    );
    await withAdmin(admin, async (client) => {
      // nis.schema: posixGroup is structural.
      await client.add(`cn=${POSIX_GROUP.cn},ou=groups,${suffix}`, {
        objectClass: ['top', 'posixGroup'],
        cn: POSIX_GROUP.cn,
        gidNumber: POSIX_GROUP.gidNumber,
        memberUid: POSIX_GROUP.memberUid,
      });
      // Policies of their own: lou's locks after failures (and lou is locked out), mike's forces a
      // change after an administrator's reset (and mike's password was reset).
      await client.add(`cn=lockout,ou=policies,${suffix}`, {
        objectClass: ['top', 'device', 'pwdPolicy'],
        cn: 'lockout',
        pwdAttribute: 'userPassword',
        pwdLockout: 'TRUE',
        pwdMaxFailure: '3',
      });
      await client.add(`cn=must-change,ou=policies,${suffix}`, {
        objectClass: ['top', 'device', 'pwdPolicy'],
        cn: 'must-change',
        pwdAttribute: 'userPassword',
        pwdMustChange: 'TRUE',
      });
      const modify = (key: PersonKey, changes: Change[]) => client.modify(userDN(PEOPLE[key].uid, suffix), changes);
      await modify('dora', [replace('pwdAccountLockedTime', ['000001010000Z'])]); // locked by an administrator: disabled
      await modify('eve', [replace('pwdEndTime', ['20200101000000Z'])]);
      await modify('mike', [
        replace('pwdPolicySubentry', [`cn=must-change,ou=policies,${suffix}`]),
        replace('pwdReset', ['TRUE']),
      ]);
      await modify('lou', [
        replace('pwdPolicySubentry', [`cn=lockout,ou=policies,${suffix}`]),
        replace('pwdAccountLockedTime', [generalizedTime(new Date())]),
      ]);
      await client.add(`cn=five-strikes,ou=policies,${suffix}`, {
        objectClass: ['top', 'device', 'pwdPolicy'],
        cn: 'five-strikes',
        pwdAttribute: 'userPassword',
        pwdLockout: 'TRUE',
        pwdMaxFailure: String(LOCKOUT_THRESHOLD),
        pwdFailureCountInterval: '600',
        pwdLockoutDuration: '3600',
      });
      for (const key of ['sam', 'tom'] as const)
        await modify(key, [replace('pwdPolicySubentry', [`cn=five-strikes,ou=policies,${suffix}`])]);
    });
    return {
      kind: 'openldap',
      env: seeded.bridgeEnv({ LDAP_PRESET: 'openldap' }),
      loginNames: (key) => [PEOPLE[key].uid, PEOPLE[key].mail],
      directBind: (key, password) => bindsAs(seeded.slapd.ldapUrl, userDN(PEOPLE[key].uid, suffix), password),
      identity: async (key) => {
        const dn = userDN(PEOPLE[key].uid, suffix);
        const [entry] = await withAdmin(
          admin,
          async (client) => (await client.search(dn, { scope: 'base', attributes: ['entryUUID'] })).searchEntries,
        );
        return { dn, userId: String(entry?.entryUUID) };
      },
      stop: () => seeded.stop(),
    };
  } catch (error) {
    await seeded.stop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// 389 Directory Server

export async function start389dsUnderTest(): Promise<DirectoryUnderTest> {
  const ds = await startThrowaway389ds();
  const admin: DirectoryAdmin = {
    url: ds.ldapUrl,
    suffix: ds.suffix,
    rootDN: ds.rootDN,
    rootPassword: ds.rootPassword,
  };
  const servicePassword = randomSecret();
  const serviceDN = `cn=bridge-reader,ou=services,${ds.suffix}`;
  const dnOf = (key: PersonKey) => `uid=${PEOPLE[key].uid},ou=people,${ds.suffix}`;
  try {
    await withAdmin(admin, async (client) => {
      for (const ou of ['people', 'groups', 'services'])
        await client.add(`ou=${ou},${ds.suffix}`, { objectClass: ['top', 'organizationalUnit'], ou });
      await client.add(serviceDN, {
        objectClass: ['top', 'applicationProcess', 'simpleSecurityObject'],
        cn: 'bridge-reader',
        userPassword: sshaHash(servicePassword),
      });
      // The service account reads everything but password hashes, operational attributes included.
      await client.modify(ds.suffix, [
        addValues('aci', [
          `(targetattr!="userPassword || aci")(version 3.0; acl "bridge reader"; allow (read, search, compare) userdn="ldap:///${serviceDN}";)`,
          `(targetattr="nsUniqueId || nsAccountLock || pwdReset || passwordRetryCount || retryCountResetTime || accountUnlockTime || pwdpolicysubentry")(version 3.0; acl "bridge reader operational"; allow (read, search, compare) userdn="ldap:///${serviceDN}";)`,
        ]),
      ]);
      // The usual lockout policy (5 failures in 10 minutes lock for an hour), and what the README
      // asks operators to grant: the service account may read the policy's lockout attributes.
      await client.modify('cn=config', [
        replace('passwordLockout', ['on']),
        replace('passwordMaxFailure', [String(LOCKOUT_THRESHOLD)]),
        replace('passwordResetFailureCount', ['600']),
        replace('passwordLockoutDuration', ['3600']),
        replace('passwordUnlock', ['on']),
        addValues('aci', [
          `(targetattr="objectClass || passwordLockout || passwordMaxFailure || passwordResetFailureCount")(version 3.0; acl "bridge reads the lockout policy"; allow (read, search, compare) userdn="ldap:///${serviceDN}";)`,
        ]),
      ]);
      for (const p of Object.values(PEOPLE)) {
        await client.add(`uid=${p.uid},ou=people,${ds.suffix}`, {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: p.uid,
          cn: `${p.givenName} ${p.sn}`,
          givenName: p.givenName,
          sn: p.sn,
          mail: p.mail,
          userPassword: p.password,
        });
      }
    });
    await addLdapGroups(admin, dnOf, `ou=groups,${ds.suffix}`, 'groupOfUniqueNames', 'uniqueMember');
    await withAdmin(admin, async (client) => {
      // 389-ds (rfc2307compat): posixGroup is auxiliary, carried by a group entry without members by DN.
      await client.add(`cn=${POSIX_GROUP.cn},ou=groups,${ds.suffix}`, {
        objectClass: ['top', 'groupOfUniqueNames', 'posixGroup'],
        cn: POSIX_GROUP.cn,
        gidNumber: POSIX_GROUP.gidNumber,
        memberUid: POSIX_GROUP.memberUid,
      });
      await client.modify(dnOf('dora'), [replace('nsAccountLock', ['true'])]);
      // Passwords an administrator sets must be changed: 389-ds marks the entry pwdReset.
      await client.modify('cn=config', [replace('passwordMustChange', ['on'])]);
      await client.modify(dnOf('mike'), [replace('userPassword', [PEOPLE.mike.password])]);
      await client.modify('cn=config', [replace('passwordMustChange', ['off'])]);
    });
    return {
      kind: '389ds',
      env: {
        LDAP_URLS: ds.ldapUrl,
        LDAP_CA_CERT: undefined,
        LDAP_BASE_DN: `ou=people,${ds.suffix}`,
        LDAP_BIND_DN: serviceDN,
        LDAP_BIND_PASSWORD: servicePassword,
        LDAP_PRESET: '389ds',
      },
      loginNames: (key) => [PEOPLE[key].uid, PEOPLE[key].mail],
      directBind: (key, password) => bindsAs(ds.ldapUrl, dnOf(key), password),
      identity: async (key) => {
        const [entry] = await withAdmin(
          admin,
          async (client) =>
            (await client.search(dnOf(key), { scope: 'base', attributes: ['nsUniqueId'] })).searchEntries,
        );
        return { dn: dnOf(key), userId: String(entry?.nsUniqueId) };
      },
      stop: () => ds.stop(),
    };
  } catch (error) {
    await ds.stop();
    throw error;
  }
}

async function addLdapGroups(
  admin: DirectoryAdmin,
  dnOf: (key: PersonKey) => string,
  groupsBase: string,
  objectClass: string,
  memberAttribute: string,
): Promise<void> {
  const groupDN = (cn: string) => `cn=${cn},${groupsBase}`;
  await withAdmin(admin, async (client) => {
    // Created with their users first (a groupOfNames needs a member), then nested, so loops can exist.
    for (const group of GROUPS) {
      const members = group.users.length > 0 ? group.users.map(dnOf) : [dnOf('bob')];
      await client.add(groupDN(group.cn), {
        objectClass: ['top', objectClass],
        cn: group.cn,
        [memberAttribute]: members,
      });
    }
    for (const group of GROUPS) {
      const changes = group.groups.map((cn) => addValues(memberAttribute, [groupDN(cn)]));
      if (group.users.length === 0)
        changes.push(
          new Change({
            operation: 'delete',
            modification: new Attribute({ type: memberAttribute, values: [dnOf('bob')] }),
          }),
        );
      if (changes.length > 0) await client.modify(groupDN(group.cn), changes);
    }
  });
}

async function bindsAs(url: string, dn: string, password: string, ca?: Buffer): Promise<boolean> {
  const client = new Client({
    url,
    timeout: 10_000,
    connectTimeout: 5000,
    ...(ca ? { tlsOptions: { ca: [ca] } } : {}),
  });
  try {
    await client.bind(dn, password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function generalizedTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

// ---------------------------------------------------------------------------------------------
// Active Directory (Samba AD DC)

export async function startActiveDirectoryUnderTest(): Promise<DirectoryUnderTest> {
  const ad = await startThrowawaySambaAd();
  const usersBase = `CN=Users,${ad.baseDN}`;
  const dnOf = (key: PersonKey) => `CN=${PEOPLE[key].givenName} ${PEOPLE[key].sn},${usersBase}`;
  const service = { uid: 'bridge-reader', password: `Pw1!svc-${randomSecret()}` };
  const withDomainAdmin = async <T>(work: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({
      url: ad.ldapsUrl,
      timeout: 10_000,
      connectTimeout: 5000,
      tlsOptions: { ca: [readFileSync(ad.caCertPath)] },
    });
    try {
      await client.bind(ad.adminUpn, ad.adminPassword);
      return await work(client);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  };
  const unicodePwd = (password: string) => Buffer.from(`"${password}"`, 'utf16le');
  try {
    await withDomainAdmin(async (client) => {
      const addUser = async (cn: string, sAMAccountName: string, password: string, extra: Record<string, string>) => {
        const dn = `CN=${cn},${usersBase}`;
        await client.add(dn, [
          new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
          new Attribute({ type: 'sAMAccountName', values: [sAMAccountName] }),
          new Attribute({ type: 'userPrincipalName', values: [`${sAMAccountName}@${ad.dnsDomain}`] }),
          ...Object.entries(extra).map(([type, value]) => new Attribute({ type, values: [value] })),
        ]);
        // A password over LDAPS, then the account enabled (NORMAL_ACCOUNT), as AD requires.
        await client.modify(dn, [
          replace('unicodePwd', [unicodePwd(password)]),
          replace('userAccountControl', ['512']),
        ]);
      };
      await addUser('bridge-reader', service.uid, service.password, {
        description: 'auth0-ldap-bridge service account',
      });
      for (const p of Object.values(PEOPLE)) {
        await addUser(`${p.givenName} ${p.sn}`, p.uid, p.password, {
          givenName: p.givenName,
          sn: p.sn,
          displayName: `${p.givenName} ${p.sn}`,
          mail: p.mail,
        });
      }
      const groupDN = (cn: string) => `CN=${cn},${usersBase}`;
      for (const group of GROUPS) {
        await client.add(groupDN(group.cn), [
          new Attribute({ type: 'objectClass', values: ['top', 'group'] }),
          new Attribute({ type: 'sAMAccountName', values: [group.cn] }),
        ]);
      }
      for (const group of GROUPS) {
        const members = [...group.users.map(dnOf), ...group.groups.map(groupDN)];
        await client.modify(groupDN(group.cn), [addValues('member', members)]);
      }
      await client.modify(dnOf('dora'), [replace('userAccountControl', ['514'])]); // ACCOUNTDISABLE
      await client.modify(dnOf('eve'), [replace('accountExpires', [filetime(new Date(Date.now() - 86_400_000))])]);
      await client.modify(dnOf('mike'), [replace('pwdLastSet', ['0'])]); // must change at next logon
    });
    // An expired password: pat's own policy allows 2 days, and the password was set 3 days ago.
    await ad.tool([
      'domain',
      'passwordsettings',
      'pso',
      'create',
      'two-days',
      '1',
      '--max-pwd-age=2',
      '--min-pwd-age=0',
      '--complexity=off',
    ]);
    await ad.tool(['domain', 'passwordsettings', 'pso', 'apply', 'two-days', PEOPLE.pat.uid]);
    await ad.tool(['user', 'setpassword', PEOPLE.pat.uid, `--newpassword=${PEOPLE.pat.password}`], { daysAgo: 3 });
    // Locked out: lou's own policy locks after 2 failures, and lou failed twice.
    await ad.tool([
      'domain',
      'passwordsettings',
      'pso',
      'create',
      'lock-fast',
      '2',
      '--account-lockout-threshold=2',
      '--account-lockout-duration=30',
      '--reset-account-lockout-after=30',
    ]);
    await ad.tool(['domain', 'passwordsettings', 'pso', 'apply', 'lock-fast', PEOPLE.lou.uid]);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const client = new Client({ url: ad.ldapUrl, timeout: 5000, connectTimeout: 5000 });
      await client.bind(dnOf('lou'), 'not-the-password').catch(() => undefined);
      await client.unbind().catch(() => undefined);
    }
    // The domain's own lockout policy (everyone else, sam and tom included): 5 failures lock for an hour.
    await ad.tool([
      'domain',
      'passwordsettings',
      'set',
      `--account-lockout-threshold=${LOCKOUT_THRESHOLD}`,
      '--account-lockout-duration=60',
      '--reset-account-lockout-after=60',
    ]);

    return {
      kind: 'active-directory',
      env: {
        LDAP_URLS: ad.ldapsUrl,
        LDAP_CA_CERT: ad.caCertPath,
        LDAP_BASE_DN: ad.baseDN, // the domain root: AD answers with referrals to its other partitions too
        LDAP_BIND_DN: `${service.uid}@${ad.dnsDomain}`,
        LDAP_BIND_PASSWORD: service.password,
        LDAP_PRESET: 'active-directory',
      },
      loginNames: (key) => [PEOPLE[key].uid, `${PEOPLE[key].uid}@${ad.dnsDomain}`, PEOPLE[key].mail],
      directBind: (key, password) => bindsAs(ad.ldapsUrl, dnOf(key), password, readFileSync(ad.caCertPath)),
      identity: async (key) => {
        // samba-tool prints objectGUID in the standard form: an independent check of the byte order.
        const shown = await ad.tool(['user', 'show', PEOPLE[key].uid, '--attributes=objectGUID']);
        const guid = /^objectGUID: (\S+)$/m.exec(shown)?.[1];
        if (!guid) throw new Error(`samba-tool user show printed no objectGUID:\n${shown}`);
        return { dn: dnOf(key), userId: guid };
      },
      stop: () => ad.stop(),
    };
  } catch (error) {
    await ad.stop();
    throw error;
  }
}
