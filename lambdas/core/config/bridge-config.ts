// The runtime configuration of the login / get-user service: environment variables read and
// validated once at start-up, the same contract for the Lambda and the local server. A bad
// value stops start-up with a message naming the variable, the value (never a secret's) and
// what was expected; every problem is reported at once.
import { ROUTES, type RouteName, type RouteScopes } from '../../contract/routes.ts';
import { ATTRIBUTE_NAME, type LogLevel, RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import type { AccountStateRules } from '../directory/account-states.ts';
import type { GroupSettings } from '../directory/groups.ts';
import { describeFilterProblem, describeFilterTemplateProblem } from '../directory/ldap-filter.ts';
import type { LockoutShieldSettings } from '../directory/lockout-shield.ts';
import { type DirectoryPreset, PRESETS, type PresetName } from '../directory/presets.ts';
import { PROFILE_FIELDS, type ProfileField, type ProfileMapping } from '../profile/map-entry.ts';
import { ConfigError, type Env, type SettingNamer, SettingsReader } from './read-settings.ts';

export { ConfigError, type Env, type LogLevel };

export type BindCredentialsSource =
  | { kind: 'static'; bindDN: string; password: string }
  | { kind: 'secrets-manager'; secretArn: string };

export interface DirectoryConfig {
  /** Tried in order: the first that answers serves. */
  urls: string[];
  baseDN: string;
  bindCredentials: BindCredentialsSource;
  /** PEM file with the private CA that signed the directory's certificate; default the system CAs. */
  caCertPath: string | undefined;
  /** Upgrade ldap:// connections with StartTLS before any bind. */
  startTls: boolean;
  /** Set when plain ldap:// to a non-loopback host is knowingly accepted (passwords in clear). */
  allowPlaintext: boolean;
  userFilter: string;
  preset: PresetName;
  /** Milliseconds to establish a TCP/TLS connection. */
  connectTimeoutMs: number;
  /** Milliseconds for one LDAP operation. */
  operationTimeoutMs: number;
  /** Connections kept open for user binds; concurrent logins beyond it wait. */
  bindPoolSize: number;
  /** How many logins may wait for a bind connection before more are shed with 503. */
  bindQueueLimit: number;
  /** Milliseconds a kept connection may sit unused before it is replaced instead of trusted. */
  idleTimeoutMs: number;
  /** Milliseconds a server that did not answer is tried only after the others in LDAP_URLS. */
  failoverCooldownMs: number;
  mapping: ProfileMapping;
  /** Which attributes say an account is disabled, expired or must change its password. */
  accountStates: AccountStateRules;
  /** Leave disabled and expired accounts out of /get-user and the export. */
  hideInactiveUsers: boolean;
  /** The lockout shield: how close to the directory's lockout the bridge may go. */
  lockoutShield: LockoutShieldSettings;
  groups: GroupSettings;
}

export interface AuthConfig {
  /** Exact `iss`, trailing slash included. */
  issuer: string;
  audience: string;
  jwksUrl: string;
  allowedClientIds: string[];
  /** The scope each route requires. */
  scopes: RouteScopes;
  /** Seconds of clock skew allowed on exp / nbf / iat. */
  clockToleranceSeconds: number;
  /** Seconds between two JWKS refetches caused by an unknown kid. */
  jwksCooldownSeconds: number;
  /** Verified tokens remembered until they expire. */
  verifiedTokenCacheSize: number;
}

export interface ServerConfig {
  host: string;
  port: number;
  /** Worker processes of `serve`; undefined: one per CPU. */
  workers: number | undefined;
  /** Requests handled at once by one process (counted from a received body); more are shed with 503. */
  maxInFlight: number;
  /** Connections one process keeps open. */
  maxConnections: number;
  /** Milliseconds a client has to send a request's headers. */
  headersTimeoutMs: number;
  /** Milliseconds a request has after its headers to finish its body. */
  bodyTimeoutMs: number;
  /** Milliseconds a kept-open connection may idle between requests. */
  keepAliveTimeoutMs: number;
  /** A port of its own for /metrics (0: any free one); undefined: /metrics on `port`. */
  metricsPort: number | undefined;
  /** The address `metricsPort` listens on. */
  metricsHost: string;
}

export interface BridgeConfig {
  directory: DirectoryConfig;
  auth: AuthConfig;
  server: ServerConfig;
  logLevel: LogLevel;
}

/** Auth0 refuses these app_metadata keys (user-import schema); a mapping must not produce them. */
const RESERVED_APP_METADATA_KEYS = new Set([
  '__tenant',
  '_id',
  'blocked',
  'clientID',
  'created_at',
  'email_verified',
  'email',
  'globalClientID',
  'global_client_id',
  'identities',
  'lastIP',
  'lastLogin',
  'loginsCount',
  'metadata',
  'multifactor',
  'updated_at',
  'user_id',
  'dn',
  'groups',
]);

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Reads the whole configuration, or throws ConfigError listing every problem. */
export function loadConfig(env: Env, name?: SettingNamer): BridgeConfig {
  const reader = new SettingsReader(env, name);
  const directory = readDirectoryConfig(reader);
  const auth = readAuthConfig(reader);
  const server = readServerConfig(reader);
  const logLevel = reader.oneOf(S.LOG_LEVEL);
  throwIfProblems(reader);
  return { directory, auth, server, logLevel };
}

/** The bulk exporter needs only the directory settings: it never checks tokens. */
export function loadDirectoryConfig(env: Env): { directory: DirectoryConfig; logLevel: LogLevel } {
  const reader = new SettingsReader(env);
  const directory = readDirectoryConfig(reader);
  const logLevel = reader.oneOf(S.LOG_LEVEL);
  throwIfProblems(reader);
  return { directory, logLevel };
}

/** The token authorizer needs only the token settings: it never talks to the directory. */
export function loadAuthorizerConfig(env: Env): { auth: AuthConfig; logLevel: LogLevel } {
  const reader = new SettingsReader(env);
  const auth = readAuthConfig(reader);
  const logLevel = reader.oneOf(S.LOG_LEVEL);
  throwIfProblems(reader);
  return { auth, logLevel };
}

function throwIfProblems(reader: SettingsReader): void {
  if (reader.found.length > 0) throw new ConfigError([...reader.found]);
}

function readServerConfig(reader: SettingsReader): ServerConfig {
  const port = reader.integer(S.PORT);
  return {
    host: reader.string(S.HOST),
    port,
    workers: reader.integer(S.SERVER_WORKERS),
    maxInFlight: reader.integer(S.MAX_IN_FLIGHT),
    maxConnections: reader.integer(S.MAX_CONNECTIONS),
    headersTimeoutMs: reader.integer(S.HEADERS_TIMEOUT_MS),
    bodyTimeoutMs: reader.integer(S.BODY_TIMEOUT_MS),
    keepAliveTimeoutMs: reader.integer(S.KEEP_ALIVE_TIMEOUT_MS),
    metricsPort: readMetricsPort(reader, port),
    metricsHost: reader.string(S.METRICS_HOST),
  };
}

/** METRICS_PORT, which must not be the API's own PORT (one of the two would fail to listen). */
function readMetricsPort(reader: SettingsReader, port: number): number | undefined {
  const metricsPort = reader.integer(S.METRICS_PORT);
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port)
    reader.problem(
      `${reader.name(S.METRICS_PORT)}: "${metricsPort}" expected a port other than ${reader.name(S.PORT)} (unset ${reader.name(S.METRICS_PORT)} to serve /metrics on ${reader.name(S.PORT)})`,
    );
  return metricsPort;
}

