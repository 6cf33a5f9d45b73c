// The API Gateway TOKEN authorizer Lambda. It runs outside the VPC (it must reach Auth0's JWKS),
// verifies the token with the same checks as the local server, and allows exactly the routes
// whose scope the token carries: the policy is cached per token, so it must not allow a
// users:read token to call /login on a later request. Denials are logged without the token.
// Token checks are counted by result and written as CloudWatch embedded metrics when each
// invocation ends, however it ends.
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { authorizerContextFor } from '../core/caller/authorizer-context-authorizer.ts';
import { loadAuthorizerConfig } from '../core/config/bridge-config.ts';
import { BridgeError, InsufficientScope, InvalidToken } from '../contract/errors.ts';
import { ROUTES, type RouteScopes } from '../contract/routes.ts';
import type { AccessTokenVerifier, Logger } from '../core/ports.ts';
import { bearerTokenFrom, type VerifiedClient } from '../core/caller/token-claims.ts';
import { CloudWatchMetrics, metricsServiceFrom } from '../adapters/cloudwatch-metrics.ts';
import { JsonLogger } from '../adapters/json-logger.ts';
import { createTokenVerifier } from '../adapters/jwks-token-verifier.ts';

export interface AuthorizerDeps {
  verifier: AccessTokenVerifier;
  scopes: RouteScopes;
  logger: Logger;
}

let deps: AuthorizerDeps | undefined;
let metrics: CloudWatchMetrics | undefined;

/** Made apart from the verifier, so an invocation whose configuration fails still flushes what it counted. */
function metricsForThisContainer(): CloudWatchMetrics {
  metrics ??= new CloudWatchMetrics({ service: metricsServiceFrom(process.env) });
  return metrics;
}

/** The composition root of the authorizer: built on the first invocation, reused by the container. */
function depsForThisContainer(): AuthorizerDeps {
  if (deps === undefined) {
    const { auth, logLevel } = loadAuthorizerConfig(process.env);
    deps = {
      verifier: createTokenVerifier(auth, metricsForThisContainer()),
      scopes: auth.scopes,
      logger: new JsonLogger(logLevel),
    };
  }
  return deps;
}

export async function handler(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  try {
    return await authorize(event, depsForThisContainer());
  } finally {
    metricsForThisContainer().flush();
  }
}

/**
 * Throws Error('Unauthorized') for a bad token (API Gateway answers 401); any other error (the
 * JWKS cannot be fetched) makes API Gateway answer with its authorizer-failure response, which
 * the stack maps to 503.
 */
export async function authorize(
  event: APIGatewayTokenAuthorizerEvent,
  { verifier, scopes, logger }: AuthorizerDeps,
): Promise<APIGatewayAuthorizerResult> {
  let client: VerifiedClient;
  try {
    client = await verifier.verify(bearerTokenFrom(event.authorizationToken));
  } catch (error) {
    const known = error instanceof BridgeError ? error : new InvalidToken('unverifiable');
    logger.info('token denied', {
      error: known.code,
      reason: 'why' in known ? String(known.why) : undefined,
      method_arn: event.methodArn,
    });
    if (known instanceof InvalidToken) throw new Error('Unauthorized');
    throw new Error('token keys unavailable');
  }
  const allowedRoutes = ROUTES.filter((route) => client.scopes.includes(scopes[route.name]));
  if (allowedRoutes.length === 0) {
    // A valid token that grants none of the routes: API Gateway answers 403 insufficient_scope.
    logger.info('token denied', {
      error: InsufficientScope.code,
      client_id: client.clientId,
      method_arn: event.methodArn,
    });
  } else {
    logger.info('token allowed', {
      client_id: client.clientId,
      routes: allowedRoutes.map((route) => route.path).join(' '),
    });
  }
  return {
    principalId: client.clientId,
    policyDocument: {
      Version: '2012-10-17',
      Statement:
        allowedRoutes.length === 0
          ? [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn }]
          : [
              {
                Action: 'execute-api:Invoke',
                Effect: 'Allow',
                Resource: allowedRoutes.map((route) => routeArn(event.methodArn, route.method, route.path)),
              },
            ],
    },
    context: { ...authorizerContextFor(client) },
  };
}

/** arn:aws:execute-api:<region>:<account>:<api>/<stage>/<method>/<path>, with the path of another route. */
export function routeArn(methodArn: string, method: string, path: string): string {
  const match = /^(arn:aws[\w-]*:execute-api:[\w-]+:\d{12}:[\w]+\/[\w-]+)\//.exec(methodArn);
  if (!match) throw new Error('unexpected methodArn');
  return `${match[1]}/${method}${path}`;
}
