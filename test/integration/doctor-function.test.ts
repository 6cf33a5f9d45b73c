// The deployed doctor's handler against the shared slapd, with the environment prod's stack gives
// the login function (the service account as static credentials, or from the bind secret through
// a mocked Secrets Manager): the report it returns to `doctor --stack`, the events it refuses,
// and its one summary log line.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { doctorReportProblem } from '../../lambdas/adapters/deployed-doctor.ts';
import type { DoctorReport } from '../../lambdas/core/doctor/report.ts';
import { DEPLOYED_DOCTOR_LINKS, DoctorEventError, handler } from '../../lambdas/entry/doctor-function.ts';
import { lambdaEnvironment, readDeploymentConfig } from '../../lib/config.ts';
import { CDK_CONTEXT } from '../infra/support.ts';
import { DEMO_USERS } from '../support/fixtures.ts';
import { directoryEnv } from '../support/stack.ts';

const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:LdapBridge-prod-DoctorFunction-AbC123';
const deployment = readDeploymentConfig(CDK_CONTEXT.environments, 'prod');
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf';
const ISSUER = deployment.auth0.issuer;
const context = { invokedFunctionArn: FUNCTION_ARN };
const alice = DEMO_USERS[0]!;

const saved = { ...process.env };
let logLines: string[] = [];

beforeAll(() => {
  // The shared slapd's directory settings and static service credentials in place of the secret.
  const { LDAP_BIND_SECRET_ARN: _secret, ...stated } = lambdaEnvironment(deployment, SECRET_ARN);
  Object.assign(process.env, stated, directoryEnv());
});
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

/** Runs the handler with its stdout (the JSON log) captured. */
async function invoke(event: unknown, env: Record<string, string | undefined> = {}): Promise<DoctorReport> {
  logLines = [];
  const before = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    // process.env would keep undefined as the text "undefined".
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  vi.spyOn(process.stdout, 'write').mockImplementation((line) => {
    logLines.push(String(line));
    return true;
  });
  try {
    return await handler(event, context);
  } finally {
    vi.restoreAllMocks();
    for (const key of Object.keys(env)) {
      if (before[key] === undefined) delete process.env[key];
      else process.env[key] = before[key];
    }
  }
}

const statuses = (report: DoctorReport) => Object.fromEntries(report.checks.map((check) => [check.link, check.status]));

describe('the deployed doctor function', () => {
  it('walks the directory links and returns a deployed report, leaving the issuer links to the command', async () => {
    const report = await invoke({});
    expect(report.ok).toBe(true);
    expect(report.ranOn).toEqual({ kind: 'deployed', functionArn: FUNCTION_ARN });
    expect(report.issuer).toBe(ISSUER);
    for (const link of DEPLOYED_DOCTOR_LINKS) expect(['ok', 'warn']).toContain(statuses(report)[link]);
    expect(statuses(report)).toMatchObject({ jwks: 'skipped', clock: 'skipped', user: 'skipped', login: 'skipped' });
    const jwks = report.checks.find((check) => check.link === 'jwks')!;
    expect(jwks.summary).toContain("left to doctor --stack, which checks it from the operator's machine");
    expect(report.profile).toBeUndefined();
    expect(doctorReportProblem(JSON.parse(JSON.stringify(report)))).toBeUndefined();
  });

  it('adds the profile Auth0 would receive for the requested user', async () => {
    const report = await invoke({ user: alice.uid });
    expect(statuses(report).user).toBe('ok');
    expect(report.profile).toMatchObject({ username: alice.uid, email: alice.mail });
    expect(statuses(report).login).toBe('skipped');
  });

  it('logs one summary line: the links and their statuses, never the profile', async () => {
    await invoke({ user: alice.uid });
    expect(logLines).toHaveLength(1);
    const line = JSON.parse(logLines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', message: 'doctor walked', ok: true, user_requested: true });
    expect(line.links).toMatch(
      /^configuration=ok dns=ok tcp=ok tls=(ok|warn) service-bind=ok .* user=ok login=skipped$/,
    );
    expect(logLines[0]).not.toContain(alice.mail!);
  });

  it('reports a broken link as a failed check, logs a warning naming it, and never carries the bind password', async () => {
    const wrongPassword = 'wrong-bind-password-8c1e';
    const report = await invoke({}, { LDAP_BIND_PASSWORD: wrongPassword });
    expect(report.ok).toBe(false);
    expect(statuses(report)['service-bind']).toBe('fail');
    expect(JSON.parse(logLines[0]!)).toMatchObject({ level: 'warn', ok: false, failed_link: 'service-bind' });
    const everything = JSON.stringify(report) + logLines.join('');
    expect(everything).not.toContain(wrongPassword);
    const healthy = JSON.stringify(await invoke({ user: alice.uid })) + logLines.join('');
    expect(healthy).not.toContain(directoryEnv().LDAP_BIND_PASSWORD!);
  });

  it('reads the service account from the bind secret, as deployed, and carries its password nowhere', async () => {
    const { LDAP_BIND_DN: bindDN, LDAP_BIND_PASSWORD: password } = directoryEnv();
    const secrets = mockClient(SecretsManagerClient);
    secrets
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .resolves({ SecretString: JSON.stringify({ bindDN, password }) });
    try {
      const report = await invoke(
        {},
        { LDAP_BIND_SECRET_ARN: SECRET_ARN, LDAP_BIND_DN: undefined, LDAP_BIND_PASSWORD: undefined },
      );
      expect(report.ok).toBe(true);
      expect(statuses(report)['service-bind']).toBe('ok');
      expect(secrets.commandCalls(GetSecretValueCommand)).not.toHaveLength(0);
      expect(JSON.stringify(report) + logLines.join('')).not.toContain(password!);
    } finally {
      secrets.restore();
    }
  });

  it.each([
    ['no object', null, 'doctor event refused: must be a JSON object'],
    ['a list', [{ user: 'alice' }], 'doctor event refused: must be a JSON object'],
    [
      'a login request',
      { user: 'alice', password: 'alice-password' },
      'doctor event refused: unknown field "password"',
    ],
    ['an empty user', { user: '' }, 'doctor event refused: "user" must be at least 1 character(s)'],
    ['a user too long', { user: 'a'.repeat(257) }, 'doctor event refused: "user" must be at most 256 characters'],
    ['a user that is not text', { user: 42 }, 'doctor event refused: "user" must be a string'],
    [
      'a user with a control character',
      { user: 'alice\u0000' },
      'doctor event refused: "user" must not contain control characters',
    ],
  ])('refuses %s before touching the directory, without echoing it', async (_case, event, message) => {
    const refusal = invoke(event);
    await expect(refusal).rejects.toBeInstanceOf(DoctorEventError);
    await expect(refusal).rejects.toThrow(`${message}; expected {"user"?: a username of 1-256 characters}`);
    await expect(refusal).rejects.not.toThrow('alice-password');
    expect(logLines).toEqual([]);
  });
});
