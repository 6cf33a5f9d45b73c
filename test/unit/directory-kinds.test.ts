// The pure parts of issue 5: GUID rendering, account-state rules, AD bind sub-codes and the group
// walk (against an in-memory group graph that counts the searches). The same behaviours run
// against real Samba AD, 389-ds and OpenLDAP in test/integration/directory-contract.test.ts.
import { describe, expect, it } from 'vitest';
import { accountStateOf, parseGeneralizedTime } from '../../lambdas/core/directory/account-states.ts';
import { formatWindowsGuid } from '../../lambdas/core/directory/guid.ts';
import {
  GroupParentsCache,
  resolveGroups,
  type GroupDirectory,
  type GroupSearchResult,
  type GroupSettings,
} from '../../lambdas/core/directory/groups.ts';
import type { DirectoryEntry } from '../../lambdas/core/profile/map-entry.ts';
import { bindOutcomeOf } from '../../lambdas/adapters/ldap-directory.ts';

const NOW = new Date('2026-11-23T12:00:00Z');
const entry = (attributes: Record<string, string[]>): DirectoryEntry => ({ dn: 'cn=u,dc=x', attributes });
/** Windows FILETIME (100 ns since 1601) of a date. */
const filetime = (date: Date) => String((BigInt(date.getTime()) + 11_644_473_600_000n) * 10_000n);

describe('formatWindowsGuid', () => {
  it('reads the first three groups little-endian, as Windows shows objectGUID', () => {
    // objectGUID:: 9BIJ9w83PkeO8zZPzbZqcw== as Samba returned it; samba-tool shows f70912f4-370f-473e-8ef3-364fcdb66a73.
    expect(formatWindowsGuid(Buffer.from('9BIJ9w83PkeO8zZPzbZqcw==', 'base64'))).toBe(
      'f70912f4-370f-473e-8ef3-364fcdb66a73',
    );
  });
  it('refuses anything but 16 bytes', () => {
    expect(() => formatWindowsGuid(new Uint8Array(15))).toThrow(/16 bytes/);
  });
});

describe('accountStateOf', () => {
  it.each([
    ['512', undefined],
    ['514', 'account_disabled'], // NORMAL_ACCOUNT | ACCOUNTDISABLE
    ['66050', 'account_disabled'], // + DONT_EXPIRE_PASSWORD
    ['-2147483646', 'account_disabled'], // a signed 32-bit value with bit 2 set
    ['garbage', 'account_disabled'],
  ])('Active Directory userAccountControl %s -> %s', (value, state) => {
    expect(accountStateOf(entry({ useraccountcontrol: [value] }), 'active-directory', NOW)).toBe(state);
  });

  it.each([
    ['0', undefined],
    ['9223372036854775807', undefined],
    [filetime(new Date('2027-01-01T00:00:00Z')), undefined],
    [filetime(new Date('2026-11-23T11:59:59Z')), 'account_expired'],
    ['not-a-number', 'account_expired'],
  ])('Active Directory accountExpires %s -> %s', (value, state) => {
    expect(
      accountStateOf(entry({ useraccountcontrol: ['512'], accountexpires: [value] }), 'active-directory', NOW),
    ).toBe(state);
  });

  it('389-ds: nsAccountLock true (any case) is disabled; pwdReset is a required change', () => {
    expect(accountStateOf(entry({ nsaccountlock: ['TRUE'] }), '389ds', NOW)).toBe('account_disabled');
    expect(accountStateOf(entry({ nsaccountlock: ['false'] }), '389ds', NOW)).toBeUndefined();
    expect(accountStateOf(entry({ pwdreset: ['TRUE'] }), '389ds', NOW)).toBe('password_change_required');
  });

  it('OpenLDAP: the permanent ppolicy lock is disabled, a timed lock is not; pwdEndTime and shadowExpire expire; pwdReset', () => {
    expect(accountStateOf(entry({ pwdaccountlockedtime: ['000001010000Z'] }), 'openldap', NOW)).toBe(
      'account_disabled',
    );
    expect(accountStateOf(entry({ pwdaccountlockedtime: ['20261123110000Z'] }), 'openldap', NOW)).toBeUndefined();
    expect(accountStateOf(entry({ pwdendtime: ['20261123115959Z'] }), 'openldap', NOW)).toBe('account_expired');
    expect(accountStateOf(entry({ pwdendtime: ['20261123123000+0100'] }), 'openldap', NOW)).toBe('account_expired');
    expect(accountStateOf(entry({ pwdendtime: ['20271231000000Z'] }), 'openldap', NOW)).toBeUndefined();
    expect(accountStateOf(entry({ shadowexpire: ['20000'] }), 'openldap', NOW)).toBe('account_expired'); // 2024-10-04
    expect(accountStateOf(entry({ shadowexpire: ['-1'] }), 'openldap', NOW)).toBeUndefined();
    expect(accountStateOf(entry({ pwdreset: ['TRUE'] }), 'openldap', NOW)).toBe('password_change_required');
    expect(accountStateOf(entry({ pwdaccountlockedtime: ['000001010000Z'] }), 'none', NOW)).toBeUndefined();
  });

  it('parses GeneralizedTime with optional minutes, seconds, fraction and offset', () => {
    expect(parseGeneralizedTime('20261123120000Z')?.toISOString()).toBe('2026-11-23T12:00:00.000Z');
    expect(parseGeneralizedTime('2026112312Z')?.toISOString()).toBe('2026-11-23T12:00:00.000Z');
    expect(parseGeneralizedTime('20261123120000.5-0230')?.toISOString()).toBe('2026-11-23T14:30:00.000Z');
    expect(parseGeneralizedTime('yesterday')).toBeUndefined();
  });
});

