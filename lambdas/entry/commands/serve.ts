// `auth0-ldap-bridge serve`: the production on-prem server. It refuses to start unless a real
// directory (LDAP_URLS) and a real token issuer (AUTH_ISSUER) are configured: it never falls back
// to a demo directory or a local issuer (those live in dev/ and only `npm start` reaches them).
// With SERVER_WORKERS above 1 (default: one per CPU) the primary process forks that many workers
// sharing the port (node:cluster), each with its own directory connections; a worker that dies is
// replaced, and SIGTERM / SIGINT stop every worker gracefully. GET /metrics counts what all
// workers did, whichever process answers: the primary collects every worker's counts over IPC
// and sums them (prom-client's AggregatorRegistry), and listens on METRICS_PORT itself when it is
// set. A worker that dies takes its counts with it (Prometheus sees a counter reset).
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { JsonLogger } from '../../adapters/json-logger.ts';
import { aggregateSnapshots, type MetricsSnapshot, type MetricsText } from '../../adapters/prometheus-metrics.ts';
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import { type BridgeConfig, loadConfig } from '../../core/config/bridge-config.ts';
import { ROUTES } from '../../contract/routes.ts';
import { AccountLeaseHolder, PrimaryAccountLeases } from '../account-leases.ts';
import {
  closeServer,
  createOperatorServer,
  listenForMetrics,
  OPERATOR_PATHS,
  type ReadinessReport,
  type RunningServer,
  sharedInFlight,
  startBridgeServer,
  WORKER_STOP_GRACE_MS,
} from '../server.ts';
import { type Command, type CommandIO, EXIT, UsageError } from './command.ts';

