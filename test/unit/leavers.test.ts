// The leavers core: what sync-leavers plans, the marker that makes a block this tool's, the guard
// against an incomplete directory read, and the check of each change against Auth0 before the write.
import { describe, expect, it } from 'vitest';
import type { AccountStateCode } from '../../lambdas/contract/errors.ts';
import type { DirectoryUser } from '../../lambdas/core/migration/directory-users.ts';
import {
  BLOCK_MARKER_BY,
  BLOCK_MARKER_KEY,
  type ChangeRow,
  guardPlan,
  markerOf,
  maxBlocks,
  parseBlockLimit,
  planLeavers,
  stepFor,
  syncLeaversReport,
} from '../../lambdas/core/migration/leavers.ts';
import { type ConnectionUser, diffDirectoryAndAuth0 } from '../../lambdas/core/migration/progress.ts';

const ours = { by: BLOCK_MARKER_BY, reason: 'account_disabled', at: '2026-11-30T10:00:00.000Z' };

function entry(uid: string, state?: AccountStateCode): DirectoryUser {
  const dn = `uid=${uid},ou=people,dc=example,dc=test`;
  return {
    dn,
    password: undefined,
    userId: uid,
    ...(state ? { state } : {}),
    profile: { user_id: uid, app_metadata: { dn } },
  };
}

function user(uid: string, changes: Partial<ConnectionUser> = {}): ConnectionUser {
  // What the bridge gave Auth0: every profile carries the entry's DN.
  const app_metadata = { dn: `uid=${uid},ou=people,dc=x`, ...changes.app_metadata };
  return { user_id: `auth0|${uid}`, profileUserId: uid, blocked: false, ...changes, app_metadata };
}

describe('the plan', () => {
  const directory = [
    entry('active'),
    entry('disabled', 'account_disabled'),
    entry('expired', 'account_expired'),
    entry('disabled-blocked', 'account_disabled'),
    entry('back', undefined),
    entry('held-by-admin'),
    entry('unblocked-by-hand'),
  ];
  const users = [
    user('active'),
    user('disabled', { email: 'disabled@example.test' }),
    user('expired'),
    user('disabled-blocked', { blocked: true }),
    user('gone'),
    user('gone-blocked-by-us', { blocked: true, app_metadata: { [BLOCK_MARKER_KEY]: ours } }),
    user('back', { blocked: true, app_metadata: { [BLOCK_MARKER_KEY]: ours } }),
    user('held-by-admin', { blocked: true, app_metadata: { [BLOCK_MARKER_KEY]: { by: 'someone else' } } }),
    user('unblocked-by-hand', { app_metadata: { [BLOCK_MARKER_KEY]: ours } }),
  ];
  const plan = planLeavers(diffDirectoryAndAuth0(directory, users));

  it('blocks the leavers Auth0 does not block yet, with their reason', () => {
    expect(plan.changes.filter((change) => change.action === 'block')).toEqual([
      {
        action: 'block',
        user_id: 'auth0|disabled',
        reason: 'account_disabled',
        email: 'disabled@example.test',
        dn: 'uid=disabled,ou=people,dc=example,dc=test',
      },
      {
        action: 'block',
        user_id: 'auth0|expired',
        reason: 'account_expired',
        dn: 'uid=expired,ou=people,dc=example,dc=test',
      },
      { action: 'block', user_id: 'auth0|gone', reason: 'gone', dn: 'uid=gone,ou=people,dc=x' },
    ]);
    expect(plan.alreadyBlocked).toBe(2);
  });

  it('never takes a user Auth0 holds without a directory origin (no app_metadata.dn, no marker of ours) for gone', () => {
    const madeInAuth0: ConnectionUser = {
      user_id: 'auth0|made-in-the-dashboard',
      profileUserId: 'made-in-the-dashboard',
      blocked: false,
      app_metadata: {},
    };
    const diff = diffDirectoryAndAuth0(directory, [...users, madeInAuth0]);
    expect(diff.notFromDirectory).toEqual([madeInAuth0]);
    expect(planLeavers(diff).changes.map((change) => change.user_id)).not.toContain('auth0|made-in-the-dashboard');
  });

  it('unblocks only a user it blocked itself whose entry is active again, and leaves anyone else’s block', () => {
    expect(plan.changes.filter((change) => change.action !== 'block')).toEqual([
      { action: 'unblock', user_id: 'auth0|back', reason: 'active', dn: 'uid=back,ou=people,dc=example,dc=test' },
      {
        action: 'clear_marker',
        user_id: 'auth0|unblocked-by-hand',
        reason: 'active',
        dn: 'uid=unblocked-by-hand,ou=people,dc=example,dc=test',
      },
    ]);
    expect(plan.keptBlocked).toEqual([{ user_id: 'auth0|held-by-admin' }]);
  });

  it('plans nothing for a directory and a tenant that agree', () => {
    const agreed = planLeavers(diffDirectoryAndAuth0([entry('a'), entry('b')], [user('a'), user('b')]));
    expect(agreed).toEqual({ changes: [], alreadyBlocked: 0, keptBlocked: [] });
  });
});

describe('the marker', () => {
  it('is recognised only in the shape this tool writes', () => {
    expect(markerOf({ [BLOCK_MARKER_KEY]: ours })).toEqual(ours);
    for (const other of [{ by: 'an admin' }, 'auth0-ldap-bridge sync-leavers', [ours], null, undefined])
      expect(markerOf({ [BLOCK_MARKER_KEY]: other })).toBeUndefined();
    expect(markerOf(undefined)).toBeUndefined();
  });
});

