// `auth0-ldap-bridge doctor` as an operator calls it, where nothing reaches a directory: the flags
// it refuses and why, and exit code 2 for settings that are missing or invalid. The walks
// themselves run against real servers in test/integration/doctor.test.ts.
import { describe, expect, it } from 'vitest';
import { main } from '../../lambdas/entry/cli.ts';

const DIRECTORY = {
  LDAP_URLS: 'ldaps://dc1.corp.example',
  LDAP_BASE_DN: 'ou=people,dc=corp,dc=example',
  LDAP_BIND_DN: 'cn=reader,dc=corp,dc=example',
  LDAP_BIND_PASSWORD: 'never-shown-bind-password',
};

async function doctor(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['doctor', ...argv], { env, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('auth0-ldap-bridge doctor', () => {
  it('is listed with the other commands', async () => {
    const out: string[] = [];
    await main(['--help'], { env: {}, out: (line) => out.push(line), err: () => undefined });
    expect(out.join('\n')).toMatch(/^ {2}doctor {2,}find the broken link/m);
  });

  it('refuses --stack with --function', async () => {
    const { code, err } = await doctor(['--stack', 'bridge', '--function', 'arn:aws:lambda:eu-west-1:1:function:x']);
    expect(code).toBe(2);
    expect(err).toContain('give --stack NAME or --function ARN, not both');
  });

  it('refuses --login with a deployed doctor, saying the password must not travel through it', async () => {
    for (const deployed of [
      ['--stack', 'bridge'],
      ['--function', 'arn:aws:lambda:eu-west-1:1:function:x'],
    ]) {
      const { code, err } = await doctor([...deployed, '--login', 'alice']);
      expect(code).toBe(2);
      expect(err).toContain(
        '--login cannot go with --stack or --function: the password would travel to the deployed function in its invocation payload',
      );
    }
  });

  it('refuses a --user or --login without a name, and a password given as an argument', async () => {
    expect((await doctor(['--user', ' '])).err).toContain('--user: expected a value');
    expect((await doctor(['--login'])).err).toContain('--login needs a value');
    expect((await doctor(['--login', 'alice', 'hunter2'])).err).toContain('unexpected argument hunter2');
  });

  it('exits 2 when the settings are invalid, listing each, and never shows the bind password', async () => {
    const { code, out } = await doctor([], {
      ...DIRECTORY,
      LDAP_URLS: 'ldap://dc1.corp.example',
      AUTH_ISSUER: 'https://tenant.eu.auth0.com',
    });
    expect(code).toBe(2);
    expect(out).toMatch(/^\[FAIL\] configuration/);
    expect(out).toContain('LDAP_URLS: "ldap://dc1.corp.example" would send passwords in clear text');
    expect(out).toContain('AUTH_ISSUER: "https://tenant.eu.auth0.com" must end with "/"');
    expect(out).toContain('AUTH_AUDIENCE: is required');
    expect(out).toContain('fix: correct the settings named above');
    expect(out).toContain('doctor: the chain breaks at configuration');
    expect(out).not.toContain('never-shown-bind-password');
  });

  it('fails the configuration link naming LDAP_USER_FILTER for a filter that does not parse', async () => {
    const { code, out } = await doctor([], {
      ...DIRECTORY,
      LDAP_USER_FILTER: '(&(objectClass=person)(uid={username})',
    });
    expect(code).toBe(2);
    expect(out).toMatch(/^\[FAIL\] configuration .*LDAP_USER_FILTER: "\(&\(objectClass=person\)\(uid=\{username\}\)"/);
  });

  it('with --json prints exactly one JSON document, the report', async () => {
    const { code, out } = await doctor(['--json'], { LDAP_BIND_PASSWORD: 'never-shown-bind-password' });
    expect(code).toBe(2);
    const report = JSON.parse(out) as { ok: boolean; ranOn: unknown; checks: Array<{ link: string; status: string }> };
    expect(report.ok).toBe(false);
    expect(report.ranOn).toEqual({ kind: 'local' });
    expect(report.checks[0]).toMatchObject({ link: 'configuration', status: 'fail' });
    expect(report.checks.slice(1).every((check) => check.status === 'skipped')).toBe(true);
    expect(out).not.toContain('never-shown-bind-password');
  });
});
