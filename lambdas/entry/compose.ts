// The composition root shared by the local server and the Lambda handlers: the only place that
// constructs adapters from validated configuration.
import { readFileSync } from 'node:fs';
import { RUNTIME_SETTINGS as S } from '../contract/settings.ts';
import { ConfigError } from '../core/config/read-settings.ts';
import type { BindCredentialsSource, BridgeConfig, DirectoryConfig } from '../core/config/bridge-config.ts';
import type { CallerAuthorizer, HandlerDeps, HandlerSettings } from '../core/http/handle.ts';
import type { BridgeMetrics, Logger } from '../core/ports.ts';
import type { UserProfileSettings } from '../core/profile/build-profile.ts';
import { accountStateAttributes } from '../core/directory/account-states.ts';
import { groupAttributes, GroupParentsCache, type GroupSettings } from '../core/directory/groups.ts';
import { attributesForProfile } from '../core/profile/map-entry.ts';
import {
  type AccountLeases,
  LocalAccountLeases,
  lockoutAttributes,
  LockoutShield,
} from '../core/directory/lockout-shield.ts';
import { domainPartOf } from '../core/config/bridge-config.ts';
import { LdapDirectory, type LdapDirectoryOptions, type ServiceCredentialsSource } from '../adapters/ldap-directory.ts';
import {
  createSecretsManagerReader,
  SecretsManagerServiceCredentials,
  StaticServiceCredentials,
} from '../adapters/service-credentials.ts';

export interface Bridge {
  deps: HandlerDeps;
  directory: LdapDirectory;
  close(): Promise<void>;
}

/** What handle() is told: the directory's settings and the routes' scopes (no server settings: the doctor has none). */
export function handlerSettings(config: Pick<BridgeConfig, 'directory' | 'auth'>): HandlerSettings {
  return {
    ...userProfileSettings(config.directory),
    userFilter: config.directory.userFilter,
    scopes: config.auth.scopes,
    timingDecoyDN: `cn=auth0-ldap-bridge-timing-decoy,${config.directory.baseDN}`,
  };
}

/** How entries become Auth0 users: the same settings for /login, /get-user and the exporter. */
export function userProfileSettings(directory: DirectoryConfig): UserProfileSettings {
  return {
    mapping: directory.mapping,
    groups: directory.groups,
    accountStates: directory.accountStates,
    hideInactiveUsers: directory.hideInactiveUsers,
  };
}

/**
 * The bridge's dependencies. The caller check comes from the entry point: the local server
 * verifies bearer tokens itself, the Lambda trusts API Gateway's authorizer; so jose stays out
 * of the Lambda bundle.
 */
export function createBridge(
  config: Pick<BridgeConfig, 'directory' | 'auth'>,
  logger: Logger,
  authorizer: CallerAuthorizer,
  options: {
    /** Shared with the other processes of one server (`serve`'s workers); default this process's own. */
    accountLeases?: AccountLeases | undefined;
    /** Where requests and directory operations are counted; default nowhere. */
    metrics?: BridgeMetrics | undefined;
  } = {},
): Bridge {
  const directory = createLdapDirectory(config.directory, logger, { metrics: options.metrics });
  return {
    deps: {
      settings: handlerSettings(config),
      directory,
      authorizer,
      logger,
      groupParents: groupParentsCache(config.directory.groups),
      lockoutShield: lockoutShield(config.directory, directory, logger, options.accountLeases),
      metrics: options.metrics,
    },
    directory,
    close: () => directory.close(),
  };
}

