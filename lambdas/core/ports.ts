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
