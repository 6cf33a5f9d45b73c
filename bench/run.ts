// `npm run bench [-- --quick] [-- --soak N]`: one run, side by side, on this machine:
//   raw        ldapts search + bind on kept-open connections (the floor), and the same plus the
//              search for the user's groups (the directory work of a warm proxy login),
//   proxy      /login and /get-user through the local server over HTTP keep-alive (1, 8, 64),
//   per-login  a new plain / LDAPS connection for every login (most hand-written scripts),
// plus the token check with and without the verified-token cache, and a soak that watches
// memory and sockets. These machines are noisy: the figures that matter are ratios against a
// baseline measured in the same run. Load comes from a worker thread, the proxy runs here.
import { readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { peopleDN, type SeedGroup, type SeedUser } from '../scripts/directory-data.ts';
import { startSeededSlapd } from '../scripts/seeded-slapd.ts';
import { startDevTokenIssuer } from '../scripts/dev-token-issuer.ts';
import { startLocalStack } from '../scripts/local-stack.ts';
import { randomSecret } from '../scripts/throwaway-slapd.ts';
import { JwksAccessTokenVerifier } from '../lambdas/adapters/jwks-token-verifier.ts';
import type { Scenario } from './load-worker.ts';

const quick = process.argv.includes('--quick');
const soakIndex = process.argv.indexOf('--soak');
const soakLogins = soakIndex >= 0 ? Number(process.argv[soakIndex + 1]) : quick ? 5_000 : 100_000;
const logins = quick ? 1_000 : 5_000;

const users: SeedUser[] = Array.from({ length: 200 }, (_, index) => ({ uid: `bench${index}`, password: `bench-password-${index}`, cn: `Bench ${index}`, sn: `${index}`, mail: `bench${index}@example.test` }));
// Groups as a company has them: each user in a department, a third also in vpn-users; departments
// in divisions, divisions in all-staff. A login walks three levels above the user's own groups.
const uidsWhere = (keep: (index: number) => boolean) => users.filter((_, index) => keep(index)).map((user) => user.uid);
const groups: SeedGroup[] = [
  ...Array.from({ length: 5 }, (_, dept) => ({ cn: `dept-${dept}`, members: uidsWhere((index) => index % 5 === dept) })),
  { cn: 'vpn-users', members: uidsWhere((index) => index % 3 === 0) },
  { cn: 'division-0', members: [], groups: ['dept-0', 'dept-2', 'dept-4'] },
  { cn: 'division-1', members: [], groups: ['dept-1', 'dept-3'] },
  { cn: 'all-staff', members: [], groups: ['division-0', 'division-1'] },
];

interface Result {
  name: string;
  loginsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
}

function runScenario(scenario: Scenario): Promise<{ latencies: number[]; elapsedMs: number }> {
  return new Promise((resolve, reject) => {
    // The worker runs TypeScript through tsx, as this file does.
    const worker = new Worker(new URL('./load-worker-entry.mjs', import.meta.url), { workerData: scenario });
    worker.once('message', (message: { latencies?: number[]; elapsedMs?: number; error?: string }) => {
      void worker.terminate();
      if (message.error) reject(new Error(message.error));
      else resolve({ latencies: message.latencies!, elapsedMs: message.elapsedMs! });
    });
    worker.once('error', reject);
  });
}

function summarise(name: string, { latencies, elapsedMs }: { latencies: number[]; elapsedMs: number }): Result {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { name, loginsPerSecond: (latencies.length / elapsedMs) * 1000, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

const openFileDescriptors = () => readdirSync('/proc/self/fd').length;
const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const seeded = await startSeededSlapd({ users, groups });
const { slapd, servicePassword } = seeded;
const client = { clientId: 'bench-client', clientSecret: randomSecret(), scopes: ['users:login', 'users:read'] };
const issuer = await startDevTokenIssuer({ audience: 'https://bench.local/', clients: [client] });
const proxyEnv = {
  ...seeded.bridgeEnv(),
  LDAP_BIND_POOL_SIZE: '8', MAX_IN_FLIGHT: '1024', AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience, AUTH_ALLOWED_CLIENT_IDS: client.clientId, PORT: '0', LOG_LEVEL: 'error',
};
const stack = await startLocalStack({ env: proxyEnv, writeLog: () => undefined });
// The same proxy with every level of the group walk searched on every login.
const uncachedStack = await startLocalStack({ env: { ...proxyEnv, LDAP_GROUP_CACHE_SECONDS: '0' }, writeLog: () => undefined });

// The HTTP floor: a server that answers a fixed JSON body at once, reached the same way as the
// proxy. What this machine charges for one HTTP exchange, whatever the server does.
const echo = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"user_id":"x"}');
  });
});
echo.keepAliveTimeout = 30_000;
await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
const echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;

