// The UserDirectory the core talks to, over ldapts: one kept-open connection bound as the
// service account for searches, and a bounded pool of kept-open connections for user binds
// (a user is never bound on the search connection). Every result code that matters is mapped
// in BIND_RESULTS below; anything the bridge cannot interpret fails closed as 503.
import type { Client, Entry } from 'ldapts';
import { ResultCodeError } from 'ldapts';
import { BridgeError, DirectoryUnavailable } from '../core/errors.ts';
import type { BindOutcome, Logger, UserDirectory } from '../core/ports.ts';
import type { DirectoryEntry } from '../core/profile.ts';
import { BoundedPool } from './bind-pool.ts';
import { describeError, LdapConnection, ServerHealth, type ConnectionStats, type LdapEndpoints } from './ldap-connection.ts';

export interface ServiceCredentials {
  bindDN: string;
  password: string;
}

/** Where the service account's credentials come from (configuration, or Secrets Manager). */
export interface ServiceCredentialsSource {
  current(): Promise<ServiceCredentials>;
  /** Fetches again after the directory refused them (a rotated secret); undefined when nothing new can be had. */
  refresh(): Promise<ServiceCredentials | undefined>;
}

export interface LdapDirectoryOptions extends LdapEndpoints {
  baseDN: string;
  credentials: ServiceCredentialsSource;
  /** Attributes every user search asks for (the profile mapping's). */
  attributes: string[];
  bindPoolSize: number;
  bindQueueLimit: number;
  /** Milliseconds a server that did not answer is tried only after the others. Default 30000. */
  failoverCooldownMs?: number;
}

/**
 * What a failed user bind means. 49 is the ordinary wrong password (and, on OpenLDAP with
 * ppolicy, also a locked account: the server does not say which). Codes that name a problem of
 * the request rather than the server are also a plain `invalid_credentials`, so no answer tells
 * a caller more than "these credentials did not work".
 */
const BIND_RESULTS: ReadonlyMap<number, BindOutcome> = new Map([
  [49, { kind: 'invalid_credentials' }], // invalidCredentials
  [48, { kind: 'invalid_credentials' }], // inappropriateAuthentication
  [53, { kind: 'invalid_credentials' }], // unwillingToPerform (e.g. a bind the server refuses by policy)
  [19, { kind: 'invalid_credentials' }], // constraintViolation (password policy)
  [32, { kind: 'invalid_credentials' }], // noSuchObject (some servers, for the decoy DN)
  [34, { kind: 'invalid_credentials' }], // invalidDNSyntax
  [50, { kind: 'invalid_credentials' }], // insufficientAccessRights
]);

export class LdapDirectory implements UserDirectory {
  private readonly search: LdapConnection;
  private readonly binds: BoundedPool<LdapConnection>;
  private readonly allBindConnections: LdapConnection[];
  private readonly logger: Logger;
  /** Sockets opened so far, across the search connection and the bind pool. */
  readonly stats: ConnectionStats;

  constructor(private readonly options: LdapDirectoryOptions) {
    this.logger = options.logger;
    this.stats = options.stats ?? { socketsOpened: 0 };
    const endpoints = { ...options, stats: this.stats, health: options.health ?? new ServerHealth(options.failoverCooldownMs ?? 30_000) };
    this.search = new LdapConnection(endpoints, (client) => this.bindServiceAccount(client), (client) => client.isBound, 'search');
    this.allBindConnections = Array.from(
      { length: options.bindPoolSize },
      (_, index) => new LdapConnection(endpoints, async () => undefined, (client) => client.isConnected, `bind-${index}`),
    );
    this.binds = new BoundedPool(this.allBindConnections, options.bindQueueLimit, options.operationTimeoutMs);
  }

  async findUsers(filter: string, limit: number): Promise<DirectoryEntry[]> {
    try {
      const result = await this.search.run((client) =>
        client.search(this.options.baseDN, {
          scope: 'sub',
          filter,
          sizeLimit: limit,
          timeLimit: Math.max(1, Math.ceil(this.options.operationTimeoutMs / 1000)),
          derefAliases: 'never',
          attributes: this.options.attributes,
        }),
      );
      // Search references (referrals) are ignored: they are never followed.
      return result.searchEntries.map(normaliseEntry);
    } catch (error) {
      throw asUnavailable(error, 'user search');
    }
  }

