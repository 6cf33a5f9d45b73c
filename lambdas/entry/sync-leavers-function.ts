// The scheduled sync-leavers' Lambda handler (a composition root): runs `auth0-ldap-bridge
// sync-leavers` (runSyncLeavers) with the function's own environment, which the stack makes the
// login function's plus what this file names in SYNC_LEAVERS_ENV, and with the Management API
// credentials read from their Secrets Manager secret (once per container; never logged, never in
// an error). The function does what its deployment says whoever invokes it: the event carries no
// settings. Each run logs one summary line of counts; the users it blocked or would block appear
// only at LOG_LEVEL debug, by Auth0 user id (no email, no DN). A run that failed, was refused by
// the guard or was cut short throws, so Lambda counts an error and the errors alarm fires.
import type { Context } from 'aws-lambda';
import { JsonLogger } from '../adapters/json-logger.ts';
import { createSecretsManagerReader, type SecretValueReader } from '../adapters/service-credentials.ts';
import { DEPLOYMENT_SETTINGS as D, RUNTIME_SETTINGS as S, type StringSetting } from '../contract/settings.ts';
import { ConfigError, SettingsReader } from '../core/config/read-settings.ts';
import { type BlockLimit, parseBlockLimit, type SyncLeaversReport } from '../core/migration/leavers.ts';
import type { Logger } from '../core/ports.ts';
import { type MigrationCheckOptions, runSyncLeavers } from './run-migration-checks.ts';

/**
 * The environment variables the stack sets for this function beside the login function's, from
 * the `syncLeavers.*` settings (lib/constructs/sync-leavers-schedule.ts writes them).
 */
export const SYNC_LEAVERS_ENV = {
  /** syncLeavers.connection */
  connection: 'SYNC_LEAVERS_CONNECTION',
  /** syncLeavers.apply: `true` or `false` */
  apply: 'SYNC_LEAVERS_APPLY',
  /** syncLeavers.maxBlock, when set: `25` or `5%` */
  maxBlock: 'SYNC_LEAVERS_MAX_BLOCK',
  /** The complete ARN of the `{"domain","clientId","clientSecret"}` secret. */
  managementApiSecretArn: 'MANAGEMENT_API_SECRET_ARN',
} as const;

/** Stop this long before Lambda's timeout, so that a cut-short run still reports what it did. */
const STOP_BEFORE_TIMEOUT_MS = 60_000;

/** The event was not one this function runs on; Lambda answers it as a function error. */
export class SyncLeaversEventError extends Error {
  override readonly name = 'SyncLeaversEventError';
}

/** The run did not finish its work; the message says why and what to look at, never a secret. */
export class SyncLeaversRunFailed extends Error {
  override readonly name = 'SyncLeaversRunFailed';
}

/** The Management API application, as its secret holds it. */
export interface ManagementApiCredentials {
  domain: string;
  clientId: string;
  clientSecret: string;
}

interface FunctionSettings {
  connection: string;
  apply: boolean;
  maxBlock?: BlockLimit;
  secretArn: string;
}

/** Everything the handler needs besides its environment; tests point the Management API at the emulator. */
export interface SyncLeaversFunctionOptions {
  managementApi?: MigrationCheckOptions['managementApi'];
}

let reader: Promise<SecretValueReader> | undefined;
/** Per container, by secret ARN; forgotten after a failed run, so a rotated client secret is read again. */
let cached: { secretArn: string; credentials: Promise<ManagementApiCredentials> } | undefined;

