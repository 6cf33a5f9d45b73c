// The progress core: Auth0's export rows read without trusting them, the diff by user_id, the
// per-day series, the projection to 95 % and the long tail.
import { describe, expect, it } from 'vitest';
import type { AccountStateCode } from '../../lambdas/contract/errors.ts';
import type { DirectoryUser } from '../../lambdas/core/migration/directory-users.ts';
import {
  type ConnectionUser,
  diffDirectoryAndAuth0,
  type IgnoredRows,
  migrationsPerDay,
  parentDn,
  progressReport,
  projectToTarget,
  readConnectionUsers,
} from '../../lambdas/core/migration/progress.ts';

const NONE: IgnoredRows = {
  otherConnection: 0,
  notDatabaseUsers: [],
  notFromDirectory: [],
  duplicates: [],
  malformed: 0,
};

function entry(
  uid: string,
  options: { state?: AccountStateCode; groups?: string[]; ou?: string; userId?: string | null } = {},
): DirectoryUser {
  const dn = `uid=${uid},ou=${options.ou ?? 'people'},dc=example,dc=test`;
  const userId = options.userId === undefined ? `ldap-${uid}` : options.userId;
  if (userId === null)
    return { dn, password: undefined, profile: { error: 'entry has no entryUUID to use as user_id' } };
  return {
    dn,
    password: undefined,
    userId,
    ...(options.state ? { state: options.state } : {}),
    profile: {
      user_id: userId,
      email: `${uid}@example.test`,
      username: uid,
      app_metadata: { dn, ...(options.groups ? { groups: options.groups } : {}) },
    },
  };
}

function auth0(uid: string, changes: Partial<ConnectionUser> = {}): ConnectionUser {
  return {
    user_id: `auth0|ldap-${uid}`,
    profileUserId: `ldap-${uid}`,
    email: `${uid}@example.test`,
    blocked: false,
    created_at: '2026-11-20T10:00:00.000Z',
    ...changes,
    // What the bridge gave Auth0: every profile carries the entry's DN.
    app_metadata: { dn: `uid=${uid},ou=people,dc=example,dc=test`, ...changes.app_metadata },
  };
}

describe("reading Auth0's export rows", () => {
  it('keeps the connection’s directory users and leaves out, counted, every row it cannot trust', () => {
    const { users, ignored } = readConnectionUsers(
      [
        {
          user_id: 'auth0|ldap-alice',
          email: 'alice@example.test',
          created_at: '2026-11-20T10:00:00.000Z',
          blocked: true,
          app_metadata: { dn: 'uid=alice' },
          connection: 'ldap-bridge',
        },
        { user_id: 'auth0|ldap-bob', connection: 'ldap-bridge', created_at: 'yesterday', blocked: 'true' },
        { user_id: 'auth0|ldap-alice', connection: 'ldap-bridge' },
        { user_id: 'auth0|ldap-carol', connection: 'other-db' },
        { user_id: 'google-oauth2|1234', connection: 'ldap-bridge' },
        { user_id: 'auth0|', connection: 'ldap-bridge' },
        { user_id: 'auth0|signed-up-here', connection: 'ldap-bridge' },
        { user_id: 'auth0|ldap-dave', app_metadata: ['not', 'an', 'object'] },
        { email: 'no-id@example.test' },
        'a string',
        null,
        [],
      ],
      'ldap-bridge',
      'ldap-',
    );
    expect(users).toEqual([
      {
        user_id: 'auth0|ldap-alice',
        profileUserId: 'ldap-alice',
        email: 'alice@example.test',
        created_at: '2026-11-20T10:00:00.000Z',
        blocked: true,
        app_metadata: { dn: 'uid=alice' },
      },
      { user_id: 'auth0|ldap-bob', profileUserId: 'ldap-bob', blocked: false, app_metadata: {} },
      { user_id: 'auth0|ldap-dave', profileUserId: 'ldap-dave', blocked: false, app_metadata: {} },
    ]);
    expect(ignored).toEqual({
      otherConnection: 1,
      notDatabaseUsers: ['google-oauth2|1234', 'auth0|'],
      notFromDirectory: ['auth0|signed-up-here'],
      duplicates: ['auth0|ldap-alice'],
      malformed: 4,
    });
  });

  it('takes every database user of the connection when no LDAP_USER_ID_PREFIX is set', () => {
    const { users } = readConnectionUsers([{ user_id: 'auth0|0a1b' }], 'ldap-bridge', '');
    expect(users.map((user) => user.profileUserId)).toEqual(['0a1b']);
  });
});

