// The on-prem server: the same core as the Lambdas, for sites that host the bridge behind NGINX
// (and for development and the tests). createBridgeServer hands node:http's request to the core
// as plain data, caps the body while reading it, and sheds load past a fixed number of requests
// in flight; startBridgeServer is the composition root of one server process (`serve` runs one
// per worker).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { JsonLogger } from '../adapters/json-logger.ts';
import { RUNTIME_SETTINGS as S } from '../contract/settings.ts';
import { createTokenVerifier } from '../adapters/jwks-token-verifier.ts';
import { BearerTokenAuthorizer } from '../core/caller/bearer-token-authorizer.ts';
import type { BridgeConfig } from '../core/config/bridge-config.ts';
import { type Bridge, createBridge } from './compose.ts';
import { Overloaded, PayloadTooLarge } from '../contract/errors.ts';
import { handle, type BridgeRequest, type HandlerDeps } from '../core/http/handle.ts';
import { MAX_BODY_BYTES } from '../contract/request-schemas.ts';
import { errorResponse, type BridgeResponse } from '../core/http/responses.ts';

export interface ServerOptions {
  maxInFlight: number;
}

export function createBridgeServer(deps: HandlerDeps, options: ServerOptions): http.Server {
  let inFlight = 0;
  const server = http.createServer(async (incoming, outgoing) => {
    const requestId = crypto.randomUUID();
    if (inFlight >= options.maxInFlight) {
      await send(outgoing, errorResponse(new Overloaded(), requestId));
      return;
    }
    inFlight += 1;
    try {
      const body = await readCappedBody(incoming);
      if (body === 'too-large') {
        outgoing.setHeader('connection', 'close');
        await send(outgoing, errorResponse(new PayloadTooLarge(MAX_BODY_BYTES), requestId));
        incoming.destroy();
        return;
      }
      await send(outgoing, await handle(toBridgeRequest(incoming, body, requestId), deps));
    } catch (error) {
      deps.logger.error('request failed outside the handler', {
        request_id: requestId,
        reason: error instanceof Error ? error.name : 'unknown',
      });
      if (!outgoing.headersSent) await send(outgoing, errorResponse(error, requestId));
    } finally {
      inFlight -= 1;
    }
  });
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

/** Reads the body, stopping as soon as it passes the limit (a valid request is never that large). */
function readCappedBody(incoming: http.IncomingMessage): Promise<Buffer | 'too-large'> {
  const declared = Number(incoming.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        incoming.off('data', onData);
        incoming.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    incoming.on('data', onData);
    incoming.once('end', () => resolve(Buffer.concat(chunks)));
    incoming.once('error', reject);
  });
}

function toBridgeRequest(incoming: http.IncomingMessage, body: Buffer, id: string): BridgeRequest {
  // headersDistinct keeps every value of a repeated header (node:http would otherwise keep only
  // the first Authorization): joined, a doubled Authorization is refused instead of half-read.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>; // a header named __proto__ stays a header
  for (const [name, values] of Object.entries(incoming.headersDistinct)) {
    if (values !== undefined) headers[name] = values.join(', ');
  }
  // Only the path matters for routing; the host is fixed so a Host header cannot steer anything.
  const path = new URL(incoming.url ?? '/', 'http://bridge.local').pathname;
  return { id, method: incoming.method ?? 'GET', path, headers, body };
}

/** Writes headers and body in one go (a string body lets node:http send both in a single write); resolves once flushed. */
function send(outgoing: http.ServerResponse, response: BridgeResponse): Promise<void> {
  outgoing.writeHead(response.status, {
    ...response.headers,
    'content-length': String(Buffer.byteLength(response.body)),
  });
  return new Promise((resolve) => outgoing.end(response.body, resolve));
}

/** How long a stopping server lets requests in flight finish before it closes their connections. */
export const WORKER_STOP_GRACE_MS = 10_000;

export interface RunningServer {
  /** http://host:port, with the port the server really got (PORT=0 picks one). */
  url: string;
  config: BridgeConfig;
  bridge: Bridge;
  server: http.Server;
  /** Stops accepting, lets requests in flight finish (at most `graceMs`), closes the directory connections. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartServerOptions {
  /** Where log lines go; default stdout. */
  writeLog?: (line: string) => void;
}

/** Builds the bridge from validated configuration and listens on HOST:PORT. */
export async function startBridgeServer(
  config: BridgeConfig,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const logger = new JsonLogger(config.logLevel, options.writeLog);
  const bridge = createBridge(config, logger, new BearerTokenAuthorizer(createTokenVerifier(config.auth)));
  const server = createBridgeServer(bridge.deps, { maxInFlight: config.server.maxInFlight });
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
