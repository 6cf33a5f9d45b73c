// Leavers while the directory and Auth0 both run: once a user has migrated, Auth0 stops asking
// the directory, so an account disabled, expired or deleted there would keep logging in to Auth0.
// Owns the plan sync-leavers follows (from the diff of progress.ts), the marker that says a block
// is this tool's, the guard that refuses to act on a directory read that looks incomplete, and
// the check of each change against the user as Auth0 has it just before the write. Pure.
//
// The marker, in the user's app_metadata (which users cannot edit):
//   "ldap_bridge_blocked": { "by": "auth0-ldap-bridge sync-leavers", "reason": "account_disabled" | "account_expired" | "gone", "at": "<ISO time of the block>" }
// Written with the block in one update, removed with the unblock in one update (Auth0 merges
// app_metadata one level deep and a null value removes a key). Only a user blocked and carrying it
// is ever unblocked: a block by anyone else is never undone. A marker left on a user who is no
// longer blocked (someone unblocked them by hand) is removed, so that a later block by someone
// else is not mistaken for this tool's.
import type { ConnectionUser, IgnoredRows, Leaver, LeaverReason, MigrationDiff } from './progress.ts';

export const BLOCK_MARKER_KEY = 'ldap_bridge_blocked';
export const BLOCK_MARKER_BY = 'auth0-ldap-bridge sync-leavers';

export interface BlockMarker {
  by: typeof BLOCK_MARKER_BY;
  reason: LeaverReason;
  /** When this tool blocked the user (ISO time). */
  at: string;
}

/** The marker in app_metadata, when it is this tool's. */
export function markerOf(appMetadata: Readonly<Record<string, unknown>> | undefined): BlockMarker | undefined {
  const marker = appMetadata?.[BLOCK_MARKER_KEY];
  if (typeof marker !== 'object' || marker === null || Array.isArray(marker)) return undefined;
  return (marker as { by?: unknown }).by === BLOCK_MARKER_BY ? (marker as BlockMarker) : undefined;
}

export type ChangeAction =
  /** A leaver Auth0 does not block yet. */
  | 'block'
  /** Blocked by this tool, and the entry is active again. */
  | 'unblock'
  /** Not blocked, but still carrying this tool's marker (unblocked by someone else). */
  | 'clear_marker';

export interface PlannedChange {
  action: ChangeAction;
  user_id: string;
  /** Why: the leaver's reason, or `active` for an unblock or a marker cleared. */
  reason: LeaverReason | 'active';
  email?: string;
  dn?: string;
}

export interface LeaversPlan {
  changes: PlannedChange[];
  /** Leavers Auth0 blocks already (by this tool or anyone else): nothing to do. */
  alreadyBlocked: number;
  /** Active users blocked by someone else: left blocked. */
  keptBlocked: Array<{ user_id: string; email?: string }>;
}

export function planLeavers(diff: MigrationDiff): LeaversPlan {
  const changes: PlannedChange[] = [];
  let alreadyBlocked = 0;
  for (const leaver of diff.leavers) {
    if (leaver.user.blocked) alreadyBlocked += 1;
    else changes.push(change('block', leaver.user, leaver.reason, leaver));
  }
  const keptBlocked: LeaversPlan['keptBlocked'] = [];
  for (const { user, entry } of diff.migrated) {
    const ours = markerOf(user.app_metadata) !== undefined;
    if (user.blocked && ours) changes.push(change('unblock', user, 'active', { dn: entry.dn }));
    else if (user.blocked) keptBlocked.push({ user_id: user.user_id, ...(user.email ? { email: user.email } : {}) });
    else if (ours) changes.push(change('clear_marker', user, 'active', { dn: entry.dn }));
  }
  const order: Record<ChangeAction, number> = { block: 0, unblock: 1, clear_marker: 2 };
  changes.sort((a, b) => order[a.action] - order[b.action] || (a.user_id < b.user_id ? -1 : 1));
  return { changes, alreadyBlocked, keptBlocked };
}

