// The UserDirectory the core talks to, over ldapts: one kept-open connection bound as the
// service account for searches, and a bounded pool of kept-open connections for user binds
// (a user is never bound on the search connection). Every result code that matters is mapped
// in BIND_RESULTS below; anything the bridge cannot interpret fails closed as 503.
import type { Client, Entry } from 'ldapts';
import { ResultCodeError } from 'ldapts';
import { BridgeError, DirectoryUnavailable } from '../contract/errors.ts';
import type { GroupSearchResult } from '../core/directory/groups.ts';
import { type BindOutcome, type Logger, NO_METRICS, type UserDirectory } from '../core/ports.ts';
import { formatWindowsGuid } from '../core/directory/guid.ts';
import type { DirectoryEntry } from '../core/profile/map-entry.ts';
import { BoundedPool } from './bounded-pool.ts';
import {
  describeError,
  directoryResultOf,
  LdapConnection,
  ServerHealth,
  type ConnectionStats,
  type LdapEndpoints,
} from './ldap-connection.ts';

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

export interface LdapDirectoryOptions extends Omit<LdapEndpoints, 'stats'> {
  baseDN: string;
  credentials: ServiceCredentialsSource;
  /** Attributes every user search asks for (the profile mapping's, account state, groups). */
  attributes: string[];
  /** Attributes holding a 16-byte Windows GUID (objectGUID): read as bytes, handed on as the GUID string. */
  guidAttributes?: string[];
  bindPoolSize: number;
  bindQueueLimit: number;
  /** Milliseconds a server that did not answer is tried only after the others. Default 30000. */
  failoverCooldownMs: number;
  /** Page group searches (Active Directory caps a plain search at 1000 entries). Default false. */
  pageGroupSearches?: boolean;
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

/**
 * Active Directory answers every failed bind with 49 and says why in the diagnostic message
 * ("... AcceptSecurityContext error, data 533, v4563"). AD reports disabled, expired, password
 * expired and must-change only when the password was right (checked against Samba AD DC, which
 * answers the same way), so those four may be named; a locked account (775) is reported whatever
 * the password, and unknown user (525) and logon-hours / workstation refusals (530, 531) would
 * each tell an attacker something, so they are all the same answer as a wrong password.
 */
const AD_BIND_SUBCODES: ReadonlyMap<string, BindOutcome> = new Map([
  ['525', { kind: 'invalid_credentials' }], // no such user
  ['52e', { kind: 'invalid_credentials' }], // wrong password
  ['530', { kind: 'invalid_credentials' }], // not permitted to log on at this time
  ['531', { kind: 'invalid_credentials' }], // not permitted to log on at this workstation
  ['532', { kind: 'account_state', state: 'password_expired' }],
  ['533', { kind: 'account_state', state: 'account_disabled' }],
  ['701', { kind: 'account_state', state: 'account_expired' }],
  ['773', { kind: 'account_state', state: 'password_change_required' }],
  ['775', { kind: 'invalid_credentials' }], // locked out: reported even for a wrong password
]);

/** What a refused user bind means: AD's sub-code when there is one, else the result code. */
export function bindOutcomeOf(code: number, diagnosticMessage: string): BindOutcome | undefined {
  if (code === 49) {
    const subcode = /\bdata ([0-9a-f]{3,8})\b/i.exec(diagnosticMessage)?.[1]?.toLowerCase();
    if (subcode !== undefined) return AD_BIND_SUBCODES.get(subcode) ?? { kind: 'invalid_credentials' };
  }
  return BIND_RESULTS.get(code);
}

/** What the benchmarks and tests count: sockets opened, and the operations sent for logins and lookups. */
export interface DirectoryStats extends ConnectionStats {
  userSearches: number;
  groupSearches: number;
  /** User binds (the service account's binds on new connections are not counted). */
  binds: number;
  /** Single entries read by DN (the lockout policy, once per policy lifetime). */
  entryReads: number;
}

export class LdapDirectory implements UserDirectory {
  private readonly search: LdapConnection;
  private readonly binds: BoundedPool<LdapConnection>;
  private readonly allBindConnections: LdapConnection[];
  private readonly logger: Logger;
  private readonly endpoints: LdapEndpoints;
  /** Sockets opened and operations sent so far, across the search connection and the bind pool. */
  readonly stats: DirectoryStats;

