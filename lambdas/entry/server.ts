// The local HTTP server: the same core as the Lambdas, for development and for sites that
// host the bridge on-prem behind NGINX. It converts node:http to Web Request/Response, caps
// the body while reading it, and sheds load past a fixed number of requests in flight.
import http from 'node:http';
import { Overloaded, PayloadTooLarge } from '../core/errors.ts';
import { handle, type HandlerDeps } from '../core/handle.ts';
import { MAX_BODY_BYTES } from '../core/request-schema.ts';
import { errorResponse } from '../core/respond.ts';

export interface ServerOptions {
  maxInFlight: number;
}

export function createBridgeServer(deps: Omit<HandlerDeps, 'requestId'>, options: ServerOptions): http.Server {
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
      const response = await handle(toWebRequest(incoming, body), { ...deps, requestId });
      await send(outgoing, response);
    } catch (error) {
      deps.logger.error('request failed outside the handler', { request_id: requestId, reason: error instanceof Error ? error.name : 'unknown' });
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

function toWebRequest(incoming: http.IncomingMessage, body: Buffer): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const method = incoming.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  // Only the path matters for routing; the host is fixed so a Host header cannot steer anything.
  const url = new URL(incoming.url ?? '/', 'http://bridge.local');
  return new Request(`http://bridge.local${url.pathname}`, { method, headers, body: hasBody ? new Uint8Array(body) : null });
}

async function send(outgoing: http.ServerResponse, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  headers['content-length'] = String(body.length);
  outgoing.writeHead(response.status, headers);
  await new Promise<void>((resolve) => outgoing.end(body, resolve));
}
