import { describe, expect, it } from 'vitest';
import {
  importTotals,
  nextStep,
  parseImportState,
  type ImportState,
} from '../../lambdas/core/migration/import-state.ts';

const summary = { inserted: 2, updated: 1, failed: 1, total: 4 };

describe('parseImportState', () => {
  it('reads back what import writes', () => {
    const state: ImportState = {
      version: 2,
      connectionId: 'con_a',
      connectionName: 'ldap-bridge',
      files: {
        'users-0001.json': { status: 'completed', jobId: 'job_1', summary, errors: [] },
        'users-0002.json': { status: 'submitted', jobId: 'job_2', createdAt: '2026-01-01T00:00:00Z', upsert: false },
        'users-0003.json': { status: 'submitting', externalId: 'x:users-0003.json:1', upsert: false },
        'users-0004.json': { status: 'refused', problem: 'too large' },
      },
    };
    expect(parseImportState(JSON.stringify(state))).toEqual(state);
  });

  it.each([
    ['not JSON', '{', 'it is not JSON'],
    ['an array', '[]', 'it is not a JSON object'],
    ['no connection', '{"files":{}}', 'it names no connectionId'],
    ['no files', '{"connectionId":"con_a"}', 'it has no "files" object'],
    [
      'an unknown status',
      '{"version":2,"connectionId":"con_a","files":{"f":{"status":"done"}}}',
      'unknown status "done"',
    ],
    [
      'a completed file without its result',
      '{"version":2,"connectionId":"con_a","files":{"f":{"status":"completed","jobId":"job_1"}}}',
      'has no valid summary',
    ],
    [
      'a submitted file without a job id',
      '{"version":2,"connectionId":"con_a","files":{"f":{"status":"submitted"}}}',
      'has no valid jobId',
    ],
    ['another version', '{"version":7,"connectionId":"con_a","files":{}}', 'version 7'],
  ])('refuses %s, saying what is wrong', (_case, text, reason) => {
    expect(() => parseImportState(text)).toThrow(reason);
  });

  it('converts the first version so that no job result is lost', () => {
    const state = parseImportState(
      JSON.stringify({
        connectionId: 'con_a',
        files: {
          done: { status: 'completed', jobId: 'job_1', summary, errors: [] },
          pending: { status: 'submitted', jobId: 'job_2' },
          ended: { status: 'failed', jobId: 'job_3', problem: 'job ended expired' },
          unread: { status: 'failed', jobId: 'job_4', problem: 'GET /api/v2/jobs/job_4 answered 503' },
          idInMessage: {
            status: 'failed',
            problem: 'GET /api/v2/jobs/job_5 answered 429 (Global limit has been reached)',
          },
          refused: { status: 'failed', problem: 'POST /api/v2/jobs/users-imports answered 413 (too large)' },
          unknown: { status: 'failed', problem: 'fetch failed' },
        },
      }),
    );
    expect(state.version).toBe(2);
    expect(state.files.done).toMatchObject({ status: 'completed' });
    expect(state.files.pending).toMatchObject({ status: 'submitted', jobId: 'job_2' });
    expect(state.files.ended).toMatchObject({ status: 'failed', jobStatus: 'expired' });
    expect(state.files.unread).toMatchObject({ status: 'submitted', jobId: 'job_4' });
    expect(state.files.idInMessage).toMatchObject({ status: 'submitted', jobId: 'job_5' });
    expect(state.files.refused).toMatchObject({ status: 'refused' });
    expect(state.files.unknown).toMatchObject({ status: 'submitting' });
  });
});

describe('nextStep', () => {
  const run = { upsert: false, resubmitUnconfirmed: false };
  it('submits new and refused files, reads submitted jobs, leaves finished ones', () => {
    expect(nextStep(undefined, run)).toBe('submit');
    expect(nextStep({ status: 'refused', problem: 'x' }, run)).toBe('submit');
    expect(nextStep({ status: 'submitted', jobId: 'job_1' }, run)).toBe('follow');
    expect(nextStep({ status: 'completed', jobId: 'job_1', summary, errors: [] }, run)).toBe('done');
    expect(nextStep({ status: 'failed', jobId: 'job_1', jobStatus: 'failed', problem: 'x' }, run)).toBe('done');
    expect(nextStep({ status: 'lost', jobId: 'job_1', problem: 'x' }, run)).toBe('done');
  });

  it('sends an unconfirmed file again only with upsert semantics asked for', () => {
    const unconfirmed = { status: 'submitting' as const };
    expect(nextStep(unconfirmed, run)).toBe('unconfirmed');
    expect(nextStep(unconfirmed, { ...run, upsert: true })).toBe('submit');
    expect(nextStep(unconfirmed, { ...run, resubmitUnconfirmed: true })).toBe('submit');
  });
});

describe('importTotals', () => {
  it('adds up the files of the export only, and lists what is not finished', () => {
    const state: ImportState = {
      version: 2,
      connectionId: 'con_a',
      files: {
        a: { status: 'completed', jobId: 'job_1', summary, errors: [] },
        b: { status: 'submitted', jobId: 'job_2' },
        c: { status: 'submitting' },
        d: { status: 'failed', jobId: 'job_3', jobStatus: 'expired', problem: 'x' },
        gone: { status: 'completed', jobId: 'job_9', summary, errors: [] },
      },
    };
    expect(importTotals(state, ['a', 'b', 'c', 'd', 'e'])).toEqual({
      files: 5,
      inserted: 2,
      updated: 1,
      failed: 1,
      filesFailed: ['d'],
      notYetRead: ['b'],
      unconfirmed: ['c'],
      notSubmitted: ['e'],
    });
  });
});
