// The composition root of the migration checks, shared by `auth0-ldap-bridge progress`,
// `auth0-ldap-bridge sync-leavers`, `export` (whose enumeration this is) and the scheduled
// sync-leavers function: reads the bridge's LDAP_* settings and the Management API's AUTH0_*
// settings, enumerates the directory with the bridge's own mapping and account-state rules
// (core/migration/directory-users.ts), reads the connection's users from Auth0 with a
// users-export job (any size: the search API stops at 1,000), and hands both to the core
// (progress.ts, leavers.ts). sync-leavers with apply writes one user at a time through the
// adapter, whose tenant-wide limiter honours the Management API's rate limits.
import {
  type Job,
  ManagementApi,
  ManagementApiError,
  type ManagementApiOptions,
} from '../adapters/auth0-management-api.ts';
import { JsonLogger } from '../adapters/json-logger.ts';
import { DirectoryUnavailable } from '../contract/errors.ts';
import { RUNTIME_SETTINGS as S } from '../contract/settings.ts';
import { type DirectoryConfig, loadDirectoryConfig } from '../core/config/bridge-config.ts';
import { ConfigError, SettingsReader } from '../core/config/read-settings.ts';
import { type DirectoryUser, enumerateDirectoryUsers } from '../core/migration/directory-users.ts';
import {
  type BlockLimit,
  type ChangeRow,
  guardPlan,
  maxBlocks,
  type PlannedChange,
  planLeavers,
  stepFor,
  type SyncLeaversReport,
  syncLeaversReport,
} from '../core/migration/leavers.ts';
import {
  CONNECTION_USER_FIELDS,
  type ConnectionUser,
  diffDirectoryAndAuth0,
  type IgnoredRows,
  type ProgressReport,
  progressReport,
  readConnectionUsers,
} from '../core/migration/progress.ts';
import type { Logger } from '../core/ports.ts';
import { createLdapDirectory, groupParentsCache, userProfileSettings } from './compose.ts';

/** The steps onProgress names. `directory`: entries read so far (no total). `auth0`: the export job's percentage (of 100). `apply`: changes made (of the planned ones). */
export type MigrationCheckStep = 'directory' | 'auth0' | 'apply';

export interface MigrationCheckOptions {
  /** The Auth0 database connection, by name. */
  connection: string;
  onProgress?: (step: MigrationCheckStep, done: number, total?: number) => void;
  /** Stops the run: between directory pages, job polls and users; a write in flight finishes. */
  signal?: AbortSignal;
  /** Where the Management API is reached and how its jobs are followed. Tests point it at the emulator. */
  managementApi?: Pick<ManagementApiOptions, 'apiHost' | 'fetch'> & {
    /** Milliseconds between two polls of the export job. Default 3000. */
    pollIntervalMs?: number;
  };
  /** Lines worth telling an operator (long rate-limit waits). Default: none. */
  log?: (line: string) => void;
  /** Where the directory adapter logs (JSON lines). Default: stderr at LOG_LEVEL. */
  logger?: Logger;
  /** Entries per paged search. Default 500. */
  pageSize?: number;
}

/** Entries per paged search unless told otherwise. */
export const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_POLL_INTERVAL_MS = 3000;

/** A migration check that could not be done, explained (no stack trace needed); never carries a secret. */
export class MigrationCheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationCheckFailed';
  }
}

/** The directory (export's enumeration and mapping) against the connection's users in Auth0 (an export job). */
export async function computeProgress(
  env: Readonly<Record<string, string | undefined>>,
  options: MigrationCheckOptions,
): Promise<ProgressReport> {
  const config = loadMigrationCheckConfig(env);
  const now = new Date();
  const { directory, auth0 } = await readBothSides(config, options, { groups: true }, now);
  return progressReport({
    connection: auth0.connection,
    directory,
    users: auth0.users,
    ignored: auth0.ignored,
    now,
  });
}

/**
 * What sync-leavers would do (dry run) or did (apply). With apply, each planned change is checked
 * against the user as Auth0 has it right before the write (a block or unblock someone made since
 * the export is respected) and written alone; a rerun after an interruption plans again from
 * Auth0's state and does only what is left. Nothing is written when the guard refuses (see
 * guardPlan) or when dry.
 */
