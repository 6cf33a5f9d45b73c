// The on-prem server: the same core as the Lambdas, for sites that host the bridge behind NGINX
// (and for development and the tests). createBridgeServer hands node:http's request to the core
// as plain data and keeps the server available to Auth0 whatever other clients do: the core checks
// the token from the headers before the body is read (a request without a valid token never waits
// for its body), a body has a cap and a deadline, a request holds one of MAX_IN_FLIGHT slots only
// from its received body until it is answered or its client is gone, and connections are bounded
// (a newcomer displaces the oldest connection that has not shown a valid token). Every request
// gives back what it held however it ends. Besides the contract's routes it answers the
// operator's GET /healthz, /readyz and /metrics (OPERATOR_PATHS): no token, no body, not counted
// as requests, under the same connection bound; they exist only here, never behind API Gateway.
// startBridgeServer is the composition root of one server process (`serve` runs one per worker).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { JsonLogger } from '../adapters/json-logger.ts';
import { RUNTIME_SETTINGS as S } from '../contract/settings.ts';
import { createTokenVerifier } from '../adapters/jwks-token-verifier.ts';
import { type MetricsText, PrometheusMetrics } from '../adapters/prometheus-metrics.ts';
import type { Logger } from '../core/ports.ts';
import { BearerTokenAuthorizer } from '../core/caller/bearer-token-authorizer.ts';
import type { BridgeConfig, ServerConfig } from '../core/config/bridge-config.ts';
import type { AccountLeases } from '../core/directory/lockout-shield.ts';
import { type Bridge, createBridge } from './compose.ts';
import {
  type BridgeError,
  InvalidRequest,
  MethodNotAllowed,
  Overloaded,
  PayloadTooLarge,
  RequestTimeout,
  RouteNotFound,
} from '../contract/errors.ts';
import { handle, type BridgeRequest, type HandlerDeps } from '../core/http/handle.ts';
import { MAX_BODY_BYTES } from '../contract/request-schemas.ts';
import { errorResponse, type BridgeResponse, jsonResponse } from '../core/http/responses.ts';

/** What createBridgeServer reads of the server settings (see ServerConfig). */
export type ServerOptions = Pick<
  ServerConfig,
  'maxInFlight' | 'maxConnections' | 'headersTimeoutMs' | 'bodyTimeoutMs' | 'keepAliveTimeoutMs'
>;

/** What one server process holds at a moment. */
export interface ServerLoad {
  /** Open connections, at most MAX_CONNECTIONS. */
  connections: number;
  /** Requests whose headers arrived and whose answer is not settled yet. */
  requests: number;
  /** Requests whose caller was verified and whose body is still arriving. */
  receiving: number;
  /** Requests holding one of MAX_IN_FLIGHT slots: body received, not yet answered. */
  inFlight: number;
}

export interface BridgeServer {
  server: http.Server;
  load(): ServerLoad;
}

/**
 * How often node:http looks for connections past their header or request deadline. Its default
 * (30 s) would let a client that never finishes its headers hold a connection that much longer.
 */
const DEADLINE_CHECK_INTERVAL_MS = 250;

/** node:http's own deadline for a whole request stands this far behind the bridge's, as a backstop. */
const BACKSTOP_MS = 1_000;

const EMPTY_BODY = new Uint8Array(0);

/** One check's state in a readiness report: `reason` says what failed, `fix` what to look at (never a secret). */
export type ReadinessCheck = { status: 'ok' } | { status: 'not_ready'; reason: string; fix: string };

/** What /readyz answers: 200 when every check is ok, else 503. */
export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
}

/** The operator's routes of a server: liveness, readiness and (where this port serves it) metrics. */
export interface OperatorRoutes {
  /** Must not throw: a check that fails is a report that says so. */
  readiness(): Promise<ReadinessReport>;
  /** Prometheus text for GET /metrics; undefined where this port does not serve /metrics (METRICS_PORT is set). */
  metrics: (() => Promise<MetricsText>) | undefined;
}