describe('bindOutcomeOf (AD sub-codes, one table)', () => {
  const ad = (data: string) =>
    `80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data ${data}, v1db1 Code: 0x31`;
  it.each([
    ['52e', { kind: 'invalid_credentials' }],
    ['525', { kind: 'invalid_credentials' }],
    ['530', { kind: 'invalid_credentials' }],
    ['531', { kind: 'invalid_credentials' }],
    ['775', { kind: 'invalid_credentials' }],
    ['532', { kind: 'account_state', state: 'password_expired' }],
    ['533', { kind: 'account_state', state: 'account_disabled' }],
    ['701', { kind: 'account_state', state: 'account_expired' }],
    ['773', { kind: 'account_state', state: 'password_change_required' }],
    ['5e9', { kind: 'invalid_credentials' }], // an unknown sub-code of 49 is still a refused password
  ])('49 with data %s', (data, outcome) => {
    expect(bindOutcomeOf(49, ad(data))).toEqual(outcome);
  });
  it('maps plain result codes without a sub-code; an unknown code is not an answer (503 upstream)', () => {
    expect(bindOutcomeOf(49, 'Invalid credentials Code: 0x31')).toEqual({ kind: 'invalid_credentials' });
    expect(bindOutcomeOf(53, 'Account inactivated. Contact system administrator.')).toEqual({
      kind: 'invalid_credentials',
    });
    expect(bindOutcomeOf(51, 'busy')).toBeUndefined();
  });
});

/**
 * An in-memory directory of groups: group DN -> member DNs, or `memberUid:<name>` for a member
 * listed by name. Answers the filters groups.ts builds.
 */
