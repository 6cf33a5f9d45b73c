// What `cutover` decides, with no I/O: whether the migration is finished enough to stop asking
// the directory (readiness), the connection options it writes (only the Login and Get User
// scripts replaced by the no-op scripts, "Import Users to Auth0" on, every other key as read),
// how it checks what Auth0 then holds, the file it saves the options in before writing, and what
// `cutover --rollback` may write back. entry/commands/cutover.ts reads, writes and prints.
//
// Auth0 replaces a connection's whole `options` object on update ("if you use the options
// parameter, the entire options object is overridden"), so every change here is made to a copy of
// the options as read and sent back whole.
//
// The scripts' settings (`options.configuration`, Custom Database > Settings) are special: Auth0
// encrypts each value when it is written, returns only the encrypted form (its Terraform
// provider's maintainers: "the values are encrypted once set ... the API will return the
// encrypted value"; recorded answers show every write giving new ciphertext, even for the same
// value), and an update without `configuration` deletes them. Cutover therefore sends them back as
// read, since omitting them would wipe them. Auth0 does not document what it does with its own ciphertext
// sent back (its Deploy CLI stopped exporting these values because "importing these secrets
// without editing will override current values with new encrypted values"), so a rollback does
// not rely on it: when the save holds sealed values, their clear values are given to it
// (--settings), or it sends them as saved only when told to (--force) and says to re-enter them.
import { createHash } from 'node:crypto';
import type { ImportState } from './import-state.ts';

export type ConnectionOptions = Record<string, unknown>;

/** The Login and Get User scripts cutover puts in place (auth0/noop/*.js). */
export interface NoopScripts {
  login: string;
  get_user: string;
}

/** What a script of the connection is, as cutover recognises it. */
export type ScriptKind = 'bridge' | 'noop' | 'missing' | 'other';

const BRIDGE_ROUTE = { login: "'/login'", get_user: "'/get-user'" } as const;

/**
 * The bridge's scripts (auth0/login.js, auth0/get_user.js, any version) name the product in their
 * header and call its route; the no-op scripts are recognised by their exact text.
 */
export function scriptKind(options: ConnectionOptions, which: keyof NoopScripts, noop: NoopScripts): ScriptKind {
  const script = customScripts(options)?.[which];
  if (typeof script !== 'string' || script.trim() === '') return 'missing';
  if (script.trim() === noop[which].trim()) return 'noop';
  if (script.includes('auth0-ldap-bridge') && script.includes(BRIDGE_ROUTE[which])) return 'bridge';
  return 'other';
}

function customScripts(options: ConnectionOptions): Record<string, unknown> | undefined {
  const scripts = options.customScripts;
  return isObject(scripts) ? scripts : undefined;
}

/**
 * The options cutover writes: a copy of `options` in which only customScripts.login and
 * customScripts.get_user are the no-op scripts and import_mode is true; every other key keeps its
 * value and its place.
 */
export function cutoverOptions(options: ConnectionOptions, noop: NoopScripts): ConnectionOptions {
  const copy = structuredClone(options);
  copy.customScripts = { ...(customScripts(options) ?? {}), login: noop.login, get_user: noop.get_user };
  copy.import_mode = true;
  return copy;
}

// ---- readiness -------------------------------------------------------------------------------

/** What readiness reads of progress's report (computeProgress). */
export interface ProgressFacts {
  counts: { directory: number; migrated: number; notMigrated: number };
}

/** What readiness reads of sync-leavers' dry run (runSyncLeavers with apply false). */
export interface LeaverFacts {
  counts: { toBlock: number; toUnblock: number };
}

/** The last import as found in the import directory. */
export type LastImport =
  /** No import-state.json: no bulk import was run from this directory. */
  | { found: false; dir: string }
  /** import-state.json could not be read (the message says why). */
  | { found: true; dir: string; problem: string }
  /** import-state.json and the users-NNNN.json files next to it. */
  | { found: true; dir: string; state: ImportState; fileNames: readonly string[] };

