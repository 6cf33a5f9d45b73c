// `auth0-ldap-bridge doctor` against real OpenLDAP servers and local issuers: a healthy chain,
// then one broken link at a time (a wrong bind password, a foreign CA, a hostname the certificate
// lacks, a wrong base DN, nothing listening, a JWKS that is down or holds no RS256 key, a skewed
// clock, a certificate about to expire), each named by the doctor with what fixes it. --user
// shows the profile /get-user gives, --login logs in with a password piped on stdin, and no
// output of any test carries a bind or user password.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { DEMO_GROUPS, DEMO_USERS, withAdmin } from '../../dev/directory-data.ts';
import { type DevTokenIssuer, startDevTokenIssuer } from '../../dev/dev-token-issuer.ts';
import { type SeededSlapd, startSeededSlapd } from '../../dev/seeded-slapd.ts';
import { cleanEnv, waitFor } from '../../dev/server-process.ts';
import { freePort } from '../../dev/throwaway-slapd.ts';
import { DOCTOR_LINKS, type DoctorReport } from '../../lambdas/core/doctor/report.ts';
import { main } from '../../lambdas/entry/cli.ts';
import { runDoctor } from '../../lambdas/entry/run-doctor.ts';
import { SPECIAL_USER } from '../support/fixtures.ts';
import { directoryEnv, startTestStack, TEST_AUDIENCE, TEST_CLIENT } from '../support/stack.ts';

/** Every password a test hands the doctor: none may appear in any output. */
const SECRETS = new Set<string>();
const WRONG_BIND_PASSWORD = 'wrong-bind-password-5d1e';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bridge-bind-AbCdEf';
const [ALICE] = DEMO_USERS as [(typeof DEMO_USERS)[number]];

let own: SeededSlapd;
let issuer: DevTokenIssuer;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'auth0-ldap-bridge-doctor-'));
  issuer = await startDevTokenIssuer({ audience: TEST_AUDIENCE, clients: [TEST_CLIENT] });
  own = await startSeededSlapd({ users: DEMO_USERS, groups: DEMO_GROUPS, extraLoopbackAddresses: ['127.0.0.2'] });
  // A policy that locks after 5 wrong passwords in 10 minutes, as production directories do.
  await withAdmin(own.admin, (client) =>
    client.modify(`cn=default,ou=policies,${own.slapd.suffix}`, [
      new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdLockout', values: ['TRUE'] }) }),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdMaxFailure', values: ['5'] }) }),
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'pwdFailureCountInterval', values: ['600'] }),
      }),
    ]),
  );
  // A certificate valid for longer than the doctor's 30-day warning.
  await serveCertificate(own, 400);
  const shared = inject('directory');
  for (const secret of [shared.servicePassword, own.servicePassword, WRONG_BIND_PASSWORD, ALICE.password])
    SECRETS.add(secret);
  SECRETS.add(SPECIAL_USER.password);
  SECRETS.add(SPECIAL_USER.password.trim());
}, 60_000);