function change(
  action: ChangeAction,
  user: ConnectionUser,
  reason: PlannedChange['reason'],
  where: Pick<Leaver, 'dn'>,
): PlannedChange {
  return {
    action,
    user_id: user.user_id,
    reason,
    ...(user.email ? { email: user.email } : {}),
    ...(where.dn ? { dn: where.dn } : typeof user.app_metadata.dn === 'string' ? { dn: user.app_metadata.dn } : {}),
  };
}

/** At most how many users one run may block: a number, or a share of the connection's users in Auth0. */
export type BlockLimit = { kind: 'count'; value: number } | { kind: 'percent'; value: number };

/** Unless --max-block says otherwise: 10 % of the connection's users, and never fewer than this many. */
export const DEFAULT_BLOCK_PERCENT = 10;
export const DEFAULT_BLOCK_FLOOR = 10;

/** `--max-block` as written: `25` or `5%`; undefined for a value that is neither. */
export function parseBlockLimit(text: string): BlockLimit | undefined {
  const count = /^(\d{1,9})$/.exec(text.trim());
  if (count) return { kind: 'count', value: Number(count[1]) };
  const percent = /^(\d{1,3}(?:\.\d+)?)\s*%$/.exec(text.trim());
  if (percent && Number(percent[1]) <= 100) return { kind: 'percent', value: Number(percent[1]) };
  return undefined;
}

/** The number of blocks a run may make; without a limit: DEFAULT_BLOCK_PERCENT of the users, at least DEFAULT_BLOCK_FLOOR. */
export function maxBlocks(limit: BlockLimit | undefined, auth0Users: number): number {
  if (limit === undefined) return Math.max(DEFAULT_BLOCK_FLOOR, Math.floor((auth0Users * DEFAULT_BLOCK_PERCENT) / 100));
  return limit.kind === 'count' ? limit.value : Math.floor((auth0Users * limit.value) / 100);
}

/**
 * Why the plan must not be applied, or undefined. A directory read that went wrong without an
 * error (a base DN or filter that finds too little, a server-side size limit) makes migrated users
 * look gone: the run refuses when the directory listed no entry at all while Auth0 has users, and
 * when it would block more users than the limit allows.
 */
export function guardPlan(
  plan: LeaversPlan,
  figures: { directoryEntries: number; auth0Users: number; maxBlock: number; limitGiven: boolean },
): string | undefined {
  if (figures.directoryEntries === 0 && figures.auth0Users > 0)
    return `the directory listed no entries while Auth0 has ${figures.auth0Users} users in the connection: check LDAP_BASE_DN and LDAP_USER_FILTER (and that the service account may read the users); nothing was changed`;
  const toBlock = plan.changes.filter((planned) => planned.action === 'block').length;
  if (toBlock > figures.maxBlock)
    return `${toBlock} users would be blocked, more than --max-block allows (${figures.maxBlock}${figures.limitGiven ? '' : `: ${DEFAULT_BLOCK_PERCENT}% of the connection's ${figures.auth0Users} users, at least ${DEFAULT_BLOCK_FLOOR}`}). A directory read that finds too little (LDAP_BASE_DN, LDAP_USER_FILTER, a size limit) makes users look gone: check the planned blocks in the report, then rerun with --max-block ${toBlock} if they are right; nothing was changed`;
  return undefined;
}

/** What one change does, decided against the user as Auth0 has it right before the write. */
export type ChangeStep =
  | { write: { blocked?: boolean; app_metadata: Record<string, unknown> } }
  /** Nothing to write: the user changed since the export (or an earlier run already did it). */
  | { skip: string };

