// How far the migration has come: the directory (export's enumeration and mapping) against the
// users Auth0 has in the connection (a users-export job), matched by user_id. Owns the diff that
// progress and sync-leavers share (migrated, not yet migrated, leavers and why), the reading of
// Auth0's export rows (which trusts nothing in them), and the figures of progress.json and
// progress.html: cumulative migrations per day, the share migrated, the projection to 95 % and the
// long tail by group and by container. Pure: no I/O, the clock is a parameter.
import type { AccountStateCode } from '../../contract/errors.ts';
import type { Auth0Profile } from '../profile/map-entry.ts';
import { type DirectoryUser, isActive } from './directory-users.ts';

/** Why a user Auth0 has should no longer log in: the directory disabled or expired the entry, or has none with that user_id. */
export type LeaverReason = 'account_disabled' | 'account_expired' | 'gone';

/** A user of the connection as Auth0's users-export job gives it, checked. */
export interface ConnectionUser {
  /** As Auth0 stores it: `auth0|` + the profile's user_id. */
  user_id: string;
  /** The profile's user_id (LDAP_USER_ID_PREFIX included): what the directory entry maps to. */
  profileUserId: string;
  email?: string;
  /** ISO time Auth0 created the user: the day it migrated. */
  created_at?: string;
  last_login?: string;
  blocked: boolean;
  app_metadata: Record<string, unknown>;
}

/**
 * The fields the users-export job is asked for (JSON format: app_metadata whole). The connection
 * is asked too, so that a row of another connection is recognised rather than trusted.
 */
export const CONNECTION_USER_FIELDS: ReadonlyArray<{ name: string; export_as?: string }> = [
  { name: 'user_id' },
  { name: 'email' },
  { name: 'created_at' },
  { name: 'last_login' },
  { name: 'blocked' },
  { name: 'app_metadata' },
  { name: 'identities[0].connection', export_as: 'connection' },
];

/** Export rows left out, and why: none of them is ever counted, blocked or unblocked. */
export interface IgnoredRows {
  /** Rows of another connection (a tenant-wide export, or a linked account). */
  otherConnection: number;
  /** Rows whose user_id is not a database user's (`auth0|...`). */
  notDatabaseUsers: string[];
  /** Users whose user_id does not start with LDAP_USER_ID_PREFIX: not from this directory. */
  notFromDirectory: string[];
  /** user_ids Auth0 listed more than once (the first row is kept). */
  duplicates: string[];
  /** Rows without a user_id, or that are not objects. */
  malformed: number;
}

const DATABASE_PREFIX = 'auth0|';

/**
 * The connection's users from the export job's rows. Rows are checked one by one: a row of
 * another connection, a user_id that is not a database user's or not from this directory (outside
 * LDAP_USER_ID_PREFIX), a repeated user_id or a malformed row is left out and reported.
 */
export function readConnectionUsers(
  rows: readonly unknown[],
  connection: string,
  userIdPrefix: string,
): { users: ConnectionUser[]; ignored: IgnoredRows } {
  const ignored: IgnoredRows = {
    otherConnection: 0,
    notDatabaseUsers: [],
    notFromDirectory: [],
    duplicates: [],
    malformed: 0,
  };
  const seen = new Set<string>();
  const users: ConnectionUser[] = [];
  for (const row of rows) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      ignored.malformed += 1;
      continue;
    }
    const record = row as Record<string, unknown>;
    const userId = record.user_id;
    if (typeof userId !== 'string' || userId === '') {
      ignored.malformed += 1;
      continue;
    }
    if (typeof record.connection === 'string' && record.connection !== connection) {
      ignored.otherConnection += 1;
      continue;
    }
    if (!userId.startsWith(DATABASE_PREFIX) || userId.length === DATABASE_PREFIX.length) {
      ignored.notDatabaseUsers.push(userId);
      continue;
    }
    const profileUserId = userId.slice(DATABASE_PREFIX.length);
    if (!profileUserId.startsWith(userIdPrefix)) {
      ignored.notFromDirectory.push(userId);
      continue;
    }
    if (seen.has(userId)) {
      ignored.duplicates.push(userId);
      continue;
    }
    seen.add(userId);
    const metadata = record.app_metadata;
    users.push({
      user_id: userId,
      profileUserId,
      ...stringField(record, 'email'),
      ...(isIsoTime(record.created_at) ? { created_at: record.created_at } : {}),
      ...(isIsoTime(record.last_login) ? { last_login: record.last_login } : {}),
      blocked: record.blocked === true,
      app_metadata:
        typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)
          ? (metadata as Record<string, unknown>)
          : {},
    });
  }
  return { users, ignored };
}