export interface ReadinessInput {
  connection: { id: string; name: string };
  progress: ProgressFacts;
  leavers: LeaverFacts;
  lastImport: LastImport;
  /** Directory users allowed to have no Auth0 user (--allow-not-migrated). Default 0. */
  allowNotMigrated: number;
}

export interface ReadinessCheck {
  name: 'not-migrated' | 'leavers' | 'last-import';
  ok: boolean;
  /** What was found. */
  says: string;
  /** What to run to fix it (a failed check only). */
  fix?: string;
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessCheck[];
  /** Worth knowing, not a reason to wait. */
  notes: string[];
}

/** Auth0's per-user import error for a user the connection already holds (logged in meanwhile): not a failure here. */
const ALREADY_IN_AUTH0 = 'DUPLICATED_USER';

/**
 * Whether the connection may stop asking the directory: after cutover a directory user without
 * an Auth0 user can no longer log in, and a leaver still unblocked in Auth0 still can.
 */
export function judgeReadiness(input: ReadinessInput): Readiness {
  const name = input.connection.name;
  const notes: string[] = [];
  const { notMigrated, directory, migrated } = input.progress.counts;
  const notMigratedCheck: ReadinessCheck =
    notMigrated <= input.allowNotMigrated
      ? {
          name: 'not-migrated',
          ok: true,
          says: `${migrated} of ${directory} directory users are in Auth0${notMigrated > 0 ? `; ${notMigrated} are not, within --allow-not-migrated ${input.allowNotMigrated}: after cutover they cannot log in` : ''}`,
        }
      : {
          name: 'not-migrated',
          ok: false,
          says: `${notMigrated} of ${directory} directory users have no Auth0 user in ${name}: after cutover they could not log in`,
          fix: `auth0-ldap-bridge progress --connection ${name} lists them; export --only not-migrated and import them (or let them log in), or accept them with --allow-not-migrated ${notMigrated}`,
        };

  const { toBlock, toUnblock } = input.leavers.counts;
  const leaversCheck: ReadinessCheck =
    toBlock === 0
      ? { name: 'leavers', ok: true, says: 'every leaver is blocked in Auth0' }
      : {
          name: 'leavers',
          ok: false,
          says: `${toBlock} user(s) who left the directory (or are disabled there) are not blocked in Auth0: after cutover they could still log in`,
          fix: `auth0-ldap-bridge sync-leavers --connection ${name} --apply`,
        };
  if (toUnblock > 0)
    notes.push(
      `${toUnblock} user(s) blocked in Auth0 are active in the directory again (auth0-ldap-bridge sync-leavers --connection ${name} --apply unblocks them)`,
    );

  const checks = [notMigratedCheck, leaversCheck, lastImportCheck(input, notes)];
  return { ready: checks.every((check) => check.ok), checks, notes };
}