export async function handler(
  event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  options: SyncLeaversFunctionOptions = {},
): Promise<SyncLeaversReport> {
  checkEvent(event);
  const logger = new JsonLogger(new SettingsReader(process.env).oneOf(S.LOG_LEVEL));
  const settings = readFunctionSettings(process.env);
  const signal = AbortSignal.timeout(Math.max(1000, context.getRemainingTimeInMillis() - STOP_BEFORE_TIMEOUT_MS));
  let report: SyncLeaversReport;
  try {
    const credentials = await managementApiCredentials(settings.secretArn);
    report = await runSyncLeavers(
      {
        ...process.env,
        [S.AUTH0_DOMAIN.env]: credentials.domain,
        [S.AUTH0_CLIENT_ID.env]: credentials.clientId,
        [S.AUTH0_CLIENT_SECRET.env]: credentials.clientSecret,
      },
      {
        connection: settings.connection,
        apply: settings.apply,
        ...(settings.maxBlock ? { maxBlock: settings.maxBlock } : {}),
        signal,
        logger,
        log: (line) => logger.info(line),
        ...(options.managementApi ? { managementApi: options.managementApi } : {}),
      },
    );
  } catch (error) {
    cached = undefined;
    const message = failureMessage(error, signal, settings);
    logger.error('sync-leavers failed', { connection: settings.connection, apply: settings.apply, error: message });
    throw new SyncLeaversRunFailed(message);
  }
  logReport(logger, report);
  const unfinished = unfinishedWork(report);
  if (unfinished) {
    cached = undefined;
    throw new SyncLeaversRunFailed(`sync-leavers for connection ${report.connection}: ${unfinished}`);
  }
  return withoutPersonalData(report);
}

/**
 * The report as the invocation answers it: users by Auth0 id only. Emails and DNs stay out of
 * what `aws lambda invoke` prints and of any destination an invocation result may be sent to,
 * as they stay out of the log.
 */
function withoutPersonalData(report: SyncLeaversReport): SyncLeaversReport {
  return {
    ...report,
    changes: report.changes.map(({ email: _email, dn: _dn, ...row }) => row),
    keptBlocked: report.keptBlocked.map(({ user_id }) => ({ user_id })),
  };
}

/** A scheduled event, or an empty one from `aws lambda invoke`; anything else is refused without echoing it. */
function checkEvent(event: unknown): void {
  if (event === undefined || event === null) return;
  if (typeof event === 'object' && !Array.isArray(event)) {
    const fields = event as Record<string, unknown>;
    if (Object.keys(fields).length === 0) return;
    if (fields.source === 'aws.events' && fields['detail-type'] === 'Scheduled Event') return;
  }
  throw new SyncLeaversEventError(
    'sync-leavers event refused: the function runs as deployed (syncLeavers.* in cdk.json) and takes no settings from its event; invoke it with {} or let its schedule run it',
  );
}

/** The function's own settings, checked with the rows of the settings table they come from. */
function readFunctionSettings(env: Readonly<Record<string, string | undefined>>): FunctionSettings {
  const settings = new SettingsReader(env);
  const asVariable = <T extends StringSetting>(row: T, name: string) => ({ ...row, env: name, required: true });
  const connection = settings.string(asVariable(D.syncLeaversConnection, SYNC_LEAVERS_ENV.connection));
  const apply = settings.boolean({ ...D.syncLeaversApply, env: SYNC_LEAVERS_ENV.apply, required: true });
  const secretArn = settings.string(
    asVariable(D.syncLeaversManagementApiSecretArn, SYNC_LEAVERS_ENV.managementApiSecretArn),
  );
  const maxBlockText = settings.string({ ...D.syncLeaversMaxBlock, env: SYNC_LEAVERS_ENV.maxBlock });
  const maxBlock = maxBlockText === undefined ? undefined : parseBlockLimit(maxBlockText);
  if (maxBlockText !== undefined && maxBlock === undefined)
    settings.problem(`${SYNC_LEAVERS_ENV.maxBlock}: "${maxBlockText}" expected ${D.syncLeaversMaxBlock.expected}`);
  if (settings.found.length > 0 || connection === undefined || secretArn === undefined)
    throw new ConfigError([...settings.found]);
  return { connection, apply, secretArn, ...(maxBlock ? { maxBlock } : {}) };
}

function managementApiCredentials(secretArn: string): Promise<ManagementApiCredentials> {
  if (cached?.secretArn !== secretArn) {
    reader ??= createSecretsManagerReader();
    const credentials = reader
      .then((secrets) => secrets.getSecretString(secretArn))
      .then(
        (text) => parseManagementApiSecret(text, secretArn),
        (error: unknown) => {
          // The SDK's message names the ARN and the refusal (AccessDenied, ResourceNotFound), never a value.
          throw new SyncLeaversRunFailed(
            `could not read the Management API secret ${secretArn}: ${error instanceof Error ? error.message : String(error)}`,
          );
        },
      );
    cached = { secretArn, credentials };
  }
  return cached.credentials;
}

const PLACEHOLDER = /^REPLACE-WITH-/;