/**
 * /readyz on the API port once METRICS_PORT gives the operator a port of their own: which checks
 * fail, not why. The reasons name directory servers, accounts and settings, which the port Auth0
 * reaches (through a proxy that should forward only the contract's routes) need not tell anyone.
 */
export function withoutReasons(readiness: () => Promise<ReadinessReport>): () => Promise<ReadinessReport> {
  return async () => {
    const report = await readiness();
    const checks: Record<string, ReadinessCheck> = {};
    for (const [name, check] of Object.entries(report.checks))
      checks[name] =
        check.status === 'ok'
          ? check
          : {
              status: 'not_ready',
              reason: `not ready; the reason is on ${S.METRICS_PORT.env}`,
              fix: `GET /readyz on ${S.METRICS_HOST.env}:${S.METRICS_PORT.env}`,
            };
    return { ready: report.ready, checks };
  };
}

/** Paths of the operator's routes, each GET only. */
export const OPERATOR_PATHS = { liveness: '/healthz', readiness: '/readyz', metrics: '/metrics' } as const;

/** The contract's routes, and the operator's routes when given. */
export function createBridgeServer(deps: HandlerDeps, options: ServerOptions, operator?: OperatorRoutes): BridgeServer {
  return createServer(options, deps.logger, operator, (request) => handle(request, deps));
}

/** The operator's routes alone (METRICS_PORT), with the same connection bound and deadlines; any other path is 404. */
export function createOperatorServer(operator: OperatorRoutes, options: ServerOptions, logger: Logger): BridgeServer {
  return createServer(options, logger, operator, async (request) => errorResponse(new RouteNotFound(), request.id));
}

function createServer(
  options: ServerOptions,
  logger: Logger,
  operator: OperatorRoutes | undefined,
  answer: (request: BridgeRequest) => Promise<BridgeResponse>,
): BridgeServer {
  const connections = new ConnectionBudget(options.maxConnections);
  /** Sockets whose response is being written: node:http's refusals must not write into it. */
  const answering = new WeakSet<Duplex>();
  let requests = 0;
  let receiving = 0;
  let inFlight = 0;

  async function serve(incoming: http.IncomingMessage, outgoing: http.ServerResponse): Promise<void> {
    requests += 1;
    const bodyDeadline = performance.now() + options.bodyTimeoutMs;
    let bodyReceived = false;
    let holdsSlot = false;
    // handle() calls this only once the caller is verified (route, method and token checked).
    const readBody = async (): Promise<Uint8Array> => {
      connections.prove(incoming.socket);
      receiving += 1;
      let body: Uint8Array;
      try {
        body = await receiveBody(incoming, bodyDeadline, options.bodyTimeoutMs);
      } finally {
        receiving -= 1;
      }
      bodyReceived = true;
      if (inFlight >= options.maxInFlight) throw new Overloaded();
      inFlight += 1;
      holdsSlot = true;
      return body;
    };
    const request: BridgeRequest = { ...toBridgeRequest(incoming), readBody };
    try {
      const operatorAnswer = operator && answerOperatorRoute(request, operator);
      const response = await (operatorAnswer ?? answer(request));
      // A body the bridge did not read (refused before it, or cut short) is never waited for; an
      // operator's GET without one keeps its connection, as a probe or scraper expects.
      const complete = bodyReceived || (operatorAnswer !== undefined && !declaresBody(incoming));
      await send(outgoing, complete ? response : lastOnConnection(response), answering);
    } catch (error) {
      logger.error('response failed', {
        request_id: request.id,
        reason: error instanceof Error ? error.name : 'unknown',
      });
      outgoing.destroy();
    } finally {
      if (holdsSlot) inFlight -= 1;
      requests -= 1;
    }
  }

  const server = http.createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.headersTimeoutMs + options.bodyTimeoutMs + BACKSTOP_MS,
      connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL_MS,
    },
    (incoming, outgoing) => {
      void serve(incoming, outgoing);
    },
  );
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.on('connection', (socket: Socket) => connections.admit(socket));
  // Requests node:http refuses itself (headers too slow or too large, not HTTP) are answered in
  // the bridge's format too; a client that is gone gets nothing.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const refusal = refusalOf(error, options);
    if (refusal === undefined || !socket.writable || answering.has(socket)) {
      socket.destroy();
      return;
    }
    const response = errorResponse(refusal, crypto.randomUUID());
    logger.info('request refused', {
      request_id: response.headers['x-request-id'],
      status: refusal.status,
      error: refusal.code,
      reason: refusal.message,
    });
    socket.end(rawResponse(response), () => socket.destroy());
  });
  return {
    server,
    load: () => ({ connections: connections.size, requests, receiving, inFlight }),
  };
}

