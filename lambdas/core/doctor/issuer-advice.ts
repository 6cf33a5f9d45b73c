// The doctor's verdicts on the token issuer, as the token authorizer meets it: its key set (the
// JWKS must hold an RS256 signing key, the only algorithm the bridge accepts) and this machine's
// clock against the issuer's Date header (tokens are judged with AUTH_CLOCK_TOLERANCE_SECONDS).
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import { describeFailure, type IssuerObservation, type ProbeFailure, TIMEOUT } from './observations.ts';
import type { LinkResult } from './walk.ts';

/** Skew above this is a warning even within the configured tolerance: an unsynchronised clock drifts on. */
export const CLOCK_WARNING_SECONDS = 5;

/** A Date header has whole seconds: the issuer's clock read anywhere within the second after it. */
const DATE_RESOLUTION_MS = 1000;

type JsonWebKey = Record<string, unknown>;

/** A key jose would use for an RS256 signature: RSA, for signing, for RS256 or any algorithm. */
function isRs256SigningKey(key: JsonWebKey): boolean {
  return (
    key.kty === 'RSA' &&
    (key.alg === undefined || key.alg === 'RS256') &&
    (key.use === undefined || key.use === 'sig') &&
    typeof key.n === 'string' &&
    typeof key.e === 'string'
  );
}

export function judgeJwks(observation: IssuerObservation): LinkResult {
  const { url, durationMs } = observation;
  if (!observation.ok)
    return {
      status: 'fail',
      summary: `GET ${url} failed: ${describeFailure(observation.failure)}`,
      fix: unreachableIssuerFix(observation.failure),
      durationMs,
    };
  if (observation.status !== 200)
    return {
      status: 'fail',
      summary: `GET ${url} answered HTTP ${observation.status}`,
      fix:
        observation.status >= 500
          ? "the issuer is failing: while the token authorizer cannot fetch the keys it refuses tokens it has no cached key for (Auth0's status page says whether this is an outage)"
          : `no key set at this URL: check ${S.AUTH_ISSUER.env} (and ${S.AUTH_JWKS_URL.env}, by default ${S.AUTH_ISSUER.env} + .well-known/jwks.json)`,
      durationMs,
    };
  const keys = keysOf(observation.body);
  if (typeof keys === 'string')
    return {
      status: 'fail',
      summary: `${url} is not a JSON Web Key Set (${keys})`,
      fix: `${S.AUTH_JWKS_URL.env} must be the issuer's key set (by default ${S.AUTH_ISSUER.env} + .well-known/jwks.json)`,
      durationMs,
    };
  const signing = keys.filter(isRs256SigningKey);
  if (signing.length === 0) {
    const held = keys.map((key) =>
      `${String(key.kid ?? 'no kid')} (${String(key.kty)} ${String(key.alg ?? '')})`.trim(),
    );
    return {
      status: 'fail',
      summary: `${url} holds no RS256 signing key (${held.length > 0 ? held.join(', ') : 'no keys'})`,
      fix: "the bridge accepts RS256 tokens only: set the API's signing algorithm to RS256 in Auth0 (Applications > APIs > the bridge's API > Settings)",
      durationMs,
    };
  }
  const kids = signing.map((key) => String(key.kid ?? 'no kid'));
  return {
    status: 'ok',
    summary: `${url}: ${signing.length} RS256 signing key${signing.length === 1 ? '' : 's'} (kid ${kids.join(', ')})`,
    durationMs,
  };
}

function keysOf(body: string): JsonWebKey[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'not JSON';
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return 'no "keys" list';
  return keys.filter((key): key is JsonWebKey => typeof key === 'object' && key !== null);
}

function unreachableIssuerFix(failure: ProbeFailure): string {
  switch (failure.code) {
    case TIMEOUT:
      return "the issuer did not answer in time: check this machine's route to it (a proxy, a firewall); the token authorizer fetches the same URL";
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the issuer's host does not resolve: check ${S.AUTH_ISSUER.env} (https://TENANT.REGION.auth0.com/ or the custom domain tokens carry in iss)`;
    case 'ECONNREFUSED':
      return `nothing answers there: check ${S.AUTH_ISSUER.env} and ${S.AUTH_JWKS_URL.env}`;
    default:
      return `check ${S.AUTH_ISSUER.env} and ${S.AUTH_JWKS_URL.env}, and that this machine reaches the issuer over HTTPS`;
  }
}

/**
 * This machine's clock against the issuer's Date header. The header has whole seconds, and the
 * answer took a while to arrive: the skew is the gap between the issuer's second and the time the
 * request was under way, zero when they overlap. Positive: this machine is behind.
 */
export function clockSkewMs(date: Date, sentAt: number, receivedAt: number): number {
  const from = date.getTime();
  const until = from + DATE_RESOLUTION_MS;
  if (from > receivedAt) return from - receivedAt;
  if (until < sentAt) return until - sentAt;
  return 0;
}

export function judgeClock(observation: IssuerObservation, toleranceSeconds: number): LinkResult {
  if (!observation.ok)
    return {
      status: 'fail',
      summary: `the issuer did not answer (${describeFailure(observation.failure)}): the clock cannot be compared`,
      fix: unreachableIssuerFix(observation.failure),
    };
  const date = observation.date === undefined ? undefined : new Date(observation.date);
  if (date === undefined || Number.isNaN(date.getTime()))
    return {
      status: 'warn',
      summary: `the issuer's answer carries no usable Date header (${observation.date ?? 'none'}): this machine's clock cannot be compared`,
      fix: "keep this machine's clock synchronised (NTP)",
    };
  const skewMs = clockSkewMs(date, observation.sentAt, observation.receivedAt);
  const seconds = Math.abs(skewMs) / 1000;
  const shown = `${seconds.toFixed(1)} s ${skewMs > 0 ? 'behind' : 'ahead of'}`;
  const tolerance = `${S.AUTH_CLOCK_TOLERANCE_SECONDS.env} ${toleranceSeconds} s`;
  if (seconds > toleranceSeconds)
    return {
      status: 'fail',
      summary: `this machine's clock is ${shown} the issuer's (Date: ${observation.date}), more than ${tolerance}`,
      fix: 'synchronise the clock (NTP: chrony, systemd-timesyncd): tokens are refused as expired or not yet valid',
    };
  if (seconds > CLOCK_WARNING_SECONDS)
    return {
      status: 'warn',
      summary: `this machine's clock is ${shown} the issuer's (Date: ${observation.date}), within ${tolerance}`,
      fix: `synchronise the clock (NTP) before the skew exceeds ${tolerance}`,
    };
  return {
    status: 'ok',
    summary:
      skewMs === 0
        ? "this machine's clock agrees with the issuer's Date header (to its whole second)"
        : `this machine's clock is ${shown} the issuer's, within ${tolerance}`,
  };
}
