// AUTH0_DOMAIN as every Management API command reads it (import, progress, sync-leavers, cutover
// and its rollback): a tenant domain, or a loopback address with a port for the local Management
// API emulator (`npm run demo:migration`), and nothing else with a port. Run through the command
// line's own entry point; nothing here reaches a directory or the network.
import { describe, expect, it } from 'vitest';
import { RUNTIME_SETTINGS as S } from '../../lambdas/contract/settings.ts';
import { parseSettingText } from '../../lambdas/core/config/read-settings.ts';
import { main } from '../../lambdas/entry/cli.ts';

const SECRET = 'never-shown-mgmt-secret-7c1d';

async function run(argv: string[], domain: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    env: { AUTH0_DOMAIN: domain, AUTH0_CLIENT_ID: 'mgmt-client', AUTH0_CLIENT_SECRET: SECRET },
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, text: [...out, ...err].join('\n') };
}

/** Every command that talks to the Management API, with arguments that stop it before any request. */
const COMMANDS: Array<[string, string[]]> = [
  ['import', ['import', '--connection', 'ldap-bridge', '--dir', '/nonexistent/export']],
  ['progress', ['progress', '--connection', 'ldap-bridge']],
  ['sync-leavers', ['sync-leavers', '--connection', 'ldap-bridge']],
  ['cutover', ['cutover', '--connection', 'ldap-bridge']],
  ['cutover --rollback', ['cutover', '--connection', 'ldap-bridge', '--rollback', '/nonexistent/save.json']],
];

const refusal = (domain: string) => `AUTH0_DOMAIN: "${domain}" expected the tenant domain`;

describe('AUTH0_DOMAIN', () => {
  it.each([
    'example.eu.auth0.com',
    'login.corp.example',
    '127.0.0.1:1',
    '127.0.0.1:8443',
    '127.0.0.1:65535',
    'localhost:44321',
    'LOCALHOST:44321',
  ])('accepts %s', (domain) => {
    expect(parseSettingText(S.AUTH0_DOMAIN, domain)).toEqual({ ok: true, value: domain });
  });

  it.each([
    ['a tenant domain with a port', 'example.eu.auth0.com:443'],
    ['another address with a port', '10.0.0.5:8443'],
    ['another loopback address', '127.0.0.2:8443'],
    ['a name that only starts with localhost', 'localhost.corp.example:8443'],
    ['loopback without a port', '127.0.0.1'],
    ['localhost without a port', 'localhost'],
    ['port 0', '127.0.0.1:0'],
    ['a port past 65535', '127.0.0.1:65536'],
    ['a port with a leading zero', '127.0.0.1:08443'],
    ['a URL', 'https://127.0.0.1:8443'],
    ['a path after the port', '127.0.0.1:8443/api'],
    ['credentials before the host', 'user@127.0.0.1:8443'],
  ])('refuses %s (%s), saying what is accepted', (_why, domain) => {
    const parsed = parseSettingText(S.AUTH0_DOMAIN, domain);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.expected).toContain('127.0.0.1:PORT or localhost:PORT');
  });

  it.each(COMMANDS)('%s refuses a non-loopback host with a port, naming the setting', async (_name, argv) => {
    const { code, text } = await run(argv, 'example.eu.auth0.com:8443');
    expect(code).toBe(2);
    expect(text).toContain(refusal('example.eu.auth0.com:8443'));
    expect(text).not.toContain(SECRET);
  });

  it.each(COMMANDS)('%s takes a loopback address with a port', async (_name, argv) => {
    const { code, text } = await run(argv, '127.0.0.1:8443');
    // Each stops at what comes next (the missing directory settings, the export folder, the save
    // file), never at AUTH0_DOMAIN.
    expect(code).not.toBe(0);
    expect(text).not.toContain('AUTH0_DOMAIN');
    expect(text).not.toContain(SECRET);
  });
});