/**
 * The open connections, at most `max`. Past the bound a newcomer displaces the oldest connection
 * that has not yet carried a request with a valid token, so clients that hold connections without
 * ever authenticating cannot keep Auth0 out; when every connection has shown one, the newcomer
 * is refused (Auth0's own kept-open connections are never closed for it).
 */
class ConnectionBudget {
  private readonly open = new Set<Socket>();
  /** The connections that have not shown a valid token yet, oldest first (a Set keeps insertion order). */
  private readonly unproven = new Set<Socket>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.open.size;
  }

  admit(socket: Socket): void {
    if (this.open.size >= this.max) {
      const oldest = this.unproven.values().next().value;
      if (oldest === undefined) {
        socket.destroy();
        return;
      }
      this.forget(oldest);
      oldest.destroy();
    }
    this.open.add(socket);
    this.unproven.add(socket);
    socket.once('close', () => this.forget(socket));
  }

  /** The connection carried a request whose caller was verified. */
  prove(socket: Socket): void {
    this.unproven.delete(socket);
  }

  private forget(socket: Socket): void {
    this.open.delete(socket);
    this.unproven.delete(socket);
  }
}

/**
 * Receives a body: at most MAX_BODY_BYTES, complete before the deadline, and settled however the
 * request ends (a client that hangs up mid-body fires 'close', never 'end').
 */
function receiveBody(incoming: http.IncomingMessage, deadline: number, timeoutMs: number): Promise<Uint8Array> {
  const declared = Number(incoming.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) return Promise.reject(new PayloadTooLarge(MAX_BODY_BYTES));
  if (incoming.destroyed) return Promise.reject(connectionClosed());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error?: BridgeError) => {
      clearTimeout(timer);
      incoming.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      if (error === undefined) {
        resolve(Buffer.concat(chunks, size));
        return;
      }
      incoming.pause();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) settle(new PayloadTooLarge(MAX_BODY_BYTES));
      else chunks.push(chunk);
    };
    const onEnd = () => settle();
    const onClose = () => settle(connectionClosed());
    const timer = setTimeout(
      () =>
        settle(
          new RequestTimeout(`the body was not complete ${timeoutMs} ms after the headers (${S.BODY_TIMEOUT_MS.env})`),
        ),
      Math.max(0, deadline - performance.now()),
    );
    incoming.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onClose);
  });
}

function connectionClosed(): InvalidRequest {
  return new InvalidRequest('body', 'the connection closed before the body was complete');
}

/** What the bridge answers to a request node:http refused before the handler saw it; undefined: the client is gone. */
function refusalOf(error: NodeJS.ErrnoException, options: ServerOptions): BridgeError | undefined {
  switch (error.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new RequestTimeout(
        `the request was not received in time (${S.HEADERS_TIMEOUT_MS.env} ${options.headersTimeoutMs} ms for the headers)`,
      );
    case 'HPE_HEADER_OVERFLOW':
      return new InvalidRequest('headers', 'are larger than the server accepts');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new PayloadTooLarge(MAX_BODY_BYTES);
    default:
      return new InvalidRequest('request', 'is not valid HTTP/1.1');
  }
}

