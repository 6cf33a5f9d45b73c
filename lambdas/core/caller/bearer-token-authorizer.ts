// The caller check for entry points that see the token themselves (the local server): the
// bearer token must verify and carry the route's scope.
import type { BridgeRequest, CallerAuthorizer } from '../http/handle.ts';
import type { AccessTokenVerifier } from '../ports.ts';
import { bearerTokenFrom, requireScope, type VerifiedClient } from './token-claims.ts';

export class BearerTokenAuthorizer implements CallerAuthorizer {
  constructor(private readonly verifier: AccessTokenVerifier) {}

  async authorize(request: BridgeRequest, requiredScope: string): Promise<VerifiedClient> {
    const client = await this.verifier.verify(bearerTokenFrom(request.headers.authorization));
    requireScope(client, requiredScope);
    return client;
  }
}