function stringField(record: Record<string, unknown>, key: 'email'): { email?: string } {
  const value = record[key];
  return typeof value === 'string' && value !== '' ? { [key]: value } : {};
}

function isIsoTime(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value)) && /^\d{4}-\d{2}-\d{2}T/.test(value);
}

export interface Leaver {
  user: ConnectionUser;
  reason: LeaverReason;
  /** The directory entry, when there still is one (disabled or expired). */
  dn?: string;
}

/** The directory and the connection's users, matched by user_id. */
export interface MigrationDiff {
  /** Active directory users Auth0 has. */
  migrated: Array<{ entry: DirectoryUser; user: ConnectionUser }>;
  /** Active directory users Auth0 does not have yet: what the final bulk import takes. */
  notMigrated: DirectoryUser[];
  /** Disabled or expired entries Auth0 does not have: they stay out, and count toward nothing. */
  inactive: DirectoryUser[];
  /** Entries without a stable identifier: they cannot be matched (export reports them too). */
  unmappable: DirectoryUser[];
  /** Users Auth0 has whose entry is disabled, expired or gone. */
  leavers: Leaver[];
  /** user_ids more than one directory entry maps to (an active one wins the match). */
  duplicateDirectoryIds: string[];
  /**
   * Users Auth0 has with no directory entry and no `app_metadata.dn`: they never came through the
   * bridge (created in the dashboard or the Management API, or signed up), so they are no leavers.
   */
  notFromDirectory: ConnectionUser[];
}

export function diffDirectoryAndAuth0(
  directory: readonly DirectoryUser[],
  users: readonly ConnectionUser[],
): MigrationDiff {
  const byId = new Map<string, DirectoryUser>();
  const duplicates = new Set<string>();
  const unmappable: DirectoryUser[] = [];
  for (const entry of directory) {
    if (entry.userId === undefined) {
      unmappable.push(entry);
      continue;
    }
    const earlier = byId.get(entry.userId);
    if (earlier !== undefined) {
      duplicates.add(entry.userId);
      // An account that may still log in keeps the user: a duplicate never makes an active user a leaver.
      if (isActive(earlier) || !isActive(entry)) continue;
    }
    byId.set(entry.userId, entry);
  }
  const inAuth0 = new Map(users.map((user) => [user.profileUserId, user]));
  const diff: MigrationDiff = {
    migrated: [],
    notMigrated: [],
    inactive: [],
    unmappable,
    leavers: [],
    duplicateDirectoryIds: [...duplicates].sort(),
    notFromDirectory: [],
  };
  for (const [userId, entry] of byId) {
    const user = inAuth0.get(userId);
    if (isActive(entry)) {
      if (user) diff.migrated.push({ entry, user });
      else diff.notMigrated.push(entry);
    } else if (user) diff.leavers.push({ user, reason: leaverReason(entry.state), dn: entry.dn });
    else diff.inactive.push(entry);
  }
  for (const user of users) {
    if (byId.has(user.profileUserId)) continue;
    // "Gone" needs proof the user came from the directory: every profile the bridge or the export
    // gave Auth0 carries app_metadata.dn. Without it (and without LDAP_USER_ID_PREFIX to tell ids
    // apart) a user made in Auth0 itself would look gone and be blocked.
    if (cameFromDirectory(user)) diff.leavers.push({ user, reason: 'gone' });
    else diff.notFromDirectory.push(user);
  }
  diff.leavers.sort((a, b) => compare(a.user.user_id, b.user.user_id));
  return diff;
}