describe('the diff by user_id', () => {
  it('sorts users into migrated, not migrated, inactive, unmappable and leavers with their reason', () => {
    const diff = diffDirectoryAndAuth0(
      [
        entry('alice'),
        entry('bob'),
        entry('carol', { state: 'account_disabled' }),
        entry('dave', { state: 'account_expired' }),
        entry('erin', { state: 'account_disabled' }),
        entry('frank', { state: 'password_change_required' }),
        entry('nobody', { userId: null }),
      ],
      [auth0('alice'), auth0('carol'), auth0('dave'), auth0('gone-guy'), auth0('frank')],
    );
    expect(diff.migrated.map(({ user }) => user.user_id)).toEqual(['auth0|ldap-alice', 'auth0|ldap-frank']);
    expect(diff.notMigrated.map((each) => each.userId)).toEqual(['ldap-bob']);
    expect(diff.inactive.map((each) => each.userId)).toEqual(['ldap-erin']);
    expect(diff.unmappable.map((each) => each.dn)).toEqual(['uid=nobody,ou=people,dc=example,dc=test']);
    expect(diff.leavers.map(({ user, reason, dn }) => [user.user_id, reason, dn])).toEqual([
      ['auth0|ldap-carol', 'account_disabled', 'uid=carol,ou=people,dc=example,dc=test'],
      ['auth0|ldap-dave', 'account_expired', 'uid=dave,ou=people,dc=example,dc=test'],
      ['auth0|ldap-gone-guy', 'gone', undefined],
    ]);
  });

  it('never makes a user a leaver because a second entry with the same user_id is disabled', () => {
    const active = entry('twin-a', { userId: 'ldap-twin' });
    const disabled = entry('twin-b', { userId: 'ldap-twin', state: 'account_disabled' });
    for (const order of [
      [active, disabled],
      [disabled, active],
    ]) {
      const diff = diffDirectoryAndAuth0(order, [auth0('twin')]);
      expect(diff.leavers).toEqual([]);
      expect(diff.migrated.map(({ entry: matched }) => matched.dn)).toEqual([active.dn]);
      expect(diff.duplicateDirectoryIds).toEqual(['ldap-twin']);
    }
  });
});

describe('migrations per day', () => {
  it('counts each UTC day once and carries the running total', () => {
    expect(
      migrationsPerDay([
        '2026-11-02T23:59:59.999Z',
        '2026-11-01T08:00:00.000Z',
        '2026-11-03T00:00:00.000Z',
        '2026-11-02T00:00:00.000Z',
        '2026-11-02T12:00:00+02:00',
      ]),
    ).toEqual([
      { date: '2026-11-01', migrated: 1, cumulative: 1 },
      { date: '2026-11-02', migrated: 3, cumulative: 4 },
      { date: '2026-11-03', migrated: 1, cumulative: 5 },
    ]);
  });
});

describe('the projection to 95 %', () => {
  const now = new Date('2026-12-01T15:00:00Z');

  it('divides the users still missing by the pace of the last 14 days, rounding the days up', () => {
    // 28 migrations in the window 2026-11-18 .. 2026-12-01 (2 a day), 10 before it.
    const perDay = migrationsPerDay([
      ...Array.from({ length: 10 }, () => '2026-11-01T10:00:00Z'),
      ...Array.from({ length: 28 }, (_, index) => `2026-11-${String(18 + (index % 13)).padStart(2, '0')}T10:00:00Z`),
    ]);
    const projection = projectToTarget(perDay, 38, 100, now);
    // 95 needed, 57 missing, 2 a day: 29 days (28.5 rounded up) after 2026-12-01.
    expect(projection).toEqual({
      status: 'projected',
      target: 0.95,
      targetUsers: 95,
      pacePerDay: 2,
      windowDays: 14,
      reachesOn: '2026-12-30',
      explanation: '28 migrations in the last 14 days (2.0 a day); 57 more reach 95 % in 29 day(s)',
    });
  });

  it('reads the pace over the days since the first migration when they are fewer than 14', () => {
    const perDay = migrationsPerDay(Array.from({ length: 20 }, () => '2026-11-22T10:00:00Z'));
    const projection = projectToTarget(perDay, 20, 100, now);
    expect(projection).toMatchObject({ status: 'projected', windowDays: 10, pacePerDay: 2, reachesOn: '2027-01-08' });
  });

  it('says there is not enough data before 7 days of migrations, or with no dated migration', () => {
    const recent = migrationsPerDay(Array.from({ length: 50 }, () => '2026-11-27T10:00:00Z'));
    expect(projectToTarget(recent, 50, 100, now)).toEqual({
      status: 'not_enough_data',
      target: 0.95,
      targetUsers: 95,
      explanation: 'the first migration was 5 day(s) ago; a pace needs at least 7 days',
    });
    expect(projectToTarget([], 3, 100, now)).toMatchObject({
      status: 'not_enough_data',
      explanation: 'no migration with a creation date yet',
    });
    expect(projectToTarget([], 0, 0, now)).toMatchObject({
      status: 'not_enough_data',
      explanation: 'the directory has no active user',
    });
  });

  it('says the pace has stalled when nobody migrated in the window', () => {
    const perDay = migrationsPerDay(Array.from({ length: 30 }, () => '2026-10-01T10:00:00Z'));
    expect(projectToTarget(perDay, 30, 100, now)).toMatchObject({ status: 'stalled', windowDays: 14 });
  });

  it('names the day the target was reached', () => {
    const perDay = migrationsPerDay([
      ...Array.from({ length: 90 }, () => '2026-11-01T10:00:00Z'),
      ...Array.from({ length: 6 }, () => '2026-11-05T10:00:00Z'),
    ]);
    expect(projectToTarget(perDay, 96, 100, now)).toMatchObject({ status: 'reached', reachedOn: '2026-11-05' });
  });
});