class GroupGraph implements GroupDirectory {
  readonly searches: string[] = [];
  constructor(
    private readonly members: Record<string, string[]>,
    private readonly matchingFilter: (dn: string) => boolean = () => true,
  ) {}
  async findGroupDNs(baseDN: string, filter: string, limit: number): Promise<GroupSearchResult> {
    this.searches.push(filter);
    const wanted = [...filter.matchAll(/\((member|uniqueMember|memberUid)=([^)]*)\)/g)].map(([, attribute, value]) =>
      `${attribute === 'memberUid' ? 'memberUid:' : ''}${unescapeFilterValue(value as string)}`.toLowerCase(),
    );
    const filtered = filter.includes('(cn=app-*)');
    const matches = Object.entries(this.members)
      .filter(([dn, members]) => dn.endsWith(baseDN) && members.some((member) => wanted.includes(member.toLowerCase())))
      .filter(([dn]) => !filtered || this.matchingFilter(dn))
      .map(([dn]) => dn);
    return { dns: matches.slice(0, limit), complete: matches.length <= limit };
  }
}
const unescapeFilterValue = (value: string) =>
  value.replace(/\\([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

const USER = 'uid=al\\,ice,ou=people,dc=x';
const g = (name: string) => `cn=${name},ou=groups,dc=x`;
const settings = (overrides: Partial<GroupSettings> = {}): GroupSettings => ({
  mode: 'nested',
  memberOfAttribute: 'memberOf',
  baseDN: 'dc=x',
  objectFilter: '(objectClass=groupOfNames)',
  memberAttributes: ['member', 'uniqueMember'],
  memberUidAttribute: undefined,
  filter: undefined,
  maxDepth: 10,
  maxCount: 1000,
  cacheSeconds: 60,
  ...overrides,
});

describe('resolveGroups', () => {
  const graph = () =>
    new GroupGraph({
      [g('staff')]: [USER],
      [g('engineering')]: [USER, g('platform')],
      [g('platform')]: [g('engineering')], // a loop
      [g('app-wiki')]: [g('platform')],
      [g('everyone')]: [g('staff'), g('app-wiki')],
      [g('unrelated')]: ['uid=bob,ou=people,dc=x'],
    });

  it('nested: walks level by level, through loops, each group once, sorted, with the DN escaped in the filter', async () => {
    const directory = graph();
    const result = await resolveGroups({ dn: USER, attributes: {} }, settings(), directory);
    expect(result).toEqual({ dns: [g('app-wiki'), g('engineering'), g('everyone'), g('platform'), g('staff')] });
    expect(directory.searches[0]).toBe(
      '(&(objectClass=groupOfNames)(|(member=uid=al\\5c,ice,ou=people,dc=x)(uniqueMember=uid=al\\5c,ice,ou=people,dc=x)))',
    );
    expect(directory.searches).toHaveLength(4); // levels: {engineering, staff} -> {everyone, platform} -> {app-wiki} -> {} (everyone again, ignored)
  });

  it('nested: stops at the depth limit and says so', async () => {
    const result = await resolveGroups({ dn: USER, attributes: {} }, settings({ maxDepth: 1 }), graph());
    expect(result).toEqual({ dns: [g('engineering'), g('staff')], truncated: 'depth' });
  });

  it('nested: stops at the count limit, deterministically, and says so', async () => {
    const result = await resolveGroups({ dn: USER, attributes: {} }, settings({ maxCount: 3 }), graph());
    expect(result).toEqual({ dns: [g('engineering'), g('everyone'), g('staff')], truncated: 'count' });
  });

  it('nested with a filter: walks through groups that do not match, keeps only those that do', async () => {
    const directory = new GroupGraph(
      { [g('staff')]: [USER], [g('app-wiki')]: [g('staff')], [g('app-mail')]: ['uid=bob,ou=people,dc=x'] },
      (dn) => dn.startsWith('cn=app-'),
    );
    const result = await resolveGroups({ dn: USER, attributes: {} }, settings({ filter: '(cn=app-*)' }), directory);
    expect(result).toEqual({ dns: [g('app-wiki')] });
  });

  it('in-chain: one search with the matching rule, the escaped DN and the filter', async () => {
    const searches: string[] = [];
    const directory: GroupDirectory = {
      async findGroupDNs(_base, filter, limit) {
        searches.push(`${filter} ${limit}`);
        return { dns: [g('b'), g('a'), g('A')], complete: true };
      },
    };
    const result = await resolveGroups(
      { dn: USER, attributes: {} },
      settings({ mode: 'in-chain', objectFilter: '(objectClass=group)', filter: '(cn=app-*)', maxCount: 5 }),
      directory,
    );
    expect(searches).toEqual([
      '(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=uid=al\\5c,ice,ou=people,dc=x)(cn=app-*)) 5',
    ]);
    expect(result).toEqual({ dns: [g('a'), g('b')] });
  });

  it('in-chain: more groups than the limit is said, not hidden', async () => {
    const directory: GroupDirectory = { findGroupDNs: async () => ({ dns: [g('a'), g('b')], complete: false }) };
    expect(
      await resolveGroups({ dn: USER, attributes: {} }, settings({ mode: 'in-chain', maxCount: 2 }), directory),
    ).toEqual({ dns: [g('a'), g('b')], truncated: 'count' });
  });

  it('nested: a level with more groups than the limit stops the walk with what was found before it', async () => {
    const many = Object.fromEntries(Array.from({ length: 5 }, (_, index) => [g(`wide-${index}`), [g('staff')]]));
    const directory = new GroupGraph({ [g('staff')]: [USER], ...many });
    expect(await resolveGroups({ dn: USER, attributes: {} }, settings({ maxCount: 3 }), directory)).toEqual({
      dns: [g('staff')],
      truncated: 'count',
    });
  });

  it('nested with a parents cache: the same answer as without, for every limit and filter', async () => {
    const filtered = () =>
      new GroupGraph(
        {
          [g('staff')]: [USER],
          [g('app-wiki')]: [g('staff')],
          [g('app-mail')]: [g('app-wiki')],
          [g('other')]: [g('app-mail')],
        },
        (dn) => dn.startsWith('cn=app-'),
      );
    const wide = () =>
      new GroupGraph({
        [g('staff')]: [USER],
        [g('team')]: [USER],
        ...Object.fromEntries(Array.from({ length: 3 }, (_, index) => [g(`wide-${index}`), [g('staff')]])),
        [g('wide-3')]: [g('team')],
      });
    const cases: Array<[() => GroupGraph, Partial<GroupSettings>]> = [
      [graph, {}],
      [graph, { maxDepth: 1 }],
      [graph, { maxDepth: 2 }],
      [graph, { maxCount: 3 }],
      [graph, { maxCount: 4 }],
      [filtered, { filter: '(cn=app-*)' }],
      [filtered, { filter: '(cn=app-*)', maxDepth: 2 }],
      // Each group's parents fit the limit, the level's together do not: both ways stop before the level.
      [wide, { maxCount: 3 }],
      [wide, { maxCount: 4 }],
      [wide, { maxCount: 6 }],
    ];
    for (const [directory, overrides] of cases) {
      const uncached = await resolveGroups({ dn: USER, attributes: {} }, settings(overrides), directory());
      const cache = new GroupParentsCache(60_000);
      const cold = await resolveGroups({ dn: USER, attributes: {} }, settings(overrides), directory(), cache);
      const warm = await resolveGroups({ dn: USER, attributes: {} }, settings(overrides), directory(), cache);
      expect(cold, JSON.stringify(overrides)).toEqual(uncached);
      expect(warm, JSON.stringify(overrides)).toEqual(uncached);
    }
  });

  it("nested with a parents cache: a warm walk searches only the user's own groups", async () => {
    const cache = new GroupParentsCache(60_000);
    const cold = graph();
    await resolveGroups({ dn: USER, attributes: {} }, settings(), cold, cache);
    // Level 1 for the user, then one search per group reached: engineering, staff, everyone, platform, app-wiki.
    expect(cold.searches).toHaveLength(6);
    expect(cold.searches.slice(1).every((filter) => !filter.includes('uid='))).toBe(true);
    const warm = graph();
    expect(await resolveGroups({ dn: USER, attributes: {} }, settings(), warm, cache)).toEqual({
      dns: [g('app-wiki'), g('engineering'), g('everyone'), g('platform'), g('staff')],
    });
    expect(warm.searches).toEqual([cold.searches[0]]);
    // Another user in the same groups: only their own level is searched.
    const bob = 'uid=bob,ou=people,dc=x';
    const other = new GroupGraph({ [g('staff')]: [bob], [g('everyone')]: [g('staff')] });
    expect(await resolveGroups({ dn: bob, attributes: {} }, settings(), other, cache)).toEqual({
      dns: [g('everyone'), g('staff')],
    });
    expect(other.searches).toHaveLength(1);
  });

  it('nested with a parents cache: concurrent walks share one search per group', async () => {
    const cache = new GroupParentsCache(60_000);
    const directory = graph();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => resolveGroups({ dn: USER, attributes: {} }, settings(), directory, cache)),
    );
    expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
    // 10 user-level searches, and each of the five groups searched once for all ten walks.
    expect(directory.searches.filter((filter) => filter.includes('uid='))).toHaveLength(10);
    expect(directory.searches.filter((filter) => !filter.includes('uid='))).toHaveLength(5);
  });

  it('parents cache: forgets after its time-to-live, does not remember failures, keeps at most its size', async () => {
    let now = 0;
    const cache = new GroupParentsCache(1000, 2, () => now);
    let loads = 0;
    const load = (parents: string[]) => async () => {
      loads += 1;
      return parents;
    };
    expect(await cache.parentsOf('a', load(['p']))).toEqual(['p']);
    expect(await cache.parentsOf('a', load(['changed']))).toEqual(['p']);
    now = 1001;
    expect(await cache.parentsOf('a', load(['changed']))).toEqual(['changed']);
    expect(loads).toBe(2);

    await expect(
      cache.parentsOf('b', async () => {
        throw new Error('directory down');
      }),
    ).rejects.toThrow('directory down');
    expect(await cache.parentsOf('b', load(['q']))).toEqual(['q']);

    await cache.parentsOf('c', load([]));
    expect(cache.size).toBe(2);
    expect(await cache.parentsOf('a', load(['reloaded']))).toEqual(['reloaded']); // the oldest, a, was forgotten
  });

  it('nested with memberUid: finds RFC 2307 groups that list the user by uid (escaped), and walks on from them by DN', async () => {
    const directory = new GroupGraph({
      [g('unix-admins')]: ['memberUid:al*ice'],
      [g('staff')]: [USER],
      [g('it')]: [g('unix-admins')], // a groupOfNames containing the posixGroup
      [g('someone-else')]: ['memberUid:bob'],
    });
    const alice = { dn: USER, attributes: { uid: ['al*ice'] } };
    expect(await resolveGroups(alice, settings({ memberUidAttribute: 'memberUid' }), directory)).toEqual({
      dns: [g('it'), g('staff'), g('unix-admins')],
    });
    expect(directory.searches[0]).toBe(
      '(&(objectClass=groupOfNames)(|(member=uid=al\\5c,ice,ou=people,dc=x)(uniqueMember=uid=al\\5c,ice,ou=people,dc=x)(memberUid=al\\2aice)))',
    );
    // Without the setting, only DN membership counts.
    expect(
      await resolveGroups(
        alice,
        settings(),
        new GroupGraph({ [g('unix-admins')]: ['memberUid:al*ice'], [g('staff')]: [USER] }),
      ),
    ).toEqual({ dns: [g('staff')] });
    // With a group filter, a group listing the user by uid is kept when it matches.
    const filtered = new GroupGraph({ [g('app-unix')]: ['memberUid:al*ice'], [g('app-wiki')]: [g('app-unix')] }, (dn) =>
      dn.startsWith('cn=app-'),
    );
    expect(
      await resolveGroups(alice, settings({ memberUidAttribute: 'memberUid', filter: '(cn=app-*)' }), filtered),
    ).toEqual({ dns: [g('app-unix'), g('app-wiki')] });
  });

  it('member-of reads the entry; none asks nothing', async () => {
    const directory = graph();
    const withMemberOf = { dn: USER, attributes: { memberof: [g('staff'), g('Engineering'), g('engineering')] } };
    expect(await resolveGroups(withMemberOf, settings({ mode: 'member-of' }), directory)).toEqual({
      dns: [g('Engineering'), g('staff')],
    });
    expect(await resolveGroups(withMemberOf, settings({ mode: 'none' }), directory)).toEqual({ dns: [] });
    expect(directory.searches).toEqual([]);
  });
});
