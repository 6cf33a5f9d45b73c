// What `import` records in DIR/import-state.json, so that nothing a submitted job did is lost or
// misreported: every file's step (about to be sent, submitted as job X, finished with Auth0's
// result), read back strictly (a file this command did not write is refused, not guessed at),
// what the next run does with each file, and the totals. Pure: the command reads and writes the
// file (atomically), this module only says what it means.
//
// Auth0 offers no way to list import jobs (GET /api/v2/jobs/{id} needs the id), so a file whose
// submission answer was never recorded (the run died between sending and recording) cannot be
// found again: it is "unconfirmed", and it is sent again only with upsert semantics, which the
// operator asks for (--upsert, or --resubmit-unconfirmed for those files alone): users the lost
// job created are then updated with the same data instead of failing as duplicates.

/** Auth0's summary of an import job. */
export interface JobSummary {
  inserted: number;
  updated: number;
  failed: number;
  total: number;
}

/** Who did not import and why (never the user object: it may hold a password hash). */
export interface UserErrors {
  email?: string;
  user_id?: string;
  errors: Array<{ code: string; message: string }>;
}

export type FileState =
  /** Written before the file is sent. Still here on the next run: nobody knows whether the job exists. */
  | { status: 'submitting'; externalId?: string; since?: string; upsert?: boolean; note?: string }
  /** Auth0 accepted the file as job `jobId`; its result is not recorded yet (`note` says why). */
  | {
      status: 'submitted';
      jobId: string;
      externalId?: string;
      createdAt?: string;
      upsert?: boolean;
      summary?: JobSummary;
      note?: string;
    }
  /** The job completed: Auth0's summary and every per-user error. */
  | { status: 'completed'; jobId: string; externalId?: string; summary: JobSummary; errors: UserErrors[] }
  /** The job ended failed or expired: Auth0's final word. */
  | {
      status: 'failed';
      jobId: string;
      externalId?: string;
      jobStatus: string;
      problem: string;
      summary?: JobSummary;
      errors?: UserErrors[];
    }
  /** Auth0 refused the file (a 4xx answer): no job exists, the next run sends it again. */
  | { status: 'refused'; problem: string }
  /** Auth0 deleted the job (24 hours after it was created) before its result was read. */
  | { status: 'lost'; jobId: string; problem: string };

export const IMPORT_STATE_VERSION = 2;

export interface ImportState {
  version: typeof IMPORT_STATE_VERSION;
  connectionId: string;
  connectionName?: string;
  files: Record<string, FileState>;
}

/** The state file cannot be used; the message says why (the command adds the file and what to do). */
export class ImportStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportStateError';
  }
}

/** What the next run does with a file. */
export type NextStep = 'submit' | 'follow' | 'done' | 'unconfirmed';

export function nextStep(
  file: FileState | undefined,
  run: { upsert: boolean; resubmitUnconfirmed: boolean },
): NextStep {
  if (file === undefined || file.status === 'refused') return 'submit';
  if (file.status === 'submitting') return run.upsert || run.resubmitUnconfirmed ? 'submit' : 'unconfirmed';
  if (file.status === 'submitted') return 'follow';
  return 'done';
}

export interface ImportTotals {
  files: number;
  inserted: number;
  updated: number;
  /** Users Auth0 did not import (per-user errors of completed jobs). */
  failed: number;
  /** Files none of whose users imported: the job failed or expired, Auth0 refused the file, or the job was lost. */
  filesFailed: string[];
  /** Submitted files whose result is not read yet (a rerun reads it). */
  notYetRead: string[];
  /** Files whose submission answer was never recorded. */
  unconfirmed: string[];
  /** Files not sent at all yet. */
  notSubmitted: string[];
}

/** The totals over the files of the export (state entries for files no longer there are ignored). */
export function importTotals(state: ImportState, fileNames: readonly string[]): ImportTotals {
  const totals: ImportTotals = {
    files: fileNames.length,
    inserted: 0,
    updated: 0,
    failed: 0,
    filesFailed: [],
    notYetRead: [],
    unconfirmed: [],
    notSubmitted: [],
  };
  for (const name of [...fileNames].sort()) {
    const file = state.files[name];
    if (file === undefined) totals.notSubmitted.push(name);
    else if (file.status === 'submitting') totals.unconfirmed.push(name);
    else if (file.status === 'submitted') totals.notYetRead.push(name);
    else if (file.status === 'completed') {
      totals.inserted += file.summary.inserted;
      totals.updated += file.summary.updated;
      totals.failed += file.summary.failed;
    } else totals.filesFailed.push(name);
  }
  return totals;
}

/**
 * Reads a state file's text: this version, or the first one (no `version`), whose entries are
 * converted so that no job is lost: a "failed" entry without a final job result becomes
 * "submitted" again (the job id is taken from its message when the entry lost it), one whose
 * message shows Auth0 refused the file becomes "refused", and one that says neither becomes
 * "submitting" (unconfirmed).
 */