function readDirectoryConfig(reader: SettingsReader): DirectoryConfig {
  const preset = reader.oneOf(S.LDAP_PRESET);
  const presetDefaults = PRESETS[preset];
  const startTls = reader.boolean(S.LDAP_STARTTLS);
  const allowPlaintext = reader.boolean(S.LDAP_ALLOW_PLAINTEXT);
  const urls = reader.list(S.LDAP_URLS) ?? [];
  for (const url of urls) {
    const problem = describeLdapUrlProblem(url, startTls, allowPlaintext, reader.name);
    if (problem) reader.problem(`${reader.name(S.LDAP_URLS)}: "${withoutCredentials(url)}" ${problem}`);
  }
  const baseDN = reader.string(S.LDAP_BASE_DN) ?? '';

  const userFilter = reader.string(S.LDAP_USER_FILTER) ?? presetDefaults.userFilter;
  const filterProblem = describeFilterTemplateProblem(userFilter);
  if (filterProblem) reader.problem(`${reader.name(S.LDAP_USER_FILTER)}: "${userFilter}" ${filterProblem}`);

  const mapping = readMapping(reader, presetDefaults.mapping);
  const accountStates = reader.oneOf(S.LDAP_ACCOUNT_STATES) ?? presetDefaults.accountStates;
  const groups = readGroupSettings(reader, baseDN, presetDefaults.groups);

  return {
    urls,
    baseDN,
    bindCredentials: readBindCredentials(reader),
    caCertPath: reader.string(S.LDAP_CA_CERT),
    startTls,
    allowPlaintext,
    userFilter,
    preset,
    connectTimeoutMs: reader.integer(S.LDAP_CONNECT_TIMEOUT_MS),
    operationTimeoutMs: reader.integer(S.LDAP_TIMEOUT_MS),
    bindPoolSize: reader.integer(S.LDAP_BIND_POOL_SIZE),
    bindQueueLimit: reader.integer(S.LDAP_BIND_QUEUE_LIMIT),
    idleTimeoutMs: reader.integer(S.LDAP_IDLE_TIMEOUT_MS),
    failoverCooldownMs: reader.integer(S.LDAP_FAILOVER_COOLDOWN_MS),
    mapping,
    accountStates,
    hideInactiveUsers: reader.boolean(S.LDAP_HIDE_INACTIVE_USERS),
    lockoutShield: {
      enabled: reader.boolean(S.LDAP_LOCKOUT_SHIELD),
      reserve: reader.integer(S.LDAP_LOCKOUT_RESERVE),
      threshold: reader.integer(S.LDAP_LOCKOUT_THRESHOLD),
      policyDN: reader.string(S.LDAP_LOCKOUT_POLICY_DN),
      kind: accountStates,
    },
    groups,
  };
}

