// The checks an access token must pass beyond its signature, issuer, audience and lifetime
// (those are jose's, in the token verifier adapter). Shared by the local server, the Lambdas
// and the API Gateway authorizer, so every entry point accepts exactly the same tokens.
import { InsufficientScope, InvalidToken } from '../../contract/errors.ts';
import { BEARER_AUTHORIZATION_PATTERN } from '../../contract/routes.ts';

const BEARER_AUTHORIZATION = new RegExp(BEARER_AUTHORIZATION_PATTERN);

export interface ClientPolicy {
  allowedClientIds: readonly string[];
  /** Seconds a token's `iat` may lie in the future (clock skew between Auth0 and us). */
  clockToleranceSeconds: number;
}

/** What a checked token says about its caller. */
export interface VerifiedClient {
  clientId: string;
  scopes: string[];
  /** Seconds since the epoch; the token must not be trusted after it. */
  expiresAt: number;
}

/**
 * Only Auth0 client-credentials tokens of an allowed machine-to-machine application pass:
 * `gty` must be "client-credentials", `sub` must be `<azp>@clients`, `azp` must be allowed.
 * A user's access token for the same audience (which Auth0 will issue unless an Action
 * denies it) fails here.
 */
export function checkClientCredentialsClaims(
  payload: Readonly<Record<string, unknown>>,
  policy: ClientPolicy,
  nowSeconds = Date.now() / 1000,
): VerifiedClient {
  const { gty, azp, sub, scope, exp, iat } = payload;
  const grantTypes = Array.isArray(gty) ? gty : [gty];
  if (grantTypes.length !== 1 || grantTypes[0] !== 'client-credentials')
    throw new InvalidToken('gty is not client-credentials');
  if (typeof azp !== 'string' || azp === '') throw new InvalidToken('azp missing');
  if (sub !== `${azp}@clients`) throw new InvalidToken('sub does not match azp');
  if (!policy.allowedClientIds.includes(azp)) throw new InvalidToken('client not allowed');
  if (typeof exp !== 'number') throw new InvalidToken('exp missing');
  // jose checks exp and nbf; a token issued in the future is as suspect as one not yet valid.
  if (iat !== undefined && (typeof iat !== 'number' || iat > nowSeconds + policy.clockToleranceSeconds)) {
    throw new InvalidToken('iat in the future');
  }
  if (scope !== undefined && typeof scope !== 'string') throw new InvalidToken('scope is not a string');
  const scopes = (scope ?? '').split(' ').filter((item) => item !== '');
  return { clientId: azp, scopes, expiresAt: exp };
}

/** The route's scope must be granted; a users:read token cannot call /login. */
export function requireScope(client: VerifiedClient, requiredScope: string): void {
  if (!client.scopes.includes(requiredScope)) throw new InsufficientScope(requiredScope);
}

/** The token from an `Authorization: Bearer <token>` header, or InvalidToken. */
export function bearerTokenFrom(authorization: string | null | undefined): string {
  if (!authorization) throw new InvalidToken('no Authorization header');
  const match = BEARER_AUTHORIZATION.exec(authorization);
  if (!match) throw new InvalidToken('Authorization is not a Bearer token');
  const token = match[1] as string;
  if (token.length > 8192) throw new InvalidToken('token too long');
  return token;
}
