// `npm run export` against a real slapd: paged reads of 2,000 users, files within Auth0's limit,
// the same profile as /get-user, password hashes that verify against the known plaintext, and
// every entry not exported listed with its reason; --only, the users of a not-migrated.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attribute, Change } from 'ldapts';
import { userDN, withAdmin, type SeedUser } from '../../dev/directory-data.ts';
import { exportDirectory } from '../../lambdas/entry/commands/export.ts';
import { startSeededSlapd, type SeededSlapd } from '../../dev/seeded-slapd.ts';
import type { ImportUser } from '../../lambdas/core/migration/import-files.ts';
import { startTestStack } from '../support/stack.ts';

const users: SeedUser[] = [
  ...Array.from({ length: 2000 }, (_, index) => ({
    uid: `user${String(index).padStart(4, '0')}`,
    password: `password of user ${index} ü`,
    cn: `Ünïcödé User ${index}`,
    givenName: 'Ünïcödé',
    sn: `User ${index}`,
    mail: `user${index}@example.test`,
    extra: { employeeNumber: String(10_000 + index) },
  })),
  { uid: 'nomail', password: 'nomail-password', cn: 'No Mail', sn: 'Mail' },
  { uid: 'twin-a', password: 'twin-password-a', cn: 'Twin A', sn: 'A', mail: 'twin@example.test' },
  { uid: 'twin-b', password: 'twin-password-b', cn: 'Twin B', sn: 'B', mail: 'TWIN@example.test' },
];

let seeded: SeededSlapd;
let outDir: string;
const exporterDN = () => `cn=bridge-exporter,ou=services,${seeded.slapd.suffix}`;

