// The one enumeration of the directory that export, progress and sync-leavers share: every entry
// the user filter finds, read page by page, each mapped with the same profile as /login and
// /get-user (profileOf), kept out the same way (hiddenStateOf), and with its account state as the
// bridge judges it (accountStateOf) whatever LDAP_HIDE_INACTIVE_USERS says, so that progress and
// sync-leavers can tell a disabled or expired account from an active one. Core: the directory is a
// port; entry/run-migration-checks.ts gives it the LDAP adapter.
import { DirectoryDataError, type AccountStateCode } from '../../contract/errors.ts';
import { accountStateOf, INACTIVE_STATES } from '../directory/account-states.ts';
import type { GroupDirectory, GroupParentsCache } from '../directory/groups.ts';
import type { Logger } from '../ports.ts';
import { hiddenStateOf, profileOf, type UserProfileSettings } from '../profile/build-profile.ts';
import { type Auth0Profile, type DirectoryEntry, mapEntryToProfile } from '../profile/map-entry.ts';
import { type ExportedEntry, passwordForExport } from './import-files.ts';

/** What the enumeration needs of the directory: paged reads of every user, and the group lookups of profileOf. */
export interface UserListing extends GroupDirectory {
  /** Pages of entries matching an already-escaped filter under the base DN; throws when the directory stops answering. */
  listUsers(filter: string, pageSize: number, extraAttributes?: string[]): AsyncIterable<DirectoryEntry[]>;
}

/** One directory entry as export, progress and sync-leavers see it. */
export interface DirectoryUser extends ExportedEntry {
  /**
   * The profile's user_id (with LDAP_USER_ID_PREFIX), also for an entry kept out as inactive;
   * undefined when the entry has no stable identifier (profile then says why).
   */
  userId?: string;
  /** The account state the bridge's rules give the entry (disabled, expired, ...); undefined: in good standing. */
  state?: AccountStateCode;
}

export interface EnumerationOptions {
  /** The user filter with a presence test where the username goes, or export's --filter. */
  filter: string;
  pageSize: number;
  /** Read userPassword and map it for Auth0's import (export only: the others never read a hash). */
  passwords: boolean;
  /**
   * Resolve each user's groups (export and progress, whose long tail is by group). sync-leavers
   * needs only user_id and account state, and skips the group searches.
   */
  groups: boolean;
  /** Called after each page with the entries read so far. */
  onPage?: (entriesRead: number) => void;
  /** Checked between pages: the enumeration stops with the signal's reason. */
  signal?: AbortSignal;
}

export interface EnumerationSources {
  directory: UserListing;
  logger: Logger;
  groupParents?: GroupParentsCache | undefined;
}

/**
 * Every entry the filter finds, in the directory's order. A directory that stops answering
 * part-way fails the whole enumeration (the adapter throws): a partial list must never be read
 * as "these users are gone".
 */
export async function enumerateDirectoryUsers(
  settings: UserProfileSettings,
  sources: EnumerationSources,
  options: EnumerationOptions,
  now: Date,
): Promise<DirectoryUser[]> {
  const users: DirectoryUser[] = [];
  const extra = options.passwords ? ['userPassword'] : [];
  for await (const page of sources.directory.listUsers(options.filter, options.pageSize, extra)) {
    options.signal?.throwIfAborted();
    for (const entry of page) users.push(await directoryUserOf(entry, settings, sources, options, now));
    options.onPage?.(users.length);
  }
  return users;
}

async function directoryUserOf(
  entry: DirectoryEntry,
  settings: UserProfileSettings,
  sources: EnumerationSources,
  options: EnumerationOptions,
  now: Date,
): Promise<DirectoryUser> {
  const state = accountStateOf(entry, settings.accountStates, now);
  const password = options.passwords ? passwordForExport(entry, settings.accountStates, now) : undefined;
  const base = { dn: entry.dn, password, ...(state === undefined ? {} : { state }) };
  // The profile without groups first (no group search): its user_id matches the entry with its Auth0 user.
  const withoutGroups = profileWithoutGroups(entry, settings);
  const hidden = hiddenStateOf(entry, settings, now);
  if (hidden !== undefined)
    return {
      ...base,
      ...('user_id' in withoutGroups ? { userId: withoutGroups.user_id } : {}),
      profile: { inactive: hidden },
    };
  if ('error' in withoutGroups) return { ...base, profile: withoutGroups };
  const userId = withoutGroups.user_id;
  if (!options.groups) return { ...base, userId, profile: withoutGroups };
  try {
    return { ...base, userId, profile: await profileOf(entry, settings, sources) };
  } catch (error) {
    if (error instanceof DirectoryDataError) return { ...base, userId, profile: { error: error.message } };
    throw error; // the directory stopped answering: the enumeration fails rather than drop users
  }
}

function profileWithoutGroups(entry: DirectoryEntry, settings: UserProfileSettings): Auth0Profile | { error: string } {
  try {
    return mapEntryToProfile(entry, settings.mapping, []);
  } catch (error) {
    if (error instanceof DirectoryDataError) return { error: error.message };
    throw error;
  }
}

/** Whether the bridge would let this account log in at all: not disabled, not expired. */
export function isActive(user: Pick<DirectoryUser, 'state'>): boolean {
  return user.state === undefined || !INACTIVE_STATES.has(user.state);
}
