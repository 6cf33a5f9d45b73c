// Runs one load scenario on its own thread (its own event loop, so the load generator does not
// steal the proxy's) and posts back per-login latencies in milliseconds.
import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { Client } from 'ldapts';
import { Pool } from 'undici';
import { cpuMs } from './cpu.ts';

export interface Scenario {
  kind: 'proxy' | 'raw' | 'per-login';
  concurrency: number;
  logins: number;
  users: Array<{ uid: string; password: string }>;
  proxyUrl?: string;
  token?: string;
  ldapUrl?: string;
  caCertPath?: string;
  baseDN?: string;
  serviceDN?: string;
  servicePassword?: string;
  path?: '/login' | '/get-user';
  /** raw: also search the groups that list the user, as the proxy's warm group walk does (base DN of the groups). */
  groupBaseDN?: string;
}

const scenario = workerData as Scenario;
const tlsOptions = scenario.caCertPath ? { ca: [readFileSync(scenario.caCertPath, 'utf8')] } : undefined;
const newClient = () =>
  new Client({
    url: scenario.ldapUrl!,
    timeout: 5000,
    connectTimeout: 5000,
    ...(tlsOptions && scenario.ldapUrl!.startsWith('ldaps') ? { tlsOptions } : {}),
  });

async function searchAndBind(search: Client, bind: Client, user: { uid: string; password: string }) {
  const { searchEntries } = await search.search(scenario.baseDN!, {
    scope: 'sub',
    filter: `(uid=${user.uid})`,
    sizeLimit: 2,
    attributes: ['entryUUID', 'mail', 'cn', 'memberOf'],
  });
  const dn = searchEntries[0]!.dn;
  await bind.bind(dn, user.password);
  if (scenario.groupBaseDN) {
    // The filter the proxy's OpenLDAP preset sends for a user's own groups (the bench's DNs and
    // uids hold no characters that need escaping).
    const classes = '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))';
    await search.search(scenario.groupBaseDN, {
      scope: 'sub',
      filter: `(&${classes}(|(member=${dn})(uniqueMember=${dn})(memberUid=${user.uid})))`,
      sizeLimit: 1001,
      attributes: ['1.1'],
    });
  }
}

type User = { uid: string; password: string };
/** One login as each concurrent client does it. */
type Login = (user: User) => Promise<void>;

/** The concurrent clients of this scenario, their connections open (set-up is not part of the figures). */
async function openClients(): Promise<{ logins: Login[]; close(): Promise<void> }> {
  if (scenario.kind === 'proxy') {
    // undici's request API on a keep-alive pool: the cheapest Node HTTP client, so the figures
    // say what the server costs rather than what fetch's streams cost the load generator.
    const pool = new Pool(scenario.proxyUrl!, {
      keepAliveTimeout: 30_000,
      connections: scenario.concurrency,
      pipelining: 1,
    });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${scenario.token}` };
    const path = scenario.path ?? '/login';
    const login: Login = async (user) => {
      const body = path === '/get-user' ? { username: user.uid } : { username: user.uid, password: user.password };
      const response = await pool.request({ method: 'POST', path, headers, body: JSON.stringify(body) });
      await response.body.arrayBuffer();
      if (response.statusCode !== 200) throw new Error(`proxy answered ${response.statusCode}`);
    };
    return { logins: Array.from({ length: scenario.concurrency }, () => login), close: () => pool.close() };
  }
  if (scenario.kind === 'raw') {
    // The floor: one kept-open service connection and one bind connection per concurrent loop.
    const clients = await Promise.all(
      Array.from({ length: scenario.concurrency }, async () => {
        const search = newClient();
        const bind = newClient();
        await search.bind(scenario.serviceDN!, scenario.servicePassword!);
        return { search, bind };
      }),
    );
    return {
      logins: clients.map(
        ({ search, bind }) =>
          (user: User) =>
            searchAndBind(search, bind, user),
      ),
      close: async () =>
        void (await Promise.all(clients.flatMap(({ search, bind }) => [search.unbind(), bind.unbind()]))),
    };
  }
  // What most hand-written Auth0 LDAP scripts do: a new connection for every login.
  const perLogin: Login = async (user) => {
    const client = newClient();
    await client.bind(scenario.serviceDN!, scenario.servicePassword!);
    await searchAndBind(client, client, user);
    await client.unbind();
  };
  return { logins: Array.from({ length: scenario.concurrency }, () => perLogin), close: async () => undefined };
}

/** Runs `count` logins over the clients, users in turn: each login's latency in ms, and the elapsed time. */
async function drive(logins: Login[], count: number): Promise<{ latencies: number[]; elapsedMs: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    logins.map(async (login) => {
      for (let index = next++; index < count; index = next++) {
        const loginStarted = performance.now();
        await login(scenario.users[index % scenario.users.length]!);
        latencies.push(performance.now() - loginStarted);
      }
    }),
  );
  return { latencies, elapsedMs: performance.now() - started };
}

async function run(): Promise<{ latencies: number[]; elapsedMs: number; requests: number; clientCpuMs: number }> {
  const clients = await openClients();
  try {
    // Each run is a fresh thread: its first logins pay for the JIT, not for the server.
    const warmUp = Math.min(200, Math.ceil(scenario.logins / 5));
    await drive(clients.logins, warmUp);
    // Tell the main thread the timed part starts, so it can read its own and slapd's CPU time too.
    parentPort!.postMessage({ timing: 'start' });
    const cpuBefore = cpuMs('/proc/thread-self/stat');
    const timed = await drive(clients.logins, scenario.logins);
    return { ...timed, requests: warmUp + scenario.logins, clientCpuMs: cpuMs('/proc/thread-self/stat') - cpuBefore };
  } finally {
    await clients.close();
  }
}

run().then(
  (result) => parentPort!.postMessage(result),
  (error: unknown) => parentPort!.postMessage({ error: String(error) }),
);
