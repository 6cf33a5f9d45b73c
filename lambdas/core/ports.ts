// The interfaces the core needs from the outside world. Adapters implement them; entry points
// construct the adapters and hand them to `handle`. The core never imports an adapter.
import type { AccountStateCode } from '../contract/errors.ts';
import type { GroupDirectory } from './directory/groups.ts';
import type { DirectoryEntry } from './profile/map-entry.ts';
import type { VerifiedClient } from './caller/token-claims.ts';

export interface UserDirectory extends GroupDirectory {
  /**
   * Entries matching an already-escaped filter under the base DN, as the service account,
   * asking the server for at most `limit` entries. Throws DirectoryUnavailable when the
   * directory cannot answer.
   */
  findUsers(filter: string, limit: number): Promise<DirectoryEntry[]>;
  /**
   * Binds as `dn` with `password` on a user-bind connection (never the search connection).
   * Throws DirectoryUnavailable when the directory cannot answer.
   */
  verifyPassword(dn: string, password: string): Promise<BindOutcome>;
  /**
   * One entry by DN with the given attributes, as the service account (the lockout policy); undefined
   * when it does not exist or may not be read. Throws DirectoryUnavailable when the directory cannot answer.
   */
  readEntry(dn: string, attributes: string[]): Promise<DirectoryEntry | undefined>;
}

export type BindOutcome =
  | { kind: 'ok' }
  | { kind: 'invalid_credentials' }
  /** The password was right but the account may not log in. */
  | { kind: 'account_state'; state: AccountStateCode };

export interface AccessTokenVerifier {
  /**
   * Verifies signature, issuer, audience and lifetime, then the client-credentials claims.
   * Throws InvalidToken, or JwksUnavailable when the signing keys cannot be fetched.
   */
  verify(token: string): Promise<VerifiedClient>;
}

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** What a request ended as, for metrics: `ok`, an error code of lambdas/contract/errors.ts, or `lockout_shield` (held, answered as a wrong password). */
export type RequestOutcome = string;

/** The directory operations the bridge counts, by what they are for. */
export type DirectoryOperation =
  | 'connect'
  | 'service_bind'
  | 'user_search'
  | 'group_search'
  | 'entry_read'
  | 'user_bind';

/**
 * How a directory operation ended. `ok`: success. `answered`: the server answered with a result
 * code that is part of normal work (a wrong password, no such entry, a size limit). `error`: the
 * server answered that it cannot serve (busy, unavailable, other). `timeout`: no answer in time.
 * `connection_error`: the connection failed or was lost (refused, reset, TLS).
 */
export type DirectoryResult = 'ok' | 'answered' | 'error' | 'timeout' | 'connection_error';

/** How a bearer token check ended: remembered from an earlier check, verified now, or refused. */
export type TokenCheckResult = 'cache_hit' | 'verified' | 'rejected' | 'keys_unavailable';

/**
 * What the bridge counts for operators: Prometheus text on the on-prem server, CloudWatch
 * embedded metrics in the Lambdas. Labels are fixed words, route names and the configured
 * LDAP_URLS (which carry no credentials); never a username, DN, token or address of a caller.
 */
export interface BridgeMetrics {
  /** One request answered; `route` is undefined when no route matched. */
  requestHandled(route: string | undefined, outcome: RequestOutcome, durationMs: number): void;
  /** One directory operation on `server` (an entry of LDAP_URLS). */
  directoryOperation(server: string, operation: DirectoryOperation, result: DirectoryResult, durationMs: number): void;
  /** The bridge gave up on `server` and went on to the next one in LDAP_URLS. */
  directoryFailover(server: string): void;
  /** A connection to `server` opened, or one closed (for the number open). */
  directoryConnectionOpened(server: string): void;
  directoryConnectionClosed(server: string): void;
  /** One bearer token check. */
  tokenChecked(result: TokenCheckResult): void;
}

/** Counting off: where an entry point has nowhere to send metrics (tests, the exporter). */
export const NO_METRICS: BridgeMetrics = {
  requestHandled: () => undefined,
  directoryOperation: () => undefined,
  directoryFailover: () => undefined,
  directoryConnectionOpened: () => undefined,
  directoryConnectionClosed: () => undefined,
  tokenChecked: () => undefined,
};
