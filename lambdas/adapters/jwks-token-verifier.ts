// Verifies Auth0 access tokens with jose against the tenant's JWKS. jose checks the signature
// (RS256 only), issuer, audience and lifetime; the core's checkClientCredentialsClaims checks
// the rest. The key set is fetched lazily and cached; a token with an unknown `kid` makes jose
// refetch at most once per cooldown, so forged kids cannot cause a fetch storm.
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, errors as joseErrors } from 'jose';
import { InvalidToken, JwksUnavailable } from '../contract/errors.ts';
import { type AccessTokenVerifier, type BridgeMetrics, NO_METRICS } from '../core/ports.ts';
import { checkClientCredentialsClaims, type VerifiedClient } from '../core/caller/token-claims.ts';
import type { AuthConfig } from '../core/config/bridge-config.ts';

export interface JwksVerifierOptions {
  issuer: string;
  audience: string;
  jwksUrl: string;
  allowedClientIds: readonly string[];
  clockToleranceSeconds: number;
  /** Milliseconds to wait for the JWKS endpoint. Default 3000. */
  jwksTimeoutMs?: number;
  /** Milliseconds between two refetches caused by an unknown kid. Default 30000. */
  jwksCooldownMs: number;
  /** Verified tokens remembered until they expire, so one token is not re-verified on every call. Default 1000; 0 turns the cache off. */
  verifiedTokenCacheSize: number;
  /** Counts checks by result (cache hits among them); default not counted. */
  metrics?: BridgeMetrics;
}

export class JwksAccessTokenVerifier implements AccessTokenVerifier {
  private readonly keySet: ReturnType<typeof createRemoteJWKSet>;
  /** SHA-256 of the token -> what it proved. Insertion order is age order: the oldest is evicted first. */
  private readonly verified = new Map<string, VerifiedClient>();

  constructor(private readonly options: JwksVerifierOptions) {
    this.keySet = createRemoteJWKSet(new URL(options.jwksUrl), {
      timeoutDuration: options.jwksTimeoutMs ?? 3000,
      cooldownDuration: options.jwksCooldownMs,
      cacheMaxAge: 10 * 60_000,
    });
  }

  async verify(token: string): Promise<VerifiedClient> {
    const cacheSize = this.options.verifiedTokenCacheSize;
    const key = cacheSize > 0 ? createHash('sha256').update(token).digest('base64url') : '';
    const remembered = cacheSize > 0 ? this.verified.get(key) : undefined;
    const metrics = this.options.metrics ?? NO_METRICS;
    if (remembered) {
      if (remembered.expiresAt + this.options.clockToleranceSeconds > Date.now() / 1000) {
        metrics.tokenChecked('cache_hit');
        return remembered;
      }
      this.verified.delete(key);
    }
    let client: VerifiedClient;
    try {
      client = await this.verifyUncached(token);
    } catch (error) {
      metrics.tokenChecked(error instanceof JwksUnavailable ? 'keys_unavailable' : 'rejected');
      throw error;
    }
    metrics.tokenChecked('verified');
    if (cacheSize > 0) {
      if (this.verified.size >= cacheSize) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(key, client);
    }
    return client;
  }

  /**
   * Fetches the signing keys unless a copy younger than the cache age is held (the readiness
   * probe; a token arriving after it is verified without a fetch). Throws JwksUnavailable saying
   * why: no answer, not a key set, or a key set without keys. Concurrent calls share one fetch.
   */
  async loadKeys(): Promise<void> {
    if (!this.keySet.fresh) {
      try {
        await this.keySet.reload();
      } catch (error) {
        const problem = classifyVerificationError(error);
        throw problem instanceof JwksUnavailable ? problem : new JwksUnavailable('the JWKS response was not usable');
      }
    }
    if ((this.keySet.jwks()?.keys.length ?? 0) === 0) throw new JwksUnavailable('the JWKS holds no keys');
  }

  private async verifyUncached(token: string): Promise<VerifiedClient> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.keySet, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ['RS256'],
        requiredClaims: ['exp'],
        clockTolerance: this.options.clockToleranceSeconds,
      }));
    } catch (error) {
      throw classifyVerificationError(error);
    }
    return checkClientCredentialsClaims(payload, {
      allowedClientIds: this.options.allowedClientIds,
      clockToleranceSeconds: this.options.clockToleranceSeconds,
    });
  }
}

/** The token verifier for the local server and the API Gateway authorizer alike. */
export function createTokenVerifier(auth: AuthConfig, metrics?: BridgeMetrics): JwksAccessTokenVerifier {
  return new JwksAccessTokenVerifier({
    metrics,
    issuer: auth.issuer,
    audience: auth.audience,
    jwksUrl: auth.jwksUrl,
    allowedClientIds: auth.allowedClientIds,
    clockToleranceSeconds: auth.clockToleranceSeconds,
    jwksCooldownMs: auth.jwksCooldownSeconds * 1000,
    verifiedTokenCacheSize: auth.verifiedTokenCacheSize,
  });
}

/** A problem with the token is 401; a problem fetching the keys is 503, never "invalid token". */
function classifyVerificationError(error: unknown): InvalidToken | JwksUnavailable {
  if (error instanceof joseErrors.JWKSTimeout) return new JwksUnavailable('JWKS request timed out');
  if (error instanceof joseErrors.JWKSInvalid) return new JwksUnavailable('JWKS response is not a key set');
  if (error instanceof joseErrors.JOSEError) {
    if (error.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/i.test(error.message)) {
      return new JwksUnavailable(error.message);
    }
    return new InvalidToken(error.code);
  }
  // fetch itself failed (DNS, refused, TLS): the keys are unreachable.
  if (error instanceof TypeError && /fetch/i.test(error.message)) {
    // undici's "fetch failed" says why only in its cause (ECONNREFUSED, ENOTFOUND, a TLS code).
    const cause = (error.cause as { code?: unknown } | undefined)?.code;
    return new JwksUnavailable(`JWKS fetch failed: ${error.message}${typeof cause === 'string' ? ` (${cause})` : ''}`);
  }
  return new InvalidToken('unverifiable');
}
