// The doctor's walk and its first link: links in DOCTOR_LINKS order, the stop at the first
// broken link, links not asked for, and the configuration read for exactly the links walked.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambdas/core/config/read-settings.ts';
import { configurationFailed, loadDoctorConfig } from '../../lambdas/core/doctor/configuration.ts';
import { DOCTOR_LINKS, type DoctorCheck, type DoctorLink } from '../../lambdas/core/doctor/report.ts';
import { DEFAULT_LINKS, type LinkResult, linksToWalk, walkChain } from '../../lambdas/core/doctor/walk.ts';

const ok: LinkResult = { status: 'ok', summary: 'fine' };
let clock = 0;
const now = () => clock;

async function walk(
  walked: ReadonlySet<DoctorLink>,
  results: Partial<Record<DoctorLink, LinkResult | Error>> = {},
): Promise<{ checks: DoctorCheck[]; heard: DoctorCheck[]; stepped: DoctorLink[] }> {
  const heard: DoctorCheck[] = [];
  const stepped: DoctorLink[] = [];
  const checks = await walkChain(
    walked,
    async (link) => {
      stepped.push(link);
      clock += 7;
      const result = results[link] ?? ok;
      if (result instanceof Error) throw result;
      return result;
    },
    { now, onCheck: (check) => heard.push(check) },
  );
  return { checks, heard, stepped };
}

describe('the doctor walk', () => {
  it('walks every link but user and login by default, in DOCTOR_LINKS order, one check per link', async () => {
    const walked = linksToWalk({});
    expect([...walked]).toEqual(DEFAULT_LINKS);
    const { checks, heard, stepped } = await walk(walked);
    expect(checks.map((check) => check.link)).toEqual([...DOCTOR_LINKS]);
    expect(stepped).toEqual(DOCTOR_LINKS.filter((link) => link !== 'user' && link !== 'login'));
    expect(heard).toEqual(checks);
    expect(checks.find((check) => check.link === 'user')).toEqual({
      link: 'user',
      status: 'skipped',
      summary: 'not asked for (--user NAME shows the profile Auth0 would receive)',
    });
    expect(checks.find((check) => check.link === 'tcp')).toEqual({
      link: 'tcp',
      status: 'ok',
      summary: 'fine',
      durationMs: 7,
    });
  });

  it('stops at the first broken link: later links are skipped naming it, and never run', async () => {
    const walked = linksToWalk({ user: true, login: true });
    const { checks, stepped } = await walk(walked, {
      tls: { status: 'fail', summary: 'untrusted', fix: 'set LDAP_CA_CERT' },
      'service-bind': { status: 'fail', summary: 'never reached' },
    });
    expect(stepped).toEqual(['configuration', 'dns', 'tcp', 'tls']);
    const tls = checks.find((check) => check.link === 'tls');
    expect(tls).toMatchObject({ status: 'fail', fix: 'set LDAP_CA_CERT' });
    for (const check of checks.slice(DOCTOR_LINKS.indexOf('tls') + 1))
      expect(check).toEqual({ link: check.link, status: 'skipped', summary: 'not checked: tls failed' });
  });

  it('goes on past a warning', async () => {
    const { checks, stepped } = await walk(linksToWalk({}), {
      tls: { status: 'warn', summary: 'expires soon', fix: 'renew' },
    });
    expect(stepped).toContain('clock');
    expect(checks.filter((check) => check.status === 'warn').map((check) => check.link)).toEqual(['tls']);
  });

  it('walks only the links asked for, configuration always, user and login when asked', async () => {
    const walked = linksToWalk({ links: ['jwks', 'clock'], user: true });
    expect([...walked].sort()).toEqual(['clock', 'configuration', 'jwks', 'user']);
    const { stepped } = await walk(walked);
    expect(stepped).toEqual(['configuration', 'jwks', 'clock', 'user']);
  });

  it('keeps the duration a step measured itself', async () => {
    const { checks } = await walk(linksToWalk({ links: [] }), {
      configuration: { status: 'ok', summary: 'fine', durationMs: 1.6 },
    });
    expect(checks[0]?.durationMs).toBe(2);
  });

  it('turns a step that throws into a failure of its link, and walks no further', async () => {
    const { checks, stepped } = await walk(linksToWalk({}), { dns: new TypeError('boom') });
    expect(stepped).toEqual(['configuration', 'dns']);
    expect(checks[1]).toMatchObject({
      link: 'dns',
      status: 'fail',
      summary: 'the doctor could not check this link (TypeError: boom)',
    });
    expect(checks[2]).toMatchObject({ status: 'skipped', summary: 'not checked: dns failed' });
  });
});

