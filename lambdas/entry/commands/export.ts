// `auth0-ldap-bridge export [--out DIR] [--page-size N] [--filter F]` (also `npm run export`): reads the whole directory with
// paged searches and writes Auth0 user-import files (users-0001.json ...) of at most 500 KB,
// with the same profile as /login and /get-user and the password hash where Auth0 can import it,
// plus report.json listing every entry not exported and why. Configuration: the LDAP_* variables
// of the bridge; LDAP_BIND_DN must be allowed to read userPassword to export hashes.
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadDirectoryConfig } from '../../core/config/bridge-config.ts';
import { DirectoryDataError } from '../../contract/errors.ts';
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import {
  type ExportedEntry,
  DEFAULT_EXPORT_DIR,
  importFileName,
  isImportFileName,
  passwordForExport,
  planImport,
  splitIntoImportFiles,
} from '../../core/migration/import-files.ts';
import { hiddenStateOf, profileOf } from '../../core/profile/build-profile.ts';
import { JsonLogger } from '../../adapters/json-logger.ts';
import { type Command, EXIT, integerOption, stringOption, UsageError } from './command.ts';
import { createLdapDirectory, groupParentsCache, userProfileSettings } from '../compose.ts';

/** Entries per paged search unless --page-size says otherwise. */
const DEFAULT_PAGE_SIZE = 500;

export interface ExportOptions {
  env: Readonly<Record<string, string | undefined>>;
  outDir: string;
  pageSize?: number;
  /** Which entries to export; default the user filter with every {username} as a presence test. */
  filter?: string;
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
}

export async function exportDirectory(options: ExportOptions): Promise<ExportSummary> {
  const { directory: config, logLevel } = loadDirectoryConfig(options.env);
  if (config.bindCredentials.kind !== 'static')
    throw new UsageError(
      `set ${S.LDAP_BIND_DN.env} and ${S.LDAP_BIND_PASSWORD.env} (an account that may read userPassword) instead of ${S.LDAP_BIND_SECRET_ARN.env}`,
    );
  // Log lines go to stderr: stdout carries the command's result.
  const logger = new JsonLogger(logLevel, (line) => process.stderr.write(line));
  const directory = createLdapDirectory(config, logger, {
    operationTimeoutMs: Math.max(config.operationTimeoutMs, 30_000), // a page of a large directory takes longer than one login
    bindPoolSize: 1,
    bindQueueLimit: 0,
  });
  // The user filter with a presence test where the username goes: (uid={username}) -> (uid=*).
  const filter = options.filter ?? config.userFilter.split('{username}').join('*');
  const entries: ExportedEntry[] = [];
  const settings = userProfileSettings(config);
  // The export walks every user's groups: the hierarchy above them is searched once per group, not once per user.
  const sources = { directory, logger, groupParents: groupParentsCache(config.groups) };
  const now = new Date();
  try {
    for await (const page of directory.listUsers(filter, options.pageSize ?? DEFAULT_PAGE_SIZE, ['userPassword'])) {
      for (const entry of page) {
        let profile: ExportedEntry['profile'];
        const hidden = hiddenStateOf(entry, settings, now);
        if (hidden !== undefined) profile = { inactive: hidden };
        else {
          try {
            profile = await profileOf(entry, settings, sources);
          } catch (error) {
            if (error instanceof DirectoryDataError) profile = { error: error.message };
            else throw error; // the directory stopped answering: the export fails rather than drop users
          }
        }
        entries.push({ dn: entry.dn, profile, password: passwordForExport(entry, config.accountStates, now) });
      }
      options.progress?.(entries.length);
    }
  } finally {
    await directory.close();
  }

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
  mkdirSync(options.outDir, { recursive: true, mode: 0o700 });
  chmodSync(options.outDir, 0o700); // mode applies only to a folder mkdir creates
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
  };
  const report = { summary, passwordSchemes: plan.passwordSchemes, skipped, withoutPasswordHash: plan.withoutPassword };
  writePrivateFile(path.join(options.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return summary;
}

/**
 * Written readable by its owner only: a new file (exclusive create, mode 0600, never following a
 * link left in its place) renamed over the old one, so what an earlier run left readable never
 * holds the new content, and an interrupted write leaves the old file whole.
 */
function writePrivateFile(file: string, text: string): void {
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
    'mode 0600.',
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
  },
  settingGroups: ['directory', 'groups', 'logging'],
  async run(options, io) {
    const outDir = stringOption(options, 'out') ?? DEFAULT_EXPORT_DIR;
    const pageSize = integerOption(options, 'page-size', 1, 10_000) ?? DEFAULT_PAGE_SIZE;
    const filter = stringOption(options, 'filter');
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
    });
    if (onTerminal) process.stderr.write('\n');
    io.out(
      `${summary.entries} directory entries: ${summary.exported} exported (${summary.withPasswordHash} with a password hash, ${summary.withoutPasswordHash} without), ${summary.skipped} not exported.\n` +
        `Files: ${summary.files.map((name) => path.join(outDir, name)).join(', ') || 'none'}; every entry not exported, and why: ${path.join(outDir, 'report.json')}`,
    );
    return EXIT.ok;
  },
};