function cameFromDirectory(user: ConnectionUser): boolean {
  const dn = user.app_metadata.dn;
  // sync-leavers' own marker (app_metadata.ldap_bridge_blocked) also proves it: it blocked a directory user.
  return (typeof dn === 'string' && dn.trim() !== '') || 'ldap_bridge_blocked' in user.app_metadata;
}

function leaverReason(state: AccountStateCode | undefined): LeaverReason {
  return state === 'account_expired' ? 'account_expired' : 'account_disabled';
}

/** The share of active directory users that must be in Auth0 for the projection's target. */
export const PROJECTION_TARGET = 0.95;
/** The projection's pace is the migrations of this many most recent days (today included)... */
export const PACE_WINDOW_DAYS = 14;
/** ...and needs at least this many days since the first migration: a pace read off fewer days says little. */
export const MIN_HISTORY_DAYS = 7;

export interface DayRow {
  /** A UTC day, YYYY-MM-DD. */
  date: string;
  /** Users Auth0 created that day (of those migrated now). */
  migrated: number;
  /** Users migrated by the end of that day. */
  cumulative: number;
}

export type Projection =
  | { status: 'reached'; target: number; targetUsers: number; reachedOn?: string; explanation: string }
  | {
      status: 'projected';
      target: number;
      targetUsers: number;
      pacePerDay: number;
      windowDays: number;
      reachesOn: string;
      explanation: string;
    }
  | { status: 'stalled'; target: number; targetUsers: number; windowDays: number; explanation: string }
  | { status: 'not_enough_data'; target: number; targetUsers: number; explanation: string };

export interface TailRow {
  /** The group (as app_metadata.groups names it) or the container (the entry's parent DN); null: users in no group. */
  name: string | null;
  /** Active users of the group or container not in Auth0 yet. */
  notMigrated: number;
  /** Active users of the group or container. */
  total: number;
}

export interface LeaverRow {
  user_id: string;
  reason: LeaverReason;
  blocked: boolean;
  email?: string;
  dn?: string;
  last_login?: string;
}

/** One line of not-migrated.json: what `export --only` selects by, and what a person reads. */
export interface NotMigratedUser {
  user_id: string;
  dn: string;
  username?: string;
  email?: string;
}

export interface ProgressReport {
  version: 1;
  generatedAt: string;
  connection: string;
  counts: {
    /** Entries the directory enumeration read. */
    directory: number;
    /** Active directory users that are in Auth0. */
    migrated: number;
    /** Active directory users not in Auth0 yet. */
    notMigrated: number;
    /** Users in Auth0 whose entry is disabled, expired or gone. */
    leavers: number;
    /** Disabled or expired entries not in Auth0 (they stay out). */
    inactive: number;
    /** Entries without a stable identifier. */
    unmappable: number;
    /** The connection's users in Auth0 that were matched against the directory. */
    auth0Users: number;
  };
  /** migrated / (migrated + notMigrated); null when the directory has no active user. */
  share: number | null;
  leavers: {
    disabled: number;
    expired: number;
    gone: number;
    /** Leavers Auth0 already blocks (by sync-leavers or by someone else). */
    blocked: number;
    users: LeaverRow[];
  };
  /** Days with at least one migration, oldest first. */
  perDay: DayRow[];
  projection: Projection;
  /** Sorted by users not migrated, most first. */
  longTail: { byGroup: TailRow[]; byContainer: TailRow[] };
  problems: {
    /** Migrated users Auth0 gave no created_at: counted as migrated, on no day. */
    withoutCreatedAt: number;
    duplicateDirectoryIds: string[];
    unmappable: Array<{ dn: string; detail: string }>;
    ignoredAuth0Rows: IgnoredRows;
    /** Auth0 users with no directory entry and no app_metadata.dn: never from this directory, never blocked. */
    notFromDirectory: string[];
  };
  /** The users not migrated yet: written to not-migrated.json, not to progress.json. */
  notMigratedUsers: NotMigratedUser[];
}