  /**
   * Every entry the filter matches under the base DN, a page at a time (RFC 2696 paged results),
   * for the bulk exporter. Asks for the profile's attributes plus `extraAttributes`.
   */
  async *listUsers(filter: string, pageSize: number, extraAttributes: string[] = []): AsyncGenerator<DirectoryEntry[]> {
    const attributes = [...this.options.attributes, ...extraAttributes];
    let pages: AsyncGenerator<{ searchEntries: Entry[] }> | undefined;
    try {
      pages = await this.search.run(async (client) =>
        client.searchPaginated(this.options.baseDN, { scope: 'sub', filter, attributes, derefAliases: 'never', paged: { pageSize } }),
      );
      for await (const page of pages) yield page.searchEntries.map(normaliseEntry);
    } catch (error) {
      throw asUnavailable(error, 'user export');
    }
  }

  async verifyPassword(dn: string, password: string): Promise<BindOutcome> {
    const connection = await this.binds.acquire();
    try {
      await connection.run((client) => client.bind(dn, password));
      return { kind: 'ok' };
    } catch (error) {
      if (error instanceof ResultCodeError) {
        const outcome = BIND_RESULTS.get(error.code);
        if (outcome) return outcome;
      }
      throw asUnavailable(error, 'user bind');
    } finally {
      this.binds.release(connection);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.search.close(), ...this.allBindConnections.map((connection) => connection.close())]);
  }

  /**
   * Binds a new search connection as the service account; a refusal fetches the credentials once
   * more (rotation), then fails. Socket-level failures (a frozen or vanished server) are rethrown
   * as they are, so the connection tries the next server in LDAP_URLS.
   */
  private async bindServiceAccount(client: Client): Promise<void> {
    const credentials = await this.options.credentials.current().catch((error: unknown) => {
      throw new DirectoryUnavailable(`service account credentials unavailable: ${describeError(error)}`);
    });
    if (await this.tryServiceBind(client, credentials)) return;
    const refreshed = await this.options.credentials.refresh().catch((error: unknown) => {
      throw new DirectoryUnavailable(`service account credentials unavailable: ${describeError(error)}`);
    });
    if (refreshed) {
      this.logger.warn('service account bind refused; retrying with refreshed credentials');
      if (await this.tryServiceBind(client, refreshed)) return;
    }
    throw new DirectoryUnavailable('the directory refused the service account bind (49 invalid credentials)');
  }

  /** True when bound; false for 49 (wrong credentials); throws for any other answer or failure. */
  private async tryServiceBind(client: Client, credentials: ServiceCredentials): Promise<boolean> {
    try {
      await client.bind(credentials.bindDN, credentials.password);
      return true;
    } catch (error) {
      if (!(error instanceof ResultCodeError)) throw error;
      if (error.code === 49) return false;
      throw asUnavailable(error, 'service bind');
    }
  }
}

function asUnavailable(error: unknown, during: string): BridgeError {
  if (error instanceof BridgeError) return error;
  if (error instanceof ResultCodeError) {
    if (error.code === 32 && during === 'user search') return new DirectoryUnavailable(`${during}: the base DN does not exist (32 noSuchObject)`);
    if (error.code === 4 && during === 'user export') {
      return new DirectoryUnavailable(`${during}: the directory stopped at its size limit (4); let the export account page through every user (OpenLDAP: limits dn.exact="<account>" size=unlimited)`);
    }
    return new DirectoryUnavailable(`${during}: result code ${error.code} ${error.name}`);
  }
  return new DirectoryUnavailable(`${during}: ${describeError(error)}`);
}

/** ldapts gives one value as a string, several as an array, none as []: here, always an array of strings, names lower-cased. */
export function normaliseEntry(entry: Entry): DirectoryEntry {
  const attributes: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const values = Array.isArray(value) ? value : [value];
    attributes[name.toLowerCase()] = values.map((item) => (typeof item === 'string' ? item : item.toString('utf8')));
  }
  return { dn: entry.dn, attributes };
}
