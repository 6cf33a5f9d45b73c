// `auth0-ldap-bridge export [--out DIR] [--page-size N] [--filter F] [--only FILE]` (also `npm run export`): reads the whole directory with
// paged searches and writes Auth0 user-import files (users-0001.json ...) of at most 500 KB,
// with the same profile as /login and /get-user and the password hash where Auth0 can import it,
// plus report.json listing every entry not exported and why. With --only, just the users a
// not-migrated.json of `progress` lists (the final bulk import of the long tail). Configuration:
// the LDAP_* variables of the bridge; LDAP_BIND_DN must be allowed to read userPassword to export hashes.
// The enumeration is the one progress and sync-leavers use (run-migration-checks.ts).
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadDirectoryConfig } from '../../core/config/bridge-config.ts';
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import {
  DEFAULT_EXPORT_DIR,
  importFileName,
  isImportFileName,
  planImport,
  splitIntoImportFiles,
} from '../../core/migration/import-files.ts';
import { NotMigratedFileError, parseNotMigratedFile } from '../../core/migration/not-migrated-file.ts';
import { JsonLogger } from '../../adapters/json-logger.ts';
import { type Command, EXIT, integerOption, stringOption, UsageError } from './command.ts';
import { DEFAULT_PAGE_SIZE, readDirectoryUsers } from '../run-migration-checks.ts';

export interface ExportOptions {
  env: Readonly<Record<string, string | undefined>>;
  outDir: string;
  pageSize?: number;
  /** Which entries to export; default the user filter with every {username} as a presence test. */
  filter?: string;
  /** A not-migrated.json of `progress`: only the users it lists are exported. */
  only?: string;
  /** Progress lines or a bar; default nothing. */
  progress?: (exported: number) => void;
}

export interface ExportSummary {
  entries: number;
  exported: number;
  withPasswordHash: number;
  withoutPasswordHash: number;
  skipped: number;
  files: string[];
  /** With --only: how many users the file lists, and those the directory no longer has (by user_id). */
  only?: { file: string; listed: number; notInDirectory: string[] };
}

export async function exportDirectory(options: ExportOptions): Promise<ExportSummary> {
  const { directory: config, logLevel } = loadDirectoryConfig(options.env);
  if (config.bindCredentials.kind !== 'static')
    throw new UsageError(
      `set ${S.LDAP_BIND_DN.env} and ${S.LDAP_BIND_PASSWORD.env} (an account that may read userPassword) instead of ${S.LDAP_BIND_SECRET_ARN.env}`,
    );
  // Read before the directory is: a file that is not a not-migrated.json stops the export at once.
  const only = options.only === undefined ? undefined : readSelection(options.only);
  // Log lines go to stderr: stdout carries the command's result.
  const logger = new JsonLogger(logLevel, (line) => process.stderr.write(line));
  const read = await readDirectoryUsers(config, logger, {
    ...(options.filter ? { filter: options.filter } : {}),
    pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE,
    passwords: true,
    groups: true,
    ...(options.progress ? { onPage: options.progress } : {}),
    now: new Date(),
  });
  const entries =
    only === undefined ? read : read.filter((entry) => entry.userId !== undefined && only.userIds.has(entry.userId));
  const found = new Set(entries.map((entry) => entry.userId));

  const plan = planImport(entries);
  const { files, tooLarge } = splitIntoImportFiles(plan.users);
  const skipped = [
    ...plan.skipped,
    ...tooLarge.map((user) => ({
      dn: String(user.app_metadata?.dn ?? user.user_id),
      reason: 'too_large' as const,
      detail: 'this user alone exceeds the 500 KB file limit',
    })),
  ];

  // Owner-only: the files hold password hashes and the report names every account.
  makePrivateFolder(options.outDir);
  for (const name of readdirSync(options.outDir)) if (isImportFileName(name)) rmSync(path.join(options.outDir, name));
  const names = files.map((_, index) => importFileName(index + 1));
  for (const [index, file] of files.entries()) {
    writePrivateFile(path.join(options.outDir, names[index] ?? ''), file);
  }
  const exportedUsers = plan.users.filter((user) => !tooLarge.includes(user));
  const withPasswordHash = exportedUsers.filter((user) => user.custom_password_hash !== undefined).length;
  const summary: ExportSummary = {
    entries: entries.length,
    exported: exportedUsers.length,
    withPasswordHash,
    withoutPasswordHash: exportedUsers.length - withPasswordHash,
    skipped: skipped.length,
    files: names,
    ...(only
      ? {
          only: {
            file: options.only as string,
            listed: only.userIds.size,
            notInDirectory: [...only.userIds].filter((userId) => !found.has(userId)).sort(),
          },
        }
      : {}),
  };
  const report = { summary, passwordSchemes: plan.passwordSchemes, skipped, withoutPasswordHash: plan.withoutPassword };
  writePrivateFile(path.join(options.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return summary;
}

/** The user_ids a not-migrated.json lists; a file that is not one is refused, naming it and what is wrong. */
function readSelection(file: string): { userIds: Set<string> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--only: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return { userIds: new Set(parseNotMigratedFile(text).users.map((user) => user.user_id)) };
  } catch (error) {
    if (!(error instanceof NotMigratedFileError)) throw error;
    throw new UsageError(
      `--only: ${file} is not a not-migrated.json written by auth0-ldap-bridge progress: ${error.message}`,
    );
  }
}

/** The folder, created if need be, readable by its owner only (also when an earlier run left it open). */
export function makePrivateFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // mode applies only to a folder mkdir creates
}

