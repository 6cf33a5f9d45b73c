// Runs one load scenario on its own thread (its own event loop, so the load generator does not
// steal the proxy's) and posts back per-login latencies in milliseconds.
import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { Client } from 'ldapts';
import { Pool } from 'undici';

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
const newClient = () => new Client({ url: scenario.ldapUrl!, timeout: 5000, connectTimeout: 5000, ...(tlsOptions && scenario.ldapUrl!.startsWith('ldaps') ? { tlsOptions } : {}) });

async function searchAndBind(search: Client, bind: Client, user: { uid: string; password: string }) {
  const { searchEntries } = await search.search(scenario.baseDN!, { scope: 'sub', filter: `(uid=${user.uid})`, sizeLimit: 2, attributes: ['entryUUID', 'mail', 'cn', 'memberOf'] });
  const dn = searchEntries[0]!.dn;
  await bind.bind(dn, user.password);
  if (scenario.groupBaseDN) {
    // The bench DNs hold no characters that need escaping in a filter.
    await search.search(scenario.groupBaseDN, { scope: 'sub', filter: `(&(objectClass=groupOfNames)(|(member=${dn})(uniqueMember=${dn})))`, sizeLimit: 1001, attributes: ['1.1'] });
  }
}

async function run(): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const take = () => (next < scenario.logins ? next++ : -1);

  if (scenario.kind === 'proxy') {
    // undici's request API on a keep-alive pool: the cheapest Node HTTP client, so the figures
    // say what the server costs rather than what fetch's streams cost the load generator.
    const pool = new Pool(scenario.proxyUrl!, { keepAliveTimeout: 30_000, connections: scenario.concurrency, pipelining: 1 });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${scenario.token}` };
    const path = scenario.path ?? '/login';
    const loop = async () => {
      for (let index = take(); index >= 0; index = take()) {
        const user = scenario.users[index % scenario.users.length]!;
        const body = scenario.path === '/get-user' ? { username: user.uid } : { username: user.uid, password: user.password };
        const started = performance.now();
        const response = await pool.request({ method: 'POST', path, headers, body: JSON.stringify(body) });
        await response.body.arrayBuffer();
        if (response.statusCode !== 200) throw new Error(`proxy answered ${response.statusCode}`);
        latencies.push(performance.now() - started);
      }
    };
    await Promise.all(Array.from({ length: scenario.concurrency }, loop));
    await pool.close();
  } else if (scenario.kind === 'raw') {
    // The floor: one kept-open service connection and one bind connection per concurrent loop.
    const loop = async () => {
      const search = newClient();
      const bind = newClient();
      await search.bind(scenario.serviceDN!, scenario.servicePassword!);
      for (let index = take(); index >= 0; index = take()) {
        const started = performance.now();
        await searchAndBind(search, bind, scenario.users[index % scenario.users.length]!);
        latencies.push(performance.now() - started);
      }
      await Promise.all([search.unbind(), bind.unbind()]);
    };
    await Promise.all(Array.from({ length: scenario.concurrency }, loop));
  } else {
    // What most hand-written Auth0 LDAP scripts do: a new connection for every login.
    const loop = async () => {
      for (let index = take(); index >= 0; index = take()) {
        const started = performance.now();
        const client = newClient();
        await client.bind(scenario.serviceDN!, scenario.servicePassword!);
        await searchAndBind(client, client, scenario.users[index % scenario.users.length]!);
        await client.unbind();
        latencies.push(performance.now() - started);
      }
    };
    await Promise.all(Array.from({ length: scenario.concurrency }, loop));
  }
  return latencies;
}

const started = performance.now();
run().then(
  (latencies) => parentPort!.postMessage({ latencies, elapsedMs: performance.now() - started }),
  (error: unknown) => parentPort!.postMessage({ error: String(error) }),
);