function toBridgeRequest(incoming: http.IncomingMessage): BridgeRequest {
  // headersDistinct keeps every value of a repeated header (node:http would otherwise keep only
  // the first Authorization): joined, a doubled Authorization is refused instead of half-read.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>; // a header named __proto__ stays a header
  for (const [name, values] of Object.entries(incoming.headersDistinct)) {
    if (values !== undefined) headers[name] = values.join(', ');
  }
  // Only the path matters for routing; the host is fixed so a Host header cannot steer anything.
  const path = new URL(incoming.url ?? '/', 'http://bridge.local').pathname;
  return { id: crypto.randomUUID(), method: incoming.method ?? 'GET', path, headers, body: EMPTY_BODY };
}

/** Whether a request announced a body (a probe's GET has none). */
function declaresBody(incoming: http.IncomingMessage): boolean {
  return incoming.headers['transfer-encoding'] !== undefined || Number(incoming.headers['content-length'] ?? '0') > 0;
}

/** The answer to an operator's route, or undefined when the path is not one this server serves. */
function answerOperatorRoute(request: BridgeRequest, operator: OperatorRoutes): Promise<BridgeResponse> | undefined {
  const metrics = operator.metrics;
  let answer: () => Promise<BridgeResponse>;
  switch (request.path) {
    case OPERATOR_PATHS.liveness:
      // Alive is all it says: no directory, no keys (a directory outage must not restart the server).
      answer = async () => jsonResponse(200, { status: 'ok' }, request.id);
      break;
    case OPERATOR_PATHS.readiness:
      answer = async () => {
        const report = await operator.readiness();
        return jsonResponse(
          report.ready ? 200 : 503,
          { status: report.ready ? 'ready' : 'not_ready', checks: report.checks },
          request.id,
        );
      };
      break;
    case OPERATOR_PATHS.metrics:
      if (metrics === undefined) return undefined;
      answer = async () => {
        let rendered: MetricsText;
        try {
          rendered = await metrics();
        } catch (error) {
          // Our own messages (a worker that did not answer the primary in time), never a request's data.
          const reason = error instanceof Error ? error.message : 'the metrics could not be collected';
          return jsonResponse(503, { status: 'unavailable', reason }, request.id, { 'retry-after': '5' });
        }
        return {
          status: 200,
          headers: {
            'content-type': rendered.contentType,
            'cache-control': 'no-store',
            'x-content-type-options': 'nosniff',
            'x-request-id': request.id,
          },
          body: rendered.text,
        };
      };
      break;
    default:
      return undefined;
  }
  if (request.method !== 'GET') {
    const refusal = errorResponse(new MethodNotAllowed(), request.id);
    return Promise.resolve({ ...refusal, headers: { ...refusal.headers, allow: 'GET' } });
  }
  return answer();
}

/** The response with `Connection: close`: node:http closes the connection once it is sent. */
function lastOnConnection(response: BridgeResponse): BridgeResponse {
  return { ...response, headers: { ...response.headers, connection: 'close' } };
}

/**
 * Writes headers and body in one go (a string body lets node:http send both in a single write).
 * Resolves once the response is sent or its connection is gone, whichever comes first: a response
 * nobody can receive must not hold its request's slot.
 */
function send(outgoing: http.ServerResponse, response: BridgeResponse, answering: WeakSet<Duplex>): Promise<void> {
  if (outgoing.destroyed) return Promise.resolve();
  const socket = outgoing.socket;
  if (socket) answering.add(socket);
  return new Promise((resolve) => {
    // 'close' follows a sent response as well as a lost connection.
    outgoing.once('close', () => {
      if (socket) answering.delete(socket);
      resolve();
    });
    outgoing.writeHead(response.status, {
      ...response.headers,
      'content-length': String(Buffer.byteLength(response.body)),
    });
    outgoing.end(response.body);
  });
}

