// Seeds a directory through the running server (so the memberof overlay computes memberOf):
// the tree, the service accounts, and users and groups. Used by `npm start` (demo users) and
// by the tests (their own fixtures).
import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'ldapts';

export interface SeedUser {
  uid: string;
  password: string;
  cn: string;
  sn: string;
  givenName?: string;
  mail?: string;
  /** Extra attributes, e.g. { employeeNumber: '42', telephoneNumber: ['1', '2'] }. */
  extra?: Record<string, string | string[]>;
}

export interface SeedGroup {
  cn: string;
  /** uids of member users. */
  members: string[];
  /** cns of member groups (nesting); list a group before the groups that contain it. */
  groups?: string[];
}

export interface DirectoryAdmin {
  url: string;
  caCertPath?: string;
  suffix: string;
  rootDN: string;
  rootPassword: string;
}

export const DEMO_USERS: SeedUser[] = [
  {
    uid: 'alice',
    password: 'alice-demo-password',
    cn: 'Alice Anderson',
    givenName: 'Alice',
    sn: 'Anderson',
    mail: 'alice@example.test',
    extra: { employeeNumber: '1001' },
  },
  {
    uid: 'bob',
    password: 'bob-demo-password',
    cn: 'Bob Brown',
    givenName: 'Bob',
    sn: 'Brown',
    mail: 'bob@example.test',
    extra: { employeeNumber: '1002' },
  },
];

export const DEMO_GROUPS: SeedGroup[] = [
  { cn: 'engineering', members: ['alice'] },
  { cn: 'staff', members: ['alice', 'bob'] },
];

export const peopleDN = (suffix: string) => `ou=people,${suffix}`;
export const userDN = (uid: string, suffix: string) => `uid=${escapeDnValue(uid)},${peopleDN(suffix)}`;
export const groupDN = (cn: string, suffix: string) => `cn=${escapeDnValue(cn)},ou=groups,${suffix}`;

/** RFC 4514 escaping of an attribute value inside a DN. */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (char) => `\\${char}`)
    .replace(/^[ #]/, (char) => `\\${char}`)
    .replace(/ $/, '\\ ');
}

/** An RFC 2307 {SSHA} value, as OpenLDAP stores passwords by default. */
export function sshaHash(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

export async function withAdmin<T>(admin: DirectoryAdmin, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: admin.url, timeout: 5000, connectTimeout: 5000 });
  try {
    await client.bind(admin.rootDN, admin.rootPassword);
    return await work(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** The tree and the two service accounts: bridge-reader (search) and bridge-exporter (reads hashes). */
export async function seedTree(admin: DirectoryAdmin, servicePassword: string): Promise<void> {
  const { suffix } = admin;
  const dc = /^dc=([^,]+)/.exec(suffix)?.[1] ?? 'example';
  await withAdmin(admin, async (client) => {
    await client.add(suffix, { objectClass: ['top', 'dcObject', 'organization'], dc, o: 'Example' });
    for (const ou of ['people', 'groups', 'services', 'policies']) {
      await client.add(`ou=${ou},${suffix}`, { objectClass: ['top', 'organizationalUnit'], ou });
    }
    // The ppolicy overlay's default policy: no lockout and no forced change, so tests may repeat
    // wrong passwords and reset passwords; tests that need either give a user its own policy.
    await client.add(`cn=default,ou=policies,${suffix}`, {
      objectClass: ['top', 'device', 'pwdPolicy'],
      cn: 'default',
      pwdAttribute: 'userPassword',
      pwdMustChange: 'FALSE',
      pwdLockout: 'FALSE',
      pwdAllowUserChange: 'TRUE',
    });
    for (const cn of ['bridge-reader', 'bridge-exporter']) {
      await client.add(`cn=${cn},ou=services,${suffix}`, {
        objectClass: ['top', 'applicationProcess', 'simpleSecurityObject'],
        cn,
        userPassword: sshaHash(servicePassword),
      });
    }
  });
}

export async function addUsers(admin: DirectoryAdmin, users: SeedUser[]): Promise<void> {
  await withAdmin(admin, async (client) => {
    for (const user of users) {
      const attributes: Record<string, string | string[]> = {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: user.uid,
        cn: user.cn,
        sn: user.sn,
        userPassword: sshaHash(user.password),
        ...(user.givenName ? { givenName: user.givenName } : {}),
        ...(user.mail ? { mail: user.mail } : {}),
        ...user.extra,
      };
      await client.add(userDN(user.uid, admin.suffix), attributes);
    }
  });
}

export async function addGroups(admin: DirectoryAdmin, groups: SeedGroup[]): Promise<void> {
  await withAdmin(admin, async (client) => {
    for (const group of groups) {
      await client.add(groupDN(group.cn, admin.suffix), {
        objectClass: ['top', 'groupOfNames'],
        cn: group.cn,
        member: [
          ...group.members.map((uid) => userDN(uid, admin.suffix)),
          ...(group.groups ?? []).map((cn) => groupDN(cn, admin.suffix)),
        ],
      });
    }
  });
}
