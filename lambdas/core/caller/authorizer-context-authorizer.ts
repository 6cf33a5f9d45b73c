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
  async authorize(request: BridgeRequest, requiredScope: string): Promise<VerifiedClient> {
    const context = request.authorizerContext;
    const clientId = context?.clientId;
    const scope = context?.scope;
    if (typeof clientId !== 'string' || clientId === '' || typeof scope !== 'string') {
      throw new InvalidToken('no authorizer context');
    }
    const client: VerifiedClient = {
      clientId,
      scopes: scope.split(' ').filter((item) => item !== ''),
      expiresAt: Number(context?.expiresAt ?? 0),
    };
    requireScope(client, requiredScope);
    return client;
  }
}