  constructor(private readonly options: LdapDirectoryOptions) {
    this.logger = options.logger;
    this.stats = { socketsOpened: 0, userSearches: 0, groupSearches: 0, binds: 0, entryReads: 0 };
    const endpoints = {
      ...options,
      stats: this.stats,
      health: options.health ?? new ServerHealth(options.failoverCooldownMs),
    };
    this.endpoints = endpoints;
    this.search = new LdapConnection(
      endpoints,
      (client, server) => this.bindServiceAccount(client, server),
      (client) => client.isBound,
      'search',
    );
    this.allBindConnections = Array.from(
      { length: options.bindPoolSize },
      (_, index) =>
        new LdapConnection(
          endpoints,
          async () => undefined,
          (client) => client.isConnected,
          `bind-${index}`,
        ),
    );
    this.binds = new BoundedPool(this.allBindConnections, options.bindQueueLimit, options.operationTimeoutMs);
  }

  async findUsers(filter: string, limit: number): Promise<DirectoryEntry[]> {
    this.stats.userSearches += 1;
    try {
      const result = await this.search.run(
        (client) =>
          client.search(this.options.baseDN, {
            scope: 'sub',
            filter,
            sizeLimit: limit,
            timeLimit: Math.max(1, Math.ceil(this.options.operationTimeoutMs / 1000)),
            derefAliases: 'never',
            attributes: this.options.attributes,
            explicitBufferAttributes: this.guidAttributes,
          }),
        'user_search',
      );
      // Search references (referrals, e.g. AD's other partitions) are ignored: never followed.
      return result.searchEntries.map((entry) => normaliseEntry(entry, this.guidAttributes));
    } catch (error) {
      throw asUnavailable(error, 'user search');
    }
  }

  async readEntry(dn: string, attributes: string[]): Promise<DirectoryEntry | undefined> {
    this.stats.entryReads += 1;
    try {
      const result = await this.search.run(
        (client) =>
          client.search(dn, {
            scope: 'base',
            filter: '(objectClass=*)',
            attributes,
            timeLimit: Math.max(1, Math.ceil(this.options.operationTimeoutMs / 1000)),
            derefAliases: 'never',
          }),
        'entry_read',
      );
      const [entry] = result.searchEntries;
      return entry === undefined ? undefined : normaliseEntry(entry, []);
    } catch (error) {
      // noSuchObject, insufficientAccessRights: the entry is not there for this account.
      if (error instanceof ResultCodeError && (error.code === 32 || error.code === 50)) return undefined;
      throw asUnavailable(error, 'entry read');
    }
  }

  /**
   * Group DNs for the group walk, no attributes, at most `limit`. Paged when the directory caps
   * plain searches (Active Directory: 1000 entries); otherwise one plain search with a size
   * limit, because OpenLDAP keeps one paged search per connection and concurrent logins share it.
   */
  async findGroupDNs(baseDN: string, filter: string, limit: number): Promise<GroupSearchResult> {
    this.stats.groupSearches += 1;
    const common = {
      scope: 'sub' as const,
      filter,
      attributes: ['1.1'], // RFC 4511: no attributes, the DNs are all we need
      derefAliases: 'never' as const,
      timeLimit: Math.max(1, Math.ceil(this.options.operationTimeoutMs / 1000)),
    };
    try {
      return await this.search.run(async (client) => {
        if (!this.options.pageGroupSearches) {
          const result = await client.search(baseDN, { ...common, sizeLimit: limit + 1 });
          const dns = result.searchEntries.map((entry) => entry.dn);
          return { dns: dns.slice(0, limit), complete: dns.length <= limit };
        }
        const dns: string[] = [];
        for await (const page of client.searchPaginated(baseDN, {
          ...common,
          paged: { pageSize: Math.min(limit + 1, 500) },
        })) {
          for (const entry of page.searchEntries) dns.push(entry.dn);
          if (dns.length > limit) break;
        }
        return { dns: dns.slice(0, limit), complete: dns.length <= limit };
      }, 'group_search');
    } catch (error) {
      if (error instanceof ResultCodeError && error.code === 4) return { dns: [], complete: false }; // sizeLimitExceeded
      throw asUnavailable(error, 'group search');
    }
  }