export function progressReport(input: {
  connection: string;
  directory: readonly DirectoryUser[];
  users: readonly ConnectionUser[];
  ignored: IgnoredRows;
  now: Date;
}): ProgressReport {
  const diff = diffDirectoryAndAuth0(input.directory, input.users);
  const active = diff.migrated.length + diff.notMigrated.length;
  const dated = diff.migrated.flatMap(({ user }) => (user.created_at ? [user.created_at] : []));
  const perDay = migrationsPerDay(dated);
  const leaverRows = diff.leavers.map(({ user, reason, dn }) => ({
    user_id: user.user_id,
    reason,
    blocked: user.blocked,
    ...(user.email ? { email: user.email } : {}),
    ...(dn ? { dn } : typeof user.app_metadata.dn === 'string' ? { dn: user.app_metadata.dn } : {}),
    ...(user.last_login ? { last_login: user.last_login } : {}),
  }));
  return {
    version: 1,
    generatedAt: input.now.toISOString(),
    connection: input.connection,
    counts: {
      directory: input.directory.length,
      migrated: diff.migrated.length,
      notMigrated: diff.notMigrated.length,
      leavers: diff.leavers.length,
      inactive: diff.inactive.length,
      unmappable: diff.unmappable.length,
      auth0Users: input.users.length,
    },
    share: active === 0 ? null : diff.migrated.length / active,
    leavers: {
      disabled: diff.leavers.filter((leaver) => leaver.reason === 'account_disabled').length,
      expired: diff.leavers.filter((leaver) => leaver.reason === 'account_expired').length,
      gone: diff.leavers.filter((leaver) => leaver.reason === 'gone').length,
      blocked: diff.leavers.filter((leaver) => leaver.user.blocked).length,
      users: leaverRows,
    },
    perDay,
    projection: projectToTarget(perDay, diff.migrated.length, active, input.now),
    longTail: longTail(diff),
    problems: {
      withoutCreatedAt: diff.migrated.length - dated.length,
      duplicateDirectoryIds: diff.duplicateDirectoryIds,
      unmappable: diff.unmappable.map((entry) => ({
        dn: entry.dn,
        detail: 'error' in entry.profile ? entry.profile.error : 'no user_id',
      })),
      ignoredAuth0Rows: input.ignored,
      notFromDirectory: diff.notFromDirectory.map((user) => user.user_id).sort(compare),
    },
    notMigratedUsers: diff.notMigrated
      .map((entry) => notMigratedUser(entry))
      .sort((a, b) => compare(a.user_id, b.user_id)),
  };
}

function notMigratedUser(entry: DirectoryUser): NotMigratedUser {
  const profile = 'user_id' in entry.profile ? (entry.profile as Auth0Profile) : undefined;
  return {
    user_id: entry.userId as string,
    dn: entry.dn,
    ...(profile?.username ? { username: profile.username } : {}),
    ...(profile?.email ? { email: profile.email } : {}),
  };
}

