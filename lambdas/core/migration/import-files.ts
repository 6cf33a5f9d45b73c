// Turns exported directory users into Auth0 user-import files: the same profile as /login and
// /get-user (mapEntryToProfile), in Auth0's import schema, with the password hash where one can
// be imported. Nothing is dropped silently: every entry is either in a file or in `skipped` with
// a reason. Files are at most `maxFileBytes` (Auth0: 500 KB), split on user boundaries, in a
// deterministic order (by user_id), so two exports of an unchanged directory are identical.
import type { AccountStateCode } from '../../contract/errors.ts';
import { accountStateOf, type AccountStateRules } from '../directory/account-states.ts';
import type { Auth0Profile, DirectoryEntry } from '../profile/map-entry.ts';
import { type Auth0CustomPasswordHash, mapUserPassword, type PasswordHashMapping } from './password-hashes.ts';

/** Auth0's bulk import limit for one file. */

/** Where `export` writes and `import` reads unless told otherwise (git-ignored). */
export const DEFAULT_EXPORT_DIR = 'export';

/** The name of the n-th import file (1-based): users-0001.json. */
export function importFileName(index: number): string {
  return `users-${String(index).padStart(4, '0')}.json`;
}

/** Whether a file name is one of the import files the exporter writes. */
export function isImportFileName(name: string): boolean {
  return /^users-\d{4}\.json$/.test(name);
}

/**
 * The password an entry is exported with: its hash mapped for Auth0, unless an administrator
 * required a new password (ppolicy / 389-ds pwdReset, AD "must change at next logon"): importing
 * the old hash would undo that, so the user is exported without one and sets a new password by
 * reset (or at the directory) before migrating.
 */
export function passwordForExport(
  entry: DirectoryEntry,
  accountStates: AccountStateRules,
  now: Date,
): PasswordHashMapping | undefined {
  if (accountStateOf(entry, accountStates, now) === 'password_change_required') {
    return {
      kind: 'withheld',
      reason:
        'an administrator required a password change: the old hash is not exported, so the user sets a new password (reset) to migrate',
    };
  }
  return mapUserPassword(entry.attributes.userpassword ?? []);
}

export const MAX_IMPORT_FILE_BYTES = 500 * 1024;

export interface ExportedEntry {
  dn: string;
  /** The mapped profile, why the entry could not be mapped (e.g. no stable identifier), or the state that keeps it out. */
  profile: Auth0Profile | { error: string } | { inactive: AccountStateCode };
  /** The userPassword mapping; undefined when the export account could not read a password. */
  password: PasswordHashMapping | undefined;
}

export interface ImportUser {
  email: string;
  email_verified?: boolean;
  user_id: string;
  username?: string;
  given_name?: string;
  family_name?: string;
  name?: string;
  nickname?: string;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
  custom_password_hash?: Auth0CustomPasswordHash;
}

export type SkipReason = 'inactive' | 'unmappable' | 'no_email' | 'invalid_email' | 'duplicate_email' | 'too_large';

export interface SkippedEntry {
  dn: string;
  reason: SkipReason;
  detail: string;
}

export interface ImportPlan {
  users: ImportUser[];
  skipped: SkippedEntry[];
  /** Users exported without a password hash, and why (they migrate on login or by reset). */
  withoutPassword: Array<{ dn: string; detail: string }>;
  /** How many exported users carry each password scheme. */
  passwordSchemes: Record<string, number>;
}

