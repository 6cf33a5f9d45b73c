// The whole of "directory entry -> Auth0 user" that every path shares: /login, /get-user and the
// bulk exporter call these two functions and nothing else, so a user reaches Auth0 with the same
// profile and groups whichever way they migrate, and an inactive account is kept out the same way.
import { accountStateOf, INACTIVE_STATES, type AccountStateRules } from '../directory/account-states.ts';
import type { AccountStateCode } from '../../contract/errors.ts';
import { resolveGroups, type GroupDirectory, type GroupParentsCache, type GroupSettings } from '../directory/groups.ts';
import type { Logger } from '../ports.ts';
import { mapEntryToProfile, type Auth0Profile, type DirectoryEntry, type ProfileMapping } from './map-entry.ts';

export interface UserProfileSettings {
  mapping: ProfileMapping;
  groups: GroupSettings;
  accountStates: AccountStateRules;
  /** Leave disabled and expired accounts out of /get-user and the export. */
  hideInactiveUsers: boolean;
}

/** Where a profile's groups come from, and where a cut-short group walk is reported. */
export interface ProfileSources {
  directory: GroupDirectory;
  logger: Logger;
  /** The process's memory of which groups contain which (nested groups); none: every level is searched. */
  groupParents?: GroupParentsCache | undefined;
}

/** The profile with the user's groups. Throws DirectoryUnavailable when the group lookup cannot be answered. */
export async function profileOf(
  entry: DirectoryEntry,
  settings: UserProfileSettings,
  { directory, logger, groupParents }: ProfileSources,
): Promise<Auth0Profile> {
  const groups = await resolveGroups(entry, settings.groups, directory, groupParents);
  if (groups.truncated) {
    const limit = groups.truncated === 'depth' ? 'LDAP_GROUP_MAX_DEPTH' : 'LDAP_GROUP_MAX_COUNT';
    logger.warn('group lookup stopped at a limit; the profile lists the groups found so far', {
      user_dn: entry.dn,
      limit,
      groups: groups.dns.length,
    });
  }
  return mapEntryToProfile(entry, settings.mapping, groups.dns);
}

/**
 * The state that keeps this entry out of /get-user and the export (disabled, expired), or
 * undefined when it may be returned: a disabled directory user must not enter Auth0 through
 * "forgot password" or a bulk import.
 */
export function hiddenStateOf(
  entry: DirectoryEntry,
  settings: UserProfileSettings,
  now: Date,
): AccountStateCode | undefined {
  if (!settings.hideInactiveUsers) return undefined;
  const state = accountStateOf(entry, settings.accountStates, now);
  return state !== undefined && INACTIVE_STATES.has(state) ? state : undefined;
}
