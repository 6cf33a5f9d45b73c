// `auth0-ldap-bridge serve`: the production on-prem server. It refuses to start unless a real
// directory (LDAP_URLS) and a real token issuer (AUTH_ISSUER) are configured: it never falls back
// to a demo directory or a local issuer (those live in dev/ and only `npm start` reaches them).
// With SERVER_WORKERS above 1 (default: one per CPU) the primary process forks that many workers
// sharing the port (node:cluster), each with its own directory connections; a worker that dies is
// replaced, and SIGTERM / SIGINT stop every worker gracefully.
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import { type BridgeConfig, loadConfig } from '../../core/config/bridge-config.ts';
import { ROUTES } from '../../contract/routes.ts';
import { AccountLeaseHolder, PrimaryAccountLeases } from '../account-leases.ts';
import { startBridgeServer, WORKER_STOP_GRACE_MS } from '../server.ts';
import { type Command, type CommandIO, EXIT, UsageError } from './command.ts';

/** A worker that dies more often than this within RESTART_WINDOW_MS is not restarted again: the server stops. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the bridge as an HTTP server (on-prem hosting behind NGINX)',
  description: [
    `Serves ${ROUTES.map((route) => `${route.method} ${route.path}`).join(' and ')} for Auth0's custom-database scripts.`,
    'Needs a real directory (LDAP_URLS, LDAP_BASE_DN and the service account) and a real token issuer',
    '(AUTH_ISSUER, AUTH_AUDIENCE, AUTH_ALLOWED_CLIENT_IDS); it refuses to start without either.',
    'SERVER_WORKERS processes share the port. SIGTERM or SIGINT: stop accepting, finish what is in flight, exit 0.',
  ].join('\n'),
  options: {},
  settingGroups: ['directory', 'groups', 'tokens', 'server', 'logging'],
  async run(_options, io) {
    const config = loadServeConfig(io.env);
    const workers = config.server.workers ?? os.availableParallelism();
    if (cluster.isWorker) {
      try {
        return await runWorker(config);
      } finally {
        // The IPC channel to the primary would keep this process alive after its server stopped.
        cluster.worker?.disconnect();
      }
    }
    if (workers === 1) return runSingleProcess(config, io);
    return runPrimary(config, workers, io);
  },
};

/** The configuration `serve` needs, refusing outright when either half (directory, issuer) is missing. */
export function loadServeConfig(env: Readonly<Record<string, string | undefined>>): BridgeConfig {
  const missing = [
    env[S.LDAP_URLS.env]?.trim() ? undefined : `no directory configured (${S.LDAP_URLS.env})`,
    env[S.AUTH_ISSUER.env]?.trim() ? undefined : `no token issuer configured (${S.AUTH_ISSUER.env})`,
  ].filter((problem) => problem !== undefined);
  if (missing.length > 0) {
    throw new UsageError(
      `${missing.join(' and ')}: serve runs only against a real directory and a real Auth0 tenant (for the demo, run npm start in a checkout)`,
    );
  }
  return loadConfig(env);
}

function listeningLine(url: string, config: BridgeConfig, workers: number): string {
  const routes = ROUTES.map((route) => `${route.method} ${route.path}`).join(', ');
  return `auth0-ldap-bridge listening on ${url} (${routes}) with ${workers} worker process${workers === 1 ? '' : 'es'}; directory ${config.directory.urls.join(', ')}; issuer ${config.auth.issuer}`;
}

async function runSingleProcess(config: BridgeConfig, io: CommandIO): Promise<number> {
  const stopRequested = stopRequest();
  const running = await startBridgeServer(config);
  io.err(listeningLine(running.url, config, 1));
  await stopRequested;
  await running.stop();
  return EXIT.ok;
}

/** A worker: one server process; tells the primary its address, stops when told or signalled. */
async function runWorker(config: BridgeConfig): Promise<number> {
  // Listening for the stop request before starting: a shutdown sent while this worker is still
  // starting must not be lost (the primary would wait for it forever).
  const stopRequested = stopRequest();
  // The lockout shield's one-bind-per-account holds across all workers: the primary keeps the leases.
  const running = await startBridgeServer(config, { accountLeases: new PrimaryAccountLeases() });
  process.send?.({ type: 'listening', url: running.url });
  await stopRequested;
  await running.stop();
  return EXIT.ok;
}

/** Resolves on SIGTERM, SIGINT or the primary's shutdown message, whichever comes first. */
function stopRequest(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
    process.on('message', (message: { type?: string } | undefined) => {
      if (message?.type === 'shutdown') resolve();
    });
  });
}

/** The primary: forks the workers, restarts one that dies, stops them all on a signal. */
function runPrimary(config: BridgeConfig, workers: number, io: CommandIO): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    let forced = false;
    let announced = false;
    /** Workers whose process has not exited (cluster.workers may still list one that has, until its channel closes). */
    const running = new Map<number, Worker>();
    const listening = new Set<number>();
    const restarts: number[] = [];
    const leases = new AccountLeaseHolder();
    let finish: (() => void) | undefined;

    const killAll = () => {
      forced = true;
      for (const worker of running.values()) worker.process.kill('SIGKILL');
    };
    const stopAll = (code: number) => {
      if (stopping) {
        // A second signal: the operator does not want to wait for requests in flight.
        killAll();
        return;
      }
      stopping = true;
      // Workers finish what is in flight within their own grace; one that hangs past it is killed.
      const deadline = setTimeout(killAll, WORKER_STOP_GRACE_MS + 5_000);
      finish = () => {
        clearTimeout(deadline);
        // Requests cut off by a forced stop are a failure, whatever asked for the stop.
        resolve(forced ? EXIT.failed : code);
      };
      if (running.size === 0) finish();
      for (const worker of running.values()) {
        // A worker still starting may not listen for messages yet: a signal reaches it either way
        // (before its handler is set, it simply ends, having served nothing).
        if (listening.has(worker.id) && worker.isConnected()) worker.send({ type: 'shutdown' });
        else worker.process.kill('SIGTERM');
      }
    };

    const fork = () => {
      const worker = cluster.fork();
      running.set(worker.id, worker);
      leases.serve(worker);
      worker.on('message', (message: { type?: string; url?: string }) => {
        if (message.type !== 'listening' || typeof message.url !== 'string') return;
        listening.add(worker.id);
        if (!announced && listening.size === workers) {
          announced = true;
          io.err(listeningLine(message.url, config, workers));
        }
      });
    };

    cluster.on('exit', (worker, code, signal) => {
      running.delete(worker.id);
      listening.delete(worker.id);
      if (stopping) {
        if (running.size === 0) finish?.();
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && (restarts[0] ?? now) < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS || !announced) {
        io.err(
          `auth0-ldap-bridge serve: a worker exited (${signal ?? `code ${code}`}) ${announced ? `${restarts.length} times within a minute` : 'before it was listening'}; stopping (its log lines say why)`,
        );
        stopAll(EXIT.failed);
        return;
      }
      io.err(`auth0-ldap-bridge serve: a worker exited (${signal ?? `code ${code}`}); starting another`);
      fork();
    });
    process.on('SIGTERM', () => stopAll(EXIT.ok));
    process.on('SIGINT', () => stopAll(EXIT.ok));
    for (let index = 0; index < workers; index += 1) fork();
  });
}