  private get guidAttributes(): string[] {
    return this.options.guidAttributes ?? [];
  }

  /**
   * Every entry the filter matches under the base DN, a page at a time (RFC 2696 paged results),
   * for the bulk exporter. Asks for the profile's attributes plus `extraAttributes`.
   */
  async *listUsers(filter: string, pageSize: number, extraAttributes: string[] = []): AsyncGenerator<DirectoryEntry[]> {
    const attributes = [...this.options.attributes, ...extraAttributes];
    // A connection of its own: servers keep one paged search per connection, and the exporter
    // runs group searches on the search connection between pages.
    const listing = new LdapConnection(
      this.endpoints,
      (client, server) => this.bindServiceAccount(client, server),
      (client) => client.isBound,
      'export',
    );
    let pages: AsyncGenerator<{ searchEntries: Entry[] }> | undefined;
    try {
      pages = await listing.run(
        async (client) =>
          client.searchPaginated(this.options.baseDN, {
            scope: 'sub',
            filter,
            attributes,
            derefAliases: 'never',
            explicitBufferAttributes: this.guidAttributes,
            paged: { pageSize },
          }),
        'user_search',
      );
      for await (const page of pages)
        yield page.searchEntries.map((entry) => normaliseEntry(entry, this.guidAttributes));
    } catch (error) {
      throw asUnavailable(error, 'user export');
    } finally {
      await listing.close();
    }
  }

  async verifyPassword(dn: string, password: string): Promise<BindOutcome> {
    const connection = await this.binds.acquire();
    this.stats.binds += 1;
    try {
      await connection.run((client) => client.bind(dn, password), 'user_bind');
      return { kind: 'ok' };
    } catch (error) {
      if (error instanceof ResultCodeError) {
        const outcome = bindOutcomeOf(error.code, error.message);
        if (outcome) return outcome;
      }
      throw asUnavailable(error, 'user bind');
    } finally {
      this.binds.release(connection);
    }
  }

