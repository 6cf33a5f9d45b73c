// `npm run bench:cold-start`: the bundled Lambda handlers' cold start, each in fresh Node
// processes (module load, then the first request against a throwaway slapd and a local issuer),
// against an empty handler bundled the same way as the baseline, and the bundle sizes (minified,
// and gzipped as in the deployment package). `login-powertools` is the login handler with its
// CloudWatch metrics written by Powertools' Metrics instead of the hand-written EMF writer
// (bench/powertools-emf-metrics.ts): the measurement behind that choice.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { BUNDLING } from '../lib/constructs/ldap-bridge.ts';
import { DEMO_USERS } from '../dev/directory-data.ts';
import { startSeededSlapd } from '../dev/seeded-slapd.ts';
import { startDevTokenIssuer } from '../dev/dev-token-issuer.ts';
import { randomSecret } from '../dev/throwaway-slapd.ts';

const runs = Number(process.argv[2] ?? 15);
const work = mkdtempSync(path.join(os.tmpdir(), 'bridge-cold-start-'));

async function bundle(name: string, entry: string, plugins: esbuild.Plugin[] = []): Promise<string> {
  const outfile = path.join(work, name, 'index.mjs');
  await esbuild.build({
    plugins,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    minify: BUNDLING.minify,
    target: BUNDLING.target,
    mainFields: BUNDLING.mainFields,
    external: BUNDLING.externalModules,
    banner: { js: BUNDLING.banner },
  });
  return outfile;
}

// Each measurement is a new process: what a new Lambda container pays (minus the runtime's own init).
const driver = path.join(work, 'driver.mjs');
writeFileSync(
  driver,
  `
const [bundlePath, eventJson] = process.argv.slice(2);
const started = performance.now();
const { handler } = await import(bundlePath);
const loaded = performance.now();
let result;
try { result = await handler(JSON.parse(eventJson)); } catch (error) { result = { error: String(error.message) }; }
const answered = performance.now();
console.log(JSON.stringify({ loadMs: loaded - started, firstRequestMs: answered - loaded, status: result.statusCode ?? (result.policyDocument ? 'policy' : result.error) }));
process.exit(0);
`,
);

/** The handlers' EMF writer swapped for the Powertools one, under the same export names. */
const powertoolsMetrics: esbuild.Plugin = {
  name: 'powertools-metrics',
  setup(build) {
    const shim = path.join(work, 'powertools-shim.ts');
    writeFileSync(
      shim,
      `export { PowertoolsMetrics as CloudWatchMetrics } from ${JSON.stringify(path.resolve('bench/powertools-emf-metrics.ts'))};\n` +
        `export { metricsServiceFrom } from ${JSON.stringify(path.resolve('lambdas/adapters/cloudwatch-metrics.ts'))};\n`,
    );
    build.onResolve({ filter: /cloudwatch-metrics\.ts$/ }, (args) =>
      args.importer.includes(`${path.sep}entry${path.sep}`) ? { path: shim } : undefined,
    );
  },
};

const seeded = await startSeededSlapd({ users: DEMO_USERS });
const client = { clientId: 'cold-start-client', clientSecret: randomSecret(), scopes: ['users:login', 'users:read'] };
const issuer = await startDevTokenIssuer({ audience: 'https://cold.local/', clients: [client] });

try {
  writeFileSync(path.join(work, 'empty.ts'), 'export const handler = async () => ({ statusCode: 200, body: "{}" });\n');
  const bundles = {
    empty: await bundle('empty', path.join(work, 'empty.ts')),
    login: await bundle('login', 'lambdas/entry/lambda.ts'),
    'login-powertools': await bundle('login-powertools', 'lambdas/entry/lambda.ts', [powertoolsMetrics]),
    authorizer: await bundle('authorizer', 'lambdas/entry/authorizer.ts'),
  };
  const env = {
    ...process.env,
    ...seeded.bridgeEnv(),
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: issuer.audience,
    AUTH_ALLOWED_CLIENT_IDS: client.clientId,
    LOG_LEVEL: 'error',
    LDAP_BIND_POOL_SIZE: '1',
  };
  const user = DEMO_USERS[0]!;
  const loginEvent = {
    resource: '/login',
    path: '/login',
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: {},
    isBase64Encoded: false,
    body: JSON.stringify({ username: user.uid, password: user.password }),
    requestContext: {
      requestId: 'cold-start',
      authorizer: { clientId: client.clientId, scope: 'users:login users:read', expiresAt: 2_000_000_000 },
    },
  };
  const authorizerEvent = {
    type: 'TOKEN',
    authorizationToken: `Bearer ${await issuer.mint({ clientId: client.clientId })}`,
    methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1/POST/login',
  };
  const events = { empty: {}, login: loginEvent, 'login-powertools': loginEvent, authorizer: authorizerEvent };

  // Asynchronous: the token issuer lives in this process and must keep answering the JWKS.
  const run = promisify(execFile);
  const measure = async (name: keyof typeof bundles) => {
    const samples: Array<{ loadMs: number; firstRequestMs: number; status: unknown }> = [];
    for (let index = 0; index < runs; index += 1) {
      const { stdout } = await run(process.execPath, [driver, bundles[name], JSON.stringify(events[name])], {
        env,
        encoding: 'utf8',
      });
      // The handlers write their metrics to stdout too: the driver's line is the last one.
      samples.push(JSON.parse(stdout.trimEnd().split('\n').at(-1) ?? '{}'));
    }
    const bad = samples.find((sample) => sample.status !== 200 && sample.status !== 'policy');
    if (bad) throw new Error(`${name}: first request answered ${String(bad.status)}`);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    return {
      load: median(samples.map((sample) => sample.loadMs)),
      first: median(samples.map((sample) => sample.firstRequestMs)),
      size: statSync(bundles[name]).size,
      gzipped: gzipSync(readFileSync(bundles[name])).byteLength,
    };
  };
  const results = {
    empty: await measure('empty'),
    login: await measure('login'),
    'login-powertools': await measure('login-powertools'),
    authorizer: await measure('authorizer'),
  };
  console.log(`cold start, median of ${runs} fresh Node ${process.version} processes (ms; ratio to the empty handler)`);
  console.log('handler            bundle (gzipped)     module load        first request (total)');
  for (const [name, result] of Object.entries(results)) {
    const total = result.load + result.first;
    const emptyTotal = results.empty.load + results.empty.first;
    console.log(
      `${name.padEnd(17)} ${(result.size / 1024).toFixed(1).padStart(6)} kB (${(result.gzipped / 1024).toFixed(1).padStart(5)} kB)  ${result.load.toFixed(1).padStart(7)} (x${(result.load / results.empty.load).toFixed(1)})  ${result.first.toFixed(1).padStart(8)} (${total.toFixed(1)}, x${(total / emptyTotal).toFixed(1)})`,
    );
  }
  console.log(
    '\nThe first login includes the TLS connection to slapd, the service bind, the search and the user bind;',
  );
  console.log("the authorizer's first request includes the JWKS fetch. On Lambda add the runtime's own init.");
} finally {
  await issuer.stop();
  await seeded.stop();
  rmSync(work, { recursive: true, force: true });
}