function lastImportCheck(input: ReadinessInput, notes: string[]): ReadinessCheck {
  const { lastImport, connection } = input;
  const importAgain = `auth0-ldap-bridge import --dir ${lastImport.dir} --connection ${connection.name}`;
  if (!lastImport.found) {
    notes.push(`no import-state.json in ${lastImport.dir}: no bulk import to check (--import-dir names another)`);
    return { name: 'last-import', ok: true, says: `no bulk import recorded in ${lastImport.dir}` };
  }
  if ('problem' in lastImport)
    return {
      name: 'last-import',
      ok: false,
      says: `${lastImport.dir}/import-state.json cannot be read: ${lastImport.problem}`,
      fix: `restore it, or give the directory of this connection's last import with --import-dir`,
    };
  const { state, fileNames } = lastImport;
  if (state.connectionId !== connection.id)
    return {
      name: 'last-import',
      ok: false,
      says: `${lastImport.dir}/import-state.json records an import into ${state.connectionName ?? 'connection'} (${state.connectionId}), not ${connection.name} (${connection.id})`,
      fix: `give the directory of ${connection.name}'s last import with --import-dir`,
    };
  const problems: string[] = [];
  const fixes: string[] = [];
  const unread = [...states(state, fileNames, 'submitted')];
  const unconfirmed = [...states(state, fileNames, 'submitting')];
  const notSent = fileNames.filter((name) => state.files[name] === undefined);
  const filesFailed = fileNames.filter((name) => {
    const status = state.files[name]?.status;
    return status === 'failed' || status === 'refused' || status === 'lost';
  });
  if (unread.length > 0) problems.push(`jobs whose result was never read: ${unread.join(', ')}`);
  if (unconfirmed.length > 0) problems.push(`files sent without a recorded answer: ${unconfirmed.join(', ')}`);
  if (notSent.length > 0) problems.push(`files never sent: ${notSent.join(', ')}`);
  if (unread.length + unconfirmed.length + notSent.length > 0)
    fixes.push(`${importAgain}${unconfirmed.length > 0 ? ' --resubmit-unconfirmed' : ''}`);
  if (filesFailed.length > 0) {
    problems.push(`files that did not import (job failed, refused or lost): ${filesFailed.join(', ')}`);
    fixes.push(`${importAgain} --upsert sends them again`);
  }
  const failedUsers = usersThatFailed(state, fileNames);
  if (failedUsers > 0) {
    problems.push(
      `${failedUsers} user(s) did not import for a reason other than already being in Auth0 (import-state.json says who and why)`,
    );
    fixes.push('fix them in the directory, export and import again');
  }
  const alreadyThere = usersAlreadyInAuth0(state, fileNames);
  if (alreadyThere > 0)
    notes.push(`${alreadyThere} user(s) of the last import were already in Auth0 (${ALREADY_IN_AUTH0}): not a failure`);
  if (problems.length === 0)
    return { name: 'last-import', ok: true, says: `the last import (${fileNames.length} file(s)) completed` };
  return {
    name: 'last-import',
    ok: false,
    says: `the last import in ${lastImport.dir} is not complete: ${problems.join('; ')}`,
    fix: fixes.join('; '),
  };
}

function* states(state: ImportState, fileNames: readonly string[], status: string): Iterable<string> {
  for (const name of fileNames) if (state.files[name]?.status === status) yield name;
}

/** Users Auth0 refused, not counting those it refused because it holds them already (it may list fewer errors than its summary counts: the rest count as failed). */
function usersThatFailed(state: ImportState, fileNames: readonly string[]): number {
  let failed = 0;
  for (const name of fileNames) {
    const file = state.files[name];
    if (file?.status !== 'completed') continue;
    failed += Math.max(0, file.summary.failed - file.errors.filter(onlyAlreadyInAuth0).length);
  }
  return failed;
}

function usersAlreadyInAuth0(state: ImportState, fileNames: readonly string[]): number {
  let count = 0;
  for (const name of fileNames) {
    const file = state.files[name];
    if (file?.status === 'completed') count += file.errors.filter(onlyAlreadyInAuth0).length;
  }
  return count;
}

function onlyAlreadyInAuth0(user: { errors: Array<{ code: string }> }): boolean {
  return user.errors.length > 0 && user.errors.every((error) => error.code === ALREADY_IN_AUTH0);
}

// ---- differences -----------------------------------------------------------------------------

/**
 * Whether a setting's value is Auth0's encrypted form of it: standard base64 of a protobuf
 * envelope (field 1: 66 bytes of key material) as every value read back from a tenant looks
 * ("CkIKI..."), never a value an operator types.
 */
export function isSealedSetting(value: unknown): boolean {
  return typeof value === 'string' && /^CkIKI[A-Za-z0-9+/]{80,}={0,2}$/.test(value);
}

/** The setting keys whose saved value is sealed. */
export function sealedSettingKeys(options: ConnectionOptions): string[] {
  const settings = options.configuration;
  if (!isObject(settings)) return [];
  return Object.keys(settings).filter((key) => isSealedSetting(settings[key]));
}

export interface OptionChange {
  /** Dotted path inside options: customScripts.login, import_mode, configuration.BRIDGE_URL. */
  path: string;
  before: unknown;
  after: unknown;
}

