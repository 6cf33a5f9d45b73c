// The caller check for the login / get-user Lambdas. They run in private subnets and cannot
// reach the JWKS, so API Gateway's TOKEN authorizer verifies the token and passes what it found
// in the request context, which the Lambda entry puts on the request; this re-checks the route's
// scope against it (defence in depth). A request with no authorizer context is refused: the API
// must never be deployed without one.
import { InvalidToken } from '../../contract/errors.ts';
import type { BridgeRequest, CallerAuthorizer } from '../http/handle.ts';
import { requireScope, type VerifiedClient } from './token-claims.ts';

/** What the authorizer puts in its result's `context` (API Gateway allows only strings, numbers, booleans). */
export interface AuthorizerContext {
  clientId: string;
  scope: string;
  expiresAt: number;
}

export function authorizerContextFor(client: VerifiedClient): AuthorizerContext {
  return { clientId: client.clientId, scope: client.scopes.join(' '), expiresAt: client.expiresAt };
}

export class AuthorizerContextAuthorizer implements CallerAuthorizer {
  constructor(
    /** Seconds of clock skew allowed on the token's expiry (AUTH_CLOCK_TOLERANCE_SECONDS). */
    private readonly clockToleranceSeconds: number,
    private readonly nowSeconds: () => number = () => Date.now() / 1000,
  ) {}

  async authorize(request: BridgeRequest, requiredScope: string): Promise<VerifiedClient> {
    const context = request.authorizerContext;
    const clientId = context?.clientId;
    const scope = context?.scope;
    if (typeof clientId !== 'string' || clientId === '' || typeof scope !== 'string') {
      throw new InvalidToken('no authorizer context');
    }
    const expiresAt = Number(context?.expiresAt);
    // API Gateway caches the authorizer's answer per token (authorizerCacheSeconds): a token that
    // expired since then is refused here, whatever the cache says.
    if (!Number.isFinite(expiresAt)) throw new InvalidToken('authorizer context without expiry');
    if (expiresAt + this.clockToleranceSeconds < this.nowSeconds()) throw new InvalidToken('token expired');
    const client: VerifiedClient = { clientId, scopes: scope.split(' ').filter((item) => item !== ''), expiresAt };
    requireScope(client, requiredScope);
    return client;
  }
}
