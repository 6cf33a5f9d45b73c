// `auth0-ldap-bridge cutover --connection NAME [--apply]` and `cutover --connection NAME
// --rollback FILE [--apply]` (also `npm run cutover`): the end of the migration. Cutover checks
// that nobody is left behind (progress, sync-leavers' dry run, the last import's state), saves the
// connection's options to a file, writes them back with the Login and Get User scripts replaced by
// the no-op scripts of auth0/noop/ and "Import Users to Auth0" on, and reads the connection again
// to verify what Auth0 holds. Rollback writes back exactly what a cutover saved, after checking
// that the file is that connection's save, unchanged, and that the connection is as cutover left
// it. Both are dry runs unless --apply. The decisions are core/migration/cutover.ts; this file
// reads, writes and prints.
//
// The save may hold the scripts' settings, the bridge's client secret among them: it is written
// 0600, created exclusively (an existing file is never replaced) and never printed; no setting's
// value is printed either, only its key.
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { type Connection, ManagementApi, ManagementApiError } from '../../adapters/auth0-management-api.ts';
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import { ConfigError, SettingsReader } from '../../core/config/read-settings.ts';
import {
  type ConnectionOptions,
  CutoverSaveError,
  type CutoverSave,
  cutoverOptions,
  describeChange,
  judgeReadiness,
  type LastImport,
  makeCutoverSave,
  type NoopScripts,
  optionChanges,
  parseCutoverSave,
  planRollback,
  type Readiness,
  saveMismatch,
  scriptKind,
  sealedSettingKeys,
} from '../../core/migration/cutover.ts';
import { DEFAULT_EXPORT_DIR, isImportFileName } from '../../core/migration/import-files.ts';
import { ImportStateError, parseImportState } from '../../core/migration/import-state.ts';
import {
  computeProgress,
  loadMigrationCheckConfig,
  MigrationCheckFailed,
  runSyncLeavers,
} from '../run-migration-checks.ts';
import { type Command, CommandFailed, EXIT, integerOption, stringOption, UsageError } from './command.ts';

/** Where the Management API is and who calls it; tests point apiHost and fetch at the emulator. */
export interface TenantAccess {
  domain: string;
  clientId: string;
  clientSecret: string;
  apiHost?: string;
  fetch?: typeof fetch;
}

interface Output {
  /** Results (stdout). */
  out: (line: string) => void;
  /** Progress (stderr). */
  log: (line: string) => void;
}

