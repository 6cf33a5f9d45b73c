import { describe, expect, it } from 'vitest';
import {
  planImport,
  splitIntoImportFiles,
  type ExportedEntry,
  type ImportUser,
} from '../../lambdas/core/migration/import-files.ts';
import type { PasswordHashMapping } from '../../lambdas/core/migration/password-hashes.ts';

const ssha: PasswordHashMapping = {
  kind: 'mapped',
  scheme: 'SSHA',
  customPasswordHash: { algorithm: 'ldap', hash: { value: '{SSHA}abc', encoding: 'utf8' } },
};
const crypt: PasswordHashMapping = {
  kind: 'unsupported',
  scheme: 'CRYPT',
  reason: '{CRYPT} DES crypt is not among the hashes Auth0 imports',
};

const entry = (
  uid: string,
  changes: Partial<ExportedEntry> = {},
  email: string | null = `${uid}@example.test`,
): ExportedEntry => ({
  dn: `uid=${uid},ou=people,dc=x`,
  profile: {
    user_id: `id-${uid}`,
    ...(email ? { email, email_verified: false } : {}),
    username: uid,
    app_metadata: { dn: `uid=${uid},ou=people,dc=x` },
  },
  password: ssha,
  ...changes,
});

describe('planImport', () => {
  it('exports the same profile as /login, in the import schema, with the password hash', () => {
    const plan = planImport([entry('alice')]);
    expect(plan.users).toEqual([
      {
        user_id: 'id-alice',
        email: 'alice@example.test',
        email_verified: false,
        username: 'alice',
        app_metadata: { dn: 'uid=alice,ou=people,dc=x' },
        custom_password_hash: ssha.kind === 'mapped' ? ssha.customPasswordHash : undefined,
      },
    ]);
    expect(plan.passwordSchemes).toEqual({ SSHA: 1 });
  });

  it('exports users whose hash Auth0 cannot import without a password, and lists them', () => {
    const plan = planImport([entry('bob', { password: crypt }), entry('carol', { password: undefined })]);
    expect(plan.users.map((user) => user.custom_password_hash)).toEqual([undefined, undefined]);
    expect(plan.withoutPassword).toEqual([
      { dn: 'uid=bob,ou=people,dc=x', detail: crypt.kind === 'unsupported' ? crypt.reason : '' },
      { dn: 'uid=carol,ou=people,dc=x', detail: 'no userPassword readable by the export account' },
    ]);
  });

  it('drops nothing silently: no email, invalid email, unmappable entries and every duplicate are reported', () => {
    const plan = planImport([
      entry('ok'),
      entry('noemail', {}, null),
      entry('bad', {}, 'not-an-email'),
      entry('twin1', {}, 'Shared@example.test'),
      entry('twin2', {}, 'shared@EXAMPLE.test'),
      { dn: 'uid=broken,dc=x', profile: { error: 'entry has no entryUUID to use as user_id' }, password: undefined },
    ]);
    expect(plan.users.map((user) => user.username)).toEqual(['ok']);
    expect(plan.skipped.map((skip) => [skip.dn, skip.reason])).toEqual([
      ['uid=bad,ou=people,dc=x', 'invalid_email'],
      ['uid=broken,dc=x', 'unmappable'],
      ['uid=noemail,ou=people,dc=x', 'no_email'],
      ['uid=twin1,ou=people,dc=x', 'duplicate_email'],
      ['uid=twin2,ou=people,dc=x', 'duplicate_email'],
    ]);
    expect(plan.skipped.find((skip) => skip.dn.startsWith('uid=twin1'))!.detail).toContain('uid=twin2,ou=people,dc=x');
  });

  it('orders users by user_id, whatever order the directory returned', () => {
    const plan = planImport([entry('c'), entry('a'), entry('b')]);
    expect(plan.users.map((user) => user.user_id)).toEqual(['id-a', 'id-b', 'id-c']);
  });
});

describe('splitIntoImportFiles', () => {
  const users: ImportUser[] = Array.from({ length: 3000 }, (_, index) => ({
    user_id: `id-${String(index).padStart(5, '0')}`,
    email: `user${index}@example.test`,
    name: `Ünïcödé User ${index}`,
    app_metadata: { dn: `uid=user${index},ou=people,dc=example,dc=test`, groups: ['staff', 'engineering'] },
  }));

  it('writes valid JSON arrays of at most 500 KB, split between users, losing and repeating nobody', () => {
    const { files, tooLarge } = splitIntoImportFiles(users);
    expect(files.length).toBeGreaterThan(1);
    expect(tooLarge).toEqual([]);
    for (const file of files) expect(Buffer.byteLength(file, 'utf8')).toBeLessThanOrEqual(500 * 1024);
    const parsed = files.flatMap((file) => JSON.parse(file) as ImportUser[]);
    expect(parsed).toEqual(users);
  });

  it('fills files up to the limit exactly, counting UTF-8 bytes', () => {
    const limit = Buffer.byteLength(`[${JSON.stringify(users[0])},${JSON.stringify(users[1])}]`, 'utf8');
    const { files } = splitIntoImportFiles(users.slice(0, 3), limit);
    expect(files).toHaveLength(2);
    expect(Buffer.byteLength(files[0]!, 'utf8')).toBe(limit);
  });

  it('is deterministic', () => {
    expect(splitIntoImportFiles(users).files).toEqual(splitIntoImportFiles(users).files);
  });

  it('reports a user who alone exceeds the limit instead of writing an oversized file', () => {
    const huge: ImportUser = {
      user_id: 'huge',
      email: 'huge@example.test',
      user_metadata: { blob: 'x'.repeat(600 * 1024) },
    };
    const { files, tooLarge } = splitIntoImportFiles([users[0]!, huge, users[1]!]);
    expect(tooLarge).toEqual([huge]);
    expect(files.flatMap((file) => JSON.parse(file) as ImportUser[])).toEqual([users[0], users[1]]);
  });
});