/**
 * Every leaf that differs between two options objects (arrays compared whole). Setting values
 * (configuration.*) count as equal when either side is sealed: Auth0 encrypts each write anew, so
 * only whether the setting is there can be compared.
 */
export function optionChanges(before: ConnectionOptions, after: ConnectionOptions): OptionChange[] {
  const changes: OptionChange[] = [];
  const walk = (left: unknown, right: unknown, path: string) => {
    if (path.startsWith('configuration.') && left !== undefined && right !== undefined) {
      if (isSealedSetting(left) || isSealedSetting(right) || left === right) return;
    }
    if (isObject(left) && isObject(right)) {
      for (const key of new Set([...Object.keys(left), ...Object.keys(right)]))
        walk(left[key], right[key], path ? `${path}.${key}` : key);
      return;
    }
    if (!sameJson(left, right)) changes.push({ path, before: left, after: right });
  };
  walk(before, after, '');
  return changes;
}

/** A change as one line; a setting's value is never shown, a script by its size and digest. */
export function describeChange(change: OptionChange): string {
  return `${change.path}: ${describeValue(change.path, change.before)} -> ${describeValue(change.path, change.after)}`;
}

export function describeValue(path: string, value: unknown): string {
  if (value === undefined) return '(absent)';
  if (path === 'configuration' || path.startsWith('configuration.')) return '(set, value not shown)';
  if (path.startsWith('customScripts.') && typeof value === 'string') return describeScript(value);
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describeScript(script: string): string {
  const lines = script.replace(/\n$/, '').split('\n').length;
  return `a script of ${lines} line(s), sha256 ${sha256(script).slice(0, 12)}`;
}

// ---- the save file ---------------------------------------------------------------------------

export const CUTOVER_SAVE_FORMAT = 'auth0-ldap-bridge cutover save';
export const CUTOVER_SAVE_VERSION = 1;

/**
 * What cutover saves before it writes: the connection's options exactly as Auth0 returned them
 * (settings included, so the file may hold the bridge's client secret: it is written 0600 and
 * never printed), which connection, when, the scripts it put in their place, and a SHA-256 over
 * all of it. The digest catches a file damaged or edited since; it is not a signature (anyone
 * who can write the file can recompute it).
 */
export interface CutoverSave {
  format: typeof CUTOVER_SAVE_FORMAT;
  version: typeof CUTOVER_SAVE_VERSION;
  savedAt: string;
  /** The tenant domain the command talked to (AUTH0_DOMAIN). */
  tenant: string;
  connection: { id: string; name: string; strategy: string };
  options: ConnectionOptions;
  cutoverScripts: NoopScripts;
  /** SHA-256 (hex) of every other field, keys sorted. */
  sha256: string;
}

export function makeCutoverSave(fields: Omit<CutoverSave, 'format' | 'version' | 'sha256'>): CutoverSave {
  const unsigned = { format: CUTOVER_SAVE_FORMAT, version: CUTOVER_SAVE_VERSION, ...fields } as const;
  return { ...unsigned, sha256: digestOf(unsigned) };
}

/** A save file cannot be used; the message says why (the command adds the file and what to do). */
export class CutoverSaveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CutoverSaveError';
  }
}