/** The UTC day of an ISO time. */
function dayOf(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

/** Days with at least one migration, with the running total. */
export function migrationsPerDay(createdAt: readonly string[]): DayRow[] {
  const counts = new Map<string, number>();
  for (const time of createdAt) {
    const day = dayOf(time);
    counts.set(day, (counts.get(day) ?? 0) + 1);
  }
  let cumulative = 0;
  return [...counts.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([date, migrated]) => {
      cumulative += migrated;
      return { date, migrated, cumulative };
    });
}

const DAY_MS = 86_400_000;

/**
 * When the current pace reaches PROJECTION_TARGET of the active directory users. The pace is the
 * migrations of the last PACE_WINDOW_DAYS UTC days up to today (fewer when the first migration is
 * more recent), per day; the days still needed are the users missing to the target divided by it,
 * rounded up. There is not enough data when the directory has no active user or the first
 * migration is less than MIN_HISTORY_DAYS days ago; a pace of zero is "stalled". Users without a
 * created_at count as migrated but toward no day's pace.
 */
export function projectToTarget(perDay: readonly DayRow[], migrated: number, active: number, now: Date): Projection {
  const target = PROJECTION_TARGET;
  const targetUsers = Math.ceil(active * target);
  const percent = `${Math.round(target * 100)} %`;
  if (active === 0)
    return { status: 'not_enough_data', target, targetUsers, explanation: 'the directory has no active user' };
  if (migrated >= targetUsers) {
    const crossed = perDay.find((day) => day.cumulative >= targetUsers);
    return {
      status: 'reached',
      target,
      targetUsers,
      ...(crossed ? { reachedOn: crossed.date } : {}),
      explanation: `${migrated} of ${active} active users are in Auth0: ${percent} is reached`,
    };
  }
  const today = Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00Z`);
  const first = perDay[0];
  const historyDays =
    first === undefined ? 0 : Math.round((today - Date.parse(`${first.date}T00:00:00Z`)) / DAY_MS) + 1;
  if (historyDays < MIN_HISTORY_DAYS)
    return {
      status: 'not_enough_data',
      target,
      targetUsers,
      explanation:
        first === undefined
          ? 'no migration with a creation date yet'
          : `the first migration was ${historyDays} day(s) ago; a pace needs at least ${MIN_HISTORY_DAYS} days`,
    };
  const windowDays = Math.min(PACE_WINDOW_DAYS, historyDays);
  const windowStart = today - (windowDays - 1) * DAY_MS;
  const recent = perDay
    .filter((day) => Date.parse(`${day.date}T00:00:00Z`) >= windowStart && Date.parse(`${day.date}T00:00:00Z`) <= today)
    .reduce((sum, day) => sum + day.migrated, 0);
  if (recent === 0)
    return {
      status: 'stalled',
      target,
      targetUsers,
      windowDays,
      explanation: `no migration in the last ${windowDays} days: at this pace ${percent} is never reached`,
    };
  const pacePerDay = recent / windowDays;
  const daysNeeded = Math.ceil((targetUsers - migrated) / pacePerDay);
  const reachesOn = new Date(today + daysNeeded * DAY_MS).toISOString().slice(0, 10);
  return {
    status: 'projected',
    target,
    targetUsers,
    pacePerDay,
    windowDays,
    reachesOn,
    explanation: `${recent} migrations in the last ${windowDays} days (${round(pacePerDay)} a day); ${targetUsers - migrated} more reach ${percent} in ${daysNeeded} day(s)`,
  };
}

function round(value: number): string {
  return value >= 10 ? String(Math.round(value)) : value.toFixed(1);
}

function longTail(diff: MigrationDiff): ProgressReport['longTail'] {
  const groups = new Map<string | null, TailRow>();
  const containers = new Map<string | null, TailRow>();
  const count = (rows: Map<string | null, TailRow>, name: string | null, notMigrated: boolean) => {
    const row = rows.get(name) ?? { name, notMigrated: 0, total: 0 };
    row.total += 1;
    if (notMigrated) row.notMigrated += 1;
    rows.set(name, row);
  };
  const entries = [
    ...diff.migrated.map(({ entry }) => ({ entry, notMigrated: false })),
    ...diff.notMigrated.map((entry) => ({ entry, notMigrated: true })),
  ];
  for (const { entry, notMigrated } of entries) {
    const names = 'app_metadata' in entry.profile ? (entry.profile.app_metadata.groups ?? []) : [];
    if (names.length === 0) count(groups, null, notMigrated);
    for (const name of new Set(names)) count(groups, name, notMigrated);
    count(containers, parentDn(entry.dn), notMigrated);
  }
  const sorted = (rows: Map<string | null, TailRow>) =>
    [...rows.values()].sort(
      // Ties by name, users in no group (or at the top of the tree) last.
      (a, b) =>
        b.notMigrated - a.notMigrated ||
        b.total - a.total ||
        Number(a.name === null) - Number(b.name === null) ||
        compare(a.name ?? '', b.name ?? ''),
    );
  return { byGroup: sorted(groups), byContainer: sorted(containers) };
}

/** The DN above an entry (RFC 4514: a comma escaped with a backslash or inside quotes does not end the RDN); null at the top. */
export function parentDn(dn: string): string | null {
  let quoted = false;
  for (let index = 0; index < dn.length; index += 1) {
    const char = dn[index];
    if (char === '\\') index += 1;
    else if (char === '"') quoted = !quoted;
    else if ((char === ',' || char === ';') && !quoted) {
      const parent = dn.slice(index + 1).trim();
      return parent === '' ? null : parent;
    }
  }
  return null;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
