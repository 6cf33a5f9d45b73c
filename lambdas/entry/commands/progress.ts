// `auth0-ldap-bridge progress --connection NAME [--out DIR] [--page-size N]` (also `npm run
// progress`): the directory against the connection's users in Auth0 (computeProgress in
// run-migration-checks.ts), written as DIR/progress.json (the report), DIR/not-migrated.json (the
// users `export --only` turns into the final bulk import) and DIR/progress.html (the page for a
// meeting), all owner-only: they name accounts. Also the progress display the migration commands
// share: bars on stderr when it is a terminal, plain lines otherwise.
import path from 'node:path';
import { NOT_MIGRATED_FILE, notMigratedFile } from '../../core/migration/not-migrated-file.ts';
import { renderProgressPage } from '../../core/migration/progress-page.ts';
import type { ProgressReport } from '../../core/migration/progress.ts';
import {
  computeProgress,
  DEFAULT_PAGE_SIZE,
  MigrationCheckFailed,
  type MigrationCheckStep,
} from '../run-migration-checks.ts';
import {
  type Command,
  type CommandIO,
  CommandFailed,
  EXIT,
  integerOption,
  stringOption,
  UsageError,
} from './command.ts';
import { makePrivateFolder, writePrivateFile } from './export.ts';

/** Where progress writes unless --out says otherwise (next to export's folder; keep both out of version control). */
export const DEFAULT_PROGRESS_DIR = 'progress';

export const progressCommand: Command = {
  name: 'progress',
  summary: 'compare the directory with the connection in Auth0: progress.json, not-migrated.json, progress.html',
  description: [
    "Reads the directory as export does (the same enumeration and profile mapping) and the connection's users in",
    'Auth0 with a users-export job (any number of users; the search API stops at 1,000), matches them by user_id',
    'and writes, owner-only, into --out:',
    '  progress.json      migrated, not migrated yet, and leavers (in Auth0, but disabled, expired or gone in the',
    '                     directory), migrations per day (Auth0 created_at), the share migrated, the projection',
    '                     to 95 % and the long tail by group and by container',
    '  not-migrated.json  the users not migrated yet: `export --only DIR/not-migrated.json` exports just them',
    '  progress.html      one self-contained page of the same figures, to show in a meeting (works offline)',
    'Needs the LDAP_* settings of the bridge (no userPassword is read) and a machine-to-machine application with',
    'read:users and read:connections.',
  ].join('\n'),
  options: {
    connection: { type: 'string', valueName: 'NAME', description: 'the database connection in Auth0, by name' },
    out: { type: 'string', valueName: 'DIR', description: 'where the files go', default: DEFAULT_PROGRESS_DIR },
    'page-size': {
      type: 'string',
      valueName: 'N',
      description: 'entries per paged search (1-10000)',
      default: String(DEFAULT_PAGE_SIZE),
    },
  },
  settingGroups: ['directory', 'groups', 'logging', 'management-api'],
  async run(options, io) {
    const connection = stringOption(options, 'connection');
    if (connection === undefined) throw new UsageError('--connection NAME is required');
    const outDir = stringOption(options, 'out') ?? DEFAULT_PROGRESS_DIR;
    const pageSize = integerOption(options, 'page-size', 1, 10_000) ?? DEFAULT_PAGE_SIZE;
    const display = progressDisplay(io);
    const report = await untilInterrupted(io, 'progress: stopping; nothing is written', (signal) =>
      computeProgress(io.env, { connection, pageSize, onProgress: display.update, signal, log: io.err }),
    ).finally(display.end);
    const files = writeProgressFiles(outDir, report);
    io.out(`${progressSummary(report)}\nFiles: ${files.join(', ')}`);
    return EXIT.ok;
  },
};

/** Writes the three files (atomically, owner-only) and returns their paths. */
export function writeProgressFiles(outDir: string, report: ProgressReport): string[] {
  makePrivateFolder(outDir);
  const { notMigratedUsers: _listed, ...rest } = report;
  const files: Array<[string, string]> = [
    ['progress.json', `${JSON.stringify(rest, null, 2)}\n`],
    [NOT_MIGRATED_FILE, `${JSON.stringify(notMigratedFile(report), null, 2)}\n`],
    ['progress.html', renderProgressPage(report)],
  ];
  return files.map(([name, text]) => {
    const file = path.join(outDir, name);
    writePrivateFile(file, text);
    return file;
  });
}

function progressSummary(report: ProgressReport): string {
  const { counts, leavers, projection } = report;
  const active = counts.migrated + counts.notMigrated;
  const share = report.share === null ? 'n/a' : `${(report.share * 100).toFixed(1)} %`;
  const outlook =
    projection.status === 'projected'
      ? `95 % projected for ${projection.reachesOn}`
      : projection.status === 'reached'
        ? '95 % reached'
        : `no projection: ${projection.explanation}`;
  return [
    `${counts.migrated} of ${active} active directory users are in Auth0 (${share}); ${counts.notMigrated} not migrated yet; ${outlook}.`,
    `${counts.leavers} leavers in Auth0 (${leavers.disabled} disabled, ${leavers.expired} expired, ${leavers.gone} gone in the directory; ${leavers.blocked} of them blocked).`,
  ].join('\n');
}

/**
 * Runs `work` with a signal the first Ctrl-C aborts (a second one ends the process as usual), and
 * turns what a migration check fails with into the command's failure.
 */
export async function untilInterrupted<T>(
  io: CommandIO,
  stopping: string,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => {
    io.err(stopping);
    controller.abort();
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await work(controller.signal);
  } catch (error) {
    if (error instanceof MigrationCheckFailed) throw new CommandFailed(error.message);
    if (controller.signal.aborted) throw new CommandFailed('stopped (Ctrl-C)');
    throw error;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

const STEP_NAMES: Record<MigrationCheckStep, string> = {
  directory: 'directory',
  auth0: 'Auth0 export',
  apply: 'changes',
};

/**
 * The long steps' progress: one line of bars on stderr, redrawn, when it is a terminal; otherwise
 * a plain line when a step moves on (each directory page, each new percentage of the export job).
 */
export function progressDisplay(io: CommandIO): {
  update: (step: MigrationCheckStep, done: number, total?: number) => void;
  end: () => void;
} {
  const onTerminal = process.stderr.isTTY === true;
  const steps = new Map<MigrationCheckStep, { done: number; total?: number }>();
  let drawn = false;
  const describe = (step: MigrationCheckStep, done: number, total?: number) =>
    step === 'auth0'
      ? `${STEP_NAMES[step]}: ${done} %`
      : `${STEP_NAMES[step]}: ${done}${total === undefined ? ' entries read' : ` of ${total}`}`;
  return {
    update(step, done, total) {
      const before = steps.get(step);
      if (before && before.done === done) return;
      steps.set(step, { done, ...(total === undefined ? {} : { total }) });
      if (!onTerminal) {
        io.err(describe(step, done, total));
        return;
      }
      const line = [...steps.entries()]
        .map(([name, state]) => {
          const text = describe(name, state.done, state.total);
          if (state.total === undefined || state.total === 0) return text;
          const filled = Math.round((Math.min(state.done, state.total) / state.total) * 20);
          return `${text} [${'#'.repeat(filled)}${'.'.repeat(20 - filled)}]`;
        })
        .join('   ');
      process.stderr.write(`\r\x1b[2K  ${line}`);
      drawn = true;
    },
    end() {
      if (drawn) process.stderr.write('\n');
    },
  };
}
