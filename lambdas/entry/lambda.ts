// The login / get-user Lambda handler: API Gateway (REST, proxy integration) event in, the same
// handle() as the local server, proxy result out. The bridge, with its kept-open directory
// connections, is built on the first invocation and reused by every later one in the container.
// What an invocation counted is written as CloudWatch embedded metrics when it ends, however it ends.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { AuthorizerContextAuthorizer } from '../core/caller/authorizer-context-authorizer.ts';
import { loadConfig } from '../core/config/bridge-config.ts';
import { handle, type BridgeRequest } from '../core/http/handle.ts';
import type { BridgeResponse } from '../core/http/responses.ts';
import { CloudWatchMetrics, metricsServiceFrom } from '../adapters/cloudwatch-metrics.ts';
import { JsonLogger } from '../adapters/json-logger.ts';
import { createBridge, type Bridge } from './compose.ts';

let bridge: Bridge | undefined;
let metrics: CloudWatchMetrics | undefined;

/** Made apart from the bridge, so an invocation whose configuration fails still flushes what it counted. */
function metricsForThisContainer(): CloudWatchMetrics {
  metrics ??= new CloudWatchMetrics({ service: metricsServiceFrom(process.env) });
  return metrics;
}

/**
 * The composition root of the login / get-user functions: the bridge is built on the first
 * invocation and reused by every later one in the container. The caller check reads API
 * Gateway's authorizer result, which each request brings along.
 */
function bridgeForThisContainer(): Bridge {
  if (bridge === undefined) {
    const config = loadConfig(process.env);
    bridge = createBridge(
      config,
      new JsonLogger(config.logLevel),
      new AuthorizerContextAuthorizer(config.auth.clockToleranceSeconds),
      { metrics: metricsForThisContainer() },
    );
  }
  return bridge;
}

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  try {
    const { deps } = bridgeForThisContainer();
    const response = await handle(toBridgeRequest(event), deps);
    return toProxyResult(response);
  } finally {
    metricsForThisContainer().flush();
  }
}

export function toBridgeRequest(event: APIGatewayProxyEvent): BridgeRequest {
  // API Gateway keeps header names as sent: lower-cased here, repeated values joined as HTTP does.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>; // a header named __proto__ stays a header
  const add = (name: string, value: string) => {
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  };
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    for (const value of values ?? []) add(name, value);
  }
  // An event with only `headers` (no multiValueHeaders) still counts.
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined && headers[name.toLowerCase()] === undefined) add(name, value);
  }
  const body =
    event.body === null
      ? new Uint8Array()
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64')
        : Buffer.from(event.body, 'utf8');
  // `resource` is the route as declared (/login), whatever the stage or custom-domain base path.
  return {
    id: event.requestContext.requestId,
    method: event.httpMethod,
    path: event.resource,
    headers,
    body,
    authorizerContext: event.requestContext.authorizer,
  };
}

export function toProxyResult(response: BridgeResponse): APIGatewayProxyResult {
  return { statusCode: response.status, headers: response.headers, body: response.body };
}
