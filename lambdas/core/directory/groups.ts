// A user's groups, direct and nested, the same way on every path (/login, /get-user, export).
// Three ways to find them, chosen per directory:
// - member-of: the DNs in one attribute of the user entry (memberOf), as the server keeps it;
// - nested: group entries that list the user (member / uniqueMember by DN, RFC 2307 memberUid by
//   uid), then the groups that list those groups, level by level, with a depth and a count limit
//   and loops ignored;
// - in-chain: Active Directory walks the nesting itself (LDAP_MATCHING_RULE_IN_CHAIN).
// The core builds every filter (values escaped) and does the walking; the directory only runs
// searches, so one algorithm serves every server.
// The nested walk reads the user's own memberships fresh on every call; what lies above them
// (which groups contain a group) can be remembered for a short time by a GroupParentsCache,
// because the hierarchy changes rarely and is shared by many users: a warm login then costs
// one group search instead of one per level.
import { escapeFilterValue } from './ldap-filter.ts';
import type { DirectoryEntry } from '../profile/map-entry.ts';

/** Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: transitive membership, evaluated by the server. */
export const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';

import { GROUP_MODES } from '../../contract/settings.ts';
export { GROUP_MODES };
export type GroupMode = (typeof GROUP_MODES)[number];

export interface GroupSettings {
  mode: GroupMode;
  /** member-of: the attribute of the user entry that lists group DNs. */
  memberOfAttribute: string;
  /** nested / in-chain: where group entries are searched (subtree). */
  baseDN: string;
  /** nested / in-chain: what a group entry is, e.g. (objectClass=groupOfNames). */
  objectFilter: string;
  /** nested: attributes of a group that hold member DNs. */
  memberAttributes: string[];
  /** nested: an attribute of a group that holds members' user names (RFC 2307 posixGroup memberUid), matched against the user's `uid`; undefined: none. */
  memberUidAttribute: string | undefined;
  /** Optional extra filter: only groups matching it are exported (the walk still goes through the others). */
  filter: string | undefined;
  /** nested: levels walked, direct membership being level 1. */
  maxDepth: number;
  /** Groups collected at most; beyond it the walk stops and says so. */
  maxCount: number;
  /** nested: seconds the groups containing a group may be remembered (0: never); the user's own memberships are always read. */
  cacheSeconds: number;
}

/** The searches the group walk needs from a directory. */
export interface GroupDirectory {
  /**
   * DNs of the entries under `baseDN` matching an already-escaped filter, at most `limit`.
   * `complete` is false when the directory holds more than `limit` matches (`dns` may then be
   * partial or empty: servers refuse a search past a size limit).
   */
  findGroupDNs(baseDN: string, filter: string, limit: number): Promise<GroupSearchResult>;
}

export interface GroupSearchResult {
  dns: string[];
  complete: boolean;
}

export interface GroupMembership {
  /** Group DNs, sorted, each once. */
  dns: string[];
  /** Set when a limit cut the walk short: what the operator should raise or narrow. */
  truncated?: 'depth' | 'count';
}

/** How many member tests go into one OR filter: keeps filters well under servers' request size limits. */
const TERMS_PER_SEARCH = 100;

/** The user attribute RFC 2307 groups name their members by. */
export const USER_NAME_ATTRIBUTE = 'uid';

/** Group searches one walk keeps in flight at once when the parents cache misses. */
const PARALLEL_GROUP_SEARCHES = 8;

/** The attributes a user search must ask for so the groups can be found. */
export function groupAttributes(settings: GroupSettings): string[] {
  if (settings.mode === 'member-of') return [settings.memberOfAttribute];
  if (settings.mode === 'nested' && settings.memberUidAttribute !== undefined) return [USER_NAME_ATTRIBUTE];
  return [];
}

/**
 * Which groups contain a group, remembered for `ttlMs` (at most `maxEntries` groups, the oldest
 * forgotten first). One cache serves one GroupSettings: the answers depend on its base DN,
 * object filter and member attributes. Concurrent walks that need the same group share one
 * search; a failed search is not remembered. The clock is passed in, so the core stays free of
 * hidden time.
 */
