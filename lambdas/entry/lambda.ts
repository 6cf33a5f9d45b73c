// The login / get-user Lambda handler: API Gateway (REST, proxy integration) event in, the same
// handle() as the local server, proxy result out. The bridge, with its kept-open directory
// connections, is built on the first invocation and reused by every later one in the container.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { AuthorizerContextAuthorizer } from '../core/authorizer-context.ts';
import { loadConfig } from '../core/config.ts';
import { handle } from '../core/handle.ts';
import { JsonLogger } from '../adapters/json-logger.ts';
import { createBridge, type Bridge } from './compose.ts';

let bridge: Bridge | undefined;

function bridgeForThisContainer(): Bridge {
  if (!bridge) {
    const config = loadConfig(process.env);
    // Each request brings its own authorizer context; this one only stands in until then.
    bridge = createBridge(config, new JsonLogger(config.logLevel), new AuthorizerContextAuthorizer(undefined));
  }
  return bridge;
}

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const { deps } = bridgeForThisContainer();
  const response = await handle(toWebRequest(event), {
    ...deps,
    authorizer: new AuthorizerContextAuthorizer(event.requestContext.authorizer),
    requestId: event.requestContext.requestId,
  });
  return toProxyResult(response);
}

export function toWebRequest(event: APIGatewayProxyEvent): Request {
  const headers = new Headers();
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    for (const value of values ?? []) headers.append(name, value);
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined && !headers.has(name)) headers.set(name, value);
  }
  const body = event.body === null ? null : event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  const hasBody = event.httpMethod !== 'GET' && event.httpMethod !== 'HEAD';
  // `resource` is the route as declared (/login), whatever the stage or custom-domain base path.
  return new Request(`http://bridge.local${event.resource}`, {
    method: event.httpMethod,
    headers,
    body: hasBody && body ? new Uint8Array(body) : null,
  });
}

export async function toProxyResult(response: Response): Promise<APIGatewayProxyResult> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return { statusCode: response.status, headers, body: await response.text() };
}
