// `npm run bench [-- --quick] [-- --soak N] [-- --rounds N]`: one run, side by side, on this machine:
//   raw        ldapts search + bind on kept-open connections (the floor), and the same plus the
//              search for the user's groups (the directory work of a warm proxy login),
//   proxy      /login and /get-user through the local server over HTTP keep-alive (1, 8, 64),
//   per-login  a new plain / LDAPS connection for every login (most hand-written scripts),
// plus the token check with and without the verified-token cache, and a soak that watches
// memory and sockets. These machines are noisy: the figures that matter are ratios against a
// baseline measured in the same run. Load comes from a worker thread, the proxy runs here.
import { readdirSync } from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { Attribute, Change } from 'ldapts';
import { peopleDN, type SeedGroup, type SeedUser, withAdmin } from '../dev/directory-data.ts';
import { startSeededSlapd } from '../dev/seeded-slapd.ts';
import { startDevTokenIssuer } from '../dev/dev-token-issuer.ts';
import { loadConfig } from '../lambdas/core/config/bridge-config.ts';
import { startBridgeServer } from '../lambdas/entry/server.ts';
import { randomSecret } from '../dev/throwaway-slapd.ts';
import { childPids, startServerProcess } from '../dev/server-process.ts';
import { JwksAccessTokenVerifier } from '../lambdas/adapters/jwks-token-verifier.ts';
import type { Scenario } from './load-worker.ts';
import { cpuMs } from './cpu.ts';

const quick = process.argv.includes('--quick');
const soakIndex = process.argv.indexOf('--soak');
const soakLogins = soakIndex >= 0 ? Number(process.argv[soakIndex + 1]) : quick ? 5_000 : 100_000;
const logins = quick ? 1_000 : 5_000;
const roundsIndex = process.argv.indexOf('--rounds');
const rounds = roundsIndex >= 0 ? Number(process.argv[roundsIndex + 1]) : quick ? 3 : 5;

