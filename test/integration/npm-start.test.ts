// `npm start` as a new user runs it (dev/start.ts, what the npm script runs): with nothing
// configured it starts the demo and prints a curl command that works; with half a configuration
// it refuses and starts nothing.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startDevTokenIssuer } from '../../dev/dev-token-issuer.ts';
import { cleanEnv, startServerProcess } from '../../dev/server-process.ts';
import { SPECIAL_USER } from '../support/fixtures.ts';
import { directoryEnv, TEST_AUDIENCE, TEST_CLIENT } from '../support/stack.ts';

const START = ['--import', 'tsx', 'dev/start.ts'];

describe('npm start', () => {
  it('with nothing configured, starts the demo and prints a login example that works as printed', async () => {
    const demo = await startServerProcess(
      START,
      cleanEnv({ PORT: '0' }),
      /demo listening on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*Ctrl-C stops everything/,
    );
    try {
      const banner = demo.stderr();
      const token = /TOKEN='([^']+)'/.exec(banner)?.[1];
      const loginCall = /curl -sS -X POST (\S+\/login) .*\\\n\s+-d '([^']+)'/.exec(banner);
      expect(token).toBeTruthy();
      expect(loginCall?.[1]).toBe(`${demo.url}/login`);
      const response = await fetch(loginCall?.[1] ?? '', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: loginCall?.[2] ?? '',
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ username: 'alice', email: 'alice@example.test' });
      expect(await demo.stop('SIGINT')).toBe(0);
    } finally {
      await demo.stop('SIGKILL');
    }
  }, 40_000);

  it('with a directory and an issuer configured, is auth0-ldap-bridge serve', async () => {
    const issuer = await startDevTokenIssuer({ audience: TEST_AUDIENCE, clients: [TEST_CLIENT] });
    const server = await startServerProcess(
      START,
      cleanEnv({
        ...directoryEnv(),
        AUTH_ISSUER: issuer.issuer,
        AUTH_AUDIENCE: TEST_AUDIENCE,
        AUTH_ALLOWED_CLIENT_IDS: TEST_CLIENT.clientId,
        PORT: '0',
        SERVER_WORKERS: '1',
      }),
    );
    try {
      expect(server.stderr()).toMatch(/^auth0-ldap-bridge listening on .* with 1 worker process; directory ldaps:/m);
      expect(server.stderr()).not.toContain('demo');
      const response = await fetch(`${server.url}/get-user`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await issuer.mint({ clientId: TEST_CLIENT.clientId })}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ username: SPECIAL_USER.mail }),
      });
      expect(response.status).toBe(200);
      expect(await server.stop('SIGTERM')).toBe(0);
    } finally {
      await server.stop('SIGKILL');
      await issuer.stop();
    }
  }, 40_000);

  it.each([
    [
      { AUTH_ISSUER: 'https://tenant.eu.auth0.com/', AUTH_AUDIENCE: 'https://api/' },
      'but not a directory: set LDAP_URLS',
    ],
    [{ LDAP_URLS: 'ldaps://dc1.corp.example:636' }, 'but not a token issuer: set AUTH_ISSUER'],
  ])('with half a configuration (%o) refuses with exit code 2 and names the missing half', (env, message) => {
    const result = spawnSync(process.execPath, START, {
      env: cleanEnv({ PORT: '0', ...env }),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain('listening');
  });
});
