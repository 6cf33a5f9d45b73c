// `auth0-ldap-bridge sync-leavers --connection NAME [--apply] [--max-block N|P%] [--out DIR]
// [--page-size N]` (also `npm run sync-leavers`): while the directory and Auth0 both run, blocks in
// Auth0 the migrated users whose directory account is disabled, expired or gone, and unblocks
// those it blocked itself once their account is active again (runSyncLeavers in
// run-migration-checks.ts; the plan, marker and guard in core/migration/leavers.ts). A dry run
// unless --apply; every run writes its report to DIR/sync-leavers-<time>.json (owner-only).
import path from 'node:path';
import {
  BLOCK_MARKER_KEY,
  DEFAULT_BLOCK_FLOOR,
  DEFAULT_BLOCK_PERCENT,
  parseBlockLimit,
  type SyncLeaversReport,
} from '../../core/migration/leavers.ts';
import { DEFAULT_PAGE_SIZE, runSyncLeavers } from '../run-migration-checks.ts';
import { type Command, EXIT, integerOption, stringOption, UsageError } from './command.ts';
import { makePrivateFolder, writePrivateFile } from './export.ts';
import { progressDisplay, untilInterrupted } from './progress.ts';

/** Where the reports go unless --out says otherwise. */
export const DEFAULT_SYNC_LEAVERS_DIR = 'sync-leavers';
/** Changes listed on the terminal; the report lists them all. */
const CHANGES_PRINTED = 50;

export const syncLeaversCommand: Command = {
  name: 'sync-leavers',
  summary: 'block in Auth0 the migrated users the directory has disabled, expired or removed (dry run by default)',
  description: [
    'Once a user has migrated, Auth0 no longer asks the directory: an account disabled or deleted there keeps',
    "logging in to Auth0. This compares the directory (export's enumeration, the bridge's account-state rules)",
    "with the connection's users in Auth0 (a users-export job) and plans: block the users whose entry is",
    'disabled, expired or gone; unblock the users it blocked itself (app_metadata.' +
      BLOCK_MARKER_KEY +
      ') whose entry is',
    'active again. A block made by anyone else is never undone. Without --apply nothing is written to Auth0.',
    'With --apply each change is checked against the user as Auth0 has it just before the write and made one at',
    "a time within the tenant's rate limit; a rerun (after Ctrl-C or a failure) does only what is left.",
    `It refuses to change anything when the directory listed no entry, or when it would block more users than`,
    `--max-block allows (default ${DEFAULT_BLOCK_PERCENT}% of the connection's users, at least ${DEFAULT_BLOCK_FLOOR}): a directory read that finds`,
    'too little makes users look gone. Every run writes its report (planned, done, skipped, failed) to --out.',
    'Needs a machine-to-machine application with read:users, read:connections and update:users.',
    'Exit code 1 also when the guard refused, a change failed or the run was stopped.',
  ].join('\n'),
  options: {
    connection: { type: 'string', valueName: 'NAME', description: 'the database connection in Auth0, by name' },
    apply: { type: 'boolean', description: 'make the changes (default: a dry run that prints and reports the plan)' },
    'max-block': {
      type: 'string',
      valueName: 'N|P%',
      description: `at most this many blocks in one run, a number or a share of the connection's users (default ${DEFAULT_BLOCK_PERCENT}%, at least ${DEFAULT_BLOCK_FLOOR})`,
    },
    out: { type: 'string', valueName: 'DIR', description: 'where the reports go', default: DEFAULT_SYNC_LEAVERS_DIR },
    'page-size': {
      type: 'string',
      valueName: 'N',
      description: 'entries per paged search (1-10000)',
      default: String(DEFAULT_PAGE_SIZE),
    },
  },
  settingGroups: ['directory', 'logging', 'management-api'],
  async run(options, io) {
    const connection = stringOption(options, 'connection');
    if (connection === undefined) throw new UsageError('--connection NAME is required');
    const limitText = stringOption(options, 'max-block');
    const maxBlock = limitText === undefined ? undefined : parseBlockLimit(limitText);
    if (limitText !== undefined && maxBlock === undefined)
      throw new UsageError(
        `--max-block: "${limitText}" expected a whole number (25) or a percentage from 0 to 100 (5%)`,
      );
    const outDir = stringOption(options, 'out') ?? DEFAULT_SYNC_LEAVERS_DIR;
    const pageSize = integerOption(options, 'page-size', 1, 10_000) ?? DEFAULT_PAGE_SIZE;
    const apply = options.apply === true;
    const display = progressDisplay(io);
    const report = await untilInterrupted(
      io,
      'sync-leavers: stopping after the change in flight; press Ctrl-C again to end at once',
      (signal) =>
        runSyncLeavers(io.env, {
          connection,
          apply,
          pageSize,
          ...(maxBlock ? { maxBlock } : {}),
          onProgress: display.update,
          signal,
          log: io.err,
        }),
    ).finally(display.end);
    makePrivateFolder(outDir);
    const file = path.join(
      outDir,
      `sync-leavers-${report.generatedAt.replaceAll(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.json`,
    );
    writePrivateFile(file, `${JSON.stringify(report, null, 2)}\n`);
    io.out(`${describeRun(report, apply)}\nReport: ${file}`);
    const incomplete = report.refused !== undefined || report.interrupted || report.counts.failed > 0;
    return incomplete ? EXIT.failed : EXIT.ok;
  },
};

function describeRun(report: SyncLeaversReport, apply: boolean): string {
  const { counts } = report;
  const lines = [
    `${counts.directory} directory entries, ${counts.auth0Users} users of ${report.connection} in Auth0: ${counts.leavers} leavers (${counts.alreadyBlocked} already blocked); ${counts.keptBlocked} active users blocked by someone else are left blocked.`,
  ];
  const verb = (action: string) =>
    action === 'block' ? 'block' : action === 'unblock' ? 'unblock' : 'clear the marker of';
  for (const change of report.changes.slice(0, CHANGES_PRINTED)) {
    const who = [change.user_id, change.email, change.dn].filter(Boolean).join('  ');
    const outcome =
      change.outcome === 'planned' ? '' : ` -> ${change.outcome}${change.detail ? `: ${change.detail}` : ''}`;
    lines.push(`  ${verb(change.action)} ${who} (${change.reason})${outcome}`);
  }
  if (report.changes.length > CHANGES_PRINTED)
    lines.push(`  ... and ${report.changes.length - CHANGES_PRINTED} more in the report`);
  const plan = `${counts.toBlock} to block, ${counts.toUnblock} to unblock, ${counts.toClearMarker} markers to clear`;
  if (report.refused) lines.push(`${apply ? 'Refused' : 'With --apply it would refuse'}: ${report.refused}.`);
  else if (!report.applied)
    lines.push(`Dry run: ${plan}; nothing was changed (rerun with --apply to make the changes).`);
  else
    lines.push(
      `Applied: ${counts.blocked} blocked, ${counts.unblocked} unblocked, ${counts.markersCleared} markers cleared, ${counts.skipped} skipped (changed since the export), ${counts.failed} failed${report.interrupted ? '; stopped before the end: run the same command again to finish' : ''}.`,
    );
  return lines.join('\n');
}
