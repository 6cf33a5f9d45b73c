// What progress writes besides progress.json: not-migrated.json (read back strictly by
// `export --only`) and progress.html (self-contained, every directory string escaped). The page
// is also opened in a real browser by test/integration/progress.test.ts.
import { describe, expect, it } from 'vitest';
import {
  NotMigratedFileError,
  notMigratedFile,
  parseNotMigratedFile,
} from '../../lambdas/core/migration/not-migrated-file.ts';
import { escapeHtml, renderProgressPage } from '../../lambdas/core/migration/progress-page.ts';
import { migrationsPerDay, type ProgressReport, progressReport } from '../../lambdas/core/migration/progress.ts';

const NONE = { otherConnection: 0, notDatabaseUsers: [], notFromDirectory: [], duplicates: [], malformed: 0 };
const HOSTILE = '<script>alert("x")</script>';

function report(): ProgressReport {
  const dn = (uid: string, ou: string) => `uid=${uid},ou=${ou},dc=example,dc=test`;
  const entry = (uid: string, ou: string, groups: string[]) => ({
    dn: dn(uid, ou),
    password: undefined,
    userId: uid,
    profile: { user_id: uid, username: uid, app_metadata: { dn: dn(uid, ou), groups } },
  });
  return progressReport({
    connection: `ldap-bridge${HOSTILE}`,
    directory: [entry('a', 'sales', [HOSTILE]), entry('b', `x${HOSTILE}`, ['ops']), entry('c', 'sales', ['ops'])],
    users: [
      { user_id: 'auth0|a', profileUserId: 'a', blocked: false, app_metadata: {}, created_at: '2026-11-20T08:00:00Z' },
    ],
    ignored: NONE,
    now: new Date('2026-12-01T12:00:00Z'),
  });
}

describe('not-migrated.json', () => {
  it('reads back what progress writes', () => {
    const written = notMigratedFile(report());
    expect(written).toMatchObject({ format: 'auth0-ldap-bridge/not-migrated', version: 1, count: 2 });
    expect(parseNotMigratedFile(JSON.stringify(written))).toEqual(written);
  });

  it('refuses a file that is not one, saying what is wrong', () => {
    const good = notMigratedFile(report());
    const cases: Array<[string, string]> = [
      ['not json', 'it is not JSON'],
      ['[]', 'it is not a JSON object'],
      [JSON.stringify([{ user_id: 'a' }]), 'it is not a JSON object'],
      [JSON.stringify({ ...good, format: 'auth0-import' }), '"format" is "auth0-import"'],
      [JSON.stringify({ ...good, version: 2 }), 'this auth0-ldap-bridge reads version 1'],
      [JSON.stringify({ ...good, count: 5 }), '"count" says 5 but "users" lists 2'],
      [JSON.stringify({ ...good, users: [good.users[0], good.users[0]], count: 2 }), 'is listed twice'],
      [JSON.stringify({ ...good, users: [{ dn: 'uid=x' }], count: 1 }), 'users[0] has no user_id'],
      [JSON.stringify({ ...good, users: 'everyone' }), '"users" is not a list'],
    ];
    for (const [text, message] of cases) {
      expect(() => parseNotMigratedFile(text), text).toThrow(NotMigratedFileError);
      expect(() => parseNotMigratedFile(text), text).toThrow(message);
    }
  });
});

describe('progress.html', () => {
  it('escapes every string from the directory and Auth0, and loads nothing from elsewhere', () => {
    const page = renderProgressPage(report());
    expect(page).not.toContain('<script');
    expect(page).toContain(escapeHtml(HOSTILE));
    expect(page).toContain(escapeHtml(`ou=x${HOSTILE},dc=example,dc=test`));
    expect(page).not.toMatch(/\b(src|href)=/);
    expect(page).not.toContain('url(');
    expect(page).toContain(`default-src 'none'`);
  });

  it('carries the figures of the report it was drawn from', () => {
    const source = report();
    const page = renderProgressPage(source);
    const figure = (name: string) => new RegExp(`data-figure="${name}" data-value="([^"]*)"`).exec(page)?.[1];
    expect(figure('migrated')).toBe(String(source.counts.migrated));
    expect(figure('notMigrated')).toBe(String(source.counts.notMigrated));
    expect(figure('share')).toBe(String(source.share));
    expect(figure('projection')).toBe(source.projection.status);
    expect(source.projection.status).toBe('projected');
  });

  it('draws the projected day when there is a pace', () => {
    const source = report();
    source.perDay = migrationsPerDay(
      Array.from({ length: 30 }, (_, index) => `2026-11-${String(10 + (index % 20)).padStart(2, '0')}T08:00:00Z`),
    );
    source.projection = {
      status: 'projected',
      target: 0.95,
      targetUsers: 95,
      pacePerDay: 1.5,
      windowDays: 14,
      reachesOn: '2027-02-03',
      explanation: '',
    };
    const page = renderProgressPage(source);
    expect(page).toContain('data-figure="reachesOn" data-value="2027-02-03"');
    expect(page).toContain('>1.5</span> a day');
  });
});