export async function runSyncLeavers(
  env: Readonly<Record<string, string | undefined>>,
  options: MigrationCheckOptions & {
    apply: boolean;
    /** At most this many blocks in one run. Default: 10 % of the connection's users, at least 10. */
    maxBlock?: BlockLimit;
  },
): Promise<SyncLeaversReport> {
  const config = loadMigrationCheckConfig(env);
  const now = new Date();
  const { directory, auth0, api } = await readBothSides(config, options, { groups: false }, now);
  const diff = diffDirectoryAndAuth0(directory, auth0.users);
  const plan = planLeavers(diff);
  const maxBlock = maxBlocks(options.maxBlock, auth0.users.length);
  const refused = guardPlan(plan, {
    directoryEntries: directory.length,
    auth0Users: auth0.users.length,
    maxBlock,
    limitGiven: options.maxBlock !== undefined,
  });
  const act = options.apply && refused === undefined;
  const changes: ChangeRow[] = act
    ? await applyChanges(api, plan.changes, options)
    : plan.changes.map((planned) => ({ ...planned, outcome: 'planned' as const }));
  return syncLeaversReport({
    connection: auth0.connection,
    now,
    applied: act,
    refused,
    interrupted: changes.some((row) => row.outcome === 'not_reached'),
    maxBlock,
    directoryEntries: directory.length,
    auth0Users: auth0.users.length,
    diff,
    plan,
    changes,
    ignored: auth0.ignored,
  });
}

/** One user at a time: a fresh read, the core's decision, the write. Stops between users when signalled. */
async function applyChanges(
  api: ManagementApi,
  planned: readonly PlannedChange[],
  options: MigrationCheckOptions,
): Promise<ChangeRow[]> {
  const rows: ChangeRow[] = [];
  let stop: string | undefined;
  for (const [index, change] of planned.entries()) {
    if (stop !== undefined || options.signal?.aborted) {
      rows.push({ ...change, outcome: 'not_reached', ...(stop ? { detail: stop } : {}) });
      continue;
    }
    try {
      const current = await api.getUser(change.user_id, options.signal);
      const step = stepFor(change, current, new Date());
      if ('skip' in step) rows.push({ ...change, outcome: 'skipped', detail: step.skip });
      else {
        await api.updateUser(change.user_id, step.write, options.signal);
        rows.push({ ...change, outcome: 'done' });
      }
    } catch (error) {
      if (!(error instanceof ManagementApiError)) throw error;
      if (error.code === 'aborted') rows.push({ ...change, outcome: 'not_reached' });
      else {
        rows.push({ ...change, outcome: 'failed', detail: error.message });
        // The application cannot do this at all: every other change would fail the same way.
        if (error.code === 'invalid_credentials' || error.code === 'missing_scope' || error.code === 'unauthorized')
          stop = `not tried: ${error.message}`;
      }
    }
    options.onProgress?.('apply', index + 1, planned.length);
  }
  return rows;
}

interface MigrationCheckConfig {
  directory: DirectoryConfig;
  logLevel: ReturnType<typeof loadDirectoryConfig>['logLevel'];
  domain: string;
  clientId: string;
  clientSecret: string;
}

/** The LDAP_* and AUTH0_* settings, every problem of both reported at once. */
export function loadMigrationCheckConfig(env: Readonly<Record<string, string | undefined>>): MigrationCheckConfig {
  const reader = new SettingsReader(env);
  const domain = reader.string(S.AUTH0_DOMAIN);
  const clientId = reader.string(S.AUTH0_CLIENT_ID);
  const clientSecret = reader.string(S.AUTH0_CLIENT_SECRET);
  const problems = [...reader.found];
  let loaded: ReturnType<typeof loadDirectoryConfig> | undefined;
  try {
    loaded = loadDirectoryConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0 || !loaded || !domain || !clientId || !clientSecret) throw new ConfigError(problems);
  return { directory: loaded.directory, logLevel: loaded.logLevel, domain, clientId, clientSecret };
}

/**
 * The connection (looked up first: an unknown name fails before the directory is read), then the
 * directory enumeration and the users-export job side by side. Either failing stops the other.
 */