try {
  const token = await issuer.mint({ clientId: client.clientId });
  const base = { users, baseDN: peopleDN(slapd.suffix), serviceDN: slapd.serviceDN, servicePassword, caCertPath: slapd.caCertPath };
  const directoryOperations = () => {
    const { userSearches, groupSearches, binds } = stack.bridge.directory.stats;
    return { userSearches, groupSearches, binds };
  };
  const results: Result[] = [];
  const run = async (name: string, scenario: Scenario) => {
    const result = summarise(name, await runScenario(scenario));
    results.push(result);
    return result;
  };

  console.log(`auth0-ldap-bridge benchmark: ${logins} logins per scenario, slapd over LDAPS on 127.0.0.1, Node ${process.version}, ${quick ? 'quick' : 'full'} run\n`);
  // Warm-up: JIT, TLS sessions, the JWKS fetch, the kept-open connections.
  await runScenario({ kind: 'proxy', concurrency: 8, logins: 500, token, proxyUrl: stack.url, ...base });
  await runScenario({ kind: 'proxy', concurrency: 8, logins: 500, token, proxyUrl: uncachedStack.url, ...base });
  await runScenario({ kind: 'raw', concurrency: 1, logins: 500, ldapUrl: slapd.ldapsUrl, ...base });

  const raw1 = await run('raw ldapts, kept-open LDAPS, c=1', { kind: 'raw', concurrency: 1, logins, ldapUrl: slapd.ldapsUrl, ...base });
  const raw8 = await run('raw ldapts, kept-open LDAPS, c=8', { kind: 'raw', concurrency: 8, logins, ldapUrl: slapd.ldapsUrl, ...base });
  const rawGroups8 = await run('raw + the user\'s group search, c=8', { kind: 'raw', concurrency: 8, logins, ldapUrl: slapd.ldapsUrl, groupBaseDN: slapd.suffix, ...base });
  const floor1 = await run('HTTP floor (fixed answer), c=1', { kind: 'proxy', concurrency: 1, logins, token, proxyUrl: echoUrl, ...base });
  const floor8 = await run('HTTP floor (fixed answer), c=8', { kind: 'proxy', concurrency: 8, logins, token, proxyUrl: echoUrl, ...base });
  const socketsBefore = stack.bridge.directory.stats.socketsOpened;
  let proxyRequests = 0;
  const proxy: Record<number, Result> = {};
  let operationsPerLogin = directoryOperations();
  for (const concurrency of [1, 8, 64]) {
    const before = directoryOperations();
    proxy[concurrency] = await run(`proxy /login, c=${concurrency}`, { kind: 'proxy', concurrency, logins, token, proxyUrl: stack.url, ...base });
    proxyRequests += logins;
    if (concurrency === 8) {
      const after = directoryOperations();
      operationsPerLogin = { userSearches: (after.userSearches - before.userSearches) / logins, groupSearches: (after.groupSearches - before.groupSearches) / logins, binds: (after.binds - before.binds) / logins };
    }
  }
  await run('proxy /get-user, c=8', { kind: 'proxy', concurrency: 8, logins, token, proxyUrl: stack.url, path: '/get-user', ...base });
  proxyRequests += logins;
  const newSockets = stack.bridge.directory.stats.socketsOpened - socketsBefore;
  const uncachedGroupsBefore = uncachedStack.bridge.directory.stats.groupSearches;
  const uncached8 = await run('proxy /login, c=8, no group cache', { kind: 'proxy', concurrency: 8, logins, token, proxyUrl: uncachedStack.url, ...base });
  const uncachedGroupSearches = (uncachedStack.bridge.directory.stats.groupSearches - uncachedGroupsBefore) / logins;
  const perLoginPlain = await run('new plain connection per login, c=8', { kind: 'per-login', concurrency: 8, logins: Math.min(logins, 2000), ldapUrl: slapd.ldapUrl, ...base });
  const perLoginTls = await run('new LDAPS connection per login, c=8', { kind: 'per-login', concurrency: 8, logins: Math.min(logins, 2000), ldapUrl: slapd.ldapsUrl, ...base });

  console.log('scenario                                   logins/s      p50 ms   p95 ms   p99 ms');
  for (const result of results) {
    console.log(`${result.name.padEnd(42)} ${result.loginsPerSecond.toFixed(0).padStart(8)}   ${result.p50.toFixed(2).padStart(7)}  ${result.p95.toFixed(2).padStart(7)}  ${result.p99.toFixed(2).padStart(7)}`);
  }
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  const warmWithoutNewConnection = 1 - newSockets / proxyRequests;
  console.log('\nratios (same run)');
  console.log(`  proxy c=1 / raw c=1 throughput             ${ratio(proxy[1]!.loginsPerSecond, raw1.loginsPerSecond)}   (target >= 0.5)`);
  console.log(`  proxy c=8 / raw c=8 throughput             ${ratio(proxy[8]!.loginsPerSecond, raw8.loginsPerSecond)}   (target >= 0.5)`);
  console.log(`  proxy overhead over raw at c=1, p50        +${(proxy[1]!.p50 - raw1.p50).toFixed(2)} ms, of which the HTTP floor is ${floor1.p50.toFixed(2)} ms`);
  console.log(`  proxy's own cost at c=1, p50               ${(proxy[1]!.p50 - raw1.p50 - floor1.p50).toFixed(2)} ms (proxy - raw - HTTP floor)`);
  console.log(`  proxy c=8 / serial(raw + group search c=8, HTTP floor c=8) ${ratio(proxy[8]!.loginsPerSecond, 1 / (1 / rawGroups8.loginsPerSecond + 1 / floor8.loginsPerSecond))}   (1.00 = nothing lost beyond the same LDAP work and HTTP)`);
  console.log(`  proxy c=8 / proxy c=8 without group cache  ${ratio(proxy[8]!.loginsPerSecond, uncached8.loginsPerSecond)}x`);
  console.log(`  proxy c=8 / new LDAPS per login c=8        ${ratio(proxy[8]!.loginsPerSecond, perLoginTls.loginsPerSecond)}x  (target >= 5)`);
  console.log(`  proxy c=8 / new plain per login c=8        ${ratio(proxy[8]!.loginsPerSecond, perLoginPlain.loginsPerSecond)}x`);
  console.log(`  warm requests that opened no directory connection: ${(warmWithoutNewConnection * 100).toFixed(2)}% (${newSockets} sockets for ${proxyRequests} requests; target >= 95%)`);
  const perLogin = (value: number) => value.toFixed(2);
  console.log(`  directory operations per login (c=8): ${perLogin(operationsPerLogin.userSearches)} user search, ${perLogin(operationsPerLogin.binds)} bind, ${perLogin(operationsPerLogin.groupSearches)} group search (${perLogin(uncachedGroupSearches)} without the group cache)`);

  // The token check: full jose verification against the cached-result path.
  const verifierOptions = { issuer: issuer.issuer, audience: issuer.audience, jwksUrl: issuer.jwksUrl, allowedClientIds: [client.clientId], clockToleranceSeconds: 30 };
  const uncached = new JwksAccessTokenVerifier({ ...verifierOptions, verifiedTokenCacheSize: 0 });
  const cached = new JwksAccessTokenVerifier(verifierOptions);
  await uncached.verify(token);
  await cached.verify(token);
  const timeVerify = async (verifier: JwksAccessTokenVerifier, count: number) => {
    const started = performance.now();
    for (let index = 0; index < count; index += 1) await verifier.verify(token);
    return (performance.now() - started) / count;
  };
  const uncachedMs = await timeVerify(uncached, 2000);
  const cachedMs = await timeVerify(cached, 20000);
  console.log(`\ntoken check: full verification ${(uncachedMs * 1000).toFixed(1)} us, cached ${(cachedMs * 1000).toFixed(1)} us (x${ratio(uncachedMs, cachedMs)} faster)`);

  // Soak: memory and sockets must stay flat.
  global.gc?.();
  const before = { rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed, fds: openFileDescriptors(), sockets: stack.bridge.directory.stats.socketsOpened };
  const soak = summarise('soak', await runScenario({ kind: 'proxy', concurrency: 16, logins: soakLogins, token, proxyUrl: stack.url, ...base }));
  global.gc?.();
  const after = { rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed, fds: openFileDescriptors(), sockets: stack.bridge.directory.stats.socketsOpened };
  console.log(`\nsoak: ${soakLogins} logins at c=16, ${soak.loginsPerSecond.toFixed(0)} logins/s, p99 ${soak.p99.toFixed(2)} ms`);
  console.log(`  proxy process RSS ${megabytes(before.rss)} -> ${megabytes(after.rss)}, heap ${megabytes(before.heap)} -> ${megabytes(after.heap)}`);
  console.log(`  open file descriptors ${before.fds} -> ${after.fds}, directory sockets opened during the soak: ${after.sockets - before.sockets}`);
} finally {
  echo.close();
  await uncachedStack.stop();
  await stack.stop();
  await issuer.stop();
  await seeded.stop();
}