/** The secret must be JSON {"domain","clientId","clientSecret"}; an error names the field, never the client secret. */
export function parseManagementApiSecret(text: string | undefined, secretArn: string): ManagementApiCredentials {
  const expected = `expected {"domain": "<tenant domain>", "clientId": "...", "clientSecret": "..."} of a machine-to-machine application authorised for the Management API`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    throw new SyncLeaversRunFailed(`the Management API secret ${secretArn} is not JSON; ${expected}`);
  }
  const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const trimmed = (name: string) => (typeof fields[name] === 'string' ? fields[name].trim() : '');
  const domain = trimmed('domain');
  const clientId = trimmed('clientId');
  const { clientSecret } = fields;
  const problems: string[] = [];
  if (PLACEHOLDER.test(domain) || PLACEHOLDER.test(clientId))
    problems.push("it still holds the placeholders the stack wrote: put the application's values in");
  else {
    if (!S.AUTH0_DOMAIN.pattern.test(domain))
      problems.push(`"domain" ${JSON.stringify(domain)} is not ${S.AUTH0_DOMAIN.expected}`);
    if (!S.AUTH0_CLIENT_ID.pattern.test(clientId)) problems.push(`"clientId" is not ${S.AUTH0_CLIENT_ID.expected}`);
  }
  if (typeof clientSecret !== 'string' || clientSecret.trim() === '')
    problems.push('"clientSecret" must be a non-empty string');
  if (problems.length > 0)
    throw new SyncLeaversRunFailed(`the Management API secret ${secretArn}: ${problems.join('; ')}; ${expected}`);
  return { domain, clientId, clientSecret: clientSecret as string };
}

/** What a failed run says, with where to look when Auth0 could not be reached from the function's subnets. */
function failureMessage(error: unknown, signal: AbortSignal, settings: FunctionSettings): string {
  if (signal.aborted)
    return `stopped ${STOP_BEFORE_TIMEOUT_MS / 1000} s before the function's timeout while reading the directory and Auth0; nothing was changed (run auth0-ldap-bridge sync-leavers from a machine that reaches both to see how long a run takes)`;
  if (error instanceof ConfigError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  // The Management API adapter's words for a request that got no answer.
  if (/no answer from|could not reach/.test(message))
    return `${message}. This function reaches Auth0's Management API on TCP 443 through its subnets' route to the internet: those subnets need a NAT gateway or equivalent`;
  if (/AUTH0_CLIENT_ID|AUTH0_CLIENT_SECRET/.test(message))
    return `${message} (this function reads them from the secret ${settings.secretArn})`;
  return message;
}

/** Why a finished run still left work undone (the errors alarm's cue), or undefined. */
function unfinishedWork(report: SyncLeaversReport): string | undefined {
  if (report.refused) return `refused to act: ${report.refused}`;
  if (report.counts.failed > 0)
    return `${report.counts.failed} of ${report.changes.length} changes failed (LOG_LEVEL debug lists them by user id)`;
  if (report.interrupted)
    return `stopped before the function's timeout with ${report.changes.filter((row) => row.outcome === 'not_reached').length} changes not made; the next run does what is left`;
  return undefined;
}

/** One line of counts; at debug, one line per change by Auth0 user id (no email, no DN). */
function logReport(logger: Logger, report: SyncLeaversReport): void {
  const { counts } = report;
  const failed = report.refused !== undefined || counts.failed > 0 || report.interrupted;
  logger[failed ? 'error' : 'info']('sync-leavers ran', {
    connection: report.connection,
    applied: report.applied,
    refused: report.refused,
    interrupted: report.interrupted,
    max_block: report.maxBlock,
    directory: counts.directory,
    auth0_users: counts.auth0Users,
    leavers: counts.leavers,
    already_blocked: counts.alreadyBlocked,
    kept_blocked: counts.keptBlocked,
    to_block: counts.toBlock,
    to_unblock: counts.toUnblock,
    to_clear_marker: counts.toClearMarker,
    blocked: counts.blocked,
    unblocked: counts.unblocked,
    markers_cleared: counts.markersCleared,
    skipped: counts.skipped,
    failed: counts.failed,
  });
  for (const row of report.changes)
    logger.debug('sync-leavers change', {
      action: row.action,
      user_id: row.user_id,
      reason: row.reason,
      outcome: row.outcome,
      detail: row.detail,
    });
}