async function readBothSides(
  config: MigrationCheckConfig,
  options: MigrationCheckOptions,
  how: { groups: boolean },
  now: Date,
): Promise<{
  directory: DirectoryUser[];
  auth0: { connection: string; users: ConnectionUser[]; ignored: IgnoredRows };
  api: ManagementApi;
}> {
  const api = new ManagementApi({
    domain: config.domain,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    ...(options.managementApi?.apiHost ? { apiHost: options.managementApi.apiHost } : {}),
    ...(options.managementApi?.fetch ? { fetch: options.managementApi.fetch } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  const connection = await auth0Step(() => api.findConnection(options.connection));
  if (connection.strategy !== 'auth0')
    throw new MigrationCheckFailed(
      `connection ${connection.name} is a "${connection.strategy}" connection; the bridge's users are in a database connection (strategy auth0)`,
    );
  const both = new AbortController();
  const stopBoth = () => both.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stopBoth, { once: true });
  const signal = both.signal;
  try {
    const [directory, rows] = await Promise.all([
      readDirectoryUsers(config.directory, options.logger ?? stderrLogger(config.logLevel), {
        pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE,
        passwords: false,
        groups: how.groups,
        onPage: (read) => options.onProgress?.('directory', read),
        signal,
        now,
      }).catch((error: unknown) => {
        both.abort(error);
        if (error instanceof DirectoryUnavailable)
          throw new MigrationCheckFailed(
            `the directory stopped answering while it was read (${error.message}); nothing was compared`,
          );
        throw error;
      }),
      auth0Step(() =>
        api.exportUsers(
          { connectionId: connection.id, fields: [...CONNECTION_USER_FIELDS] },
          {
            pollIntervalMs: options.managementApi?.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
            signal,
            onPoll: (job: Job) =>
              options.onProgress?.('auth0', job.status === 'completed' ? 100 : (job.percentage_done ?? 0), 100),
          },
        ),
      ).catch((error: unknown) => {
        both.abort(error);
        throw error;
      }),
    ]);
    options.onProgress?.('auth0', 100, 100);
    return {
      directory,
      auth0: {
        connection: connection.name,
        ...readConnectionUsers(rows, connection.name, config.directory.mapping.userIdPrefix),
      },
      api,
    };
  } finally {
    options.signal?.removeEventListener('abort', stopBoth);
  }
}

/** A Management API call whose failure ends the check, with the adapter's message (it never holds a secret). */
async function auth0Step<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ManagementApiError) throw new MigrationCheckFailed(error.message);
    throw error;
  }
}

function stderrLogger(level: MigrationCheckConfig['logLevel']): Logger {
  // Log lines go to stderr: stdout carries the command's result.
  return new JsonLogger(level, (line) => process.stderr.write(line));
}

/**
 * Every entry the user filter (or `filter`) finds, mapped as export, progress and sync-leavers
 * need it: one paged enumeration on a connection of its own, closed when done however it ends.
 */
export async function readDirectoryUsers(
  config: DirectoryConfig,
  logger: Logger,
  options: {
    /** Default: the user filter with every {username} as a presence test: (uid={username}) -> (uid=*). */
    filter?: string;
    pageSize: number;
    passwords: boolean;
    groups: boolean;
    onPage?: (entriesRead: number) => void;
    signal?: AbortSignal;
    now: Date;
  },
): Promise<DirectoryUser[]> {
  const directory = createLdapDirectory(config, logger, {
    operationTimeoutMs: Math.max(config.operationTimeoutMs, 30_000), // a page of a large directory takes longer than one login
    bindPoolSize: 1,
    bindQueueLimit: 0,
  });
  try {
    return await enumerateDirectoryUsers(
      userProfileSettings(config),
      // The walk covers every user's groups: the hierarchy above them is searched once per group, not once per user.
      { directory, logger, groupParents: groupParentsCache(config.groups) },
      {
        filter: options.filter ?? config.userFilter.split('{username}').join('*'),
        pageSize: options.pageSize,
        passwords: options.passwords,
        groups: options.groups,
        ...(options.onPage ? { onPage: options.onPage } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      options.now,
    );
  } finally {
    await directory.close();
  }
}