export class GroupParentsCache {
  private readonly entries = new Map<string, { expiresAt: number; parents: Promise<string[] | undefined> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The parents of the group with this normalised DN: remembered, or loaded (and remembered). */
  parentsOf(groupKey: string, load: () => Promise<string[] | undefined>): Promise<string[] | undefined> {
    const remembered = this.entries.get(groupKey);
    if (remembered && remembered.expiresAt > this.now()) return remembered.parents;
    this.entries.delete(groupKey);
    const parents = load();
    this.entries.set(groupKey, { expiresAt: this.now() + this.ttlMs, parents });
    parents.catch(() => {
      if (this.entries.get(groupKey)?.parents === parents) this.entries.delete(groupKey);
    });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return parents;
  }

  get size(): number {
    return this.entries.size;
  }
}

export async function resolveGroups(
  entry: DirectoryEntry,
  settings: GroupSettings,
  directory: GroupDirectory,
  parentsCache?: GroupParentsCache,
): Promise<GroupMembership> {
  switch (settings.mode) {
    case 'none':
      return { dns: [] };
    case 'member-of':
      return limitCount(
        uniqueSorted(entry.attributes[settings.memberOfAttribute.toLowerCase()] ?? []),
        settings.maxCount,
      );
    case 'in-chain': {
      const filter = and(
        settings.objectFilter,
        `(member:${IN_CHAIN_RULE}:=${escapeFilterValue(entry.dn)})`,
        settings.filter,
      );
      const result = await directory.findGroupDNs(settings.baseDN, filter, settings.maxCount);
      const limited = limitCount(uniqueSorted(result.dns), settings.maxCount);
      return result.complete ? limited : { dns: limited.dns, truncated: 'count' };
    }
    case 'nested':
      return walkNestedGroups(entry, settings, directory, parentsCache);
  }
}

async function walkNestedGroups(
  user: DirectoryEntry,
  settings: GroupSettings,
  directory: GroupDirectory,
  parentsCache: GroupParentsCache | undefined,
): Promise<GroupMembership> {
  const found = new Map<string, string>(); // normalised DN -> DN as the server wrote it
  const userKey = normaliseDN(user.dn);
  // How a group lists this user: by DN, and by uid where the groups are RFC 2307 posixGroups.
  const userTerms = [...memberTerms([user.dn], settings), ...userNameTerms(user, settings)];
  let frontier = [user.dn];
  let truncated: GroupMembership['truncated'];
  for (let depth = 1; frontier.length > 0; depth += 1) {
    if (depth > settings.maxDepth) {
      truncated = 'depth';
      break;
    }
    // Level 1 lists the user and is always read fresh; higher levels list groups only.
    const parents =
      depth === 1
        ? await groupsMatchingAny(userTerms, settings.objectFilter, settings, directory)
        : parentsCache
          ? await parentsOfEach(frontier, settings, directory, parentsCache)
          : await groupsMatchingAny(memberTerms(frontier, settings), settings.objectFilter, settings, directory);
    if (parents === undefined) {
      truncated = 'count'; // one level alone holds more groups than the limit
      break;
    }
    const next: string[] = [];
    for (const dn of uniqueSorted(parents)) {
      const key = normaliseDN(dn);
      if (found.has(key) || key === userKey) continue; // loops: a group reached twice is walked once
      if (found.size >= settings.maxCount) {
        truncated = 'count';
        break;
      }
      found.set(key, dn);
      next.push(dn);
    }
    if (truncated) break;
    frontier = next;
  }

  let dns = [...found.values()];
  if (settings.filter !== undefined && dns.length > 0) {
    // Which of the groups found match the filter: those listing the user or one of the groups.
    const listing = await groupsMatchingAny(
      [...userTerms, ...memberTerms(dns, settings)],
      and(settings.objectFilter, settings.filter),
      settings,
      directory,
    );
    const matching = new Set((listing ?? []).map(normaliseDN));
    dns = dns.filter((dn) => matching.has(normaliseDN(dn)));
    if (listing === undefined) truncated = 'count';
  }
  return { dns: uniqueSorted(dns), ...(truncated ? { truncated } : {}) };
}

/**
 * Groups (matching `groupFilter`) that satisfy any of the member tests, each once; undefined
 * when more than the count limit match. The same answer whether searched in batches or group by
 * group.
 */
async function groupsMatchingAny(
  terms: string[],
  groupFilter: string,
  settings: GroupSettings,
  directory: GroupDirectory,
): Promise<string[] | undefined> {
  const results: string[] = [];
  for (let start = 0; start < terms.length; start += TERMS_PER_SEARCH) {
    const result = await directory.findGroupDNs(
      settings.baseDN,
      and(groupFilter, `(|${terms.slice(start, start + TERMS_PER_SEARCH).join('')})`),
      settings.maxCount,
    );
    if (!result.complete) return undefined;
    results.push(...result.dns);
  }
  return withinCount(results, settings.maxCount);
}

/** Groups that list any of `groupDNs`, one cached search per group; undefined when more than the count limit. */
async function parentsOfEach(
  groupDNs: string[],
  settings: GroupSettings,
  directory: GroupDirectory,
  cache: GroupParentsCache,
): Promise<string[] | undefined> {
  const results: string[] = [];
  // A few groups at a time: a cold cache must not put hundreds of searches on the connection at once.
  for (let start = 0; start < groupDNs.length; start += PARALLEL_GROUP_SEARCHES) {
    const batch = groupDNs.slice(start, start + PARALLEL_GROUP_SEARCHES);
    const parentLists = await Promise.all(
      batch.map((dn) =>
        cache.parentsOf(normaliseDN(dn), async () => {
          const result = await directory.findGroupDNs(
            settings.baseDN,
            and(settings.objectFilter, `(|${memberTerms([dn], settings).join('')})`),
            settings.maxCount,
          );
          return result.complete ? result.dns : undefined;
        }),
      ),
    );
    for (const parents of parentLists) {
      if (parents === undefined) return undefined;
      results.push(...parents);
    }
  }
  return withinCount(results, settings.maxCount);
}

/** `(member=dn1)(uniqueMember=dn1)...`: a group lists one of these DNs; every value escaped. */
function memberTerms(memberDNs: string[], settings: GroupSettings): string[] {
  return memberDNs.flatMap((dn) =>
    settings.memberAttributes.map((attribute) => `(${attribute}=${escapeFilterValue(dn)})`),
  );
}

/** `(memberUid=alice)`: an RFC 2307 group lists the user by name (each of the entry's uid values). */
function userNameTerms(user: DirectoryEntry, settings: GroupSettings): string[] {
  if (settings.memberUidAttribute === undefined) return [];
  const names = user.attributes[USER_NAME_ATTRIBUTE] ?? [];
  return names
    .filter((name) => name !== '')
    .map((name) => `(${settings.memberUidAttribute}=${escapeFilterValue(name)})`);
}

function withinCount(dns: string[], maxCount: number): string[] | undefined {
  const unique = uniqueSorted(dns);
  return unique.length > maxCount ? undefined : unique;
}

function and(...filters: Array<string | undefined>): string {
  const present = filters.filter((filter): filter is string => filter !== undefined);
  return present.length === 1 ? (present[0] as string) : `(&${present.join('')})`;
}

function limitCount(dns: string[], maxCount: number): GroupMembership {
  return dns.length > maxCount ? { dns: dns.slice(0, maxCount), truncated: 'count' } : { dns };
}

/** Sorted by normalised DN, each group once, so every path yields the same list. */
function uniqueSorted(dns: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const dn of dns) {
    const key = normaliseDN(dn);
    if (!byKey.has(key)) byKey.set(key, dn);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, dn]) => dn);
}

/** DNs compare case-insensitively and without the optional spaces after separators. */
function normaliseDN(dn: string): string {
  return dn.toLowerCase().replace(/\s*([,+=])\s*/g, '$1');
}
