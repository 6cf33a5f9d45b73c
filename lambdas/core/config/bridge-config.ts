// The runtime configuration of the login / get-user service: environment variables read and
// validated once at start-up, the same contract for the Lambda and the local server. A bad
// value stops start-up with a message naming the variable, the value (never a secret's) and
// what was expected; every problem is reported at once.
import { ACCOUNT_STATE_RULES, type AccountStateRules } from '../directory/account-states.ts';
import { GROUP_MODES, type GroupSettings } from '../directory/groups.ts';
import { describeFilterProblem, describeFilterTemplateProblem } from '../directory/ldap-filter.ts';
import { PRESETS, PRESET_NAMES, type DirectoryPreset, type PresetName } from '../directory/presets.ts';
import { PROFILE_FIELDS, type ProfileField, type ProfileMapping } from '../profile/map-entry.ts';

export type Env = Readonly<Record<string, string | undefined>>;

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
  /** Upgrade ldap:// connections with StartTLS before any bind. Default false. */
  startTls: boolean;
  /** Set when plain ldap:// to a non-loopback host is knowingly accepted (passwords in clear). */
  allowPlaintext: boolean;
  userFilter: string;
  preset: PresetName;
  /** Milliseconds to establish a TCP/TLS connection. Default 2000. */
  connectTimeoutMs: number;
  /** Milliseconds for one LDAP operation. Default 3000. */
  operationTimeoutMs: number;
  /** Connections kept open for user binds; concurrent logins beyond it wait. Default 4. */
  bindPoolSize: number;
  /** How many logins may wait for a bind connection before more are shed with 503. Default 64. */
  bindQueueLimit: number;
  /** Milliseconds a kept connection may sit unused before it is replaced instead of trusted. Default 60000. */
  idleTimeoutMs: number;
  /** Milliseconds a server that did not answer is tried only after the others in LDAP_URLS. Default 30000. */
  failoverCooldownMs: number;
  mapping: ProfileMapping;
  /** Which attributes say an account is disabled, expired or must change its password. */
  accountStates: AccountStateRules;
  /** Leave disabled and expired accounts out of /get-user and the export. Default true. */
  hideInactiveUsers: boolean;
  groups: GroupSettings;
}

export interface AuthConfig {
  /** Exact `iss`, trailing slash included. */
  issuer: string;
  audience: string;
  jwksUrl: string;
  allowedClientIds: string[];
  scopes: { login: string; getUser: string };
  /** Seconds of clock skew allowed on exp / nbf / iat. */
  clockToleranceSeconds: number;
  /** Seconds between two JWKS refetches caused by an unknown kid. Default 30. */
  jwksCooldownSeconds: number;
  /** Verified tokens remembered until they expire. Default 1000; 0 turns the cache off. */
  verifiedTokenCacheSize: number;
}

