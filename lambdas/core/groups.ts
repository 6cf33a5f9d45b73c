// A user's groups, direct and nested, the same way on every path (/login, /get-user, export).
// Three ways to find them, chosen per directory:
// - member-of: the DNs in one attribute of the user entry (memberOf), as the server keeps it;
// - nested: group entries that list the user (member / uniqueMember), then the groups that list
//   those groups, level by level, with a depth and a count limit and loops ignored;
// - in-chain: Active Directory walks the nesting itself (LDAP_MATCHING_RULE_IN_CHAIN).
// The core builds every filter (values escaped) and does the walking; the directory only runs
// searches, so one algorithm serves every server.
import { escapeFilterValue } from './ldap-filter.ts';
import type { DirectoryEntry } from './profile.ts';

/** Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: transitive membership, evaluated by the server. */
export const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';

export const GROUP_MODES = ['none', 'member-of', 'nested', 'in-chain'] as const;
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
  /** Optional extra filter: only groups matching it are exported (the walk still goes through the others). */
  filter: string | undefined;
  /** nested: levels walked, direct membership being level 1. */
  maxDepth: number;
  /** Groups collected at most; beyond it the walk stops and says so. */
  maxCount: number;
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

/** How many DNs go into one OR filter: keeps filters well under servers' request size limits. */
const DNS_PER_SEARCH = 50;

/** The attributes a user search must ask for so the groups can be found. */
export function groupAttributes(settings: GroupSettings): string[] {
  return settings.mode === 'member-of' ? [settings.memberOfAttribute] : [];
}

export async function resolveGroups(entry: DirectoryEntry, settings: GroupSettings, directory: GroupDirectory): Promise<GroupMembership> {
  switch (settings.mode) {
    case 'none':
      return { dns: [] };
    case 'member-of':
      return limitCount(uniqueSorted(entry.attributes[settings.memberOfAttribute.toLowerCase()] ?? []), settings.maxCount);
    case 'in-chain': {
      const filter = and(settings.objectFilter, `(member:${IN_CHAIN_RULE}:=${escapeFilterValue(entry.dn)})`, settings.filter);
      const result = await directory.findGroupDNs(settings.baseDN, filter, settings.maxCount);
      const limited = limitCount(uniqueSorted(result.dns), settings.maxCount);
      return result.complete ? limited : { dns: limited.dns, truncated: 'count' };
    }
    case 'nested':
      return walkNestedGroups(entry.dn, settings, directory);
  }
}

async function walkNestedGroups(userDN: string, settings: GroupSettings, directory: GroupDirectory): Promise<GroupMembership> {
  const found = new Map<string, string>(); // normalised DN -> DN as the server wrote it
  const userKey = normaliseDN(userDN);
  let frontier = [userDN];
  let truncated: GroupMembership['truncated'];
  for (let depth = 1; frontier.length > 0; depth += 1) {
    if (depth > settings.maxDepth) {
      truncated = 'depth';
      break;
    }
    const parents = await groupsListingAny(frontier, settings.objectFilter, settings, directory);
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
    const listing = await groupsListingAny([userDN, ...dns], and(settings.objectFilter, settings.filter), settings, directory);
    const matching = new Set((listing ?? []).map(normaliseDN));
    dns = dns.filter((dn) => matching.has(normaliseDN(dn)));
    if (listing === undefined) truncated = 'count';
  }
  return { dns: uniqueSorted(dns), ...(truncated ? { truncated } : {}) };
}

/** Groups (matching `groupFilter`) that list any of `memberDNs`; undefined when more than the count limit match. */
async function groupsListingAny(memberDNs: string[], groupFilter: string, settings: GroupSettings, directory: GroupDirectory): Promise<string[] | undefined> {
  const results: string[] = [];
  for (let start = 0; start < memberDNs.length; start += DNS_PER_SEARCH) {
    const batch = memberDNs.slice(start, start + DNS_PER_SEARCH);
    const members = batch.flatMap((dn) => settings.memberAttributes.map((attribute) => `(${attribute}=${escapeFilterValue(dn)})`));
    const result = await directory.findGroupDNs(settings.baseDN, and(groupFilter, `(|${members.join('')})`), settings.maxCount);
    if (!result.complete) return undefined;
    results.push(...result.dns);
  }
  return results;
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
