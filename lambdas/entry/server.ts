// The on-prem server: the same core as the Lambdas, for sites that host the bridge behind NGINX
// (and for development and the tests). createBridgeServer hands node:http's request to the core
// as plain data and keeps the server available to Auth0 whatever other clients do: the core checks
// the token from the headers before the body is read (a request without a valid token never waits
// for its body), a body has a cap and a deadline, a request holds one of MAX_IN_FLIGHT slots only
// from its received body until it is answered or its client is gone, and connections are bounded
// (a newcomer displaces the oldest connection that has not shown a valid token). Every request
// gives back what it held however it ends. startBridgeServer is the composition root of one
// server process (`serve` runs one per worker).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { JsonLogger } from '../adapters/json-logger.ts';
import { RUNTIME_SETTINGS as S } from '../contract/settings.ts';
import { createTokenVerifier } from '../adapters/jwks-token-verifier.ts';
import { BearerTokenAuthorizer } from '../core/caller/bearer-token-authorizer.ts';
import type { BridgeConfig, ServerConfig } from '../core/config/bridge-config.ts';
import type { AccountLeases } from '../core/directory/lockout-shield.ts';
import { type Bridge, createBridge } from './compose.ts';
import { type BridgeError, InvalidRequest, Overloaded, PayloadTooLarge, RequestTimeout } from '../contract/errors.ts';
import { handle, type BridgeRequest, type HandlerDeps } from '../core/http/handle.ts';
import { MAX_BODY_BYTES } from '../contract/request-schemas.ts';
import { errorResponse, type BridgeResponse } from '../core/http/responses.ts';

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

export function createBridgeServer(deps: HandlerDeps, options: ServerOptions): BridgeServer {
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
      const response = await handle(request, deps);
      // A body the bridge did not read (refused before it, or cut short) is never waited for.
      await send(outgoing, bodyReceived ? response : lastOnConnection(response), answering);
    } catch (error) {
      deps.logger.error('response failed', {
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
    deps.logger.info('request refused', {
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

export interface RunningServer {
  /** http://host:port, with the port the server really got (PORT=0 picks one). */
  url: string;
  config: BridgeConfig;
  bridge: Bridge;
  server: http.Server;
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
}

/** Builds the bridge from validated configuration and listens on HOST:PORT. */
export async function startBridgeServer(
  config: BridgeConfig,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const logger = new JsonLogger(config.logLevel, options.writeLog);
  const bridge = createBridge(config, logger, new BearerTokenAuthorizer(createTokenVerifier(config.auth)), {
    accountLeases: options.accountLeases,
  });
  const { server, load } = createBridgeServer(bridge.deps, config.server);
  try {
    await listen(server, config.server.port, config.server.host);
  } catch (error) {
    await bridge.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return {
    url: `http://${host}:${port}`,
    config,
    bridge,
    server,
    load,
    async stop(graceMs = WORKER_STOP_GRACE_MS) {
      await closeServer(server, graceMs);
      await bridge.close();
    },
  };
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `${S.PORT.env} ${port} on ${host} is already in use; set ${S.PORT.env} to another port (${S.PORT.env}=0 picks a free one)`,
            )
          : error,
      );
    });
    server.listen(port, host, () => resolve());
  });
}

/** No new connections; idle keep-alive connections close now, busy ones when their response is sent or the grace ends. */
function closeServer(server: http.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const forced = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(forced);
      resolve();
    });
    server.closeIdleConnections();
  });
}