/** A worker that dies more often than this within RESTART_WINDOW_MS is not restarted again: the server stops. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/** How long the primary waits for every worker's counts or readiness; a scrape that waits longer fails with 503. */
const COLLECT_TIMEOUT_MS = 5_000;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the bridge as an HTTP server (on-prem hosting behind NGINX)',
  description: [
    `Serves ${ROUTES.map((route) => `${route.method} ${route.path}`).join(' and ')} for Auth0's custom-database scripts.`,
    'Needs a real directory (LDAP_URLS, LDAP_BASE_DN and the service account) and a real token issuer',
    '(AUTH_ISSUER, AUTH_AUDIENCE, AUTH_ALLOWED_CLIENT_IDS); it refuses to start without either.',
    'SERVER_WORKERS processes share the port. SIGTERM or SIGINT: stop accepting, finish what is in flight, exit 0.',
    `GET ${OPERATOR_PATHS.liveness}, ${OPERATOR_PATHS.readiness} and ${OPERATOR_PATHS.metrics} (Prometheus, all workers summed) need no token; METRICS_PORT moves ${OPERATOR_PATHS.metrics} to a port of its own.`,
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

function listeningLine(url: string, metricsUrl: string | undefined, config: BridgeConfig, workers: number): string {
  const routes = ROUTES.map((route) => `${route.method} ${route.path}`).join(', ');
  return `auth0-ldap-bridge listening on ${url} (${routes}) with ${workers} worker process${workers === 1 ? '' : 'es'}; directory ${config.directory.urls.join(', ')}; issuer ${config.auth.issuer}; metrics on ${metricsUrl ?? url}${OPERATOR_PATHS.metrics}`;
}

async function runSingleProcess(config: BridgeConfig, io: CommandIO): Promise<number> {
  const stopRequested = stopRequest();
  const running = await startBridgeServer(config);
  io.err(listeningLine(running.url, running.metricsUrl, config, 1));
  await stopRequested;
  await running.stop();
  return EXIT.ok;
}

/** A worker: one server process; tells the primary its address, stops when told or signalled. */
async function runWorker(config: BridgeConfig): Promise<number> {
  // Listening for the stop request before starting: a shutdown sent while this worker is still
  // starting must not be lost (the primary would wait for it forever).
  const stopRequested = stopRequest();
  const observations = new WorkerObservations();
  const running = await startBridgeServer(config, {
    // The lockout shield's one-bind-per-account holds across all workers: the primary keeps the leases.
    accountLeases: new PrimaryAccountLeases(),
    // /metrics on the API port answers every worker's counts (from the primary); with METRICS_PORT
    // the primary listens on that port for all workers.
    metricsText: () => observations.allWorkersMetrics(),
    listenOnMetricsPort: false,
  });
  observations.answerFor(running);
  process.send?.({ type: 'listening', url: running.url });
  await stopRequested;
  await running.stop();
  return EXIT.ok;
}

/** What the primary and its workers say to each other about metrics and readiness (beside the leases' messages). */
type ObservationMessage =
  /** Primary to worker: send your own metrics or readiness. */
  | { type: 'observe-collect'; id: number; what: 'metrics' | 'readiness' }
  | { type: 'observe-part'; id: number; metrics?: MetricsSnapshot; readiness?: ReadinessReport }
  /** Worker to primary: every worker's metrics, for a GET /metrics on the API port. */
  | { type: 'metrics-request'; id: number }
  | { type: 'metrics-answer'; id: number; metrics?: MetricsText; problem?: string };

/** One worker's answer to a collection. */
type ObservationPart = Extract<ObservationMessage, { type: 'observe-part' }>;

/** A worker's side: answers the primary's collections and asks it for the metrics of all workers. */
class WorkerObservations {
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: { metrics?: MetricsText; problem?: string }) => void>();
  private running: RunningServer | undefined;

  constructor() {
    process.on('message', (message: ObservationMessage) => {
      if (message?.type === 'metrics-answer') {
        this.waiting.get(message.id)?.(message);
        this.waiting.delete(message.id);
      } else if (message?.type === 'observe-collect') {
        // No answer when this worker cannot give one: the primary then fails that collection
        // rather than report a sum without this worker's counts.
        this.answerCollection(message.id, message.what).catch(() => undefined);
      }
    });
  }

  /** From now on the primary's collections are answered with this server's metrics and readiness. */
  answerFor(running: RunningServer): void {
    this.running = running;
  }

  /** The Prometheus text of all workers, summed by the primary; rejects naming why when it cannot be had. */
  allWorkersMetrics(): Promise<MetricsText> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // The primary gives up on a slow worker after COLLECT_TIMEOUT_MS and says so; this is the backstop.
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the primary process did not send the metrics within ${COLLECT_TIMEOUT_MS + 1_000} ms`));
      }, COLLECT_TIMEOUT_MS + 1_000);
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        if (answer.metrics) resolve(answer.metrics);
        else reject(new Error(answer.problem ?? 'the primary process sent no metrics'));
      });
      process.send?.({ type: 'metrics-request', id } satisfies ObservationMessage);
    });
  }

  private async answerCollection(id: number, what: 'metrics' | 'readiness'): Promise<void> {
    const running = this.running;
    // The primary asks only workers that said they listen, so `running` is set.
    if (running === undefined) return;
    const part: ObservationMessage =
      what === 'metrics'
        ? { type: 'observe-part', id, metrics: await running.metrics.snapshot() }
        : { type: 'observe-part', id, readiness: await running.readiness() };
    if (process.connected) process.send?.(part);
  }
}

/**
 * The primary's side: collects the metrics or readiness of every listening worker (one
 * collection of each kind at a time, shared by whoever asks meanwhile) and answers workers that
 * ask for all workers' metrics. A worker that exits during a collection is left out (its counts
 * are gone with it); one that does not answer within COLLECT_TIMEOUT_MS fails the collection,
 * rather than report sums that would look like counter resets.
 */
class WorkerCollector {
  private nextId = 1;
  private readonly listening = new Map<number, Worker>();
  private readonly collections = new Map<
    number,
    { pending: Set<number>; parts: ObservationPart[]; settle: () => void }
  >();

  readonly metricsText = sharedInFlight(async (): Promise<MetricsText> => {
    const parts = await this.collect('metrics');
    if (parts.length === 0) throw new Error('no worker process is listening yet');
    return aggregateSnapshots(parts.flatMap((part) => (part.metrics ? [part.metrics] : [])));
  });

  readonly readiness = sharedInFlight(async (): Promise<ReadinessReport> => {
    const parts = await this.collect('readiness').catch((error: Error) => error);
    if (parts instanceof Error)
      return {
        ready: false,
        checks: { workers: { status: 'not_ready', reason: parts.message, fix: 'see the log lines of serve' } },
      };
    return mergeReadiness(parts.flatMap((part) => (part.readiness ? [part.readiness] : [])));
  });

  /** Call for every forked worker. */
  serve(worker: Worker): void {
    worker.on('message', (message: ObservationMessage | { type: 'listening' }) => {
      if (message?.type === 'listening') {
        this.listening.set(worker.id, worker);
      } else if (message?.type === 'observe-part') {
        const collection = this.collections.get(message.id);
        if (!collection?.pending.delete(worker.id)) return;
        collection.parts.push(message);
        collection.settle();
      } else if (message?.type === 'metrics-request') {
        this.metricsText().then(
          (metrics) => this.send(worker, { type: 'metrics-answer', id: message.id, metrics }),
          (error: Error) => this.send(worker, { type: 'metrics-answer', id: message.id, problem: error.message }),
        );
      }
    });
    worker.once('exit', () => {
      this.listening.delete(worker.id);
      for (const collection of this.collections.values()) {
        if (collection.pending.delete(worker.id)) collection.settle();
      }
    });
  }

  private send(worker: Worker, message: ObservationMessage): void {
    if (worker.isConnected()) worker.send(message);
  }

  private collect(what: 'metrics' | 'readiness'): Promise<ObservationPart[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const pending = new Set<number>();
      const parts: ObservationPart[] = [];
      const timer = setTimeout(() => {
        this.collections.delete(id);
        reject(
          new Error(
            `${pending.size} of ${pending.size + parts.length} worker processes did not send their ${what} within ${COLLECT_TIMEOUT_MS} ms`,
          ),
        );
      }, COLLECT_TIMEOUT_MS);
      const settle = () => {
        if (pending.size > 0) return;
        clearTimeout(timer);
        this.collections.delete(id);
        resolve(parts);
      };
      this.collections.set(id, { pending, parts, settle });
      for (const worker of this.listening.values()) {
        if (!worker.isConnected()) continue;
        pending.add(worker.id);
        worker.send({ type: 'observe-collect', id, what } satisfies ObservationMessage);
      }
      settle();
    });
  }
}

/** The workers' readiness as one: ready when every listening worker is; a check shows the first worker's failure. */
function mergeReadiness(reports: readonly ReadinessReport[]): ReadinessReport {
  if (reports.length === 0)
    return {
      ready: false,
      checks: {
        workers: {
          status: 'not_ready',
          reason: 'no worker process is listening yet',
          fix: 'wait for the workers to start; if they keep exiting, their log lines say why',
        },
      },
    };
  const checks: ReadinessReport['checks'] = {};
  for (const report of reports) {
    for (const [name, check] of Object.entries(report.checks)) {
      if (checks[name] === undefined || checks[name].status === 'ok') checks[name] = check;
    }
  }
  return { ready: reports.every((report) => report.ready), checks };
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

/** The primary: listens on METRICS_PORT when it is set, and supervises the workers. */
async function runPrimary(config: BridgeConfig, workers: number, io: CommandIO): Promise<number> {
  const collector = new WorkerCollector();
  if (config.server.metricsPort === undefined) return superviseWorkers(config, workers, io, collector, undefined);
  const metricsServer = createOperatorServer(
    { readiness: collector.readiness, metrics: collector.metricsText },
    config.server,
    new JsonLogger(config.logLevel),
  ).server;
  const metricsUrl = await listenForMetrics(metricsServer, config.server);
  try {
    return await superviseWorkers(config, workers, io, collector, metricsUrl);
  } finally {
    await closeServer(metricsServer, 0);
  }
}

/** Forks the workers, restarts one that dies, stops them all on a signal. */
function superviseWorkers(
  config: BridgeConfig,
  workers: number,
  io: CommandIO,
  collector: WorkerCollector,
  metricsUrl: string | undefined,
): Promise<number> {
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
      collector.serve(worker);
      worker.on('message', (message: { type?: string; url?: string }) => {
        if (message.type !== 'listening' || typeof message.url !== 'string') return;
        listening.add(worker.id);
        if (!announced && listening.size === workers) {
          announced = true;
          io.err(listeningLine(message.url, metricsUrl, config, workers));
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
