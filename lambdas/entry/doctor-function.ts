// The deployed doctor's Lambda handler (a composition root): walks the doctor's directory links
// with the function's own environment, which the stack makes exactly the login function's, from
// the login function's subnets and security group. The issuer's links (jwks, clock) are left to
// `auth0-ldap-bridge doctor --stack`, which walks them from the operator's machine: this VPC need
// not reach the internet. A login is never run here: a password must not travel through a
// Lambda payload. Each run logs one summary line (links and statuses, never a profile).
import type { Context } from 'aws-lambda';
import { getUserRequestSchema, type ObjectSchema, type StringProperty } from '../contract/request-schemas.ts';
import { RUNTIME_SETTINGS as S } from '../contract/settings.ts';
import { SettingsReader } from '../core/config/read-settings.ts';
import { DOCTOR_LINKS, type DoctorLink, type DoctorReport } from '../core/doctor/report.ts';
import { validateAgainstSchema } from '../core/http/request-body.ts';
import { JsonLogger } from '../adapters/json-logger.ts';
import { runDoctor } from './run-doctor.ts';

/** What `doctor --stack` sends: optionally a username whose profile the report shows (no bind). */
export interface DoctorFunctionEvent {
  user?: string;
}

const FROM_THE_COMMAND =
  "left to doctor --stack, which checks it from the operator's machine: this function's VPC need not reach the internet";

/** The links the doctor function never walks, and what its report says of each. */
const LEFT_OUT: Partial<Record<DoctorLink, string>> = {
  jwks: FROM_THE_COMMAND,
  clock: FROM_THE_COMMAND,
  login: 'never run by the deployed doctor: a password must not travel through a Lambda payload',
};

/** The links the doctor function walks: every one but those left out and the user's, which a request adds. */
export const DEPLOYED_DOCTOR_LINKS: readonly DoctorLink[] = DOCTOR_LINKS.filter(
  (link) => !(link in LEFT_OUT) && link !== 'user',
);

const { username } = getUserRequestSchema.properties as { username: StringProperty };

/** The event's shape, in the contract's schema form: `user` is checked as /get-user's username is. */
const DOCTOR_EVENT_SCHEMA: ObjectSchema = {
  ...getUserRequestSchema,
  title: 'DoctorRequest',
  required: [],
  properties: { user: username },
};

/** A refused event; Lambda answers it as a function error whose errorMessage the command prints. */
export class DoctorEventError extends Error {
  override readonly name = 'DoctorEventError';
}

/** Throws DoctorEventError naming the field and the rule, never the value. */
export function readDoctorEvent(event: unknown): DoctorFunctionEvent {
  const result = validateAgainstSchema(DOCTOR_EVENT_SCHEMA, event);
  if (!result.ok) {
    const field = result.field === 'body' ? '' : `"${result.field}" `;
    throw new DoctorEventError(
      `doctor event refused: ${field}${result.reason}; expected {"user"?: a username of 1-${username.maxLength} characters}`,
    );
  }
  return result.value.user === undefined ? {} : { user: result.value.user };
}

export async function handler(event: unknown, context: Pick<Context, 'invokedFunctionArn'>): Promise<DoctorReport> {
  const { user } = readDoctorEvent(event);
  const report = await runDoctor(process.env, {
    links: DEPLOYED_DOCTOR_LINKS,
    ...(user === undefined ? {} : { user }),
  });
  const issuer = process.env[S.AUTH_ISSUER.env]?.trim();
  const deployed: DoctorReport = {
    ...report,
    checks: report.checks.map((check) => {
      const leftOut = LEFT_OUT[check.link];
      return leftOut === undefined ? check : { link: check.link, status: 'skipped', summary: leftOut };
    }),
    ranOn: { kind: 'deployed', functionArn: context.invokedFunctionArn },
    ...(issuer ? { issuer } : {}),
  };
  logSummary(deployed, user !== undefined);
  return deployed;
}

function logSummary(report: DoctorReport, userRequested: boolean): void {
  // A bad LOG_LEVEL reads as the default here; the configuration link reports it.
  const logger = new JsonLogger(new SettingsReader(process.env).oneOf(S.LOG_LEVEL));
  const failed = report.checks.find((check) => check.status === 'fail');
  logger[report.ok ? 'info' : 'warn']('doctor walked', {
    ok: report.ok,
    links: report.checks.map((check) => `${check.link}=${check.status}`).join(' '),
    failed_link: failed?.link,
    user_requested: userRequested,
  });
}