describe('the guard', () => {
  const planOf = (blocks: number) =>
    planLeavers(
      diffDirectoryAndAuth0(
        [],
        Array.from({ length: blocks }, (_, index) => user(`u${index}`)),
      ),
    );

  it('reads --max-block as a number or a percentage', () => {
    expect(parseBlockLimit('25')).toEqual({ kind: 'count', value: 25 });
    expect(parseBlockLimit('5%')).toEqual({ kind: 'percent', value: 5 });
    expect(parseBlockLimit('0.5 %')).toEqual({ kind: 'percent', value: 0.5 });
    for (const bad of ['', 'lots', '-3', '150%', '5%%', '1e3']) expect(parseBlockLimit(bad), bad).toBeUndefined();
    expect(maxBlocks(undefined, 50)).toBe(10);
    expect(maxBlocks(undefined, 1000)).toBe(100);
    expect(maxBlocks({ kind: 'percent', value: 50 }, 7)).toBe(3);
    expect(maxBlocks({ kind: 'count', value: 0 }, 1000)).toBe(0);
  });

  it('refuses when the directory listed nothing while Auth0 has users', () => {
    expect(guardPlan(planOf(3), { directoryEntries: 0, auth0Users: 3, maxBlock: 100, limitGiven: true })).toContain(
      'the directory listed no entries while Auth0 has 3 users in the connection',
    );
  });

  it('refuses to block more users than the limit, naming the flag and the number to pass', () => {
    const refusal = guardPlan(planOf(12), { directoryEntries: 5, auth0Users: 12, maxBlock: 10, limitGiven: false });
    expect(refusal).toContain(
      "12 users would be blocked, more than --max-block allows (10: 10% of the connection's 12 users, at least 10)",
    );
    expect(refusal).toContain('--max-block 12');
    expect(guardPlan(planOf(10), { directoryEntries: 5, auth0Users: 12, maxBlock: 10, limitGiven: false })).toBe(
      undefined,
    );
  });
});

describe('each change, checked against Auth0 just before the write', () => {
  const now = new Date('2026-12-01T09:00:00.000Z');
  const block = { action: 'block', user_id: 'auth0|x', reason: 'gone' } as const;
  const unblock = { action: 'unblock', user_id: 'auth0|x', reason: 'active' } as const;
  const clear = { action: 'clear_marker', user_id: 'auth0|x', reason: 'active' } as const;

  it('blocks with the marker in the same write', () => {
    expect(stepFor(block, { blocked: false, app_metadata: {} }, now)).toEqual({
      write: {
        blocked: true,
        app_metadata: { [BLOCK_MARKER_KEY]: { by: BLOCK_MARKER_BY, reason: 'gone', at: '2026-12-01T09:00:00.000Z' } },
      },
    });
  });

  it('unblocks and removes the marker in the same write; clears a marker alone', () => {
    expect(stepFor(unblock, { blocked: true, app_metadata: { [BLOCK_MARKER_KEY]: ours } }, now)).toEqual({
      write: { blocked: false, app_metadata: { [BLOCK_MARKER_KEY]: null } },
    });
    expect(stepFor(clear, { blocked: false, app_metadata: { [BLOCK_MARKER_KEY]: ours } }, now)).toEqual({
      write: { app_metadata: { [BLOCK_MARKER_KEY]: null } },
    });
  });

  it('skips what changed since the export, or what an interrupted run already did', () => {
    expect(stepFor(block, undefined, now)).toEqual({ skip: 'no longer in Auth0' });
    expect(stepFor(block, { blocked: true, app_metadata: { [BLOCK_MARKER_KEY]: ours } }, now)).toEqual({
      skip: 'already blocked by sync-leavers',
    });
    expect(stepFor(block, { blocked: true }, now)).toEqual({ skip: 'blocked by someone else since the export' });
    expect(stepFor(unblock, { blocked: false, app_metadata: { [BLOCK_MARKER_KEY]: ours } }, now)).toEqual({
      skip: 'already unblocked',
    });
    expect(stepFor(unblock, { blocked: true, app_metadata: {} }, now)).toEqual({
      skip: 'blocked by someone else since the export',
    });
    expect(stepFor(clear, { blocked: true, app_metadata: { [BLOCK_MARKER_KEY]: ours } }, now)).toEqual({
      skip: 'blocked again since the export',
    });
    expect(stepFor(clear, { blocked: false }, now)).toEqual({ skip: 'marker already gone' });
  });
});

describe('the report', () => {
  it('counts what was planned and what was done, skipped, failed or not reached', () => {
    const diff = diffDirectoryAndAuth0(
      [entry('back')],
      [user('a'), user('b'), user('c'), user('back', { blocked: true, app_metadata: { [BLOCK_MARKER_KEY]: ours } })],
    );
    const plan = planLeavers(diff);
    const outcomes: ChangeRow['outcome'][] = ['done', 'skipped', 'failed', 'not_reached'];
    const changes = plan.changes.map((change, index) => ({ ...change, outcome: outcomes[index] ?? 'done' }));
    const report = syncLeaversReport({
      connection: 'ldap-bridge',
      now: new Date('2026-12-01T09:00:00Z'),
      applied: true,
      interrupted: true,
      maxBlock: 10,
      directoryEntries: 1,
      auth0Users: 4,
      diff,
      plan,
      changes,
      ignored: { otherConnection: 0, notDatabaseUsers: [], notFromDirectory: [], duplicates: [], malformed: 0 },
    });
    expect(report.counts).toEqual({
      directory: 1,
      auth0Users: 4,
      leavers: 3,
      alreadyBlocked: 0,
      keptBlocked: 0,
      toBlock: 3,
      toUnblock: 1,
      toClearMarker: 0,
      blocked: 1,
      unblocked: 0,
      markersCleared: 0,
      skipped: 1,
      failed: 1,
    });
    expect(report).not.toHaveProperty('refused');
  });
});