function readGroupSettings(reader: SettingsReader, baseDN: string, defaults: DirectoryPreset['groups']): GroupSettings {
  const mode = reader.oneOf(S.LDAP_GROUPS) ?? defaults.mode;
  const objectFilter = reader.string(S.LDAP_GROUP_OBJECT_FILTER) ?? defaults.objectFilter;
  const objectFilterProblem = describeFilterProblem(objectFilter);
  if (objectFilterProblem)
    reader.problem(`${reader.name(S.LDAP_GROUP_OBJECT_FILTER)}: "${objectFilter}" ${objectFilterProblem}`);
  const filter = reader.string(S.LDAP_GROUP_FILTER);
  if (filter !== undefined) {
    const problem = describeFilterProblem(filter);
    if (problem) reader.problem(`${reader.name(S.LDAP_GROUP_FILTER)}: "${filter}" ${problem}`);
    if (mode === 'member-of' || mode === 'none') {
      reader.problem(
        `${reader.name(S.LDAP_GROUP_FILTER)}: needs ${reader.name(S.LDAP_GROUPS)} nested or in-chain (the directory applies the filter to group entries; it is ${mode})`,
      );
    }
  }
  const memberUid = reader.string(S.LDAP_GROUP_MEMBER_UID_ATTRIBUTE);
  return {
    mode,
    memberOfAttribute: reader.string(S.LDAP_GROUPS_ATTRIBUTE),
    baseDN: reader.string(S.LDAP_GROUP_BASE_DN) ?? domainPartOf(baseDN),
    objectFilter,
    memberAttributes: reader.list(S.LDAP_GROUP_MEMBER_ATTRIBUTES) ?? defaults.memberAttributes,
    memberUidAttribute:
      memberUid === undefined ? defaults.memberUidAttribute : memberUid === 'none' ? undefined : memberUid,
    filter,
    maxDepth: reader.integer(S.LDAP_GROUP_MAX_DEPTH),
    maxCount: reader.integer(S.LDAP_GROUP_MAX_COUNT),
    cacheSeconds: reader.integer(S.LDAP_GROUP_CACHE_SECONDS),
  };
}

/**
 * The trailing dc= part of a DN (ou=people,dc=example,dc=com -> dc=example,dc=com): groups
 * usually live beside the users, not under them. The whole DN when it has no dc= part.
 */
export function domainPartOf(dn: string): string {
  const match = /(?:^|,)\s*(dc=[^,]+(?:,\s*dc=[^,]+)*)\s*$/i.exec(dn);
  return match?.[1] ?? dn;
}

/** A URL as it may be shown: a user name or password in it becomes "***". */
function withoutCredentials(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1***@');
}