export function stepFor(planned: PlannedChange, current: ConnectionUserNow | undefined, now: Date): ChangeStep {
  if (current === undefined) return { skip: 'no longer in Auth0' };
  const ours = markerOf(current.app_metadata) !== undefined;
  switch (planned.action) {
    case 'block': {
      if (current.blocked)
        return { skip: ours ? 'already blocked by sync-leavers' : 'blocked by someone else since the export' };
      const marker: BlockMarker = {
        by: BLOCK_MARKER_BY,
        reason: planned.reason as LeaverReason,
        at: now.toISOString(),
      };
      return { write: { blocked: true, app_metadata: { [BLOCK_MARKER_KEY]: marker } } };
    }
    case 'unblock':
      if (!current.blocked) return { skip: 'already unblocked' };
      if (!ours) return { skip: 'blocked by someone else since the export' };
      return { write: { blocked: false, app_metadata: { [BLOCK_MARKER_KEY]: null } } };
    case 'clear_marker':
      if (current.blocked) return { skip: 'blocked again since the export' };
      if (!ours) return { skip: 'marker already gone' };
      return { write: { app_metadata: { [BLOCK_MARKER_KEY]: null } } };
  }
}

/** The user as a fresh read gives it: what stepFor looks at. */
export interface ConnectionUserNow {
  blocked?: boolean;
  app_metadata?: Record<string, unknown>;
}

export type ChangeOutcome = 'planned' | 'done' | 'skipped' | 'failed' | 'not_reached';

export interface ChangeRow extends PlannedChange {
  outcome: ChangeOutcome;
  /** Why it was skipped or failed. */
  detail?: string;
}

export interface SyncLeaversReport {
  version: 1;
  generatedAt: string;
  connection: string;
  /** false: a dry run, nothing was written to Auth0. */
  applied: boolean;
  /** Why the guard refused to act (nothing was changed); absent when it did not. */
  refused?: string;
  /** The run was stopped before every change was made (rerun to finish: it does only what is left). */
  interrupted: boolean;
  /** The most users this run was allowed to block. */
  maxBlock: number;
  counts: {
    directory: number;
    auth0Users: number;
    leavers: number;
    alreadyBlocked: number;
    keptBlocked: number;
    toBlock: number;
    toUnblock: number;
    toClearMarker: number;
    blocked: number;
    unblocked: number;
    markersCleared: number;
    skipped: number;
    failed: number;
  };
  changes: ChangeRow[];
  /** Active users blocked by someone else: left blocked. */
  keptBlocked: LeaversPlan['keptBlocked'];
  ignoredAuth0Rows: IgnoredRows;
}

/** The report of a run from its plan and what happened to each change (in plan order). */
export function syncLeaversReport(input: {
  connection: string;
  now: Date;
  applied: boolean;
  refused?: string | undefined;
  interrupted: boolean;
  maxBlock: number;
  directoryEntries: number;
  auth0Users: number;
  diff: Pick<MigrationDiff, 'leavers'>;
  plan: LeaversPlan;
  changes: ChangeRow[];
  ignored: IgnoredRows;
}): SyncLeaversReport {
  const planned = (action: ChangeAction) => input.plan.changes.filter((each) => each.action === action).length;
  const done = (action: ChangeAction) =>
    input.changes.filter((each) => each.action === action && each.outcome === 'done').length;
  return {
    version: 1,
    generatedAt: input.now.toISOString(),
    connection: input.connection,
    applied: input.applied,
    ...(input.refused ? { refused: input.refused } : {}),
    interrupted: input.interrupted,
    maxBlock: input.maxBlock,
    counts: {
      directory: input.directoryEntries,
      auth0Users: input.auth0Users,
      leavers: input.diff.leavers.length,
      alreadyBlocked: input.plan.alreadyBlocked,
      keptBlocked: input.plan.keptBlocked.length,
      toBlock: planned('block'),
      toUnblock: planned('unblock'),
      toClearMarker: planned('clear_marker'),
      blocked: done('block'),
      unblocked: done('unblock'),
      markersCleared: done('clear_marker'),
      skipped: input.changes.filter((each) => each.outcome === 'skipped').length,
      failed: input.changes.filter((each) => each.outcome === 'failed').length,
    },
    changes: input.changes,
    keptBlocked: input.plan.keptBlocked,
    ignoredAuth0Rows: input.ignored,
  };
}