/**
 * Written readable by its owner only: a new file (exclusive create, mode 0600, never following a
 * link left in its place) renamed over the old one, so what an earlier run left readable never
 * holds the new content, and an interrupted write leaves the old file whole.
 */
export function writePrivateFile(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, file);
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write the directory as Auth0 user-import files (users-NNNN.json) and report.json',
  description: [
    'Reads every user with paged searches and writes Auth0 user-import files of at most 500 KB, with the same',
    'profile as /login and /get-user and the password hash where Auth0 can import it, plus report.json listing',
    'every entry not exported and why. LDAP_BIND_DN must be an account that may read userPassword to export',
    'hashes (LDAP_BIND_SECRET_ARN is refused: give the account here). It keeps one connection for its paged',
    'searches, so the bind pool settings do not apply. The files hold password hashes: they are written with',
    'mode 0600. With --only, just the users a not-migrated.json of `auth0-ldap-bridge progress` lists (the final',
    'bulk import of those not migrated yet); users it lists that the directory no longer has are named in report.json.',
  ].join('\n'),
  options: {
    out: { type: 'string', valueName: 'DIR', description: 'where the files go', default: DEFAULT_EXPORT_DIR },
    'page-size': {
      type: 'string',
      valueName: 'N',
      description: 'entries per paged search (1-10000)',
      default: String(DEFAULT_PAGE_SIZE),
    },
    filter: {
      type: 'string',
      valueName: 'FILTER',
      description: 'which entries to export (default: the user filter with {username} as a presence test)',
    },
    only: {
      type: 'string',
      valueName: 'FILE',
      description: 'export only the users of this not-migrated.json (written by auth0-ldap-bridge progress)',
    },
  },
  settingGroups: ['directory', 'groups', 'logging'],
  async run(options, io) {
    const outDir = stringOption(options, 'out') ?? DEFAULT_EXPORT_DIR;
    const pageSize = integerOption(options, 'page-size', 1, 10_000) ?? DEFAULT_PAGE_SIZE;
    const filter = stringOption(options, 'filter');
    const only = stringOption(options, 'only');
    const onTerminal = process.stderr.isTTY;
    const progress = (exported: number) => {
      if (onTerminal)
        process.stderr.write(
          `\r  read ${exported} entries ${'#'.repeat(Math.min(40, Math.ceil(exported / pageSize)))}`,
        );
      else io.err(`read ${exported} entries`);
    };
    const summary = await exportDirectory({
      env: io.env,
      outDir,
      pageSize,
      progress,
      ...(filter ? { filter } : {}),
      ...(only ? { only } : {}),
    });
    if (onTerminal) process.stderr.write('\n');
    if (summary.only)
      io.out(
        `${summary.only.file} lists ${summary.only.listed} users: ${summary.entries} found in the directory${summary.only.notInDirectory.length ? `, ${summary.only.notInDirectory.length} no longer there (listed in report.json)` : ''}.`,
      );
    io.out(
      `${summary.entries} directory entries: ${summary.exported} exported (${summary.withPasswordHash} with a password hash, ${summary.withoutPasswordHash} without), ${summary.skipped} not exported.\n` +
        `Files: ${summary.files.map((name) => path.join(outDir, name)).join(', ') || 'none'}; every entry not exported, and why: ${path.join(outDir, 'report.json')}`,
    );
    return EXIT.ok;
  },
};