/** Reads a save file's text strictly: a file cutover did not write, or one changed since, is refused. */
export function parseCutoverSave(text: string): CutoverSave {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CutoverSaveError('it is not JSON');
  }
  if (!isObject(parsed)) throw new CutoverSaveError('it is not a JSON object');
  if (parsed.format !== CUTOVER_SAVE_FORMAT)
    throw new CutoverSaveError(`it is not a cutover save (its "format" is not "${CUTOVER_SAVE_FORMAT}")`);
  if (parsed.version !== CUTOVER_SAVE_VERSION)
    throw new CutoverSaveError(`its version ${JSON.stringify(parsed.version)} is not one this command knows`);
  const connection = parsed.connection;
  if (
    !isObject(connection) ||
    !nonEmpty(connection.id) ||
    !nonEmpty(connection.name) ||
    typeof connection.strategy !== 'string'
  )
    throw new CutoverSaveError('it names no connection (id, name, strategy)');
  if (!isObject(parsed.options)) throw new CutoverSaveError('it holds no options object');
  const scripts = parsed.cutoverScripts;
  if (!isObject(scripts) || !nonEmpty(scripts.login) || !nonEmpty(scripts.get_user))
    throw new CutoverSaveError('it does not hold the scripts cutover wrote (cutoverScripts.login, get_user)');
  if (!nonEmpty(parsed.savedAt) || Number.isNaN(Date.parse(parsed.savedAt)))
    throw new CutoverSaveError('its savedAt is not a time');
  if (typeof parsed.tenant !== 'string') throw new CutoverSaveError('it names no tenant');
  if (typeof parsed.sha256 !== 'string') throw new CutoverSaveError('it has no sha256');
  const { sha256: recorded, ...unsigned } = parsed;
  if (digestOf(unsigned) !== recorded)
    throw new CutoverSaveError('it was changed after cutover wrote it (its sha256 does not match its contents)');
  return parsed as unknown as CutoverSave;
}

/** Why a save cannot be restored onto this connection, or undefined. */
export function saveMismatch(save: CutoverSave, connection: { id: string; name: string }): string | undefined {
  if (save.connection.id === connection.id) return undefined;
  return `it was saved from connection ${save.connection.name} (${save.connection.id}) of ${save.tenant || 'another tenant'}, not ${connection.name} (${connection.id})`;
}

// ---- rollback --------------------------------------------------------------------------------

export interface RollbackPlan {
  /** The options to write: the saved ones, with clear setting values in place of sealed ones when given. */
  target: ConnectionOptions;
  /** The connection already holds the saved options: nothing to write. */
  alreadyRestored: boolean;
  /** Where the connection differs from what cutover wrote (empty: as cutover left it). */
  changedSinceCutover: OptionChange[];
  /** Setting keys whose saved value is sealed and for which no clear value was given. */
  sealedSettings: string[];
}

/**
 * What rollback writes, and what it finds: whether the connection is as cutover left it, or
 * already restored. `settings` are clear values for the saved settings (--settings): exactly the
 * saved keys, or an error naming the difference (keys only; values are never quoted).
 */
export function planRollback(
  save: CutoverSave,
  current: ConnectionOptions,
  settings?: Readonly<Record<string, string>>,
): RollbackPlan {
  const target = structuredClone(save.options);
  if (settings !== undefined) {
    const saved = isObject(save.options.configuration) ? Object.keys(save.options.configuration) : [];
    const given = Object.keys(settings);
    const missing = saved.filter((key) => !given.includes(key));
    const unknown = given.filter((key) => !saved.includes(key));
    if (missing.length > 0 || unknown.length > 0)
      throw new CutoverSaveError(
        `the settings given are not the saved ones (${[
          missing.length > 0 ? `missing ${missing.join(', ')}` : '',
          unknown.length > 0 ? `not saved: ${unknown.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ')}); the save holds ${saved.length > 0 ? saved.join(', ') : 'no settings'}`,
      );
    if (saved.length > 0) target.configuration = { ...settings };
  }
  const sealedSettings = settings === undefined ? sealedSettingKeys(save.options) : [];
  const alreadyRestored = optionChanges(target, current).length === 0;
  const changedSinceCutover = alreadyRestored
    ? []
    : optionChanges(cutoverOptions(save.options, save.cutoverScripts), current);
  return { target, alreadyRestored, changedSinceCutover, sealedSettings };
}

// ---- helpers ---------------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function sameJson(left: unknown, right: unknown): boolean {
  return canonicalJson(left) === canonicalJson(right);
}

/** JSON with every object's keys sorted: the same value always gives the same text. */
function canonicalJson(value: unknown): string {
  if (value === undefined) return 'undefined';
  return JSON.stringify(value, (_key, inner: unknown) =>
    isObject(inner)
      ? Object.fromEntries(
          Object.keys(inner)
            .sort()
            .map((key) => [key, inner[key]]),
        )
      : inner,
  );
}

function digestOf(value: unknown): string {
  return sha256(canonicalJson(value));
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
