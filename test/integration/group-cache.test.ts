// The nested group walk with its parents cache, against a real slapd whose groups this file
// changes: the user's own memberships are read on every login; what lies above them is
// remembered for LDAP_GROUP_CACHE_SECONDS and read again after it.
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupDN, userDN, withAdmin, type SeedUser } from '../../dev/directory-data.ts';
import { startSeededSlapd, type SeededSlapd } from '../../dev/seeded-slapd.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

const carol: SeedUser = {
  uid: 'carol',
  password: 'carol-password-1',
  cn: 'Carol',
  sn: 'C',
  mail: 'carol@example.test',
};
const CACHE_SECONDS = 2;
let seeded: SeededSlapd;
let stack: TestStack;
let uncached: TestStack;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  seeded = await startSeededSlapd({
    users: [carol],
    groups: [
      { cn: 'team', members: ['carol'] },
      { cn: 'division', members: [], groups: ['team'] },
      { cn: 'company', members: [], groups: ['division'] },
      { cn: 'projects', members: [], groups: ['division'] },
    ],
  });
  stack = await startTestStack(seeded.bridgeEnv({ LDAP_GROUP_CACHE_SECONDS: String(CACHE_SECONDS) }));
  uncached = await startTestStack(seeded.bridgeEnv({ LDAP_GROUP_CACHE_SECONDS: '0' }));
});
afterAll(async () => {
  await stack?.stop();
  await uncached?.stop();
  await seeded?.stop();
});

const groupsOf = async (target: TestStack, path: '/login' | '/get-user' = '/login') => {
  const response = await target.post(
    path,
    path === '/login' ? { username: carol.uid, password: carol.password } : { username: carol.uid },
  );
  expect(response.status).toBe(200);
  // A user in no group has no groups key at all (absent values are omitted).
  return ((await response.json()) as { app_metadata?: { groups?: string[] } }).app_metadata?.groups ?? [];
};
const setMembers = (group: string, members: string[]) =>
  withAdmin(seeded.admin, (client) =>
    client.modify(
      groupDN(group, seeded.admin.suffix),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'member', values: members }) }),
    ),
  );

describe('nested groups with the parents cache', () => {
  it('answers what the uncached walk answers, on both routes, warm or cold', async () => {
    const expected = ['company', 'division', 'projects', 'team'];
    expect(await groupsOf(uncached)).toEqual(expected);
    expect(await groupsOf(stack)).toEqual(expected);
    expect(await groupsOf(stack)).toEqual(expected);
    expect(await groupsOf(stack, '/get-user')).toEqual(expected);
  });

  it("warm, a login costs one group search (the user's own groups); uncached, one per level", async () => {
    await groupsOf(stack);
    const cachedBefore = stack.bridge.directory.stats.groupSearches;
    const uncachedBefore = uncached.bridge.directory.stats.groupSearches;
    await groupsOf(stack);
    await groupsOf(uncached);
    expect(stack.bridge.directory.stats.groupSearches - cachedBefore).toBe(1);
    // team -> division -> company, projects -> nothing above: four levels.
    expect(uncached.bridge.directory.stats.groupSearches - uncachedBefore).toBe(4);
  });

  it("sees a change to the user's own groups at once, and a change higher up after the cache time", async () => {
    await groupsOf(stack); // warm
    // Carol leaves team: her own membership, read on every login.
    await setMembers('team', [userDN('nobody', seeded.admin.suffix)]);
    try {
      expect(await groupsOf(stack)).toEqual([]);
    } finally {
      await setMembers('team', [userDN(carol.uid, seeded.admin.suffix)]);
    }
    expect(await groupsOf(stack)).toEqual(['company', 'division', 'projects', 'team']);

    // projects stops containing division: above carol's own groups, so remembered for a while.
    await setMembers('projects', [userDN('nobody', seeded.admin.suffix)]);
    expect(await groupsOf(uncached)).toEqual(['company', 'division', 'team']);
    await sleep(CACHE_SECONDS * 1000 + 200);
    expect(await groupsOf(stack)).toEqual(['company', 'division', 'team']);
  });
});