beforeAll(async () => {
  seeded = await startSeededSlapd({
    users,
    groups: [{ cn: 'staff', members: users.slice(0, 50).map((user) => user.uid) }],
  });
  // Two users with other schemes, made by OpenLDAP's own tool: one Auth0 imports, one it cannot.
  const hashWith = (scheme: string, ...args: string[]) =>
    execFileSync('/usr/sbin/slappasswd', [...args, '-h', scheme, '-s', users[1]!.password], {
      encoding: 'utf8',
    }).trim();
  const ssha512 = hashWith('{SSHA512}', '-o', 'module-path=/usr/lib/ldap', '-o', 'module-load=pw-sha2');
  const des = execFileSync('/usr/sbin/slappasswd', ['-h', '{CRYPT}', '-s', users[2]!.password], {
    encoding: 'utf8',
  }).trim();
  await withAdmin(seeded.admin, async (client) => {
    await client.modify(
      userDN(users[1]!.uid, seeded.slapd.suffix),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [ssha512] }) }),
    );
    await client.modify(
      userDN(users[2]!.uid, seeded.slapd.suffix),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [des] }) }),
    );
  });
  outDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-export-'));
}, 120_000);
afterAll(async () => {
  await seeded?.stop();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

const readExport = (dir: string) => ({
  files: readdirSync(dir)
    .filter((name) => /^users-\d{4}\.json$/.test(name))
    .sort(),
  report: JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as {
    summary: { entries: number; exported: number; withPasswordHash: number; skipped: number };
    skipped: Array<{ dn: string; reason: string; detail: string }>;
    withoutPasswordHash: Array<{ dn: string; detail: string }>;
    passwordSchemes: Record<string, number>;
  },
  users: (name: string) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as ImportUser[],
});

describe('export', () => {
  it('exports every user in files of at most 500 KB, with hashes, and lists what it did not export', async () => {
    const progress: number[] = [];
    const summary = await exportDirectory({
      env: seeded.bridgeEnv({ LDAP_BIND_DN: exporterDN() }),
      outDir,
      pageSize: 300,
      progress: (count) => progress.push(count),
    });
    expect(progress.length).toBeGreaterThan(5); // paged: 2,003 entries in pages of 300
    const { files, report, users: read } = readExport(outDir);
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) expect(statSync(path.join(outDir, file)).size).toBeLessThanOrEqual(500 * 1024);
    const exported = files.flatMap(read);
    expect(exported).toHaveLength(2000);
    expect(new Set(exported.map((user) => user.user_id)).size).toBe(2000);
    expect(summary).toMatchObject({
      entries: 2003,
      exported: 2000,
      withPasswordHash: 1999,
      withoutPasswordHash: 1,
      skipped: 3,
    });
    expect(report.passwordSchemes).toEqual({ SSHA: 1998, SSHA512: 1 });
    expect(report.withoutPasswordHash).toEqual([
      {
        dn: `uid=${users[2]!.uid},ou=people,dc=example,dc=test`,
        detail: '{CRYPT} DES crypt is not among the hashes Auth0 imports; the user migrates on first login',
      },
    ]);
    expect(report.skipped.map((skip) => [skip.dn.split(',')[0], skip.reason])).toEqual([
      ['uid=nomail', 'no_email'],
      ['uid=twin-a', 'duplicate_email'],
      ['uid=twin-b', 'duplicate_email'],
    ]);
  });

  it("exports password hashes that verify against the user's known password, and not another", () => {
    const { files, users: read } = readExport(outDir);
    const exported = files.flatMap(read);
    const sha512 = exported.find((candidate) => candidate.username === users[1]!.uid)!.custom_password_hash!.hash.value;
    const bytes512 = Buffer.from(sha512.replace('{SSHA512}', ''), 'base64');
    expect(
      createHash('sha512')
        .update(users[1]!.password, 'utf8')
        .update(bytes512.subarray(64))
        .digest()
        .equals(bytes512.subarray(0, 64)),
    ).toBe(true);
    expect(exported.find((candidate) => candidate.username === users[2]!.uid)!.custom_password_hash).toBeUndefined();
    for (const index of [0, 777, 1999]) {
      const user = exported.find((candidate) => candidate.username === users[index]!.uid)!;
      expect(user.custom_password_hash?.algorithm).toBe('ldap');
      const bytes = Buffer.from(user.custom_password_hash!.hash.value.replace('{SSHA}', ''), 'base64');
      const check = (password: string) =>
        createHash('sha1').update(password, 'utf8').update(bytes.subarray(20)).digest().equals(bytes.subarray(0, 20));
      expect(check(users[index]!.password)).toBe(true);
      expect(check(`${users[index]!.password}x`)).toBe(false);
    }
  });

  it('writes the same profile /get-user answers, so login and bulk migration give identical users', async () => {
    const stack = await startTestStack(seeded.bridgeEnv());
    try {
      const { files, users: read } = readExport(outDir);
      const exported = files.flatMap(read);
      for (const uid of ['user0000', 'user0049', 'user1500']) {
        const profile = await (await stack.post('/get-user', { username: uid })).json();
        const { custom_password_hash: _hash, ...fromExport } = exported.find((user) => user.username === uid)!;
        expect(fromExport).toEqual(profile);
      }
    } finally {
      await stack.stop();
    }
  });

  it('exports only the users a not-migrated.json lists (--only), naming those the directory no longer has', async () => {
    const { files, users: read } = readExport(outDir);
    const chosen = files
      .flatMap(read)
      .filter((user) => ['user0007', 'user1234', 'user1999'].includes(user.username ?? ''));
    const selection = [
      ...chosen.map((user) => ({ user_id: user.user_id, dn: String(user.app_metadata?.dn), username: user.username })),
      { user_id: 'deleted-since-progress-ran', dn: 'uid=gone,ou=people,dc=example,dc=test' },
    ];
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-export-only-'));
    try {
      const file = path.join(dir, 'not-migrated.json');
      writeFileSync(
        file,
        JSON.stringify({
          format: 'auth0-ldap-bridge/not-migrated',
          version: 1,
          generatedAt: new Date().toISOString(),
          connection: 'ldap-bridge',
          count: selection.length,
          users: selection,
        }),
      );
      const summary = await exportDirectory({
        env: seeded.bridgeEnv({ LDAP_BIND_DN: exporterDN() }),
        outDir: path.join(dir, 'final'),
        only: file,
      });
      const exported = readExport(path.join(dir, 'final'));
      expect(exported.files.flatMap(exported.users)).toEqual(chosen);
      expect(summary).toMatchObject({
        entries: 3,
        exported: 3,
        skipped: 0,
        only: { file, listed: 4, notInDirectory: ['deleted-since-progress-ran'] },
      });
      expect(exported.report.summary).toMatchObject({ only: { notInDirectory: ['deleted-since-progress-ran'] } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exports users without a password, listed, when the account may not read userPassword', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-export-reader-'));
    try {
      const summary = await exportDirectory({ env: seeded.bridgeEnv(), outDir: dir, pageSize: 1000 });
      const { report } = readExport(dir);
      expect(summary).toMatchObject({ exported: 2000, withPasswordHash: 0, withoutPasswordHash: 2000 });
      expect(report.withoutPasswordHash[0]!.detail).toBe('no userPassword readable by the export account');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs as a command, printing the totals, and never prints a password or hash', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-export-cli-'));
    try {
      const output = execFileSync(
        process.execPath,
        ['--import', 'tsx', 'lambdas/entry/cli.ts', 'export', '--out', dir, '--page-size', '1000'],
        {
          env: { ...process.env, ...seeded.bridgeEnv({ LDAP_BIND_DN: exporterDN() }) } as NodeJS.ProcessEnv,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      expect(output).toContain(
        '2003 directory entries: 2000 exported (1999 with a password hash, 1 without), 3 not exported.',
      );
      expect(output).not.toContain(seeded.servicePassword);
      expect(output).not.toContain('{SSHA}');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with exit code 2 and a message naming the flag for a bad page size', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'lambdas/entry/cli.ts', 'export', '--page-size', 'lots'],
      { env: { ...process.env, ...seeded.bridgeEnv() } as NodeJS.ProcessEnv, encoding: 'utf8' },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('export: --page-size: "lots" expected a whole number from 1 to 10000');
  });

  it('writes every file owner-only, and exports a user who must change their password without the old hash', async () => {
    const mustChange = users[3]!;
    await withAdmin(seeded.admin, (client) =>
      client.modify(
        userDN(mustChange.uid, seeded.slapd.suffix),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdReset', values: ['TRUE'] }) }),
      ),
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-export-private-'));
    try {
      // A folder and a report left world-readable by an earlier run must not stay so.
      chmodSync(dir, 0o755);
      writeFileSync(path.join(dir, 'report.json'), '{}', { mode: 0o644 });
      await exportDirectory({ env: seeded.bridgeEnv({ LDAP_BIND_DN: exporterDN() }), outDir: dir });
      const { files, report, users: read } = readExport(dir);
      for (const name of [...files, 'report.json'])
        expect(statSync(path.join(dir, name)).mode & 0o777, name).toBe(0o600);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      const exported = files.flatMap(read).find((user) => user.username === mustChange.uid);
      expect(exported).toBeDefined();
      expect(exported?.custom_password_hash).toBeUndefined();
      expect(report.withoutPasswordHash).toContainEqual({
        dn: userDN(mustChange.uid, seeded.slapd.suffix),
        detail: expect.stringContaining('an administrator required a password change'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