/** The lockout shield over this directory, or undefined when it is off or the directory kind has no lockout rules. */
export function lockoutShield(
  ldap: DirectoryConfig,
  directory: LdapDirectory,
  logger: Logger,
  accountLeases: AccountLeases = new LocalAccountLeases(),
): LockoutShield | undefined {
  if (lockoutAttributes(ldap.lockoutShield).length === 0) {
    if (ldap.lockoutShield.enabled)
      logger.warn('lockout shield: off, because the account-state rules are none', {
        fix: `set ${S.LDAP_ACCOUNT_STATES.env} to the directory's kind (openldap, 389ds, active-directory)`,
      });
    return undefined;
  }
  return new LockoutShield(
    ldap.lockoutShield,
    domainPartOf(ldap.baseDN),
    (dn, attributes) => directory.readEntry(dn, attributes),
    async (baseDN, filter, limit) => (await directory.findGroupDNs(baseDN, filter, limit)).dns,
    (where) =>
      logger.warn('lockout shield: no lockout policy found, so logins are not shielded', {
        reason: where,
        fix: `set ${S.LDAP_LOCKOUT_POLICY_DN.env} or ${S.LDAP_LOCKOUT_THRESHOLD.env}`,
      }),
    accountLeases,
  );
}

/** The memory of the group hierarchy for a nested walk, when LDAP_GROUP_CACHE_SECONDS allows one. */
export function groupParentsCache(groups: GroupSettings): GroupParentsCache | undefined {
  return groups.mode === 'nested' && groups.cacheSeconds > 0
    ? new GroupParentsCache(groups.cacheSeconds * 1000)
    : undefined;
}

/**
 * The directory adapter for a validated directory configuration: the bridge's, and the bulk
 * exporter's with `overrides` (longer operations, no bind pool).
 */
export function createLdapDirectory(
  ldap: DirectoryConfig,
  logger: Logger,
  overrides: Partial<LdapDirectoryOptions> = {},
): LdapDirectory {
  if (ldap.allowPlaintext)
    logger.warn(`${S.LDAP_ALLOW_PLAINTEXT.env}=true: passwords travel to the directory without TLS`);
  return new LdapDirectory({
    urls: ldap.urls,
    caPem: ldap.caCertPath === undefined ? undefined : readCaCertificate(ldap.caCertPath),
    startTls: ldap.startTls,
    connectTimeoutMs: ldap.connectTimeoutMs,
    operationTimeoutMs: ldap.operationTimeoutMs,
    maxIdleMs: ldap.idleTimeoutMs,
    logger,
    baseDN: ldap.baseDN,
    credentials: serviceCredentials(ldap.bindCredentials),
    attributes: userSearchAttributes(ldap),
    guidAttributes: ldap.mapping.userIdFormat === 'guid' ? [ldap.mapping.userIdAttribute] : [],
    pageGroupSearches: ldap.groups.mode === 'in-chain',
    bindPoolSize: ldap.bindPoolSize,
    bindQueueLimit: ldap.bindQueueLimit,
    failoverCooldownMs: ldap.failoverCooldownMs,
    ...overrides,
  });
}

/** What every user search asks for: the profile's attributes, the account-state rules' and the group lookup's. */
export function userSearchAttributes(ldap: DirectoryConfig): string[] {
  const all = [
    ...attributesForProfile(ldap.mapping),
    ...accountStateAttributes(ldap.accountStates),
    ...lockoutAttributes(ldap.lockoutShield),
    ...groupAttributes(ldap.groups),
  ];
  return [...new Map(all.map((name) => [name.toLowerCase(), name])).values()];
}

function serviceCredentials(source: BindCredentialsSource): ServiceCredentialsSource {
  if (source.kind === 'static')
    return new StaticServiceCredentials({ bindDN: source.bindDN, password: source.password });
  let reader: ReturnType<typeof createSecretsManagerReader> | undefined;
  return new SecretsManagerServiceCredentials(source.secretArn, {
    async getSecretString(secretArn) {
      reader ??= createSecretsManagerReader();
      return (await reader).getSecretString(secretArn);
    },
  });
}

function readCaCertificate(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([
      `${S.LDAP_CA_CERT.env}: "${path}" cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError([`${S.LDAP_CA_CERT.env}: "${path}" is not a PEM certificate`]);
  return pem;
}