function describeLdapUrlProblem(
  url: string,
  startTls: boolean,
  allowPlaintext: boolean,
  name: SettingNamer,
): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL (expected ldap://host:port or ldaps://host:port)';
  }
  if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:') return 'must start with ldap:// or ldaps://';
  if (!parsed.hostname) return 'has no host';
  if (parsed.username || parsed.password) {
    return `must not carry credentials (the service account goes in ${name(S.LDAP_BIND_DN)} and ${name(S.LDAP_BIND_PASSWORD)})`;
  }
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search || parsed.hash) {
    return `must be only scheme, host and port (put the base DN in ${name(S.LDAP_BASE_DN)})`;
  }
  if (parsed.protocol === 'ldap:' && !startTls && !allowPlaintext && !LOOPBACK_HOSTS.has(parsed.hostname)) {
    return `would send passwords in clear text: use ldaps://, set ${name(S.LDAP_STARTTLS)} true, or set ${name(S.LDAP_ALLOW_PLAINTEXT)} true if the network path is already encrypted`;
  }
  return undefined;
}

function readBindCredentials(reader: SettingsReader): BindCredentialsSource {
  const secretArn = reader.string(S.LDAP_BIND_SECRET_ARN);
  const bindDN = reader.string(S.LDAP_BIND_DN);
  const password = reader.string(S.LDAP_BIND_PASSWORD);
  const [arnName, dnName, passwordName] = [S.LDAP_BIND_SECRET_ARN, S.LDAP_BIND_DN, S.LDAP_BIND_PASSWORD].map(
    reader.name,
  );
  if (secretArn !== undefined || reader.has(S.LDAP_BIND_SECRET_ARN)) {
    if (bindDN !== undefined || password !== undefined) {
      reader.problem(`${arnName}: set either it or ${dnName}/${passwordName}, not both`);
    }
    return { kind: 'secrets-manager', secretArn: secretArn ?? '' };
  }
  if (bindDN === undefined || password === undefined) {
    reader.problem(
      `${dnName} and ${passwordName}: both are required (or ${arnName}): the service account that searches for users`,
    );
    return { kind: 'static', bindDN: bindDN ?? '', password: '' };
  }
  if (password.trim() === '')
    reader.problem(`${passwordName}: must not be blank (a blank password is an anonymous bind)`);
  return { kind: 'static', bindDN, password };
}

function readMapping(reader: SettingsReader, defaults: ProfileMapping): ProfileMapping {
  const prefix = reader.string(S.LDAP_USER_ID_PREFIX) ?? defaults.userIdPrefix;
  const mapping: ProfileMapping = { ...defaults, fields: { ...defaults.fields }, userIdPrefix: prefix };
  const parsed = reader.json(S.LDAP_PROFILE_MAPPING);
  if (parsed === undefined) return mapping;
  const mappingName = reader.name(S.LDAP_PROFILE_MAPPING);
  const bad = (key: string, value: unknown, expected: string) =>
    reader.problem(`${mappingName}: "${key}": ${JSON.stringify(value)} expected ${expected}`);
  const attributeOrNull = (key: string, value: unknown): string | null | undefined => {
    if (value === null) return null;
    if (typeof value === 'string' && ATTRIBUTE_NAME.test(value)) return value;
    bad(key, value, 'an LDAP attribute name, or null to leave the field out');
    return undefined;
  };

  const entries = Object.entries(parsed as Record<string, unknown>);
  for (const [key, value] of entries) {
    if ((PROFILE_FIELDS as readonly string[]).includes(key)) {
      const attribute = attributeOrNull(key, value);
      if (attribute !== undefined) mapping.fields = { ...mapping.fields, [key as ProfileField]: attribute };
    } else if (key === 'user_id') {
      const attribute = attributeOrNull(key, value);
      if (attribute === null) bad(key, value, 'an attribute name: user_id is mandatory');
      else if (attribute !== undefined) {
        if (attribute.toLowerCase() === 'dn' || attribute.toLowerCase() === 'distinguishedname')
          bad(key, value, 'a stable identifier, not the DN (DNs change on rename)');
        else mapping.userIdAttribute = attribute;
      }
    } else if (key === 'user_id_format') {
      if (value === 'text' || value === 'guid') mapping.userIdFormat = value;
      else bad(key, value, '"text" or "guid" (Active Directory\'s binary objectGUID)');
    } else if (key === 'groups_as') {
      if (value === 'name' || value === 'dn') mapping.groupsAs = value;
      else bad(key, value, '"name" or "dn"');
    } else if (key === 'email_verified') {
      if (typeof value === 'boolean') mapping.emailVerified = value;
      else bad(key, value, 'true or false');
    } else if (key === 'app_metadata' || key === 'user_metadata') {
      const extras = readMetadataKeys(key, value, key === 'app_metadata', bad);
      if (extras) {
        if (key === 'app_metadata') mapping.appMetadata = extras;
        else mapping.userMetadata = extras;
      }
    } else {
      bad(
        key,
        value,
        `one of the keys ${[...PROFILE_FIELDS, 'user_id', 'user_id_format', 'groups_as', 'email_verified', 'app_metadata', 'user_metadata'].join(', ')}`,
      );
    }
  }
  const formatGiven = entries.some(([key]) => key === 'user_id_format');
  const idIsGuid = mapping.userIdAttribute.toLowerCase() === 'objectguid';
  // A new user_id attribute brings its own format unless one is given: objectGUID is binary.
  if (!formatGiven && entries.some(([key]) => key === 'user_id')) mapping.userIdFormat = idIsGuid ? 'guid' : 'text';
  if (idIsGuid && mapping.userIdFormat !== 'guid')
    bad('user_id_format', mapping.userIdFormat, '"guid": objectGUID is 16 binary bytes');
  return mapping;
}

