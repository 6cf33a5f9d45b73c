// The command line as an operator meets it: help from the settings table, exit codes, and
// errors that name the flag or variable and what was expected. No command here reaches a
// directory or the network; test/integration/serve-command.test.ts runs them for real.
import { describe, expect, it } from 'vitest';
import { chooseStartMode } from '../../dev/start-mode.ts';
import { ALL_SETTINGS } from '../../lambdas/contract/settings.ts';
import { COMMANDS, main } from '../../lambdas/entry/cli.ts';

async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { env, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('auth0-ldap-bridge', () => {
  it('lists every command in --help and exits 0', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    for (const name of ['serve', 'export', 'import', 'audit']) expect(out).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(out).toContain('Exit codes: 0');
  });

  it('exits 2 without a command, and names the known ones for an unknown one', async () => {
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.err).toContain('Usage: auth0-ldap-bridge <command>');
    const helpForNothing = await run(['help', 'migrate']);
    expect(helpForNothing.code).toBe(2);
    expect(helpForNothing.err).toContain('no command "migrate" to explain');
    const { code, err } = await run(['migrate']);
    expect(code).toBe(2);
    expect(err).toContain('unknown command "migrate" (commands: serve, export, import, audit');
  });

  it.each(COMMANDS.map((command) => [command.name, command] as const))(
    'documents %s: its flags and every setting it reads, with defaults',
    async (name, command) => {
      const { code, out } = await run([name, '--help']);
      expect(code).toBe(0);
      expect(out).toContain(`Usage: auth0-ldap-bridge ${name} [options]`);
      for (const flag of Object.keys(command.options)) expect(out).toContain(`--${flag}`);
      const settings = ALL_SETTINGS.filter((setting) => setting.env && command.settingGroups.includes(setting.group));
      for (const setting of settings) expect(out).toMatch(new RegExp(`^  ${setting.env}\\b`, 'm'));
      expect((await run(['help', name])).out).toBe(out);
    },
  );

  it('refuses an unknown flag or a flag without its value, naming it, with exit code 2', async () => {
    const unknown = await run(['export', '--outdir', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('export: unknown option --outdir (see auth0-ldap-bridge export --help)');
    const missing = await run(['export', '--out']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--out needs a value');
    const positional = await run(['audit', 'prod']);
    expect(positional.code).toBe(2);
    expect(positional.err).toContain('unexpected argument prod');
  });

  it('serve refuses to start without a directory and a token issuer, naming what is missing', async () => {
    const neither = await run(['serve']);
    expect(neither.code).toBe(2);
    expect(neither.err).toContain('no directory configured (LDAP_URLS) and no token issuer configured (AUTH_ISSUER)');
    const noIssuer = await run(['serve'], { LDAP_URLS: 'ldaps://dc1.corp.example' });
    expect(noIssuer.err).toContain('no token issuer configured (AUTH_ISSUER)');
    expect(noIssuer.err).not.toContain('no directory');
    const noDirectory = await run(['serve'], { AUTH_ISSUER: 'https://tenant.eu.auth0.com/' });
    expect(noDirectory.err).toContain('no directory configured (LDAP_URLS)');
  });

  it('serve lists every configuration problem at once, never showing the bind password', async () => {
    const { code, err } = await run(['serve'], {
      LDAP_URLS: 'ldap://dc1.corp.example',
      LDAP_BIND_DN: 'cn=reader',
      LDAP_BIND_PASSWORD: 'hunter2-secret',
      AUTH_ISSUER: 'https://tenant.eu.auth0.com/',
      PORT: '99999',
    });
    expect(code).toBe(2);
    expect(err).toContain('LDAP_URLS: "ldap://dc1.corp.example" would send passwords in clear text');
    expect(err).toContain('LDAP_BASE_DN: is required');
    expect(err).toContain('AUTH_AUDIENCE: is required');
    expect(err).toContain('PORT: "99999" expected a whole number of a TCP port from 0 to 65535');
    expect(err).not.toContain('hunter2-secret');
  });

  it('audit names --env and the known environments for an unknown one', async () => {
    const { code, err } = await run(['audit', '--env', 'staging']);
    expect(code).toBe(2);
    expect(err).toContain('--env: "staging" expected one of demo, prod');
  });

  it('import needs exactly one connection and the Management API credentials', async () => {
    const none = await run(['import']);
    expect(none.code).toBe(2);
    expect(none.err).toContain('give exactly one of --connection NAME or --connection-id ID');
    const noCredentials = await run(['import', '--connection', 'ldap-bridge']);
    expect(noCredentials.code).toBe(2);
    for (const name of ['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET'])
      expect(noCredentials.err).toContain(`${name}: is required`);
    const noDirectory = await run(['import', '--connection', 'ldap-bridge', '--dir', '/nonexistent/export'], {
      AUTH0_DOMAIN: 'tenant.eu.auth0.com',
      AUTH0_CLIENT_ID: 'client',
      AUTH0_CLIENT_SECRET: 'never-shown-secret',
    });
    expect(noDirectory.code).toBe(2);
    expect(noDirectory.err).toContain('--dir: /nonexistent/export does not exist');
    expect(noDirectory.err).not.toContain('never-shown-secret');
  });
});

describe('npm start', () => {
  it('runs the demo only when neither the directory nor the issuer is configured', () => {
    expect(chooseStartMode({})).toEqual({ kind: 'demo' });
    expect(chooseStartMode({ PORT: '0', LOG_LEVEL: 'debug' })).toEqual({ kind: 'demo' });
  });

  it('serves for real when both halves are configured', () => {
    expect(chooseStartMode({ LDAP_URLS: 'ldaps://dc1', AUTH_ISSUER: 'https://t.auth0.com/' })).toEqual({
      kind: 'serve',
    });
  });

  it('refuses half a configuration, naming the missing half', () => {
    const issuerOnly = chooseStartMode({ AUTH_ISSUER: 'https://t.auth0.com/', AUTH_AUDIENCE: 'https://api/' });
    expect(issuerOnly.kind).toBe('refuse');
    expect(issuerOnly.kind === 'refuse' && issuerOnly.message).toContain('but not a directory: set LDAP_URLS');
    const directoryOnly = chooseStartMode({ LDAP_BASE_DN: 'dc=corp' });
    expect(directoryOnly.kind === 'refuse' && directoryOnly.message).toContain(
      'but not a token issuer: set AUTH_ISSUER',
    );
  });
});