export interface ServerConfig {
  host: string;
  port: number;
  /** Requests handled at once by one process; more are shed with 503. Default 256. */
  maxInFlight: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface BridgeConfig {
  directory: DirectoryConfig;
  auth: AuthConfig;
  server: ServerConfig;
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
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

const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Reads the whole configuration, or throws ConfigError listing every problem. */
export function loadConfig(env: Env): BridgeConfig {
  const reader = new EnvReader(env);
  const directory = readDirectoryConfig(reader);
  const auth = readAuthConfig(reader);
  const server: ServerConfig = {
    host: reader.string('HOST', '127.0.0.1'),
    port: reader.integer('PORT', 8080, 0, 65535, 'a TCP port'),
    maxInFlight: reader.integer('MAX_IN_FLIGHT', 256, 1, 100_000, 'a count of requests'),
  };
  const logLevel = reader.oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info');
  reader.throwIfProblems();
  return { directory, auth, server, logLevel };
}

/** The bulk exporter needs only the directory settings: it never checks tokens. */
export function loadDirectoryConfig(env: Env): { directory: DirectoryConfig; logLevel: LogLevel } {
  const reader = new EnvReader(env);
  const directory = readDirectoryConfig(reader);
  const logLevel = reader.oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info');
  reader.throwIfProblems();
  return { directory, logLevel };
}

/** The token authorizer needs only the token settings: it never talks to the directory. */
export function loadAuthorizerConfig(env: Env): { auth: AuthConfig; logLevel: LogLevel } {
  const reader = new EnvReader(env);
  const auth = readAuthConfig(reader);
  const logLevel = reader.oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info');
  reader.throwIfProblems();
  return { auth, logLevel };
}

function readDirectoryConfig(reader: EnvReader): DirectoryConfig {
  const preset = reader.oneOf('LDAP_PRESET', PRESET_NAMES, 'openldap');
  const presetDefaults = PRESETS[preset];
  const startTls = reader.boolean('LDAP_STARTTLS', false);
  const allowPlaintext = reader.boolean('LDAP_ALLOW_PLAINTEXT', false);
  const urls = reader.list('LDAP_URLS', 'at least one ldap:// or ldaps:// URL');
  for (const url of urls) {
    const problem = describeLdapUrlProblem(url, startTls, allowPlaintext);
    if (problem) reader.problem(`LDAP_URLS: "${url}" ${problem}`);
  }
  const baseDN = reader.required('LDAP_BASE_DN', 'the search base DN, e.g. ou=people,dc=example,dc=com');

  const userFilter = reader.string('LDAP_USER_FILTER', presetDefaults.userFilter);
  const filterProblem = describeFilterTemplateProblem(userFilter);
  if (filterProblem) reader.problem(`LDAP_USER_FILTER: "${userFilter}" ${filterProblem}`);

  const mapping = readMapping(reader, presetDefaults.mapping);
  const groups = readGroupSettings(reader, baseDN, presetDefaults.groups);

  return {
    urls,
    baseDN,
    bindCredentials: readBindCredentials(reader),
    caCertPath: reader.optional('LDAP_CA_CERT'),
    startTls,
    allowPlaintext,
    userFilter,
    preset,
    connectTimeoutMs: reader.integer('LDAP_CONNECT_TIMEOUT_MS', 2000, 100, 60_000, 'milliseconds'),
    operationTimeoutMs: reader.integer('LDAP_TIMEOUT_MS', 3000, 100, 60_000, 'milliseconds'),
    bindPoolSize: reader.integer('LDAP_BIND_POOL_SIZE', 4, 1, 64, 'a connection count'),
    bindQueueLimit: reader.integer('LDAP_BIND_QUEUE_LIMIT', 64, 0, 10_000, 'a count of waiting logins'),
    idleTimeoutMs: reader.integer('LDAP_IDLE_TIMEOUT_MS', 60_000, 100, 3_600_000, 'milliseconds'),
    failoverCooldownMs: reader.integer('LDAP_FAILOVER_COOLDOWN_MS', 30_000, 100, 3_600_000, 'milliseconds'),
    mapping,
    accountStates: reader.oneOf('LDAP_ACCOUNT_STATES', ACCOUNT_STATE_RULES, presetDefaults.accountStates),
    hideInactiveUsers: reader.boolean('LDAP_HIDE_INACTIVE_USERS', true),
    groups,
  };
}

function readGroupSettings(reader: EnvReader, baseDN: string, defaults: DirectoryPreset['groups']): GroupSettings {
  const mode = reader.oneOf('LDAP_GROUPS', GROUP_MODES, defaults.mode);
  const memberOfAttribute = reader.string('LDAP_GROUPS_ATTRIBUTE', 'memberOf');
  if (!ATTRIBUTE_NAME.test(memberOfAttribute))
    reader.problem(`LDAP_GROUPS_ATTRIBUTE: "${memberOfAttribute}" is not an LDAP attribute name`);
  const objectFilter = reader.string('LDAP_GROUP_OBJECT_FILTER', defaults.objectFilter);
  const objectFilterProblem = describeFilterProblem(objectFilter);
  if (objectFilterProblem) reader.problem(`LDAP_GROUP_OBJECT_FILTER: "${objectFilter}" ${objectFilterProblem}`);
  const filter = reader.optional('LDAP_GROUP_FILTER');
  if (filter !== undefined) {
    const problem = describeFilterProblem(filter);
    if (problem) reader.problem(`LDAP_GROUP_FILTER: "${filter}" ${problem}`);
    if (mode === 'member-of' || mode === 'none') {
      reader.problem(
        `LDAP_GROUP_FILTER: needs LDAP_GROUPS=nested or in-chain (the directory applies the filter to group entries; LDAP_GROUPS is ${mode})`,
      );
    }
  }
  const memberAttributes =
    reader
      .optional('LDAP_GROUP_MEMBER_ATTRIBUTES')
      ?.split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '') ?? defaults.memberAttributes;
  for (const name of memberAttributes) {
    if (!ATTRIBUTE_NAME.test(name))
      reader.problem(`LDAP_GROUP_MEMBER_ATTRIBUTES: "${name}" is not an LDAP attribute name`);
  }
  if (memberAttributes.length === 0)
    reader.problem('LDAP_GROUP_MEMBER_ATTRIBUTES: needs at least one attribute (e.g. member)');
  const memberUid = reader.optional('LDAP_GROUP_MEMBER_UID_ATTRIBUTE');
  if (memberUid !== undefined && memberUid !== 'none' && !ATTRIBUTE_NAME.test(memberUid)) {
    reader.problem(`LDAP_GROUP_MEMBER_UID_ATTRIBUTE: "${memberUid}" is not an LDAP attribute name (or none)`);
  }
  const memberUidAttribute =
    memberUid === undefined ? defaults.memberUidAttribute : memberUid === 'none' ? undefined : memberUid;
  return {
    mode,
    memberOfAttribute,
    baseDN: reader.string('LDAP_GROUP_BASE_DN', domainPartOf(baseDN)),
    objectFilter,
    memberAttributes,
    memberUidAttribute,
    filter,
    maxDepth: reader.integer('LDAP_GROUP_MAX_DEPTH', 10, 1, 100, 'levels'),
    maxCount: reader.integer('LDAP_GROUP_MAX_COUNT', 1000, 1, 10_000, 'groups'),
    cacheSeconds: reader.integer('LDAP_GROUP_CACHE_SECONDS', 60, 0, 3600, 'seconds'),
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

function describeLdapUrlProblem(url: string, startTls: boolean, allowPlaintext: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL (expected ldap://host:port or ldaps://host:port)';
  }
  if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:') return 'must start with ldap:// or ldaps://';
  if (!parsed.hostname) return 'has no host';
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search || parsed.hash || parsed.username) {
    return 'must be only scheme, host and port (put the base DN in LDAP_BASE_DN)';
  }
  if (parsed.protocol === 'ldap:' && !startTls && !allowPlaintext && !LOOPBACK_HOSTS.has(parsed.hostname)) {
    return 'would send passwords in clear text: use ldaps://, set LDAP_STARTTLS=true, or set LDAP_ALLOW_PLAINTEXT=true if the network path is already encrypted';
  }
  return undefined;
}

function readBindCredentials(reader: EnvReader): BindCredentialsSource {
  const secretArn = reader.optional('LDAP_BIND_SECRET_ARN');
  const bindDN = reader.optional('LDAP_BIND_DN');
  const password = reader.optionalSecret('LDAP_BIND_PASSWORD');
  if (secretArn !== undefined) {
    if (bindDN !== undefined || password !== undefined) {
      reader.problem('LDAP_BIND_SECRET_ARN: set either it or LDAP_BIND_DN/LDAP_BIND_PASSWORD, not both');
    }
    if (!/^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:[\w/+=.@-]+$/.test(secretArn)) {
      reader.problem(`LDAP_BIND_SECRET_ARN: "${secretArn}" is not a Secrets Manager secret ARN`);
    }
    return { kind: 'secrets-manager', secretArn };
  }
  if (bindDN === undefined || password === undefined) {
    reader.problem(
      'LDAP_BIND_DN and LDAP_BIND_PASSWORD: both are required (or LDAP_BIND_SECRET_ARN): the service account that searches for users',
    );
    return { kind: 'static', bindDN: bindDN ?? '', password: '' };
  }
  if (password.trim() === '')
    reader.problem('LDAP_BIND_PASSWORD: must not be blank (a blank password is an anonymous bind)');
  return { kind: 'static', bindDN, password };
}

function readMapping(reader: EnvReader, defaults: ProfileMapping): ProfileMapping {
  const prefix = reader.string('LDAP_USER_ID_PREFIX', defaults.userIdPrefix);
  if (!/^[A-Za-z0-9_.:-]{0,32}$/.test(prefix)) {
    reader.problem(`LDAP_USER_ID_PREFIX: "${prefix}" expected up to 32 characters from A-Z a-z 0-9 _ . : -`);
  }
  const mapping: ProfileMapping = { ...defaults, fields: { ...defaults.fields }, userIdPrefix: prefix };
  const raw = reader.optional('LDAP_PROFILE_MAPPING');
  if (raw === undefined) return mapping;

  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    reader.problem(`LDAP_PROFILE_MAPPING: "${raw}" is not JSON (expected an object such as {"email":"mail"})`);
    return mapping;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    reader.problem('LDAP_PROFILE_MAPPING: expected a JSON object');
    return mapping;
  }
  const bad = (key: string, value: unknown, expected: string) =>
    reader.problem(`LDAP_PROFILE_MAPPING: "${key}": ${JSON.stringify(value)} expected ${expected}`);
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

function readAuthConfig(reader: EnvReader): AuthConfig {
  const issuer = reader.required('AUTH_ISSUER', 'the exact token issuer, e.g. https://tenant.eu.auth0.com/');
  if (issuer) {
    const problem = describeHttpsUrlProblem(issuer);
    if (problem) reader.problem(`AUTH_ISSUER: "${issuer}" ${problem}`);
    else if (!issuer.endsWith('/'))
      reader.problem(
        `AUTH_ISSUER: "${issuer}" must end with "/" exactly as Auth0 writes iss (e.g. https://tenant.eu.auth0.com/)`,
      );
  }
  const jwksUrl = reader.string('AUTH_JWKS_URL', issuer ? `${issuer.replace(/\/?$/, '/')}.well-known/jwks.json` : '');
  if (jwksUrl) {
    const problem = describeHttpsUrlProblem(jwksUrl);
    if (problem) reader.problem(`AUTH_JWKS_URL: "${jwksUrl}" ${problem}`);
  }
  const audience = reader.required('AUTH_AUDIENCE', 'the API identifier of the bridge in Auth0');
  const allowedClientIds = reader.list(
    'AUTH_ALLOWED_CLIENT_IDS',
    'the client id(s) of the Auth0 machine-to-machine application(s) that call the bridge',
  );
  for (const clientId of allowedClientIds) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(clientId))
      reader.problem(`AUTH_ALLOWED_CLIENT_IDS: "${clientId}" is not a client id (letters, digits, _ and -)`);
  }
  const scope = (name: string, fallback: string) => {
    const value = reader.string(name, fallback);
    if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(value))
      reader.problem(`${name}: "${value}" is not a single OAuth scope (no spaces or quotes)`);
    return value;
  };
  return {
    issuer,
    audience,
    jwksUrl,
    allowedClientIds,
    scopes: { login: scope('AUTH_SCOPE_LOGIN', 'users:login'), getUser: scope('AUTH_SCOPE_GET_USER', 'users:read') },
    clockToleranceSeconds: reader.integer('AUTH_CLOCK_TOLERANCE_SECONDS', 30, 0, 300, 'seconds'),
    jwksCooldownSeconds: reader.integer('AUTH_JWKS_COOLDOWN_SECONDS', 30, 1, 3600, 'seconds'),
    verifiedTokenCacheSize: reader.integer('AUTH_TOKEN_CACHE_SIZE', 1000, 0, 100_000, 'tokens'),
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

/** Reads variables and collects problems, so one start-up reports them all. */
class EnvReader {
  private readonly problems: string[] = [];
  constructor(readonly env: Env) {}

  problem(message: string): void {
    this.problems.push(message);
  }

  throwIfProblems(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }

  optional(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  /** Like optional, but the value is never trimmed (a password may end in a space). */
  optionalSecret(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  required(name: string, expected: string): string {
    const value = this.optional(name);
    if (value === undefined) this.problem(`${name}: is required (${expected})`);
    return value ?? '';
  }

  list(name: string, expected: string): string[] {
    const values = (this.optional(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (values.length === 0) this.problem(`${name}: is required (${expected}, comma-separated)`);
    return values;
  }

  integer(name: string, fallback: number, min: number, max: number, unit: string): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      this.problem(`${name}: "${raw}" expected a whole number of ${unit} from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    this.problem(`${name}: "${raw}" expected true or false`);
    return fallback;
  }

  oneOf<const T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problem(`${name}: "${raw}" expected one of ${allowed.join(', ')}`);
    return fallback;
  }
}