export interface CutoverOptions extends TenantAccess, Output {
  connectionName: string;
  apply: boolean;
  /** Replace scripts that are not the bridge's. */
  force: boolean;
  /** Directory users allowed to have no Auth0 user. Default 0. */
  allowNotMigrated?: number;
  /** Where the last import's import-state.json is. Default: export's directory. */
  importDir?: string;
  /** The save file. Default: cutover-<connection>-<UTC time>.json in the working directory. */
  savePath?: string;
  /** The bridge's settings (LDAP_* and AUTH0_*) for progress and sync-leavers. */
  env: Readonly<Record<string, string | undefined>>;
  /** Milliseconds between two polls of the readiness checks' export jobs. Default: theirs. */
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

export interface RollbackOptions extends TenantAccess, Output {
  connectionName: string;
  saveFile: string;
  apply: boolean;
  /** Restore over changes made since cutover, or send sealed settings as saved. */
  force: boolean;
  /** A JSON object of the settings' clear values, for a save whose settings Auth0 returned encrypted. */
  settingsFile?: string;
}

/** The no-op scripts, read from auth0/noop/ beside the source tree (tsx) or the build (dist/). */
export function readNoopScripts(): NoopScripts {
  for (const root of ['../../../auth0/noop/', '../../../../auth0/noop/']) {
    const folder = new URL(root, import.meta.url);
    if (existsSync(new URL('login.js', folder)))
      return {
        login: readFileSync(new URL('login.js', folder), 'utf8'),
        get_user: readFileSync(new URL('get_user.js', folder), 'utf8'),
      };
  }
  throw new CommandFailed('auth0/noop/login.js is missing from this installation: reinstall the bridge');
}

export async function runCutover(options: CutoverOptions): Promise<number> {
  const { out, log } = options;
  const noop = readNoopScripts();
  const api = managementApi(options);
  const connection = await readConnection(api, options);
  const kinds = {
    login: scriptKind(connection.options, 'login', noop),
    get_user: scriptKind(connection.options, 'get_user', noop),
  };

  if (kinds.login === 'noop' && kinds.get_user === 'noop') {
    // A run interrupted after its write, run again: check what it left rather than save the no-op scripts as "before".
    if (connection.options.import_mode === true) {
      out(
        `connection ${connection.name} (${connection.id}) is already cut over: the no-op Login and Get User scripts, Import Users to Auth0 on. Nothing to do; the options from before are in the file the cutover saved (cutover-${connection.name}-*.json unless --save named another).`,
      );
      return EXIT.ok;
    }
    throw new CommandFailed(
      `connection ${connection.name} has the no-op scripts but Import Users to Auth0 is off: Auth0 then sends every login to the scripts, so nobody can log in. Turn it on (Authentication > Database > ${connection.name} > Settings), or restore the saved options with --rollback FILE.`,
    );
  }
  if (kinds.login === 'noop' || kinds.get_user === 'noop')
    throw new CommandFailed(
      `connection ${connection.name} has ${kinds.login === 'noop' ? 'the no-op Login script but a Get User script' : 'the no-op Get User script but a Login script'} that is not (changed by hand since a cutover?): restore that cutover's save with --rollback FILE, or set both scripts in the dashboard. Nothing was changed.`,
    );
  const foreign = (['login', 'get_user'] as const).filter((which) => kinds[which] !== 'bridge');
  if (foreign.length > 0) {
    const what = foreign
      .map(
        (which) =>
          `customScripts.${which} ${kinds[which] === 'missing' ? 'is missing' : `is not the bridge's (auth0/${which}.js)`}`,
      )
      .join(' and ');
    if (!options.force)
      throw new CommandFailed(
        `${what} in connection ${connection.name}: is this the bridge's connection? --force replaces them anyway (the save keeps them). Nothing was changed.`,
      );
    log(`${what}; replacing them anyway (--force)`);
  }
  out(
    `connection ${connection.name} (${connection.id}): ${foreign.length === 0 ? "the bridge's Login and Get User scripts" : "scripts that are not all the bridge's"}, Import Users to Auth0 ${connection.options.import_mode === true ? 'on' : 'off'}`,
  );

  const readiness = await checkReadiness(options, connection);
  printReadiness(readiness, out);
  if (options.signal?.aborted) throw new CommandFailed('stopped before anything was saved or changed');

  const target = cutoverOptions(connection.options, noop);
  const changes = optionChanges(connection.options, target);
  out('changes to the connection:');
  for (const change of changes) out(`  ${describeChange(change)}`);
  out(
    `  every other option (${Object.keys(connection.options).filter((key) => key !== 'customScripts' && key !== 'import_mode').length} more keys, and the other scripts) is sent back as read, the scripts' settings included`,
  );

  const savePath = options.savePath ?? defaultSavePath(connection.name, new Date());
  const existing = existsSync(savePath) ? earlierSave(savePath, connection, noop) : undefined;
  out(
    `save: ${savePath}: the options as they are now, written 0600 before anything changes. It may hold the scripts' settings, the bridge's client secret among them: keep it like a secret. --rollback takes it.`,
  );
  if (existing === 'other')
    out(
      `  ${savePath} exists already and is not a save of these options: --apply refuses to replace it (--save FILE names another)`,
    );
  if (existing === 'same')
    out(
      `  ${savePath} exists already and saves exactly these options (an earlier run stopped before its update): --apply keeps it`,
    );
  if (!options.apply) {
    out(
      readiness.ready
        ? 'dry run: nothing was saved or changed. Run again with --apply to cut over.'
        : 'dry run: not ready (see above); nothing was saved or changed.',
    );
    return readiness.ready ? EXIT.ok : EXIT.failed;
  }
  if (!readiness.ready) throw new CommandFailed('not ready (see above): nothing was saved or changed');
  if (existing === 'other')
    throw new CommandFailed(`${savePath} exists already: --save FILE names another. Nothing was changed.`);

  if (existing === undefined) {
    const save = makeCutoverSave({
      savedAt: new Date().toISOString(),
      tenant: options.domain,
      connection: { id: connection.id, name: connection.name, strategy: connection.strategy },
      options: connection.options,
      cutoverScripts: noop,
    });
    writeNewFile(savePath, `${JSON.stringify(save, null, 2)}\n`);
    log(`saved the connection's options to ${savePath}`);
  }
  const rollback = `auth0-ldap-bridge cutover --connection ${connection.name} --rollback ${savePath}`;

  const { now, lost } = await writeAndReadBack(api, connection, target, {
    refused: `${savePath} holds the options as they are; it is not needed.`,
    again: `Run the same command again: it recognises a connection already cut over, and keeps ${savePath}. To undo: ${rollback} --apply`,
  });
  const differences = optionChanges(target, now.options);
  if (differences.length > 0)
    throw new CommandFailed(
      [
        `${lost ? `the update got no usable answer (${lost}), and` : 'Auth0 answered the update, but'} connection ${connection.name} holds something else than was sent:`,
        ...differences.map((change) => `  ${describeChange(change)} (sent -> held)`),
        `It now has: Login ${scriptKind(now.options, 'login', noop)}, Get User ${scriptKind(now.options, 'get_user', noop)}, Import Users to Auth0 ${now.options.import_mode === true ? 'on' : 'off'}.`,
        `The options from before are in ${savePath}: ${rollback} --apply --force restores them.`,
      ].join('\n'),
    );
  if (lost) log(`the update got no usable answer (${lost}); the connection read back shows it was made`);
  const sealed = sealedSettingKeys(connection.options);
  out(
    sealed.length === 0
      ? `cut over: connection ${connection.name} has the no-op Login and Get User scripts and Import Users to Auth0 on; every other option is as it was (read back and compared). Undo: ${rollback} --apply`
      : `cut over: connection ${connection.name} has the no-op Login and Get User scripts and Import Users to Auth0 on; every other option is as it was (read back and compared), the scripts' settings only by name: Auth0 returns them encrypted (${sealed.join(', ')}). Undo: ${rollback} --settings FILE --apply, with FILE a JSON object of those settings' values in clear: note where you find them now, before you need them.`,
  );
  return EXIT.ok;
}

export async function runRollback(options: RollbackOptions): Promise<number> {
  const { out, log } = options;
  // Everything local is checked before anything is asked of Auth0.
  const save = readSave(options.saveFile);
  const settings = options.settingsFile === undefined ? undefined : readSettingsFile(options.settingsFile);
  const api = managementApi(options);
  const connection = await readConnection(api, options);
  const mismatch = saveMismatch(save, connection);
  if (mismatch)
    throw new CommandFailed(
      `${options.saveFile} cannot be restored onto ${connection.name}: ${mismatch}. Nothing was changed.`,
    );

  let plan: ReturnType<typeof planRollback>;
  try {
    plan = planRollback(save, connection.options, settings);
  } catch (error) {
    if (error instanceof CutoverSaveError) throw new UsageError(`--settings ${options.settingsFile}: ${error.message}`);
    throw error;
  }
  out(
    `rollback of connection ${connection.name} (${connection.id}) to the options cutover saved in ${options.saveFile} at ${save.savedAt}`,
  );
  if (plan.alreadyRestored) {
    out('the connection already holds the saved options: nothing to do');
    return EXIT.ok;
  }
  if (plan.changedSinceCutover.length > 0) {
    const changed = plan.changedSinceCutover.map((change) => `  ${describeChange(change)} (cutover wrote -> now)`);
    if (!options.force)
      throw new CommandFailed(
        [
          `connection ${connection.name} was changed since cutover wrote it:`,
          ...changed,
          'Nothing was changed. --force restores the saved options over these changes.',
        ].join('\n'),
      );
    log(['restoring over changes made since cutover (--force):', ...changed].join('\n'));
  }
  if (plan.sealedSettings.length > 0 && !options.force)
    throw new UsageError(
      `the save holds the scripts' settings ${plan.sealedSettings.join(', ')} as Auth0 returned them: encrypted. Sent back, Auth0 may store the ciphertext as the value (it does not document otherwise), and the bridge's scripts would fail. Give their values with --settings FILE (a JSON object {"KEY": "value", ...} of exactly these keys; BRIDGE_CLIENT_SECRET is on the bridge's machine-to-machine application's page), or --force to send them as saved and then re-enter them under Custom Database > Settings. Nothing was changed.`,
    );

  const changes = optionChanges(connection.options, plan.target);
  out('changes to the connection:');
  for (const change of changes) out(`  ${describeChange(change)}`);
  const settingKeys = Object.keys((plan.target.configuration as Record<string, unknown> | undefined) ?? {});
  if (settingKeys.length > 0)
    out(
      `  the scripts' settings (${settingKeys.join(', ')}) ${settings ? `from ${options.settingsFile}` : plan.sealedSettings.length > 0 ? 'as saved, encrypted (--force): re-enter them afterwards' : 'as saved'}`,
    );
  if (!options.apply) {
    out('dry run: nothing was changed. Run again with --apply to restore.');
    return EXIT.ok;
  }

  const { now, lost } = await writeAndReadBack(api, connection, plan.target, {
    refused: '',
    again: 'Run the same command again: it says whether the saved options are in place.',
  });
  const differences = optionChanges(plan.target, now.options);
  if (differences.length > 0)
    throw new CommandFailed(
      [
        `${lost ? `the update got no usable answer (${lost}), and` : 'Auth0 answered the update, but'} connection ${connection.name} holds something else than was sent:`,
        ...differences.map((change) => `  ${describeChange(change)} (sent -> held)`),
        `Run the same command again with --force to write the saved options once more, or set them in the dashboard.`,
      ].join('\n'),
    );
  out(
    `restored: connection ${connection.name} holds the options saved in ${options.saveFile} (read back and compared${settingKeys.length > 0 ? '; the settings by key, since Auth0 returns their values encrypted' : ''}).`,
  );
  if (plan.sealedSettings.length > 0)
    out(
      `re-enter the settings ${plan.sealedSettings.join(', ')} under Authentication > Database > ${connection.name} > Custom Database > Settings: they were sent as Auth0 returned them, encrypted.`,
    );
  return EXIT.ok;
}

function managementApi(options: TenantAccess & Output): ManagementApi {
  return new ManagementApi({
    domain: options.domain,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    ...(options.apiHost ? { apiHost: options.apiHost } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    log: options.log,
  });
}

/** The named connection; refused unless a database connection that runs its own scripts. */
async function readConnection(api: ManagementApi, options: { connectionName: string }): Promise<Connection> {
  let connection: Connection;
  try {
    connection = await api.findConnection(options.connectionName);
  } catch (error) {
    if (error instanceof ManagementApiError) throw new CommandFailed(`${error.message}. Nothing was changed.`);
    throw error;
  }
  if (connection.strategy !== 'auth0')
    throw new CommandFailed(
      `connection ${connection.name} is a "${connection.strategy}" connection, not a database connection: it has no Login or Get User script. Nothing was changed.`,
    );
  if (connection.options.enabledDatabaseCustomization !== true)
    throw new CommandFailed(
      `connection ${connection.name} does not use its own database (Custom Database > Use my own database is off): Auth0 runs none of its scripts. Nothing was changed.`,
    );
  return connection;
}

/** Errors after which Auth0 certainly did not make the change. */
const REFUSALS = new Set(['refused', 'missing_scope', 'invalid_credentials', 'unauthorized', 'not_found']);

/**
 * Sends the whole options object and reads the connection back. A write that failed without a
 * clear refusal (no answer, a 5xx, a tenant busy past the patience) may or may not have been
 * made: the read-back says which (`lost` is why the answer was not usable).
 */
async function writeAndReadBack(
  api: ManagementApi,
  connection: Connection,
  options: ConnectionOptions,
  say: { refused: string; again: string },
): Promise<{ now: Connection; lost?: string }> {
  let lost: string | undefined;
  try {
    await api.updateConnectionOptions(connection.id, options);
  } catch (error) {
    if (!(error instanceof ManagementApiError)) throw error;
    if (REFUSALS.has(error.code))
      throw new CommandFailed(
        `Auth0 refused the update (${error.message}): nothing was changed. ${say.refused}`.trim(),
      );
    lost = error.message;
  }
  let now: Connection;
  try {
    now = await api.getConnection(connection.id);
  } catch (error) {
    if (!(error instanceof ManagementApiError)) throw error;
    throw new CommandFailed(
      `the update was sent${lost ? ` (no usable answer: ${lost})` : ''} but the connection could not be read back to check it (${error.message}). ${say.again}`,
    );
  }
  if (lost !== undefined && optionChanges(connection.options, now.options).length === 0)
    throw new CommandFailed(
      `the update got no usable answer (${lost}) and the connection is unchanged: nothing was changed. ${say.again}`,
    );
  return { now, ...(lost !== undefined ? { lost } : {}) };
}

/** An existing save file at the path cutover would write: `same` when it saves exactly the connection's current options with the same no-op scripts (kept), else `other`. */
function earlierSave(file: string, connection: Connection, noop: NoopScripts): 'same' | 'other' {
  try {
    const save = parseCutoverSave(readFileSync(file, 'utf8'));
    const same =
      saveMismatch(save, connection) === undefined &&
      save.cutoverScripts.login === noop.login &&
      save.cutoverScripts.get_user === noop.get_user &&
      optionChanges(save.options, connection.options).length === 0;
    return same ? 'same' : 'other';
  } catch {
    return 'other';
  }
}

async function checkReadiness(options: CutoverOptions, connection: Connection): Promise<Readiness> {
  const checkOptions = {
    connection: connection.name,
    log: options.log,
    ...(options.signal ? { signal: options.signal } : {}),
    managementApi: {
      ...(options.apiHost ? { apiHost: options.apiHost } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    },
  };
  try {
    options.log('readiness: comparing the directory with the connection’s users in Auth0 (progress)');
    const progress = await computeProgress(options.env, checkOptions);
    options.log('readiness: looking for leavers still unblocked in Auth0 (sync-leavers, dry run)');
    const leavers = await runSyncLeavers(options.env, { ...checkOptions, apply: false });
    return judgeReadiness({
      connection,
      progress,
      leavers,
      lastImport: readLastImport(options.importDir ?? DEFAULT_EXPORT_DIR),
      allowNotMigrated: options.allowNotMigrated ?? 0,
    });
  } catch (error) {
    if (error instanceof MigrationCheckFailed)
      throw new CommandFailed(`readiness could not be checked: ${error.message}. Nothing was saved or changed.`);
    if (options.signal?.aborted) throw new CommandFailed('stopped before anything was saved or changed');
    throw error;
  }
}

function readLastImport(dir: string): LastImport {
  const file = path.join(dir, 'import-state.json');
  if (!existsSync(file)) return { found: false, dir };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { found: true, dir, problem: codeOf(error) };
  }
  try {
    const fileNames = readdirSync(dir).filter(isImportFileName).sort();
    return { found: true, dir, state: parseImportState(text), fileNames };
  } catch (error) {
    if (error instanceof ImportStateError) return { found: true, dir, problem: error.message };
    throw error;
  }
}

function printReadiness(readiness: Readiness, out: (line: string) => void): void {
  out('readiness:');
  for (const check of readiness.checks) {
    out(`  ${check.ok ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.says}`);
    if (check.fix) out(`        fix: ${check.fix}`);
  }
  for (const note of readiness.notes) out(`  note: ${note}`);
}

function readSave(file: string): CutoverSave {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--rollback: cannot read ${file} (${codeOf(error)})`);
  }
  try {
    return parseCutoverSave(text);
  } catch (error) {
    if (error instanceof CutoverSaveError)
      throw new CommandFailed(
        `${file} is not a cutover save this command can restore: ${error.message}. Nothing was sent.`,
      );
    throw error;
  }
}

/** The settings' clear values: a JSON object of strings. Problems name the file and the key, never a value. */
function readSettingsFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--settings: cannot read ${file} (${codeOf(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse quotes the text around the error: the file holds a secret.
    throw new UsageError(`--settings: ${file} is not JSON (expected an object {"KEY": "value", ...})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`--settings: ${file} is not a JSON object {"KEY": "value", ...}`);
  const notText = Object.entries(parsed).filter(([, value]) => typeof value !== 'string');
  if (notText.length > 0)
    throw new UsageError(
      `--settings: in ${file}, ${notText.map(([key]) => key).join(', ')} ${notText.length === 1 ? 'is' : 'are'} not a string`,
    );
  return parsed as Record<string, string>;
}

/** cutover-<connection>-20261201T101500Z.json */
function defaultSavePath(connectionName: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(/[-:]/g, '');
  return `cutover-${connectionName.replaceAll(/[^A-Za-z0-9_-]/g, '_')}-${stamp}.json`;
}

/**
 * Written owner-only to a temporary file created exclusively, flushed, then linked to its name,
 * which fails if the name exists: a save is never replaced, and never seen half-written.
 */
function writeNewFile(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    const descriptor = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(descriptor, text);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    try {
      linkSync(temporary, file);
    } finally {
      unlinkSync(temporary);
    }
  } catch (error) {
    throw new CommandFailed(`could not write the save ${file} (${codeOf(error)}): nothing was changed`);
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

export const cutoverCommand: Command = {
  name: 'cutover',
  summary: "finish the migration: Auth0 stops asking the directory (the connection's no-op scripts), or --rollback",
  description: [
    'Checks that the migration is finished (every directory user is in Auth0, every leaver blocked, the last',
    "import complete), saves the connection's options to a file, then writes them back with the Login and Get",
    'User scripts replaced by the no-op scripts of auth0/noop/ and "Import Users to Auth0" on, as Auth0\'s guide',
    'to finishing an automatic migration says; every other option is sent back as read. It then reads the',
    "connection again and compares. Users log in from Auth0's own store from then on; the directory, the bridge",
    'and its stack are no longer asked. A dry run unless --apply: it prints the readiness, the changes and where',
    'it would save.',
    '',
    '--rollback FILE writes back exactly the options a cutover saved (also a dry run unless --apply), after',
    "checking that FILE is this connection's save, unchanged since it was written, and that the connection is",
    "as cutover left it. Auth0 returns the scripts' settings (Custom Database > Settings) encrypted: when the",
    'save holds them so, give their values with --settings FILE.',
    '',
    "The save holds the connection's options, possibly the scripts' settings and the bridge's client secret: it",
    'is written 0600, never replaces an existing file, and nothing of it is printed.',
  ].join('\n'),
  options: {
    connection: { type: 'string', valueName: 'NAME', description: 'the database connection the bridge serves' },
    apply: { type: 'boolean', description: 'do it (default: a dry run that changes nothing)' },
    save: {
      type: 'string',
      valueName: 'FILE',
      description: 'where cutover saves the options (default cutover-<connection>-<UTC time>.json)',
    },
    'allow-not-migrated': {
      type: 'string',
      valueName: 'N',
      description: 'cut over even if up to N directory users have no Auth0 user (they can no longer log in)',
    },
    'import-dir': {
      type: 'string',
      valueName: 'DIR',
      description: 'the directory of the last import (its import-state.json)',
      default: DEFAULT_EXPORT_DIR,
    },
    rollback: { type: 'string', valueName: 'FILE', description: 'write back the options a cutover saved in FILE' },
    settings: {
      type: 'string',
      valueName: 'FILE',
      description: "with --rollback: the scripts' settings in clear, a JSON object (when the save has them encrypted)",
    },
    force: {
      type: 'boolean',
      description:
        "replace scripts that are not the bridge's; with --rollback: restore over changes made since cutover, or send encrypted settings as saved",
    },
  },
  settingGroups: ['directory', 'groups', 'management-api'],
  async run(options, io) {
    const connectionName = stringOption(options, 'connection');
    if (connectionName === undefined) throw new UsageError('--connection NAME is required');
    const saveFile = stringOption(options, 'rollback');
    const settingsFile = stringOption(options, 'settings');
    const apply = options.apply === true;
    const force = options.force === true;
    const output = { out: io.out, log: io.err };
    if (saveFile !== undefined) {
      for (const flag of ['save', 'allow-not-migrated'] as const)
        if (options[flag] !== undefined) throw new UsageError(`--${flag} is for cutover, not --rollback`);
      const tenant = tenantAccess(io.env);
      return runRollback({
        ...tenant,
        ...output,
        connectionName,
        saveFile,
        apply,
        force,
        ...(settingsFile !== undefined ? { settingsFile } : {}),
      });
    }
    if (settingsFile !== undefined) throw new UsageError('--settings is for --rollback');
    const allowNotMigrated = integerOption(options, 'allow-not-migrated', 0, 10_000_000);
    const config = loadMigrationCheckConfig(io.env);
    const savePath = stringOption(options, 'save');
    // Ctrl-C during the readiness checks stops them; nothing has been saved or written yet.
    const controller = new AbortController();
    const onInterrupt = () => {
      io.err('cutover: stopping before anything is saved or changed (an update already sent is finished and checked)');
      controller.abort();
    };
    process.once('SIGINT', onInterrupt);
    try {
      return await runCutover({
        domain: config.domain,
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        ...output,
        connectionName,
        apply,
        force,
        env: io.env,
        importDir: stringOption(options, 'import-dir') ?? DEFAULT_EXPORT_DIR,
        ...(allowNotMigrated !== undefined ? { allowNotMigrated } : {}),
        ...(savePath !== undefined ? { savePath } : {}),
        signal: controller.signal,
      });
    } finally {
      process.off('SIGINT', onInterrupt);
    }
  },
};

function tenantAccess(env: Readonly<Record<string, string | undefined>>): TenantAccess {
  const reader = new SettingsReader(env);
  const domain = reader.string(S.AUTH0_DOMAIN);
  const clientId = reader.string(S.AUTH0_CLIENT_ID);
  const clientSecret = reader.string(S.AUTH0_CLIENT_SECRET);
  if (reader.found.length > 0 || !domain || !clientId || !clientSecret) throw new ConfigError([...reader.found]);
  return { domain, clientId, clientSecret };
}