const DIRECTORY_ENV = {
  LDAP_URLS: 'ldaps://dc1.corp.example',
  LDAP_BASE_DN: 'ou=people,dc=corp,dc=example',
  LDAP_BIND_DN: 'cn=reader,dc=corp,dc=example',
  LDAP_BIND_PASSWORD: 'never-shown-bind-password',
};
const AUTH_ENV = {
  AUTH_ISSUER: 'https://tenant.eu.auth0.com/',
  AUTH_AUDIENCE: 'https://bridge.example/',
  AUTH_ALLOWED_CLIENT_IDS: 'client1',
};

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("the doctor's configuration link", () => {
  it('reads the directory and the token settings for a full walk, and reports every problem at once', () => {
    const config = loadDoctorConfig({ ...DIRECTORY_ENV, ...AUTH_ENV }, linksToWalk({}));
    expect(config.directory?.urls).toEqual(['ldaps://dc1.corp.example']);
    expect(config.auth?.jwksUrl).toBe('https://tenant.eu.auth0.com/.well-known/jwks.json');
    const problems = problemsOf(() =>
      loadDoctorConfig({ ...DIRECTORY_ENV, LDAP_BASE_DN: '', LOG_LEVEL: 'loud' }, linksToWalk({})),
    );
    expect(problems).toContain('LDAP_BASE_DN: is required (a DN, e.g. ou=people,dc=example,dc=com)');
    expect(problems.some((problem) => problem.startsWith('AUTH_ISSUER: is required'))).toBe(true);
    expect(problems.filter((problem) => problem.startsWith('LOG_LEVEL'))).toHaveLength(1);
  });

  it('reads only the LDAP_* settings for the directory links (the deployed doctor)', () => {
    const config = loadDoctorConfig(
      DIRECTORY_ENV,
      linksToWalk({ links: DEFAULT_LINKS.filter((l) => l !== 'jwks' && l !== 'clock') }),
    );
    expect(config.directory).toBeDefined();
    expect(config.auth).toBeUndefined();
  });

  it('needs only AUTH_ISSUER for the issuer links alone, and still checks it', () => {
    const config = loadDoctorConfig(
      { AUTH_ISSUER: 'https://t.eu.auth0.com/' },
      linksToWalk({ links: ['jwks', 'clock'] }),
    );
    expect(config.directory).toBeUndefined();
    expect(config.auth).toMatchObject({ issuer: 'https://t.eu.auth0.com/', clockToleranceSeconds: 30 });
    expect(
      problemsOf(() => loadDoctorConfig({ AUTH_ISSUER: 'https://t.eu.auth0.com' }, linksToWalk({ links: ['jwks'] }))),
    ).toEqual([
      'AUTH_ISSUER: "https://t.eu.auth0.com" must end with "/" exactly as Auth0 writes iss (e.g. https://tenant.eu.auth0.com/)',
    ]);
  });

  it('needs the whole token configuration for the user and login links, as /get-user and /login read it', () => {
    const problems = problemsOf(() => loadDoctorConfig(DIRECTORY_ENV, linksToWalk({ links: [], user: true })));
    expect(problems.some((problem) => problem.startsWith('AUTH_AUDIENCE: is required'))).toBe(true);
  });

  it('reports a failed configuration naming the settings, never the bind password', () => {
    const problems = problemsOf(() =>
      loadDoctorConfig({ ...DIRECTORY_ENV, ...AUTH_ENV, LDAP_URLS: 'ldap://dc1.corp.example' }, linksToWalk({})),
    );
    const result = configurationFailed(new ConfigError(problems));
    expect(result.status).toBe('fail');
    expect(result.summary).toContain('LDAP_URLS: "ldap://dc1.corp.example" would send passwords in clear text');
    expect(JSON.stringify(result)).not.toContain(DIRECTORY_ENV.LDAP_BIND_PASSWORD);
  });
});
