// Turns one directory entry into the Auth0 user profile. This is the only mapper: /login,
// /get-user and the bulk exporter all call mapEntryToProfile, so a user who migrates by
// logging in and one who migrates by "forgot password" or bulk import are identical in Auth0.
import { DirectoryDataError } from '../../contract/errors.ts';
import { firstRdnValue } from '../directory/dn.ts';

/** A directory entry as the adapters hand it to the core: attribute names lower-cased, every value a string. */
export interface DirectoryEntry {
  dn: string;
  attributes: Readonly<Record<string, readonly string[]>>;
}

/** The standard profile fields filled from one attribute each. */
export const PROFILE_FIELDS = ['email', 'username', 'name', 'given_name', 'family_name', 'nickname'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export interface ProfileMapping {
  /** Attribute holding the stable identifier (entryUUID, objectGUID, nsUniqueId). Never the DN. */
  userIdAttribute: string;
  /**
   * How the identifier is stored: `text`, or `guid` for Active Directory's 16-byte objectGUID,
   * which the directory adapter reads as bytes and renders as the standard GUID string.
   */
  userIdFormat: 'text' | 'guid';
  /** Prepended to the identifier; Auth0 stores `auth0|<prefix><id>`, unique across the tenant. Default none. */
  userIdPrefix: string;
  /** Attribute per standard field; null leaves the field out. */
  fields: Readonly<Record<ProfileField, string | null>>;
  /** What `email_verified` says when an email is present. Default false: the directory proves nothing about the mailbox. */
  emailVerified: boolean;
  /** How groups appear in app_metadata.groups: the group's name (first RDN value) or its whole DN. */
  groupsAs: 'name' | 'dn';
  /** Extra app_metadata keys -> attribute. Users cannot edit app_metadata in Auth0. */
  appMetadata: Readonly<Record<string, string>>;
  /** user_metadata keys -> attribute. Users may edit user_metadata: nothing access-related here. */
  userMetadata: Readonly<Record<string, string>>;
}

export interface Auth0Profile {
  user_id: string;
  email?: string;
  email_verified?: boolean;
  username?: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  app_metadata: { dn: string; groups?: string[]; [extra: string]: unknown };
  user_metadata?: Record<string, string | string[]>;
}

/** The attributes a search must ask for to build a profile (operational ones such as entryUUID are not sent unasked). */
export function attributesForProfile(mapping: ProfileMapping): string[] {
  const wanted = [
    mapping.userIdAttribute,
    ...Object.values(mapping.fields),
    ...Object.values(mapping.appMetadata),
    ...Object.values(mapping.userMetadata),
  ].filter((name): name is string => typeof name === 'string');
  const unique = new Map(wanted.map((name) => [name.toLowerCase(), name]));
  return [...unique.values()];
}

/**
 * The Auth0 profile of one entry and the DNs of its groups (groups.ts finds them). Absent or
 * empty attributes are left out, never `""` or `[]`. Throws DirectoryDataError when the entry
 * has no usable stable identifier.
 */
export function mapEntryToProfile(
  entry: DirectoryEntry,
  mapping: ProfileMapping,
  groupDNs: readonly string[],
): Auth0Profile {
  const userId = firstValue(entry, mapping.userIdAttribute);
  if (userId === undefined) {
    throw new DirectoryDataError(`entry has no ${mapping.userIdAttribute} to use as user_id`);
  }
  const profile: Auth0Profile = { user_id: `${mapping.userIdPrefix}${userId}`, app_metadata: { dn: entry.dn } };

  for (const field of PROFILE_FIELDS) {
    const attribute = mapping.fields[field];
    const value = attribute === null ? undefined : firstValue(entry, attribute);
    if (value === undefined) continue;
    profile[field] = value;
    if (field === 'email') profile.email_verified = mapping.emailVerified;
  }

  const groups = groupNames(groupDNs, mapping.groupsAs);
  if (groups.length > 0) profile.app_metadata.groups = groups;
  Object.assign(profile.app_metadata, metadataFrom(entry, mapping.appMetadata));

  const userMetadata = metadataFrom(entry, mapping.userMetadata);
  if (Object.keys(userMetadata).length > 0) profile.user_metadata = userMetadata;

  return reorder(profile);
}

function valuesOf(entry: DirectoryEntry, attribute: string): string[] {
  const values = entry.attributes[attribute.toLowerCase()] ?? [];
  return values.map((value) => value.trim()).filter((value) => value !== '');
}

/** Scalar fields take the first value the server sent; directories rarely have two mails, and the order is stable. */
function firstValue(entry: DirectoryEntry, attribute: string): string | undefined {
  return valuesOf(entry, attribute)[0];
}

function groupNames(groupDNs: readonly string[], groupsAs: 'name' | 'dn'): string[] {
  const names = groupDNs
    .map((dn) => dn.trim())
    .filter((dn) => dn !== '')
    .map((dn) => (groupsAs === 'dn' ? dn : firstRdnValue(dn)))
    .filter((name): name is string => name !== undefined);
  // Sorted and de-duplicated so every path (login, get-user, export) gives the same array.
  return [...new Set(names)].sort();
}

/** One value stays a string; several become an array, so a multi-valued attribute loses nothing. */
function metadataFrom(
  entry: DirectoryEntry,
  keys: Readonly<Record<string, string>>,
): Record<string, string | string[]> {
  const metadata: Record<string, string | string[]> = {};
  for (const [key, attribute] of Object.entries(keys)) {
    const values = valuesOf(entry, attribute);
    if (values.length === 1) metadata[key] = values[0] as string;
    else if (values.length > 1) metadata[key] = values;
  }
  return metadata;
}

/** A fixed key order, so the JSON of one user is byte-identical on every path. */
function reorder(profile: Auth0Profile): Auth0Profile {
  const ordered: Record<string, unknown> = {};
  for (const key of ['user_id', 'email', 'email_verified', ...PROFILE_FIELDS, 'app_metadata', 'user_metadata']) {
    const value = (profile as unknown as Record<string, unknown>)[key];
    if (value !== undefined && !(key in ordered)) ordered[key] = value;
  }
  return ordered as unknown as Auth0Profile;
}