  /**
   * Binds the search connection as the service account unless it is bound already, within the
   * connect and operation timeouts (the readiness probe). Throws DirectoryUnavailable saying why
   * not: no server answered (each URL with its reason), or the service bind was refused.
   */
  async checkReady(): Promise<void> {
    try {
      await this.search.ensureOpen();
    } catch (error) {
      throw asUnavailable(error, 'search connection');
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
  private async bindServiceAccount(client: Client, server: string): Promise<void> {
    const credentials = await this.credentialsToTry();
    const started = performance.now();
    try {
      await this.bindWithRotation(client, credentials);
      this.metrics.directoryOperation(server, 'service_bind', 'ok', performance.now() - started);
    } catch (error) {
      this.metrics.directoryOperation(server, 'service_bind', directoryResultOf(error), performance.now() - started);
      throw error;
    }
  }

  private get metrics() {
    return this.options.metrics ?? NO_METRICS;
  }

  /**
   * Credentials the directory refused, and when: they are not tried again for
   * SERVICE_BIND_RETRY_MS. Every request (and every /readyz probe) would otherwise bind again
   * with a wrong password, and the directory's lockout would lock the service account itself,
   * still locked once the password is fixed.
   */
  private refused: { credentials: ServiceCredentials; at: number } | undefined;

  /** The current credentials, or newer ones from a rotated secret; refuses, without a bind, ones refused lately. */
  private async credentialsToTry(): Promise<ServiceCredentials> {
    const credentials = await this.options.credentials.current().catch((error: unknown) => {
      throw new DirectoryUnavailable(`service account credentials unavailable: ${describeError(error)}`);
    });
    if (!this.wasRefused(credentials)) return credentials;
    // A rotated secret may hold new ones (the source limits how often it fetches).
    const refreshed = await this.refreshedCredentials();
    if (!refreshed || this.wasRefused(refreshed)) throw refusedServiceBind(true);
    return refreshed;
  }

  /** Binds; a refusal fetches the credentials once more (rotation) and tries those, unless refused lately too. */
  private async bindWithRotation(client: Client, credentials: ServiceCredentials): Promise<void> {
    if (await this.tryServiceBind(client, credentials)) return;
    this.refused = { credentials, at: Date.now() };
    const refreshed = await this.refreshedCredentials();
    if (refreshed && !this.wasRefused(refreshed)) {
      this.logger.warn('service account bind refused; retrying with refreshed credentials');
      if (await this.tryServiceBind(client, refreshed)) return;
      this.refused = { credentials: refreshed, at: Date.now() };
    }
    throw refusedServiceBind(false);
  }

  private refreshedCredentials(): Promise<ServiceCredentials | undefined> {
    return this.options.credentials.refresh().catch((error: unknown) => {
      throw new DirectoryUnavailable(`service account credentials unavailable: ${describeError(error)}`);
    });
  }

  /** The same DN and password the directory refused less than SERVICE_BIND_RETRY_MS ago. */
  private wasRefused(credentials: ServiceCredentials): boolean {
    const refused = this.refused;
    if (!refused || Date.now() - refused.at >= SERVICE_BIND_RETRY_MS) return false;
    return refused.credentials.bindDN === credentials.bindDN && refused.credentials.password === credentials.password;
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

/**
 * How long credentials the directory refused are not tried again: a few tries per lockout
 * observation window at most (Active Directory's default window is 30 minutes), so the bridge
 * never locks its own service account, while a directory that recovers is tried again by itself.
 */
export const SERVICE_BIND_RETRY_MS = 15 * 60_000;

function refusedServiceBind(remembered: boolean): DirectoryUnavailable {
  return new DirectoryUnavailable(
    remembered
      ? `the directory refused the service account bind (49 invalid credentials) less than ${SERVICE_BIND_RETRY_MS / 60_000} minutes ago; the same credentials are not tried again before then, so the directory does not lock the account: fix LDAP_BIND_PASSWORD (and restart) or the bind secret`
      : 'the directory refused the service account bind (49 invalid credentials)',
  );
}

function asUnavailable(error: unknown, during: string): BridgeError {
  if (error instanceof BridgeError) return error;
  if (error instanceof ResultCodeError) {
    if (error.code === 32 && during === 'user search')
      return new DirectoryUnavailable(`${during}: the base DN does not exist (32 noSuchObject)`);
    if (error.code === 4 && during === 'user export') {
      return new DirectoryUnavailable(
        `${during}: the directory stopped at its size limit (4); let the export account page through every user (OpenLDAP: limits dn.exact="<account>" size=unlimited)`,
      );
    }
    return new DirectoryUnavailable(`${during}: result code ${error.code} ${error.name}`);
  }
  return new DirectoryUnavailable(`${during}: ${describeError(error)}`);
}

/**
 * ldapts gives one value as a string, several as an array, none as []: here, always an array of
 * strings, names lower-cased. GUID attributes arrive as bytes and leave as GUID strings; a value
 * that is not 16 bytes is dropped (the entry then has no usable identifier and says so).
 */
export function normaliseEntry(entry: Entry, guidAttributes: readonly string[] = []): DirectoryEntry {
  const guids = new Set(guidAttributes.map((name) => name.toLowerCase()));
  const attributes: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const key = name.toLowerCase();
    const values = Array.isArray(value) ? value : [value];
    attributes[key] = guids.has(key)
      ? values.flatMap((item) => (typeof item !== 'string' && item.length === 16 ? [formatWindowsGuid(item)] : []))
      : values.map((item) => (typeof item === 'string' ? item : item.toString('utf8')));
  }
  return { dn: entry.dn, attributes };
}