const EMAIL = /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+\.[^\s@"(),:;<>[\\\]]+$/;

export function planImport(entries: readonly ExportedEntry[]): ImportPlan {
  const skipped: SkippedEntry[] = [];
  const candidates: Array<{ dn: string; user: ImportUser; password: PasswordHashMapping | undefined }> = [];
  for (const entry of entries) {
    if ('inactive' in entry.profile) {
      skipped.push({
        dn: entry.dn,
        reason: 'inactive',
        detail: `${entry.profile.inactive}: the directory has switched this account off (LDAP_HIDE_INACTIVE_USERS)`,
      });
      continue;
    }
    if ('error' in entry.profile) {
      skipped.push({ dn: entry.dn, reason: 'unmappable', detail: entry.profile.error });
      continue;
    }
    const { email, app_metadata, user_metadata, ...rest } = entry.profile;
    if (email === undefined) {
      skipped.push({
        dn: entry.dn,
        reason: 'no_email',
        detail: 'Auth0 requires an email to import a user; this user can still migrate by logging in',
      });
      continue;
    }
    if (email.length > 254 || !EMAIL.test(email)) {
      skipped.push({
        dn: entry.dn,
        reason: 'invalid_email',
        detail: `"${email}" is not an email address Auth0 accepts`,
      });
      continue;
    }
    const user: ImportUser = {
      ...rest,
      email,
      app_metadata: { ...app_metadata },
      ...(user_metadata ? { user_metadata } : {}),
    };
    if (entry.password?.kind === 'mapped') user.custom_password_hash = entry.password.customPasswordHash;
    candidates.push({ dn: entry.dn, user, password: entry.password });
  }

  // Auth0 compares emails case-insensitively and rejects duplicates; importing one of them would
  // be "picking the first". All of them are reported, to be resolved in the directory first.
  const byEmail = new Map<string, typeof candidates>();
  for (const candidate of candidates) {
    const key = candidate.user.email.toLowerCase();
    byEmail.set(key, [...(byEmail.get(key) ?? []), candidate]);
  }
  const users: ImportUser[] = [];
  const withoutPassword: ImportPlan['withoutPassword'] = [];
  const passwordSchemes: Record<string, number> = {};
  for (const group of byEmail.values()) {
    if (group.length > 1) {
      const dns = group.map((candidate) => candidate.dn).sort();
      for (const candidate of group) {
        skipped.push({
          dn: candidate.dn,
          reason: 'duplicate_email',
          detail: `${candidate.user.email} is shared by ${dns.join('; ')}`,
        });
      }
      continue;
    }
    const [only] = group as [(typeof candidates)[number]];
    users.push(only.user);
    if (only.password?.kind === 'mapped')
      passwordSchemes[only.password.scheme] = (passwordSchemes[only.password.scheme] ?? 0) + 1;
    else
      withoutPassword.push({
        dn: only.dn,
        detail: only.password?.reason ?? 'no userPassword readable by the export account',
      });
  }
  users.sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0));
  skipped.sort((a, b) => (a.dn < b.dn ? -1 : a.dn > b.dn ? 1 : 0));
  withoutPassword.sort((a, b) => (a.dn < b.dn ? -1 : a.dn > b.dn ? 1 : 0));
  return { users, skipped, withoutPassword, passwordSchemes };
}

/**
 * The users as JSON array texts of at most `maxFileBytes` bytes each (UTF-8), split between
 * users. A user who alone exceeds the limit is returned in `tooLarge` instead.
 */
export function splitIntoImportFiles(
  users: readonly ImportUser[],
  maxFileBytes = MAX_IMPORT_FILE_BYTES,
): { files: string[]; tooLarge: ImportUser[] } {
  const files: string[] = [];
  const tooLarge: ImportUser[] = [];
  let current: string[] = [];
  let currentBytes = 2; // "[" and "]"
  for (const user of users) {
    const text = JSON.stringify(user);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes + 2 > maxFileBytes) {
      tooLarge.push(user);
      continue;
    }
    const added = bytes + (current.length > 0 ? 1 : 0); // the comma
    if (currentBytes + added > maxFileBytes) {
      files.push(`[${current.join(',')}]`);
      current = [];
      currentBytes = 2;
    }
    currentBytes += bytes + (current.length > 0 ? 1 : 0);
    current.push(text);
  }
  if (current.length > 0) files.push(`[${current.join(',')}]`);
  return { files, tooLarge };
}