function readMetadataKeys(
  key: string,
  value: unknown,
  isAppMetadata: boolean,
  bad: (key: string, value: unknown, expected: string) => void,
): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    bad(key, value, 'an object of metadata key -> attribute name');
    return undefined;
  }
  const result: Record<string, string> = {};
  for (const [metadataKey, attribute] of Object.entries(value as Record<string, unknown>)) {
    const where = `${key}.${metadataKey}`;
    if (!/^[A-Za-z_][A-Za-z0-9_-]{0,99}$/.test(metadataKey))
      bad(where, metadataKey, 'a key of letters, digits, _ or - (Auth0 forbids . and $)');
    else if (isAppMetadata && RESERVED_APP_METADATA_KEYS.has(metadataKey))
      bad(where, metadataKey, 'a key Auth0 or the bridge does not reserve');
    else if (typeof attribute !== 'string' || !ATTRIBUTE_NAME.test(attribute))
      bad(where, attribute, 'an LDAP attribute name');
    else result[metadataKey] = attribute;
  }
  return result;
}

function readAuthConfig(reader: SettingsReader): AuthConfig {
  const issuer = reader.string(S.AUTH_ISSUER) ?? '';
  if (issuer) {
    const problem = describeHttpsUrlProblem(issuer);
    if (problem) reader.problem(`${reader.name(S.AUTH_ISSUER)}: "${issuer}" ${problem}`);
    else if (!issuer.endsWith('/'))
      reader.problem(
        `${reader.name(S.AUTH_ISSUER)}: "${issuer}" must end with "/" exactly as Auth0 writes iss (e.g. https://tenant.eu.auth0.com/)`,
      );
  }
  const jwksUrl =
    reader.string(S.AUTH_JWKS_URL) ?? (issuer ? `${issuer.replace(/\/?$/, '/')}.well-known/jwks.json` : '');
  if (jwksUrl) {
    const problem = describeHttpsUrlProblem(jwksUrl);
    if (problem) reader.problem(`${reader.name(S.AUTH_JWKS_URL)}: "${jwksUrl}" ${problem}`);
  }
  const scopes = Object.fromEntries(
    ROUTES.map((route) => [route.name, reader.string(S[route.scopeSetting])]),
  ) as Record<RouteName, string>;
  return {
    issuer,
    audience: reader.string(S.AUTH_AUDIENCE) ?? '',
    jwksUrl,
    allowedClientIds: reader.list(S.AUTH_ALLOWED_CLIENT_IDS) ?? [],
    scopes,
    clockToleranceSeconds: reader.integer(S.AUTH_CLOCK_TOLERANCE_SECONDS),
    jwksCooldownSeconds: reader.integer(S.AUTH_JWKS_COOLDOWN_SECONDS),
    verifiedTokenCacheSize: reader.integer(S.AUTH_TOKEN_CACHE_SIZE),
  };
}

/** https everywhere; plain http only to this machine (the local development issuer). */
function describeHttpsUrlProblem(value: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)) return undefined;
  return 'must be an https:// URL';
}