/** A response written straight to the socket, for a request node:http refused (it has no response object); always the connection's last. */
function rawResponse(response: BridgeResponse): string {
  const headers = {
    ...response.headers,
    'content-length': String(Buffer.byteLength(response.body)),
    connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${response.status} ${http.STATUS_CODES[response.status]}\r\n${lines.join('\r\n')}\r\n\r\n${response.body}`;
}

/** How long a stopping server lets requests in flight finish before it closes their connections. */
export const WORKER_STOP_GRACE_MS = 10_000;

/**
 * What /readyz checks in one server process: the search connection is bound as the service
 * account (opened and bound now if it is not, within the directory timeouts) and the token
 * issuer's signing keys are loaded (fetched now if not). One check runs at a time: probes that
 * arrive meanwhile share it, so a burst of probes opens at most one directory connection and
 * fetches the keys at most once. A change between ready and not ready is logged once.
 */
export class ServerReadiness {
  private lastReady: boolean | undefined;
  readonly check = sharedInFlight(() => this.run());

  constructor(
    private readonly directory: { checkReady(): Promise<void> },
    private readonly keys: { loadKeys(): Promise<void> },
    /** Where the keys come from, for the report: AUTH_JWKS_URL or the issuer's own. */
    private readonly jwksUrl: string,
    private readonly logger: Logger,
  ) {}

  private async run(): Promise<ReadinessReport> {
    const [directory, keys] = await Promise.all([
      checkOf(this.directory.checkReady(), (why) => ({
        reason: `the search connection could not be bound as the service account: ${why}`,
        fix: `check that a server of ${S.LDAP_URLS.env} answers from this host and that the service account (${S.LDAP_BIND_DN.env} and its password) may bind`,
      })),
      checkOf(this.keys.loadKeys(), (why) => ({
        reason: `the signing keys at ${withoutSecrets(this.jwksUrl)} could not be loaded: ${why}`,
        fix: `check that ${S.AUTH_ISSUER.env} (or ${S.AUTH_JWKS_URL.env}) is right and its key set answers from this host`,
      })),
    ]);
    const report: ReadinessReport = {
      ready: directory.status === 'ok' && keys.status === 'ok',
      checks: { directory, signing_keys: keys },
    };
    if (report.ready !== this.lastReady) {
      if (!report.ready)
        this.logger.warn('not ready', {
          directory: directory.status === 'ok' ? 'ok' : directory.reason,
          signing_keys: keys.status === 'ok' ? 'ok' : keys.reason,
        });
      else if (this.lastReady === false) this.logger.info('ready again');
      this.lastReady = report.ready;
    }
    return report;
  }
}

/** A check's outcome; the failure's reason is the error's own `why` (our words), never its input. */
async function checkOf(
  work: Promise<void>,
  describe: (why: string) => { reason: string; fix: string },
): Promise<ReadinessCheck> {
  try {
    await work;
    return { status: 'ok' };
  } catch (error) {
    const why =
      error instanceof Error && 'why' in error && typeof error.why === 'string'
        ? error.why
        : error instanceof Error
          ? error.name
          : 'unknown error';
    return { status: 'not_ready', ...describe(why) };
  }
}

/** A URL as a report may show it: no user, password or query. */
function withoutSecrets(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

export interface RunningServer {
  /** http://host:port, with the port the server really got (PORT=0 picks one). */
  url: string;
  /** http://host:port of METRICS_PORT when this process listens on it; undefined: /metrics is on `url`. */
  metricsUrl: string | undefined;
  config: BridgeConfig;
  bridge: Bridge;
  server: http.Server;
  /** What this process counts (GET /metrics renders it, or serve's primary collects it). */
  metrics: PrometheusMetrics;
  /** What /readyz reports for this process. */
  readiness(): Promise<ReadinessReport>;
  /** Connections, requests and slots the server holds now. */
  load(): ServerLoad;
  /** Stops accepting, lets requests in flight finish (at most `graceMs`), closes the directory connections. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartServerOptions {
  /** Where log lines go; default stdout. */
  writeLog?: (line: string) => void;
  /** The lockout shield's per-account leases, shared by `serve`'s workers; default this process's own. */
  accountLeases?: AccountLeases;
  /**
   * What GET /metrics answers; default this process's own metrics. `serve`'s workers answer the
   * sum over all workers, which the primary collects.
   */
  metricsText?: () => Promise<MetricsText>;
  /**
   * Whether this process listens on METRICS_PORT when it is set; default true. `serve`'s workers
   * do not: their primary listens on it for all of them.
   */
  listenOnMetricsPort?: boolean;
}

/** Builds the bridge from validated configuration and listens on HOST:PORT (and METRICS_HOST:METRICS_PORT when set). */
export async function startBridgeServer(
  config: BridgeConfig,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const logger = new JsonLogger(config.logLevel, options.writeLog);
  const metrics = new PrometheusMetrics({ servers: config.directory.urls });
  const verifier = createTokenVerifier(config.auth, metrics);
  const bridge = createBridge(config, logger, new BearerTokenAuthorizer(verifier), {
    accountLeases: options.accountLeases,
    metrics,
  });
  const readiness = new ServerReadiness(bridge.directory, verifier, config.auth.jwksUrl, logger);
  const metricsText = sharedInFlight(options.metricsText ?? (() => metrics.render()));
  const separateMetricsPort = config.server.metricsPort !== undefined;
  const { server, load } = createBridgeServer(bridge.deps, config.server, {
    readiness: separateMetricsPort ? withoutReasons(readiness.check) : readiness.check,
    metrics: separateMetricsPort ? undefined : metricsText,
  });
  const metricsServer =
    separateMetricsPort && options.listenOnMetricsPort !== false
      ? createOperatorServer({ readiness: readiness.check, metrics: metricsText }, config.server, logger)
      : undefined;
  let metricsUrl: string | undefined;
  try {
    await listen(server, config.server.port, config.server.host, S.PORT.env);
    if (metricsServer) {
      metricsUrl = await listenForMetrics(metricsServer.server, config.server);
    }
  } catch (error) {
    if (server.listening) await closeServer(server, 0);
    await bridge.close();
    throw error;
  }
  return {
    url: urlOf(server, config.server.host),
    metricsUrl,
    config,
    bridge,
    server,
    metrics,
    readiness: readiness.check,
    load,
    async stop(graceMs = WORKER_STOP_GRACE_MS) {
      await Promise.all([closeServer(server, graceMs), metricsServer && closeServer(metricsServer.server, graceMs)]);
      await bridge.close();
    },
  };
}

/** Listens on METRICS_HOST:METRICS_PORT (which must be set) and says where: METRICS_PORT=0 picks a free port. */
export async function listenForMetrics(
  server: http.Server,
  options: Pick<ServerConfig, 'metricsPort' | 'metricsHost'>,
): Promise<string> {
  await listen(server, options.metricsPort ?? 0, options.metricsHost, S.METRICS_PORT.env);
  return urlOf(server, options.metricsHost);
}

/** http://host:port with the port the server really got. */
function urlOf(server: http.Server, host: string): string {
  const { port } = server.address() as AddressInfo;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * One run of `work` at a time, shared by every caller that arrives while it runs (a burst of
 * scrapes renders the metrics once).
 */
export function sharedInFlight<T>(work: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= work().finally(() => {
      running = undefined;
    });
    return running;
  };
}

/** Listens; a port in use is named by its setting (`setting`), with what to do. */
function listen(server: http.Server, port: number, host: string, setting: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `${setting} ${port} on ${host} is already in use; set ${setting} to another port (${setting}=0 picks a free one)`,
            )
          : error,
      );
    });
    server.listen(port, host, () => resolve());
  });
}

/** No new connections; idle keep-alive connections close now, busy ones when their response is sent or the grace ends. */
export function closeServer(server: http.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const forced = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(forced);
      resolve();
    });
    server.closeIdleConnections();
  });
}