afterAll(async () => {
  await own?.stop();
  await issuer?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function issuerEnv(): Record<string, string> {
  return { AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: TEST_AUDIENCE, AUTH_ALLOWED_CLIENT_IDS: TEST_CLIENT.clientId };
}

const openssl = (directory: string, args: string[]) => execFileSync('openssl', args, { cwd: directory, stdio: 'pipe' });
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A CA (ca.pem, ca.key) in `directory`. */
function makeCa(directory: string, name: string): string {
  openssl(directory, [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '400',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return path.join(directory, 'ca.pem');
}

/** Gives the slapd a new CA and a server certificate for 127.0.0.1 and localhost valid `days` days, and restarts it. */
async function serveCertificate(seeded: SeededSlapd, days: number): Promise<void> {
  const directory = path.dirname(seeded.slapd.caCertPath);
  makeCa(directory, 'doctor test CA');
  openssl(directory, [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    'server.key',
    '-out',
    'server.pem',
    '-days',
    String(days),
    '-subj',
    '/CN=127.0.0.1',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-addext',
    'basicConstraints=CA:FALSE',
  ]);
  await seeded.slapd.restart();
}

function expectNoSecrets(...outputs: string[]): void {
  for (const output of outputs) for (const secret of SECRETS) expect(output).not.toContain(secret);
}

/** The command through main(), as the command line runs it; every output is checked for passwords. */
async function doctor(argv: string[], env: Record<string, string | undefined>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['doctor', ...argv], { env, out: (line) => out.push(line), err: (line) => err.push(line) });
  const result = { code, out: out.join('\n'), err: err.join('\n') };
  expectNoSecrets(result.out, result.err);
  return result;
}

/** The line of one link: `[ok]   tcp  ...`. */
function line(out: string, link: string): string {
  const found = out.split('\n').find((candidate) => new RegExp(`^\\[\\w+\\]\\s+${link}\\s`).test(candidate));
  if (found === undefined) throw new Error(`no line for ${link} in:\n${out}`);
  return found;
}

/** The fix printed under a link's line. */
function fixOf(out: string, link: string): string {
  const lines = out.split('\n');
  return lines[lines.indexOf(line(out, link)) + 1]?.trim() ?? '';
}

async function report(env: Record<string, string | undefined>, options: Parameters<typeof runDoctor>[1] = {}) {
  const result = await runDoctor(env, options);
  expectNoSecrets(JSON.stringify(result));
  return result;
}

const checkOf = (result: DoctorReport, link: string) => result.checks.find((check) => check.link === link);

describe('a directory whose certificate is valid for a year', () => {
  it('exits 0 with one line per link when every link works', async () => {
    const { code, out } = await doctor([], { ...own.bridgeEnv(), ...issuerEnv() });
    expect(code).toBe(0);
    const lines = out.split('\n').filter((candidate) => candidate.startsWith('['));
    expect(lines).toHaveLength(DOCTOR_LINKS.length);
    for (const [index, link] of DOCTOR_LINKS.entries()) {
      const expected = link === 'user' || link === 'login' ? 'skip' : 'ok';
      expect(lines[index]).toMatch(new RegExp(`^\\[${expected}\\]\\s+${link}\\s`));
    }
    expect(line(out, 'tls')).toContain('(LDAPS, TLSv1.3): CN=127.0.0.1, issued by CN=doctor test CA, valid until');
    expect(line(out, 'service-bind')).toContain(`bound as ${own.slapd.serviceDN} (LDAP_BIND_DN)`);
    expect(line(out, 'lockout-policy')).toContain(
      'lockout after 5 failures (read from the only (objectClass=pwdPolicy) entry under dc=example,dc=test), counted over 600 s; the shield stops binding as a user at 3 counted failures (LDAP_LOCKOUT_RESERVE 2)',
    );
    expect(line(out, 'jwks')).toContain('1 RS256 signing key');
    expect(out.split('\n').at(-1)).toBe('doctor: every link works');
  });

  it('checks the certificate a StartTLS upgrade presents', async () => {
    const result = await report(own.bridgeEnv({ LDAP_URLS: own.slapd.ldapUrl, LDAP_STARTTLS: 'true' }), {
      links: ['dns', 'tcp', 'tls', 'service-bind'],
    });
    expect(result.ok).toBe(true);
    expect(checkOf(result, 'tls')).toMatchObject({ status: 'ok' });
    expect(checkOf(result, 'tls')?.summary).toContain(`${own.slapd.ldapUrl} (StartTLS, TLSv1.3): CN=127.0.0.1`);
  });

  it("names the certificate's names when LDAP_URLS uses a host the certificate lacks", async () => {
    const port = new URL(own.slapd.ldapsUrl).port;
    const { code, out } = await doctor([], {
      ...own.bridgeEnv({ LDAP_URLS: `ldaps://127.0.0.2:${port}` }),
      ...issuerEnv(),
    });
    expect(code).toBe(1);
    expect(line(out, 'tls')).toContain(
      `[FAIL] tls             ldaps://127.0.0.2:${port}: the certificate is not for 127.0.0.2 (it names IP:127.0.0.1, DNS:localhost)`,
    );
    expect(fixOf(out, 'tls')).toBe(
      'fix: use a name the certificate holds in LDAP_URLS (127.0.0.1, localhost), or reissue the certificate with 127.0.0.2 in its subjectAltName',
    );
    expect(line(out, 'service-bind')).toContain('[skip]');
    expect(out).toContain('doctor: the chain breaks at tls');
  });

  it('warns failover when one server of LDAP_URLS is down and another answers, and binds on the other', async () => {
    const closed = await freePort();
    const result = await report(
      own.bridgeEnv({ LDAP_URLS: `ldap://127.0.0.1:${closed},${own.slapd.ldapUrl}`, LDAP_CA_CERT: undefined }),
      { links: ['dns', 'tcp', 'tls', 'service-bind'] },
    );
    expect(result.ok).toBe(true);
    expect(checkOf(result, 'tcp')).toMatchObject({ status: 'warn', server: `ldap://127.0.0.1:${closed}` });
    expect(checkOf(result, 'tcp')?.summary).toContain('(the bridge fails over to the servers that answer)');
    expect(checkOf(result, 'service-bind')?.summary).toContain(`on ${own.slapd.ldapUrl}`);
  });

  it('refuses an empty password before any bind', async () => {
    const result = await cli(['doctor', '--login', ALICE.uid], { ...own.bridgeEnv(), ...issuerEnv() }, '\n');
    expect(result.code).toBe(2);
    expect(result.err).toContain('--login: the password for alice is empty');
    expect(result.out).toBe('');
  }, 20_000);

  it('warns, and exits 0, when the certificate expires within 30 days', async () => {
    await serveCertificate(own, 10);
    const { code, out } = await doctor([], { ...own.bridgeEnv(), ...issuerEnv() });
    expect(code).toBe(0);
    expect(line(out, 'tls')).toMatch(/^\[warn\] tls .* expires \d{4}-\d{2}-\d{2} \(in (9|10) days\)/);
    expect(fixOf(out, 'tls')).toMatch(/^fix: renew the directory's certificate before \d{4}-\d{2}-\d{2}/);
    expect(out).toContain('doctor: every link works (1 warning)');
  });
});

describe('the shared directory, one broken link at a time', () => {
  it('names the service account and the settings for a wrong bind password, never the password', async () => {
    const env = { ...directoryEnv({ LDAP_BIND_PASSWORD: WRONG_BIND_PASSWORD }), ...issuerEnv() };
    const { code, out } = await doctor([], env);
    expect(code).toBe(1);
    const { serviceDN } = inject('directory');
    expect(line(out, 'service-bind')).toContain(
      `[FAIL] service-bind    the directory refused the service account ${serviceDN} (LDAP_BIND_DN): wrong password or DN (49 invalid credentials)`,
    );
    expect(fixOf(out, 'service-bind')).toContain('check LDAP_BIND_DN and LDAP_BIND_PASSWORD');
    const json = await doctor(['--json'], env);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.out) as DoctorReport;
    expect(parsed.ok).toBe(false);
    expect(checkOf(parsed, 'base-dn')).toEqual({
      link: 'base-dn',
      status: 'skipped',
      summary: 'not checked: service-bind failed',
    });
  });

  it('names the verification error, the certificate and LDAP_CA_CERT for a CA the bridge is not told about', async () => {
    const foreign = mkdtempSync(path.join(scratch, 'foreign-'));
    const foreignCa = makeCa(foreign, 'some other CA');
    const { code, out } = await doctor([], { ...directoryEnv({ LDAP_CA_CERT: foreignCa }), ...issuerEnv() });
    expect(code).toBe(1);
    // slapd sends its CA along with the certificate: OpenSSL then finds a self-signed CA in the chain.
    expect(line(out, 'tls')).toMatch(
      /: the certificate is not trusted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\) \(CN=127\.0\.0\.1, issued by CN=auth0-ldap-bridge throwaway CA\)/,
    );
    expect(fixOf(out, 'tls')).toBe(
      `fix: LDAP_CA_CERT (${foreignCa}) is not the CA that signed the directory's certificate: set it to the PEM file of that CA, CN=auth0-ldap-bridge throwaway CA`,
    );
  });

  it('runs a full login with the password piped on stdin, kept as typed, and fails a wrong one naming the login link', async () => {
    const env = { ...directoryEnv(), ...issuerEnv() };
    const wrongPassword = 'not-her-password-4c2d';
    SECRETS.add(wrongPassword);
    // The password ends in a space: the line is taken as typed.
    const [right, wrong] = await Promise.all([
      cli(['doctor', '--login', SPECIAL_USER.uid], env, `${SPECIAL_USER.password}\n`),
      cli(['doctor', '--login', SPECIAL_USER.uid], env, `${wrongPassword}\n`),
    ]);
    expect(right.code).toBe(0);
    expect(line(right.out, 'login')).toContain(
      `[ok]   login           ${SPECIAL_USER.uid} logged in: the directory accepted the password`,
    );
    expect(wrong.code).toBe(1);
    expect(line(wrong.out, 'login')).toContain(
      `[FAIL] login           401 invalid_credentials for ${SPECIAL_USER.uid}: a wrong password, or no entry matches the username`,
    );
    expect(wrong.out).toContain('doctor: the chain breaks at login');
  }, 40_000);

  it("lists the directory's naming contexts for a base DN that does not exist", async () => {
    const { code, out } = await doctor([], {
      ...directoryEnv({ LDAP_BASE_DN: 'ou=nobody,dc=example,dc=test' }),
      ...issuerEnv(),
    });
    expect(code).toBe(1);
    expect(line(out, 'base-dn')).toContain(
      "LDAP_BASE_DN ou=nobody,dc=example,dc=test does not exist, or the service account may not see it (32 no such object); the directory's naming contexts are: dc=example,dc=test",
    );
    expect(line(out, 'service-bind')).toMatch(/^\[ok\]/);
  });

  it('says nothing is listening on a port that was opened and closed', async () => {
    const port = await freePort();
    const { code, out } = await doctor([], {
      ...directoryEnv({ LDAP_URLS: `ldap://127.0.0.1:${port}`, LDAP_CA_CERT: undefined }),
      ...issuerEnv(),
    });
    expect(code).toBe(1);
    expect(line(out, 'tcp')).toContain(
      `[FAIL] tcp             ldap://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(fixOf(out, 'tcp')).toContain(
      `fix: nothing listening on 127.0.0.1:${port}: is the server up, is the port right`,
    );
    expect(line(out, 'tls')).toContain('[skip]');
  });

  it("warns that logins are not shielded, with the shield's own fix, when the lockout policy cannot be read", async () => {
    const suffix = inject('directory').suffix;
    const result = await report(directoryEnv({ LDAP_LOCKOUT_POLICY_DN: `cn=missing,ou=policies,${suffix}` }), {
      links: ['service-bind', 'attributes', 'lockout-policy'],
    });
    expect(checkOf(result, 'lockout-policy')).toMatchObject({
      status: 'warn',
      summary: `no lockout policy found (cn=missing,ou=policies,${suffix} cannot be read), so logins are not shielded: wrong passwords sent through Auth0 can lock directory accounts`,
      fix: 'set LDAP_LOCKOUT_POLICY_DN or LDAP_LOCKOUT_THRESHOLD',
    });
  });

  it('exits 2 naming every missing setting when the configuration is incomplete, and checks nothing', async () => {
    const { code, out } = await doctor([], directoryEnv({ LDAP_BASE_DN: undefined }));
    expect(code).toBe(2);
    expect(line(out, 'configuration')).toContain('LDAP_BASE_DN: is required');
    expect(line(out, 'configuration')).toContain('AUTH_ISSUER: is required');
    expect(line(out, 'dns')).toContain('[skip] dns             not checked: configuration failed');
  });
});

describe('the service account from Secrets Manager (the deployed doctor)', () => {
  const secrets = mockClient(SecretsManagerClient);
  beforeAll(() => {
    vi.stubEnv('AWS_REGION', 'eu-west-1');
  });
  afterAll(() => {
    secrets.restore();
    vi.unstubAllEnvs();
  });
  const secretEnv = () =>
    directoryEnv({ LDAP_BIND_DN: undefined, LDAP_BIND_PASSWORD: undefined, LDAP_BIND_SECRET_ARN: SECRET_ARN });

  it('binds with the secret the function reads, naming the secret and the account', async () => {
    const { serviceDN, servicePassword } = inject('directory');
    secrets.reset();
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({
      SecretString: JSON.stringify({ bindDN: serviceDN, password: servicePassword }),
    });
    const result = await report(secretEnv(), { links: ['service-bind', 'base-dn', 'lockout-policy'] });
    expect(checkOf(result, 'service-bind')).toMatchObject({ status: 'ok' });
    expect(checkOf(result, 'service-bind')?.summary).toContain(
      `bound as ${serviceDN} from the secret ${SECRET_ARN} (LDAP_BIND_SECRET_ARN)`,
    );
    expect(result.ok).toBe(true);
  });

  it('says what the role needs when the secret cannot be read', async () => {
    secrets.reset();
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    const result = await report(secretEnv(), { links: ['service-bind'] });
    expect(checkOf(result, 'service-bind')).toMatchObject({ status: 'fail' });
    expect(checkOf(result, 'service-bind')?.fix).toContain(`secretsmanager:GetSecretValue on ${SECRET_ARN}`);
  });
});

/** A stand-in issuer whose key set and Date header each test chooses. */
async function startIssuer(
  answer: (response: http.ServerResponse) => void,
): Promise<{ issuer: string; stop(): Promise<void> }> {
  const server = http.createServer((_request, response) => answer(response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    issuer: `http://127.0.0.1:${port}/`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const RSA_KEY = {
  kty: 'RSA',
  kid: 'rsa-1',
  use: 'sig',
  alg: 'RS256',
  n: 'sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw',
  e: 'AQAB',
};

const sendKeys = (keys: unknown[], date?: Date) => (response: http.ServerResponse) => {
  if (date) {
    response.sendDate = false;
    response.setHeader('date', date.toUTCString());
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ keys }));
};

describe('the issuer, checked alone (as doctor --stack checks it from this machine)', () => {
  it('needs only AUTH_ISSUER, and lists the RS256 keys of a working JWKS', async () => {
    const result = await report({ AUTH_ISSUER: issuer.issuer }, { links: ['jwks', 'clock'] });
    expect(result.ok).toBe(true);
    expect(result.checks.filter((check) => check.status !== 'skipped').map((check) => check.link)).toEqual([
      'configuration',
      'jwks',
      'clock',
    ]);
  });

  it('fails jwks when the JWKS answers an error, and when the issuer is stopped', async () => {
    issuer.setJwksDown(true);
    try {
      const { code, out } = await doctor([], { ...own.bridgeEnv(), ...issuerEnv() });
      expect(code).toBe(1);
      expect(line(out, 'jwks')).toContain(`[FAIL] jwks            GET ${issuer.jwksUrl} answered HTTP 503`);
      expect(line(out, 'clock')).toContain('not checked: jwks failed');
    } finally {
      issuer.setJwksDown(false);
    }
    const stopped = await startIssuer(sendKeys([RSA_KEY]));
    await stopped.stop();
    const result = await report({ AUTH_ISSUER: stopped.issuer }, { links: ['jwks', 'clock'] });
    expect(checkOf(result, 'jwks')).toMatchObject({
      status: 'fail',
      fix: 'nothing answers there: check AUTH_ISSUER and AUTH_JWKS_URL',
    });
    expect(checkOf(result, 'jwks')?.summary).toContain('ECONNREFUSED');
  });

  it('fails jwks for a key set without an RS256 signing key', async () => {
    const ecOnly = await startIssuer(
      sendKeys([{ kty: 'EC', kid: 'ec-1', use: 'sig', alg: 'ES256', crv: 'P-256', x: 'x', y: 'y' }]),
    );
    try {
      const result = await report({ AUTH_ISSUER: ecOnly.issuer }, { links: ['jwks', 'clock'] });
      expect(checkOf(result, 'jwks')?.summary).toBe(
        `${ecOnly.issuer}.well-known/jwks.json holds no RS256 signing key (ec-1 (EC ES256))`,
      );
    } finally {
      await ecOnly.stop();
    }
  });

  it("warns for a clock 10 s off the issuer's, and fails beyond AUTH_CLOCK_TOLERANCE_SECONDS", async () => {
    const behind = await startIssuer((response) => sendKeys([RSA_KEY], new Date(Date.now() + 10_000))(response));
    const ahead = await startIssuer((response) => sendKeys([RSA_KEY], new Date(Date.now() - 120_000))(response));
    try {
      const warned = await report({ AUTH_ISSUER: behind.issuer }, { links: ['jwks', 'clock'] });
      expect(checkOf(warned, 'clock')).toMatchObject({ status: 'warn' });
      expect(checkOf(warned, 'clock')?.summary).toMatch(/^this machine's clock is \d+\.\d s behind the issuer's/);
      const failed = await report(
        { AUTH_ISSUER: ahead.issuer, AUTH_CLOCK_TOLERANCE_SECONDS: '60' },
        { links: ['jwks', 'clock'] },
      );
      expect(checkOf(failed, 'clock')).toMatchObject({ status: 'fail' });
      expect(checkOf(failed, 'clock')?.summary).toContain('ahead of the issuer');
      expect(checkOf(failed, 'clock')?.summary).toContain('more than AUTH_CLOCK_TOLERANCE_SECONDS 60 s');
    } finally {
      await behind.stop();
      await ahead.stop();
    }
  });
});

describe('--user and the connections the doctor opens', () => {
  it('prints the same profile /get-user gives', async () => {
    const stack = await startTestStack();
    try {
      const response = await stack.post('/get-user', { username: SPECIAL_USER.uid });
      expect(response.status).toBe(200);
      const fromGetUser = (await response.json()) as unknown;
      const env = {
        ...directoryEnv(),
        AUTH_ISSUER: stack.issuer.issuer,
        AUTH_AUDIENCE: TEST_AUDIENCE,
        AUTH_ALLOWED_CLIENT_IDS: TEST_CLIENT.clientId,
      };
      const { code, out } = await doctor(['--user', SPECIAL_USER.uid], env);
      expect(code).toBe(0);
      const printed = out.slice(
        out.indexOf('the profile Auth0 would receive:\n') + 'the profile Auth0 would receive:\n'.length,
      );
      expect(JSON.parse(printed)).toEqual(fromGetUser);
      expect(line(out, 'user')).toContain(`[ok]   user            found ${SPECIAL_USER.uid}: user_id`);
      const json = await doctor(['--user', SPECIAL_USER.uid, '--json'], env);
      expect((JSON.parse(json.out) as DoctorReport).profile).toEqual(fromGetUser);
    } finally {
      await stack.stop();
    }
  });

  it('closes every directory connection it opened, after a walk with a login', async () => {
    const counter = await startConnectionCounter(new URL(inject('directory').ldapUrl).port);
    try {
      const result = await report(
        { ...directoryEnv({ LDAP_URLS: `ldap://127.0.0.1:${counter.port}`, LDAP_CA_CERT: undefined }), ...issuerEnv() },
        { user: SPECIAL_USER.uid, login: { username: SPECIAL_USER.uid, password: SPECIAL_USER.password } },
      );
      expect(result.ok).toBe(true);
      expect(checkOf(result, 'login')?.status).toBe('ok');
      expect(counter.opened()).toBeGreaterThan(3);
      await waitFor(() => counter.open() === 0, 10_000, 'the doctor to close its connections');
    } finally {
      await counter.stop();
    }
  });
});

describe('doctor --stack', () => {
  const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:bridge-doctor';
  const cloudFormation = mockClient(CloudFormationClient);
  const lambda = mockClient(LambdaClient);
  afterAll(() => {
    cloudFormation.restore();
    lambda.restore();
  });

  it("shows the deployed doctor's links, and the issuer links walked from this machine in their place", async () => {
    const walkedThere = await runDoctor(directoryEnv(), {
      links: DOCTOR_LINKS.filter((link) => !['jwks', 'clock', 'user', 'login'].includes(link)),
    });
    const deployed: DoctorReport = {
      ...walkedThere,
      ranOn: { kind: 'deployed', functionArn: FUNCTION_ARN },
      issuer: issuer.issuer,
    };
    cloudFormation.on(DescribeStacksCommand, { StackName: 'bridge' }).resolves({
      Stacks: [
        {
          StackName: 'bridge',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'DoctorFunctionArn', OutputValue: FUNCTION_ARN }],
        },
      ],
    });
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: new TextEncoder().encode(JSON.stringify(deployed)) as InvokeCommandOutput['Payload'],
    });
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    try {
      const { code, out } = await doctor(['--stack', 'bridge'], {});
      expect(out.split('\n')[0]).toBe(
        `walked by the deployed doctor ${FUNCTION_ARN}; jwks and clock from this machine`,
      );
      expect(line(out, 'jwks')).toMatch(/^\[ok\]\s+jwks\s+.*1 RS256 signing key.*\[checked from this machine\]/);
      expect(line(out, 'clock')).toMatch(/^\[ok\]\s+clock\s+.*\[checked from this machine\]/);
      expect(line(out, 'service-bind')).toMatch(/^\[ok\]/);
      expect(line(out, 'service-bind')).not.toContain('checked from this machine');
      // The shared directory's certificate lives for days: a warning, not a failure.
      expect(code).toBe(0);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

/** Runs the built command line as an operator does, with stdin piped. */
function cli(args: string[], env: Record<string, string | undefined>, stdin: string) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'lambdas/entry/cli.ts', ...args], {
      env: cleanEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      expectNoSecrets(out, err);
      resolve({ code, out, err });
    });
    child.stdin.end(stdin);
  });
}

/** A TCP relay in front of the directory that counts the connections through it. */
async function startConnectionCounter(targetPort: string) {
  let open = 0;
  let opened = 0;
  const server = net.createServer((client) => {
    open += 1;
    opened += 1;
    const upstream = net.connect(Number(targetPort), '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => {
      open -= 1;
      upstream.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    open: () => open,
    opened: () => opened,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
