// The production install path of the README: `npm run build` compiles the product (lambdas/ and
// lib/, nothing of dev/ or test/) to plain JavaScript that runs with Node alone, importing
// nothing but Node's built-ins and the package's own dependencies (no tsx, no devDependency).
// Here the build goes to a folder of its own inside the checkout, and `serve` runs from it with
// plain `node` against the shared slapd.
import { execFileSync, spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevTokenIssuer, startDevTokenIssuer } from '../../dev/dev-token-issuer.ts';
import { SPECIAL_USER } from '../support/fixtures.ts';
import { cleanEnv, startServerProcess } from '../../dev/server-process.ts';
import { directoryEnv, TEST_AUDIENCE, TEST_CLIENT } from '../support/stack.ts';

const OUT = path.resolve(`.tmp/production-build-${process.pid}`);
const CLI = path.join(OUT, 'lambdas/entry/cli.js');
const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};

beforeAll(() => {
  mkdirSync(path.dirname(OUT), { recursive: true });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', OUT], {
    stdio: 'pipe',
  });
}, 120_000);
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

function builtFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

describe('the production build', () => {
  it('holds only product code, with the bin where package.json says', () => {
    expect(readdirSync(OUT).sort()).toEqual(['lambdas', 'lib']);
    expect(packageJson.bin['auth0-ldap-bridge']).toBe('dist/lambdas/entry/cli.js');
    expect(builtFiles(OUT).some((file) => file === CLI)).toBe(true);
  });

  it('imports nothing but Node built-ins and the dependencies of package.json', () => {
    const allowed = new Set([...Object.keys(packageJson.dependencies), ...builtinModules]);
    const imported = new Set<string>();
    for (const file of builtFiles(OUT)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["']([^"'.][^"']*)["']/g)) {
        const specifier = (match[1] ?? '').replace(/^node:/, '');
        const name = specifier.startsWith('@')
          ? specifier.split('/').slice(0, 2).join('/')
          : (specifier.split('/')[0] ?? '');
        imported.add(name);
      }
      expect(text, file).not.toMatch(/["'][./]+\/dev\/|["']tsx["']/);
    }
    expect([...imported].filter((name) => !allowed.has(name))).toEqual([]);
    expect(imported).toContain('ldapts');
    // Not imported by name, but loaded by aws-cdk-lib when `audit` builds the stack: without a
    // local esbuild, NodejsFunction builds a Docker image at construction time.
    expect(Object.keys(packageJson.dependencies)).toContain('esbuild');
  });

  it('answers --help with plain node', () => {
    const result = spawnSync(process.execPath, [CLI, '--help'], { env: cleanEnv({}), encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: auth0-ldap-bridge <command>');
  });

  it('writes the same audit as the committed one, with plain node', () => {
    const reportDir = path.join(OUT, 'audit-report');
    const result = spawnSync(process.execPath, [CLI, 'audit', '--out', reportDir], {
      env: cleanEnv({}),
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(readFileSync(path.join(reportDir, 'report.json'), 'utf8')).toBe(readFileSync('audit/report.json', 'utf8'));
  }, 90_000);

  describe('serve, with plain node', () => {
    let issuer: DevTokenIssuer;
    beforeAll(async () => {
      issuer = await startDevTokenIssuer({ audience: TEST_AUDIENCE, clients: [TEST_CLIENT] });
    });
    afterAll(() => issuer.stop());

    it('logs a user in with two workers and stops on SIGTERM', async () => {
      const server = await startServerProcess(
        [CLI, 'serve'],
        cleanEnv({
          ...directoryEnv(),
          AUTH_ISSUER: issuer.issuer,
          AUTH_AUDIENCE: TEST_AUDIENCE,
          AUTH_ALLOWED_CLIENT_IDS: TEST_CLIENT.clientId,
          PORT: '0',
          SERVER_WORKERS: '2',
        }),
      );
      try {
        const response = await fetch(`${server.url}/login`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${await issuer.mint({ clientId: TEST_CLIENT.clientId })}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ username: SPECIAL_USER.uid, password: SPECIAL_USER.password }),
        });
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ email: SPECIAL_USER.mail });
        expect(await server.stop('SIGTERM')).toBe(0);
      } finally {
        await server.stop('SIGKILL');
      }
    }, 30_000);

    it('refuses to start without a directory, with exit code 2', () => {
      const result = spawnSync(process.execPath, [CLI, 'serve'], {
        env: cleanEnv({ AUTH_ISSUER: issuer.issuer }),
        encoding: 'utf8',
      });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('no directory configured (LDAP_URLS)');
    });
  });
});