const users: SeedUser[] = Array.from({ length: 200 }, (_, index) => ({
  uid: `bench${index}`,
  password: `bench-password-${index}`,
  cn: `Bench ${index}`,
  sn: `${index}`,
  mail: `bench${index}@example.test`,
}));
// Groups as a company has them: each user in a department, a third also in vpn-users; departments
// in divisions, divisions in all-staff. A login walks three levels above the user's own groups.
const uidsWhere = (keep: (index: number) => boolean) => users.filter((_, index) => keep(index)).map((user) => user.uid);
const groups: SeedGroup[] = [
  ...Array.from({ length: 5 }, (_, dept) => ({
    cn: `dept-${dept}`,
    members: uidsWhere((index) => index % 5 === dept),
  })),
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

/** CPU time used during a run's timed part, in ms: the load generator, this thread (the proxy or the HTTP floor), slapd. */
interface CpuUse {
  client: number;
  server: number;
  directory: number;
}

interface Run {
  latencies: number[];
  elapsedMs: number;
  /** Every request the run sent, warm-up included (for per-request operation counts). */
  requests: number;
  cpu: CpuUse;
}

/** One run of a scenario on a fresh worker thread, with the CPU each party used while it was timed. */
function runScenario(scenario: Scenario, serverPids?: () => number[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // The worker runs TypeScript through tsx, as this file does.
    const worker = new Worker(new URL('./load-worker-entry.mjs', import.meta.url), { workerData: scenario });
    let atStart = { server: 0, directory: 0 };
    // The proxy's CPU: this thread's, or for `serve` in processes of its own, theirs (primary and workers).
    const serverCpu = () =>
      serverPids
        ? serverPids().reduce((sum, pid) => sum + cpuMs(`/proc/${pid}/stat`), 0)
        : cpuMs('/proc/thread-self/stat');
    const now = () => ({ server: serverCpu(), directory: cpuMs(`/proc/${slapdPid}/stat`) });
    worker.on(
      'message',
      (message: {
        timing?: 'start';
        latencies?: number[];
        elapsedMs?: number;
        requests?: number;
        clientCpuMs?: number;
        error?: string;
      }) => {
        if (message.timing === 'start') {
          atStart = now();
          return;
        }
        const atEnd = now();
        void worker.terminate();
        if (message.error) reject(new Error(message.error));
        else {
          const cpu = {
            client: message.clientCpuMs!,
            server: atEnd.server - atStart.server,
            directory: atEnd.directory - atStart.directory,
          };
          resolve({ latencies: message.latencies!, elapsedMs: message.elapsedMs!, requests: message.requests!, cpu });
        }
      },
    );
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
// A production-like password policy (lock after 5 failures), so the lockout shield is on and its
// cost on a warm login is measured: the policy is read once, the failure state comes with the search.
await withAdmin(seeded.admin, (client) =>
  client.modify(`cn=default,ou=policies,${seeded.slapd.suffix}`, [
    new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdLockout', values: ['TRUE'] }) }),
    new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdMaxFailure', values: ['5'] }) }),
  ]),
);
const { slapd, servicePassword } = seeded;
const slapdPid = slapd.pid;
const client = { clientId: 'bench-client', clientSecret: randomSecret(), scopes: ['users:login', 'users:read'] };
const issuer = await startDevTokenIssuer({ audience: 'https://bench.local/', clients: [client] });
const proxyEnv = {
  ...seeded.bridgeEnv(),
  LDAP_BIND_POOL_SIZE: '8',
  MAX_IN_FLIGHT: '1024',
  AUTH_ISSUER: issuer.issuer,
  AUTH_AUDIENCE: issuer.audience,
  AUTH_ALLOWED_CLIENT_IDS: client.clientId,
  PORT: '0',
  LOG_LEVEL: 'error',
};
const quiet = { writeLog: () => undefined };
const stack = await startBridgeServer(loadConfig(proxyEnv), quiet);
// The same proxy with every level of the group walk searched on every login, and one that takes
// groups from memberOf (the overlay keeps it), so it does what raw does: one search, one bind.
const uncachedStack = await startBridgeServer(loadConfig({ ...proxyEnv, LDAP_GROUP_CACHE_SECONDS: '0' }), quiet);
const memberOfStack = await startBridgeServer(loadConfig({ ...proxyEnv, LDAP_GROUPS: 'member-of' }), quiet);
const stacks = [stack, uncachedStack, memberOfStack];
// `auth0-ldap-bridge serve` as production runs it, in processes of its own: one worker, and one
// per CPU (SERVER_WORKERS' default). Each worker keeps its own directory connections.
const cpuCount = os.availableParallelism();
const serveCommand = ['--import', 'tsx', 'lambdas/entry/cli.ts', 'serve'];
const serveOne = await startServerProcess(serveCommand, { ...process.env, ...proxyEnv, SERVER_WORKERS: '1' });
const serveAll = await startServerProcess(serveCommand, {
  ...process.env,
  ...proxyEnv,
  SERVER_WORKERS: String(cpuCount),
});
const serveTree = (server: typeof serveOne) => () => {
  const primary = server.child.pid as number;
  return [primary, ...childPids(primary)];
};

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
  const base = {
    users,
    baseDN: peopleDN(slapd.suffix),
    serviceDN: slapd.serviceDN,
    servicePassword,
    caCertPath: slapd.caCertPath,
  };
  const results = new Map<string, Result>();
  const proxyBase = { kind: 'proxy' as const, token, ...base };
  const plans: Array<{
    key: string;
    name: string;
    logins: number;
    scenario: Omit<Scenario, 'logins'>;
    serverPids?: () => number[];
  }> = [
    {
      key: 'raw1',
      name: 'raw ldapts, kept-open LDAPS, c=1',
      logins,
      scenario: { kind: 'raw', concurrency: 1, ldapUrl: slapd.ldapsUrl, ...base },
    },
    {
      key: 'raw8',
      name: 'raw ldapts, kept-open LDAPS, c=8',
      logins,
      scenario: { kind: 'raw', concurrency: 8, ldapUrl: slapd.ldapsUrl, ...base },
    },
    {
      key: 'rawGroups1',
      name: "raw + the user's group search, c=1",
      logins,
      scenario: { kind: 'raw', concurrency: 1, ldapUrl: slapd.ldapsUrl, groupBaseDN: slapd.suffix, ...base },
    },
    {
      key: 'rawGroups8',
      name: "raw + the user's group search, c=8",
      logins,
      scenario: { kind: 'raw', concurrency: 8, ldapUrl: slapd.ldapsUrl, groupBaseDN: slapd.suffix, ...base },
    },
    {
      key: 'floor1',
      name: 'HTTP floor (fixed answer), c=1',
      logins,
      scenario: { ...proxyBase, concurrency: 1, proxyUrl: echoUrl },
    },
    {
      key: 'floor8',
      name: 'HTTP floor (fixed answer), c=8',
      logins,
      scenario: { ...proxyBase, concurrency: 8, proxyUrl: echoUrl },
    },
    {
      key: 'proxy1',
      name: 'proxy /login, c=1',
      logins,
      scenario: { ...proxyBase, concurrency: 1, proxyUrl: stack.url },
    },
    {
      key: 'proxy8',
      name: 'proxy /login, c=8',
      logins,
      scenario: { ...proxyBase, concurrency: 8, proxyUrl: stack.url },
    },
    {
      key: 'proxy64',
      name: 'proxy /login, c=64',
      logins,
      scenario: { ...proxyBase, concurrency: 64, proxyUrl: stack.url },
    },
    {
      key: 'raw64',
      name: 'raw ldapts, kept-open LDAPS, c=64',
      logins,
      scenario: { kind: 'raw', concurrency: 64, ldapUrl: slapd.ldapsUrl, ...base },
    },
    {
      key: 'serveOne64',
      name: 'serve, 1 worker process, /login c=64',
      logins,
      scenario: { ...proxyBase, concurrency: 64, proxyUrl: serveOne.url },
      serverPids: serveTree(serveOne),
    },
    {
      key: 'serveAll64',
      name: `serve, ${cpuCount} worker processes, /login c=64`,
      logins,
      scenario: { ...proxyBase, concurrency: 64, proxyUrl: serveAll.url },
      serverPids: serveTree(serveAll),
    },
    {
      key: 'getUser8',
      name: 'proxy /get-user, c=8',
      logins,
      scenario: { ...proxyBase, concurrency: 8, proxyUrl: stack.url, path: '/get-user' },
    },
    {
      key: 'uncached8',
      name: 'proxy /login, c=8, no group cache',
      logins,
      scenario: { ...proxyBase, concurrency: 8, proxyUrl: uncachedStack.url },
    },
    {
      key: 'memberOf1',
      name: 'proxy /login, c=1, groups from memberOf',
      logins,
      scenario: { ...proxyBase, concurrency: 1, proxyUrl: memberOfStack.url },
    },
    {
      key: 'memberOf8',
      name: 'proxy /login, c=8, groups from memberOf',
      logins,
      scenario: { ...proxyBase, concurrency: 8, proxyUrl: memberOfStack.url },
    },
    {
      key: 'perLoginPlain8',
      name: 'new plain connection per login, c=8',
      logins: Math.min(logins, 2000),
      scenario: { kind: 'per-login', concurrency: 8, ldapUrl: slapd.ldapUrl, ...base },
    },
    {
      key: 'perLoginTls1',
      name: 'new LDAPS connection per login, c=1',
      logins: Math.min(logins, 1000),
      scenario: { kind: 'per-login', concurrency: 1, ldapUrl: slapd.ldapsUrl, ...base },
    },
    {
      key: 'perLoginTls8',
      name: 'new LDAPS connection per login, c=8',
      logins: Math.min(logins, 2000),
      scenario: { kind: 'per-login', concurrency: 8, ldapUrl: slapd.ldapsUrl, ...base },
    },
  ];

  console.log(
    `auth0-ldap-bridge benchmark: ${logins} logins per scenario in ${rounds} interleaved rounds, slapd over LDAPS on 127.0.0.1, Node ${process.version}, ${quick ? 'quick' : 'full'} run\n`,
  );
  // Warm-up: JIT, TLS sessions, the JWKS fetch, the kept-open connections.
  await runScenario({ ...proxyBase, concurrency: 8, logins: 500, proxyUrl: stack.url });
  for (const each of stacks.slice(1))
    await runScenario({ ...proxyBase, concurrency: 8, logins: 500, proxyUrl: each.url });
  await runScenario({ kind: 'raw', concurrency: 1, logins: 500, ldapUrl: slapd.ldapsUrl, ...base });
  for (const server of [serveOne, serveAll])
    await runScenario({ ...proxyBase, concurrency: 64, logins: 1000, proxyUrl: server.url });

  // Every scenario runs a share of its logins in each round, in turn, so a slow spell of this
  // shared machine lands on all of them instead of on whichever ran at that moment. The
  // per-login scenarios go last: thousands of closed connections slow this sandbox's loopback
  // for a while after them (measured: the kept-open scenarios lost a third when interleaved).
  /** Per scenario, summed over its runs. */
  const collected = new Map<string, Run>();
  const operations = new Map<
    string,
    { userSearches: number; groupSearches: number; binds: number; socketsOpened: number; entryReads: number }
  >();
  const countersOf = (url: string | undefined) => stacks.find((each) => each.url === url)?.bridge.directory.stats;
  const inRounds = (selected: typeof plans) => Array.from({ length: rounds }, () => selected).flat();
  const schedule = [
    ...inRounds(plans.filter((plan) => plan.scenario.kind !== 'per-login')),
    ...inRounds(plans.filter((plan) => plan.scenario.kind === 'per-login')),
  ];
  for (const plan of schedule) {
    const counters = countersOf(plan.scenario.proxyUrl);
    const before = counters ? { ...counters } : undefined;
    const run = await runScenario(
      { ...plan.scenario, logins: Math.ceil(plan.logins / rounds) } as Scenario,
      plan.serverPids,
    );
    const sofar = collected.get(plan.key) ?? {
      latencies: [],
      elapsedMs: 0,
      requests: 0,
      cpu: { client: 0, server: 0, directory: 0 },
    };
    collected.set(plan.key, {
      latencies: [...sofar.latencies, ...run.latencies],
      elapsedMs: sofar.elapsedMs + run.elapsedMs,
      requests: sofar.requests + run.requests,
      cpu: {
        client: sofar.cpu.client + run.cpu.client,
        server: sofar.cpu.server + run.cpu.server,
        directory: sofar.cpu.directory + run.cpu.directory,
      },
    });
    if (counters && before) {
      const total = operations.get(plan.key) ?? {
        userSearches: 0,
        groupSearches: 0,
        binds: 0,
        socketsOpened: 0,
        entryReads: 0,
      };
      for (const name of ['userSearches', 'groupSearches', 'binds', 'socketsOpened', 'entryReads'] as const)
        total[name] += counters[name] - before[name];
      operations.set(plan.key, total);
    }
  }
  for (const plan of plans) results.set(plan.key, summarise(plan.name, collected.get(plan.key)!));
  const result = (key: string) => results.get(key)!;
  const [raw1, raw8, rawGroups1, rawGroups8, floor1, floor8] = [
    'raw1',
    'raw8',
    'rawGroups1',
    'rawGroups8',
    'floor1',
    'floor8',
  ].map(result) as [Result, Result, Result, Result, Result, Result];
  const [proxy1, proxy8, uncached8, memberOf1, memberOf8] = [
    'proxy1',
    'proxy8',
    'uncached8',
    'memberOf1',
    'memberOf8',
  ].map(result) as [Result, Result, Result, Result, Result];
  const [perLoginPlain, perLoginTls1, perLoginTls] = ['perLoginPlain8', 'perLoginTls1', 'perLoginTls8'].map(result) as [
    Result,
    Result,
    Result,
  ];
  const warmKeys = ['proxy1', 'proxy8', 'proxy64', 'getUser8', 'uncached8', 'memberOf1', 'memberOf8'];
  const proxyRequests = warmKeys.reduce((sum, key) => sum + collected.get(key)!.requests, 0);
  const newSockets = warmKeys.reduce((sum, key) => sum + operations.get(key)!.socketsOpened, 0);
  const perRequest = (key: string) => {
    const counted = operations.get(key)!;
    const count = collected.get(key)!.requests;
    return {
      userSearches: counted.userSearches / count,
      entryReads: counted.entryReads / count,
      groupSearches: counted.groupSearches / count,
      binds: counted.binds / count,
    };
  };

  console.log('scenario                                   logins/s      p50 ms   p95 ms   p99 ms');
  for (const result of results.values()) {
    console.log(
      `${result.name.padEnd(42)} ${result.loginsPerSecond.toFixed(0).padStart(8)}   ${result.p50.toFixed(2).padStart(7)}  ${result.p95.toFixed(2).padStart(7)}  ${result.p99.toFixed(2).padStart(7)}`,
    );
  }
  console.log(
    "\nCPU per login, µs (load generator thread / proxy or HTTP-floor thread, or all of serve's processes / slapd; 10 ms ticks)",
  );
  for (const plan of plans) {
    const { cpu, latencies } = collected.get(plan.key)!;
    const each = (ms: number) => ((ms * 1000) / latencies.length).toFixed(0).padStart(6);
    console.log(
      `${plan.name.padEnd(42)} ${each(cpu.client)} ${each(cpu.server)} ${each(cpu.directory)}   total ${each(cpu.client + cpu.server + cpu.directory)}`,
    );
  }
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  const throughput = (a: Result, b: Result) => ratio(a.loginsPerSecond, b.loginsPerSecond);
  const serial = (...parts: Result[]) => 1 / parts.reduce((sum, part) => sum + 1 / part.loginsPerSecond, 0);
  const line = (label: string, value: string, note = '') =>
    console.log(`  ${label.padEnd(60)} ${value.padStart(7)}  ${note}`.trimEnd());
  console.log('\nratios (same run)');
  console.log(' proxy vs raw LDAP doing the same directory work (target >= 0.5):');
  line('groups from memberOf (search + bind) / raw, c=1', throughput(memberOf1, raw1));
  line('groups from memberOf (search + bind) / raw, c=8', throughput(memberOf8, raw8));
  line('nested groups (+ group search) / raw + group search, c=1', throughput(proxy1, rawGroups1));
  line('nested groups / raw + group search, c=8', throughput(proxy8, rawGroups8));
  console.log(' the default proxy (nested groups) vs raw search + bind alone:');
  line('c=1', throughput(proxy1, raw1));
  line('c=8', throughput(proxy8, raw8));
  console.log(' where the time goes:');
  line(
    'proxy c=8 / serial(raw + group search c=8, HTTP floor c=8)',
    ratio(proxy8.loginsPerSecond, serial(rawGroups8, floor8)),
    '(1.00 = nothing lost beyond the same LDAP work and HTTP)',
  );
  line(
    'proxy overhead over raw + group search at c=1, p50 ms',
    `+${(proxy1.p50 - rawGroups1.p50).toFixed(2)}`,
    `(of which the HTTP floor: ${floor1.p50.toFixed(2)} ms)`,
  );
  line(
    "proxy's own cost at c=1, p50 ms (proxy - raw+group - floor)",
    (proxy1.p50 - rawGroups1.p50 - floor1.p50).toFixed(2),
  );
  line('proxy c=8 / the same without the group cache', `${throughput(proxy8, uncached8)}x`);
  console.log(' vs a new connection per login:');
  line('proxy c=8 / new LDAPS connection per login c=8', `${throughput(proxy8, perLoginTls)}x`, '(target >= 5)');
  line(
    'new LDAPS per login / proxy, p50 at c=1',
    `${ratio(perLoginTls1.p50, proxy1.p50)}x`,
    '(how much longer one login takes that way)',
  );
  line('proxy c=8 / new plain connection per login c=8', `${throughput(proxy8, perLoginPlain)}x`);
  console.log(` serve's worker processes (${cpuCount} CPUs here; the load generator and slapd share them):`);
  const [raw64, serveOne64, serveAll64] = ['raw64', 'serveOne64', 'serveAll64'].map(result) as [Result, Result, Result];
  line(`serve, ${cpuCount} workers / 1 worker, /login c=64`, `${throughput(serveAll64, serveOne64)}x`);
  line('serve, 1 worker / raw LDAP c=64', throughput(serveOne64, raw64));
  line(`serve, ${cpuCount} workers / raw LDAP c=64`, throughput(serveAll64, raw64));
  line(`serve, ${cpuCount} workers / in-process proxy c=64`, throughput(serveAll64, result('proxy64')));
  console.log(' connections and operations:');
  line(
    'warm requests that opened no directory connection',
    `${((1 - newSockets / proxyRequests) * 100).toFixed(2)}%`,
    `(${newSockets} sockets for ${proxyRequests} requests; target >= 95%)`,
  );
  const operationsPerLogin = perRequest('proxy8');
  const fixed = (value: number) => value.toFixed(2);
  console.log(
    `  directory operations per login (c=8): ${fixed(operationsPerLogin.userSearches)} user search, ${fixed(operationsPerLogin.binds)} bind, ${fixed(operationsPerLogin.groupSearches)} group search (${fixed(perRequest('uncached8').groupSearches)} without the group cache, ${fixed(perRequest('memberOf8').groupSearches)} from memberOf), ${fixed(operationsPerLogin.entryReads)} lockout-policy read (the lockout shield on, policy locking after 5)`,
  );

  // The token check: full jose verification against the cached-result path.
  const verifierOptions = {
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwksUrl: issuer.jwksUrl,
    allowedClientIds: [client.clientId],
    clockToleranceSeconds: 30,
    jwksCooldownMs: 30_000,
    verifiedTokenCacheSize: 1000,
  };
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
  console.log(
    `\ntoken check: full verification ${(uncachedMs * 1000).toFixed(1)} us, cached ${(cachedMs * 1000).toFixed(1)} us (x${ratio(uncachedMs, cachedMs)} faster)`,
  );

  // Soak: memory and sockets must stay flat.
  global.gc?.();
  const before = {
    rss: process.memoryUsage().rss,
    heap: process.memoryUsage().heapUsed,
    fds: openFileDescriptors(),
    sockets: stack.bridge.directory.stats.socketsOpened,
  };
  const soak = summarise(
    'soak',
    await runScenario({ kind: 'proxy', concurrency: 16, logins: soakLogins, token, proxyUrl: stack.url, ...base }),
  );
  global.gc?.();
  const after = {
    rss: process.memoryUsage().rss,
    heap: process.memoryUsage().heapUsed,
    fds: openFileDescriptors(),
    sockets: stack.bridge.directory.stats.socketsOpened,
  };
  console.log(
    `\nsoak: ${soakLogins} logins at c=16, ${soak.loginsPerSecond.toFixed(0)} logins/s, p99 ${soak.p99.toFixed(2)} ms`,
  );
  console.log(
    `  proxy process RSS ${megabytes(before.rss)} -> ${megabytes(after.rss)}, heap ${megabytes(before.heap)} -> ${megabytes(after.heap)}`,
  );
  console.log(
    `  open file descriptors ${before.fds} -> ${after.fds}, directory sockets opened during the soak: ${after.sockets - before.sockets}`,
  );
} finally {
  echo.close();
  for (const each of stacks) await each.stop();
  await serveOne.stop('SIGTERM');
  await serveAll.stop('SIGTERM');
  await issuer.stop();
  await seeded.stop();
}