describe('the report', () => {
  it('counts, shares, and lists the long tail by group and by container, most not migrated first', () => {
    const directory = [
      entry('a1', { groups: ['sales'], ou: 'emea' }),
      entry('a2', { groups: ['sales', 'admins'], ou: 'emea' }),
      entry('a3', { groups: ['sales'], ou: 'emea' }),
      entry('b1', { groups: ['<script>alert(1)</script>'], ou: 'apac' }),
      entry('b2', { ou: 'apac' }),
      entry('c1', { state: 'account_disabled', groups: ['sales'] }),
    ];
    const report = progressReport({
      connection: 'ldap-bridge',
      directory,
      users: [auth0('a1'), auth0('b1', { created_at: undefined }), auth0('c1', { blocked: true }), auth0('zed')],
      ignored: NONE,
      now: new Date('2026-12-01T00:00:00Z'),
    });
    expect(report.counts).toEqual({
      directory: 6,
      migrated: 2,
      notMigrated: 3,
      leavers: 2,
      inactive: 0,
      unmappable: 0,
      auth0Users: 4,
    });
    expect(report.share).toBe(0.4);
    expect(report.leavers).toMatchObject({ disabled: 1, expired: 0, gone: 1, blocked: 1 });
    expect(report.problems.withoutCreatedAt).toBe(1);
    expect(report.perDay).toEqual([{ date: '2026-11-20', migrated: 1, cumulative: 1 }]);
    expect(report.longTail.byGroup).toEqual([
      { name: 'sales', notMigrated: 2, total: 3 },
      { name: 'admins', notMigrated: 1, total: 1 },
      { name: null, notMigrated: 1, total: 1 },
      { name: '<script>alert(1)</script>', notMigrated: 0, total: 1 },
    ]);
    expect(report.longTail.byContainer).toEqual([
      { name: 'ou=emea,dc=example,dc=test', notMigrated: 2, total: 3 },
      { name: 'ou=apac,dc=example,dc=test', notMigrated: 1, total: 2 },
    ]);
    expect(report.notMigratedUsers).toEqual([
      { user_id: 'ldap-a2', dn: 'uid=a2,ou=emea,dc=example,dc=test', username: 'a2', email: 'a2@example.test' },
      { user_id: 'ldap-a3', dn: 'uid=a3,ou=emea,dc=example,dc=test', username: 'a3', email: 'a3@example.test' },
      { user_id: 'ldap-b2', dn: 'uid=b2,ou=apac,dc=example,dc=test', username: 'b2', email: 'b2@example.test' },
    ]);
  });

  it('has no share when the directory has no active user', () => {
    const report = progressReport({ connection: 'c', directory: [], users: [], ignored: NONE, now: new Date() });
    expect(report.share).toBeNull();
    expect(report.projection.status).toBe('not_enough_data');
  });
});

describe('the container of an entry', () => {
  it('is the DN above it, escaped and quoted commas included', () => {
    expect(parentDn('uid=a\\,b,ou=Sales\\, EMEA,dc=x')).toBe('ou=Sales\\, EMEA,dc=x');
    expect(parentDn('cn="Doe, John",ou=people,dc=x')).toBe('ou=people,dc=x');
    expect(parentDn('dc=x')).toBeNull();
  });
});