export function parseImportState(text: string): ImportState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ImportStateError('it is not JSON');
  }
  if (!isObject(parsed)) throw new ImportStateError('it is not a JSON object');
  if (typeof parsed.connectionId !== 'string' || parsed.connectionId === '')
    throw new ImportStateError('it names no connectionId');
  if (!isObject(parsed.files)) throw new ImportStateError('it has no "files" object');
  if (parsed.connectionName !== undefined && typeof parsed.connectionName !== 'string')
    throw new ImportStateError('its connectionName is not a string');
  const legacy = parsed.version === undefined;
  if (!legacy && parsed.version !== IMPORT_STATE_VERSION)
    throw new ImportStateError(`its version ${JSON.stringify(parsed.version)} is not one this command knows`);
  const files: Record<string, FileState> = {};
  for (const [name, entry] of Object.entries(parsed.files)) {
    if (!isObject(entry)) throw new ImportStateError(`its entry for ${name} is not an object`);
    files[name] = legacy ? fromFirstVersion(name, entry) : checkedEntry(name, entry);
  }
  return {
    version: IMPORT_STATE_VERSION,
    connectionId: parsed.connectionId,
    ...(typeof parsed.connectionName === 'string' ? { connectionName: parsed.connectionName } : {}),
    files,
  };
}

function checkedEntry(name: string, entry: Record<string, unknown>): FileState {
  const bad = (what: string) => new ImportStateError(`its entry for ${name} ${what}`);
  const text = (key: string, required: boolean) => {
    const value = entry[key];
    if (value === undefined && !required) return;
    if (typeof value !== 'string' || value === '') throw bad(`has no valid ${key}`);
  };
  const summary = (required: boolean) => {
    const value = entry.summary;
    if (value === undefined && !required) return;
    if (!isSummary(value)) throw bad('has no valid summary');
  };
  const errors = (required: boolean) => {
    const value = entry.errors;
    if (value === undefined && !required) return;
    if (!Array.isArray(value) || !value.every(isUserErrors)) throw bad('has no valid errors list');
  };
  switch (entry.status) {
    case 'submitting':
      text('externalId', false);
      text('since', false);
      break;
    case 'submitted':
      text('jobId', true);
      text('createdAt', false);
      summary(false);
      break;
    case 'completed':
      text('jobId', true);
      summary(true);
      errors(true);
      break;
    case 'failed':
      text('jobId', true);
      text('jobStatus', true);
      text('problem', true);
      summary(false);
      errors(false);
      break;
    case 'refused':
      text('problem', true);
      break;
    case 'lost':
      text('jobId', true);
      text('problem', true);
      break;
    default:
      throw bad(`has an unknown status ${JSON.stringify(entry.status)}`);
  }
  return entry as unknown as FileState;
}

/** The first version wrote { status: submitted | completed | failed, jobId?, summary?, errors?, problem? }. */
function fromFirstVersion(name: string, entry: Record<string, unknown>): FileState {
  const jobId = typeof entry.jobId === 'string' && entry.jobId !== '' ? entry.jobId : undefined;
  const problem = typeof entry.problem === 'string' ? entry.problem : '';
  const summary = isSummary(entry.summary) ? entry.summary : undefined;
  const errors = Array.isArray(entry.errors) && entry.errors.every(isUserErrors) ? entry.errors : undefined;
  switch (entry.status) {
    case 'completed':
      if (jobId && summary && errors) return { status: 'completed', jobId, summary, errors };
      if (jobId) return { status: 'submitted', jobId, note: 'recorded by an earlier version without its full result' };
      break;
    case 'submitted':
      if (jobId) return { status: 'submitted', jobId };
      break;
    case 'failed': {
      const ended = /^job ended (\w+)/.exec(problem)?.[1];
      if (jobId && ended && ended !== 'completed')
        return { status: 'failed', jobId, jobStatus: ended, problem: `Auth0 ended the job ${ended}` };
      // An earlier version gave up following a job and recorded the failure without its id; the
      // message of the call that failed still has it.
      const fromMessage = /\/api\/v2\/jobs\/(job_[A-Za-z0-9]+)/.exec(problem)?.[1];
      if (jobId ?? fromMessage)
        return {
          status: 'submitted',
          jobId: (jobId ?? fromMessage) as string,
          note: `an earlier run gave up following it: ${problem}`,
        };
      if (/users-imports answered 4(?!29)\d\d/.test(problem)) return { status: 'refused', problem };
      return {
        status: 'submitting',
        note: `an earlier run recorded "${problem}" without a job id: Auth0 may or may not have created the job`,
      };
    }
  }
  throw new ImportStateError(
    `its entry for ${name} (status ${JSON.stringify(entry.status)}) is not one this command wrote`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSummary(value: unknown): value is JobSummary {
  return (
    isObject(value) &&
    ['inserted', 'updated', 'failed', 'total'].every(
      (key) => Number.isInteger(value[key]) && (value[key] as number) >= 0,
    )
  );
}

function isUserErrors(value: unknown): value is UserErrors {
  return (
    isObject(value) &&
    Array.isArray(value.errors) &&
    value.errors.every(
      (error) => isObject(error) && typeof error.code === 'string' && typeof error.message === 'string',
    )
  );
}
