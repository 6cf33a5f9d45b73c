// Every setting of the product, once: its environment variable (what the runtime reads), its
// cdk.json key (what a deployment sets), its type, default, range or allowed values, a one-line
// doc, and whether it is a secret. The runtime's environment reader, the CDK's context reading,
// its Lambda environments and synth-time checks, each command's --help and the README's
// configuration tables are all built from this table; a new setting is one row here.
//
// Rules that involve more than one value (a URL scheme against LDAP_STARTTLS, a profile mapping's
// JSON, subnets against availability zones) live with the code that reads them:
// core/config/bridge-config.ts for the runtime, lib/config.ts for the deployment.

/** The directory kinds the bridge knows (LDAP_PRESET). */
export const PRESET_NAMES = ['openldap', 'active-directory', '389ds'] as const;
/** Which attributes say an account is switched off (LDAP_ACCOUNT_STATES). */
export const ACCOUNT_STATE_RULES = ['active-directory', '389ds', 'openldap', 'none'] as const;
/** How a user's groups are found (LDAP_GROUPS). */
export const GROUP_MODES = ['none', 'member-of', 'nested', 'in-chain'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Who reads a setting. Each command's --help lists the groups it reads; the README has one table
 * per group.
 */
export type SettingGroup =
  | 'directory'
  | 'groups'
  | 'tokens'
  | 'server'
  | 'logging'
  | 'management-api'
  | 'deployment'
  | 'deployment-network'
  | 'deployment-api';

interface SettingBase {
  /** The environment variable the runtime reads. Absent: a deployment-only setting. */
  readonly env?: string;
  /** The key inside a cdk.json environment (dotted path). Absent: not set through cdk.json. */
  readonly cdk?: string;
  readonly group: SettingGroup;
  /** One line: what it does, for --help and the README. */
  readonly doc: string;
  /** The default where it is not a plain value (derived from another setting, or none). */
  readonly defaultText?: string;
  /** Start-up fails without it. */
  readonly required?: boolean;
  /** Never printed, logged or trimmed. */
  readonly secret?: boolean;
  /**
   * Written into the directory functions' environment even when cdk.json leaves it at its
   * default, so the console shows the value the function runs with.
   */
  readonly statedInLambda?: boolean;
}

export interface StringSetting extends SettingBase {
  readonly type: 'string';
  readonly default?: string;
  /** The whole value must match (checked where the setting is read). */
  readonly pattern?: RegExp;
  /** What a value must look like, for the error message. */
  readonly expected?: string;
}

export interface IntegerSetting extends SettingBase {
  readonly type: 'integer';
  readonly default?: number;
  readonly min: number;
  readonly max: number;
  /** Only these values within the range (e.g. the retention periods CloudWatch Logs accepts). */
  readonly values?: readonly number[];
  /** For messages: "milliseconds", "a connection count". */
  readonly unit: string;
}

export interface BooleanSetting extends SettingBase {
  readonly type: 'boolean';
  readonly default?: boolean;
}

export interface EnumSetting<T extends string = string> extends SettingBase {
  readonly type: 'enum';
  readonly values: readonly T[];
  readonly default?: T;
}

/** Comma-separated in the environment; a JSON array of strings in cdk.json. */
export interface ListSetting extends SettingBase {
  readonly type: 'list';
  readonly itemPattern?: RegExp;
  readonly expected?: string;
}

/** A JSON array of whole numbers in cdk.json (deployment only). */
export interface IntegerListSetting extends SettingBase {
  readonly type: 'integer-list';
  readonly min: number;
  readonly max: number;
}

/** JSON object text in the environment; a JSON object in cdk.json. */
export interface JsonSetting extends SettingBase {
  readonly type: 'json';
}

export type Setting =
  | StringSetting
  | IntegerSetting
  | BooleanSetting
  | EnumSetting
  | ListSetting
  | IntegerListSetting
  | JsonSetting;

/** An LDAP attribute name (RFC 4512: a descriptor or a numeric OID). */
export const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
/** A complete secret ARN (ending in -XXXXXX), so a grant names one exact secret. */
const SECRET_ARN = /^arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

/** What the runtime reads from its environment: the on-prem server, the commands and the Lambdas. */
export const RUNTIME_SETTINGS = {
  LDAP_URLS: {
    env: 'LDAP_URLS',
    cdk: 'directory.urls',
    group: 'directory',
    type: 'list',
    required: true,
    expected: 'ldap:// or ldaps:// URLs',
    doc: 'directory servers as ldap:// or ldaps:// URLs (scheme, host, port only), tried in order',
  },
  LDAP_BASE_DN: {
    env: 'LDAP_BASE_DN',
    cdk: 'directory.baseDN',
    group: 'directory',
    type: 'string',
    required: true,
    expected: 'a DN, e.g. ou=people,dc=example,dc=com',
    doc: 'search base for users',
  },
  LDAP_BIND_DN: {
    env: 'LDAP_BIND_DN',
    group: 'directory',
    type: 'string',
    defaultText: 'required unless LDAP_BIND_SECRET_ARN',
    doc: 'DN of the service account that searches for users',
  },
  LDAP_BIND_PASSWORD: {
    env: 'LDAP_BIND_PASSWORD',
    group: 'directory',
    type: 'string',
    secret: true,
    defaultText: 'required unless LDAP_BIND_SECRET_ARN',
    doc: "the service account's password (never logged; read as given, spaces included)",
  },
  LDAP_BIND_SECRET_ARN: {
    env: 'LDAP_BIND_SECRET_ARN',
    group: 'directory',
    type: 'string',
    pattern: SECRET_ARN,
    expected: 'a complete Secrets Manager secret ARN (ending in -XXXXXX)',
    defaultText: 'none (Lambda: set by the stack from bindSecret)',
    doc: 'Secrets Manager secret {"bindDN": "...", "password": "..."} instead of the two above; a refused bind refetches it once (rotation)',
  },
  LDAP_CA_CERT: {
    env: 'LDAP_CA_CERT',
    group: 'directory',
    type: 'string',
    defaultText: 'the system CAs (Lambda: set by the stack from directory.caCertificateFile)',
    doc: "PEM file of the private CA that signed the directory's certificate",
  },
  LDAP_STARTTLS: {
    env: 'LDAP_STARTTLS',
    cdk: 'directory.startTls',
    group: 'directory',
    type: 'boolean',
    default: false,
    doc: 'true: upgrade ldap:// connections with StartTLS before any bind',
  },
  LDAP_ALLOW_PLAINTEXT: {
    env: 'LDAP_ALLOW_PLAINTEXT',
    cdk: 'directory.allowPlaintext',
    group: 'directory',
    type: 'boolean',
    default: false,
    doc: 'true: accept ldap:// without TLS to a non-loopback host (only when the path is already encrypted, e.g. IPsec); logged as a warning at start',
  },
  LDAP_PRESET: {
    env: 'LDAP_PRESET',
    cdk: 'directory.preset',
    group: 'directory',
    type: 'enum',
    values: PRESET_NAMES,
    default: 'openldap',
    statedInLambda: true,
    doc: 'the kind of directory: user filter, profile mapping, account-state rules and group lookup for that server',
  },
  LDAP_USER_FILTER: {
    env: 'LDAP_USER_FILTER',
    cdk: 'directory.userFilter',
    group: 'directory',
    type: 'string',
    defaultText: "the preset's",
    doc: 'filter with a {username} placeholder; the value is escaped (RFC 4515)',
  },
  LDAP_PROFILE_MAPPING: {
    env: 'LDAP_PROFILE_MAPPING',
    cdk: 'directory.profileMapping',
    group: 'directory',
    type: 'json',
    defaultText: "the preset's",
    doc: "JSON object overriding the preset's profile mapping (see Profile mapping)",
  },
  LDAP_USER_ID_PREFIX: {
    env: 'LDAP_USER_ID_PREFIX',
    cdk: 'directory.userIdPrefix',
    group: 'directory',
    type: 'string',
    pattern: /^[A-Za-z0-9_.:-]{0,32}$/,
    expected: 'up to 32 characters from A-Z a-z 0-9 _ . : -',
    defaultText: 'none',
    doc: "prepended to user_id (unique across all of a tenant's database connections)",
  },
  LDAP_CONNECT_TIMEOUT_MS: {
    env: 'LDAP_CONNECT_TIMEOUT_MS',
    cdk: 'directory.connectTimeoutMs',
    group: 'directory',
    type: 'integer',
    default: 2000,
    min: 100,
    max: 60_000,
    unit: 'milliseconds',
    statedInLambda: true,
    doc: 'time allowed for one TCP / TLS connect',
  },
  LDAP_TIMEOUT_MS: {
    env: 'LDAP_TIMEOUT_MS',
    cdk: 'directory.operationTimeoutMs',
    group: 'directory',
    type: 'integer',
    default: 3000,
    min: 100,
    max: 60_000,
    unit: 'milliseconds',
    statedInLambda: true,
    doc: 'time allowed for one LDAP operation',
  },
  LDAP_BIND_POOL_SIZE: {
    env: 'LDAP_BIND_POOL_SIZE',
    group: 'directory',
    type: 'integer',
    default: 4,
    min: 1,
    max: 64,
    unit: 'connections',
    defaultText: '4 (Lambda: 1, one request at a time per container)',
    doc: 'kept-open connections for user binds, one bind at a time each',
  },
  LDAP_BIND_QUEUE_LIMIT: {
    env: 'LDAP_BIND_QUEUE_LIMIT',
    group: 'directory',
    type: 'integer',
    default: 64,
    min: 0,
    max: 10_000,
    unit: 'waiting logins',
    doc: 'logins that may wait for a bind connection; more are shed with 503',
  },
  LDAP_FAILOVER_COOLDOWN_MS: {
    env: 'LDAP_FAILOVER_COOLDOWN_MS',
    cdk: 'directory.failoverCooldownMs',
    group: 'directory',
    type: 'integer',
    default: 30_000,
    min: 100,
    max: 3_600_000,
    unit: 'milliseconds',
    doc: 'a server that did not answer (refused, timed out, dropped a new connection) is tried only after the others for this long',
  },
  LDAP_IDLE_TIMEOUT_MS: {
    env: 'LDAP_IDLE_TIMEOUT_MS',
    cdk: 'directory.idleTimeoutMs',
    group: 'directory',
    type: 'integer',
    default: 60_000,
    min: 100,
    max: 3_600_000,
    unit: 'milliseconds',
    doc: 'a kept connection unused this long is replaced before use (frozen Lambda containers, firewalls that drop idle flows)',
  },
  LDAP_ACCOUNT_STATES: {
    env: 'LDAP_ACCOUNT_STATES',
    cdk: 'directory.accountStates',
    group: 'directory',
    type: 'enum',
    values: ACCOUNT_STATE_RULES,
    defaultText: "the preset's",
    doc: 'which attributes say an account is disabled, expired or must change its password',
  },
  LDAP_HIDE_INACTIVE_USERS: {
    env: 'LDAP_HIDE_INACTIVE_USERS',
    cdk: 'directory.hideInactiveUsers',
    group: 'directory',
    type: 'boolean',
    default: true,
    doc: 'false: /get-user and the export also return disabled and expired accounts',
  },
  LDAP_LOCKOUT_SHIELD: {
    env: 'LDAP_LOCKOUT_SHIELD',
    cdk: 'directory.lockoutShield',
    group: 'directory',
    type: 'boolean',
    default: true,
    doc: "the lockout shield: never bind as a user whose failed attempts are within LDAP_LOCKOUT_RESERVE of the directory's lockout threshold (answered as a wrong password); false turns it off",
  },
  LDAP_LOCKOUT_RESERVE: {
    env: 'LDAP_LOCKOUT_RESERVE',
    cdk: 'directory.lockoutReserve',
    group: 'directory',
    type: 'integer',
    default: 2,
    min: 1,
    max: 50,
    unit: 'attempts',
    doc: "failed attempts the shield leaves to the user's own devices (Windows, VPN, mail) before the directory would lock the account (at least 1: the bridge never makes the attempt that locks)",
  },
  LDAP_LOCKOUT_THRESHOLD: {
    env: 'LDAP_LOCKOUT_THRESHOLD',
    cdk: 'directory.lockoutThreshold',
    group: 'directory',
    type: 'integer',
    min: 0,
    max: 1000,
    unit: 'failed attempts',
    defaultText: "read from the directory's policy",
    doc: 'the lockout threshold to assume instead of reading the policy (e.g. Active Directory fine-grained password policies the service account may not read); 0: the directory never locks',
  },
  LDAP_LOCKOUT_POLICY_DN: {
    env: 'LDAP_LOCKOUT_POLICY_DN',
    cdk: 'directory.lockoutPolicyDN',
    group: 'directory',
    type: 'string',
    defaultText:
      "the entry's own policy, else: OpenLDAP the only pwdPolicy entry, 389-ds cn=config, AD the domain root",
    doc: 'where the lockout policy is read when the entry does not name its own (OpenLDAP: the ppolicy_default entry)',
  },
  LDAP_GROUPS: {
    env: 'LDAP_GROUPS',
    cdk: 'directory.groups.mode',
    group: 'groups',
    type: 'enum',
    values: GROUP_MODES,
    defaultText: 'in-chain for AD, else nested',
    doc: "how groups are found: nested (walk member / uniqueMember and RFC 2307 memberUid), in-chain (AD's matching rule), member-of (the user's memberOf only), none",
  },
  LDAP_GROUP_BASE_DN: {
    env: 'LDAP_GROUP_BASE_DN',
    cdk: 'directory.groups.baseDN',
    group: 'groups',
    type: 'string',
    defaultText: 'the dc= part of LDAP_BASE_DN',
    doc: 'where group entries are searched (subtree)',
  },
  LDAP_GROUP_FILTER: {
    env: 'LDAP_GROUP_FILTER',
    cdk: 'directory.groups.filter',
    group: 'groups',
    type: 'string',
    defaultText: 'none',
    doc: 'only matching groups reach the profile (the walk still passes through the others), e.g. (cn=auth0-*)',
  },
  LDAP_GROUP_OBJECT_FILTER: {
    env: 'LDAP_GROUP_OBJECT_FILTER',
    cdk: 'directory.groups.objectFilter',
    group: 'groups',
    type: 'string',
    defaultText: "the preset's",
    doc: 'what a group entry is',
  },
  LDAP_GROUP_MEMBER_ATTRIBUTES: {
    env: 'LDAP_GROUP_MEMBER_ATTRIBUTES',
    cdk: 'directory.groups.memberAttributes',
    group: 'groups',
    type: 'list',
    itemPattern: ATTRIBUTE_NAME,
    expected: 'LDAP attribute names',
    defaultText: "the preset's: member, uniqueMember",
    doc: 'the attributes of a group entry that list members by DN',
  },
  LDAP_GROUP_MEMBER_UID_ATTRIBUTE: {
    env: 'LDAP_GROUP_MEMBER_UID_ATTRIBUTE',
    cdk: 'directory.groups.memberUidAttribute',
    group: 'groups',
    type: 'string',
    pattern: new RegExp(`^(?:none|${ATTRIBUTE_NAME.source.slice(1, -1)})$`),
    expected: 'an LDAP attribute name, or none',
    defaultText: 'memberUid; AD none',
    doc: "nested: the group attribute that lists members by user name (RFC 2307 posixGroup), matched against the user's uid; none to ignore such groups",
  },
  LDAP_GROUP_MAX_DEPTH: {
    env: 'LDAP_GROUP_MAX_DEPTH',
    cdk: 'directory.groups.maxDepth',
    group: 'groups',
    type: 'integer',
    default: 10,
    min: 1,
    max: 100,
    unit: 'levels',
    doc: 'nesting levels walked; past it the walk stops, logs a warning, and the profile lists what was found',
  },
  LDAP_GROUP_MAX_COUNT: {
    env: 'LDAP_GROUP_MAX_COUNT',
    cdk: 'directory.groups.maxCount',
    group: 'groups',
    type: 'integer',
    default: 1000,
    min: 1,
    max: 10_000,
    unit: 'groups',
    doc: 'groups collected; past it the walk stops, logs a warning, and the profile lists what was found',
  },
  LDAP_GROUP_CACHE_SECONDS: {
    env: 'LDAP_GROUP_CACHE_SECONDS',
    cdk: 'directory.groups.cacheSeconds',
    group: 'groups',
    type: 'integer',
    default: 60,
    min: 0,
    max: 3600,
    unit: 'seconds',
    doc: "nested: how long one process remembers which groups contain a group (the user's own groups are read every time); 0 searches every level every time",
  },
  LDAP_GROUPS_ATTRIBUTE: {
    env: 'LDAP_GROUPS_ATTRIBUTE',
    cdk: 'directory.groups.attribute',
    group: 'groups',
    type: 'string',
    pattern: ATTRIBUTE_NAME,
    expected: 'an LDAP attribute name',
    default: 'memberOf',
    doc: 'the attribute member-of reads',
  },
  AUTH_ISSUER: {
    env: 'AUTH_ISSUER',
    cdk: 'auth0.issuer',
    group: 'tokens',
    type: 'string',
    required: true,
    expected: 'the exact issuer, https://<tenant domain>/ with the trailing slash',
    doc: 'the Auth0 tenant that issues the tokens, exactly as tokens carry it in iss',
  },
  AUTH_AUDIENCE: {
    env: 'AUTH_AUDIENCE',
    cdk: 'auth0.audience',
    group: 'tokens',
    type: 'string',
    required: true,
    expected: "the bridge API's identifier in Auth0, e.g. https://ldap-bridge.example.com/",
    doc: 'the audience tokens must be issued for',
  },
  AUTH_JWKS_URL: {
    env: 'AUTH_JWKS_URL',
    cdk: 'auth0.jwksUrl',
    group: 'tokens',
    type: 'string',
    expected: 'an https:// URL',
    defaultText: 'issuer + .well-known/jwks.json',
    doc: 'where the signing keys are',
  },
  AUTH_ALLOWED_CLIENT_IDS: {
    env: 'AUTH_ALLOWED_CLIENT_IDS',
    cdk: 'auth0.allowedClientIds',
    group: 'tokens',
    type: 'list',
    required: true,
    itemPattern: /^[A-Za-z0-9_-]{1,128}$/,
    expected: 'client ids (letters, digits, _ and -)',
    doc: 'the machine-to-machine applications (azp) allowed to call',
  },
  AUTH_SCOPE_LOGIN: {
    env: 'AUTH_SCOPE_LOGIN',
    cdk: 'auth0.loginScope',
    group: 'tokens',
    type: 'string',
    pattern: SCOPE,
    expected: 'a single OAuth scope (no spaces or quotes)',
    default: 'users:login',
    statedInLambda: true,
    doc: 'the scope POST /login requires',
  },
  AUTH_SCOPE_GET_USER: {
    env: 'AUTH_SCOPE_GET_USER',
    cdk: 'auth0.getUserScope',
    group: 'tokens',
    type: 'string',
    pattern: SCOPE,
    expected: 'a single OAuth scope (no spaces or quotes)',
    default: 'users:read',
    statedInLambda: true,
    doc: 'the scope POST /get-user requires',
  },
  AUTH_CLOCK_TOLERANCE_SECONDS: {
    env: 'AUTH_CLOCK_TOLERANCE_SECONDS',
    cdk: 'auth0.clockToleranceSeconds',
    group: 'tokens',
    type: 'integer',
    default: 30,
    min: 0,
    max: 300,
    unit: 'seconds',
    doc: 'clock skew allowed on exp, nbf, iat',
  },
  AUTH_JWKS_COOLDOWN_SECONDS: {
    env: 'AUTH_JWKS_COOLDOWN_SECONDS',
    cdk: 'auth0.jwksCooldownSeconds',
    group: 'tokens',
    type: 'integer',
    default: 30,
    min: 1,
    max: 3600,
    unit: 'seconds',
    doc: 'least time between two JWKS refetches caused by an unknown kid',
  },
  AUTH_TOKEN_CACHE_SIZE: {
    env: 'AUTH_TOKEN_CACHE_SIZE',
    cdk: 'auth0.tokenCacheSize',
    group: 'tokens',
    type: 'integer',
    default: 1000,
    min: 0,
    max: 100_000,
    unit: 'tokens',
    doc: 'verified tokens remembered (by SHA-256) until they expire, so a token is verified once; 0 turns it off',
  },
  HOST: {
    env: 'HOST',
    group: 'server',
    type: 'string',
    default: '127.0.0.1',
    doc: 'address the server listens on (behind NGINX: keep loopback)',
  },
  PORT: {
    env: 'PORT',
    group: 'server',
    type: 'integer',
    default: 8080,
    min: 0,
    max: 65_535,
    unit: 'a TCP port',
    doc: 'port the server listens on; 0 picks a free one',
  },
  SERVER_WORKERS: {
    env: 'SERVER_WORKERS',
    group: 'server',
    type: 'integer',
    min: 1,
    max: 256,
    unit: 'processes',
    defaultText: 'the number of CPUs',
    doc: 'worker processes sharing the port, each with its own directory connections',
  },
  MAX_IN_FLIGHT: {
    env: 'MAX_IN_FLIGHT',
    group: 'server',
    type: 'integer',
    default: 256,
    min: 1,
    max: 100_000,
    unit: 'requests',
    doc: 'requests one worker handles at once, counted from a received body until answered or the client is gone; more get 503 overloaded',
  },
  MAX_CONNECTIONS: {
    env: 'MAX_CONNECTIONS',
    group: 'server',
    type: 'integer',
    default: 1024,
    min: 1,
    max: 100_000,
    unit: 'connections',
    doc: 'connections one worker keeps open; past it a new one replaces the oldest that has not yet shown a valid token, or is refused when every one has',
  },
  HEADERS_TIMEOUT_MS: {
    env: 'HEADERS_TIMEOUT_MS',
    group: 'server',
    type: 'integer',
    default: 5000,
    min: 100,
    max: 60_000,
    unit: 'milliseconds',
    doc: "time a client has to send a request's headers, counted from its connection or the request's first byte; then 408 request_timeout and the connection closes",
  },
  BODY_TIMEOUT_MS: {
    env: 'BODY_TIMEOUT_MS',
    group: 'server',
    type: 'integer',
    default: 5000,
    min: 100,
    max: 60_000,
    unit: 'milliseconds',
    doc: 'time a request has after its headers to finish its body (at most 16 KiB, read only once the token is valid); then 408 request_timeout and the connection closes',
  },
  KEEP_ALIVE_TIMEOUT_MS: {
    env: 'KEEP_ALIVE_TIMEOUT_MS',
    group: 'server',
    type: 'integer',
    default: 5000,
    min: 100,
    max: 600_000,
    unit: 'milliseconds',
    doc: 'time a kept-open connection may idle between requests before the server closes it (a proxy keeping connections open must close them sooner)',
  },
  METRICS_PORT: {
    env: 'METRICS_PORT',
    group: 'server',
    type: 'integer',
    min: 0,
    max: 65_535,
    unit: 'a TCP port',
    defaultText: 'unset: /metrics on PORT',
    doc: 'port of its own for GET /metrics (with /healthz and /readyz), so PORT stays API-only: PORT then answers 404 for /metrics; 0 picks a free one (the start-up line names it)',
  },
  METRICS_HOST: {
    env: 'METRICS_HOST',
    group: 'server',
    type: 'string',
    default: '127.0.0.1',
    doc: 'address METRICS_PORT listens on: loopback serves a Prometheus on the same host or behind your own proxy; another address is a deliberate choice',
  },
  LOG_LEVEL: {
    env: 'LOG_LEVEL',
    cdk: 'logLevel',
    group: 'logging',
    type: 'enum',
    values: LOG_LEVELS,
    default: 'info',
    statedInLambda: true,
    doc: 'least level written: debug, info, warn, error',
  },
  AUTH0_DOMAIN: {
    env: 'AUTH0_DOMAIN',
    group: 'management-api',
    type: 'string',
    required: true,
    // Loopback with a port is the Management API emulator of `npm run demo:migration` (reached over
    // HTTPS, its CA in NODE_EXTRA_CA_CERTS); no other host may carry a port.
    pattern:
      /^(?:(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}|(?:127\.0\.0\.1|localhost):(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}))$/i,
    expected:
      'the tenant domain, e.g. example.eu.auth0.com (or, for the local emulator only, 127.0.0.1:PORT or localhost:PORT)',
    doc: "the tenant's domain (or its custom domain); 127.0.0.1:PORT or localhost:PORT reach a local Management API emulator over HTTPS (its CA in NODE_EXTRA_CA_CERTS)",
  },
  AUTH0_CLIENT_ID: {
    env: 'AUTH0_CLIENT_ID',
    group: 'management-api',
    type: 'string',
    required: true,
    pattern: /^[A-Za-z0-9_-]{1,128}$/,
    expected: 'a client id',
    doc: "a machine-to-machine application authorised for the Management API (not the bridge's)",
  },
  AUTH0_CLIENT_SECRET: {
    env: 'AUTH0_CLIENT_SECRET',
    group: 'management-api',
    type: 'string',
    required: true,
    secret: true,
    doc: "that application's client secret",
  },
} as const satisfies Record<string, Setting>;

/** What only a deployment has: the stack, its network and its API. Read from cdk.json by lib/config.ts. */
export const DEPLOYMENT_SETTINGS = {
  stackName: {
    cdk: 'stackName',
    group: 'deployment',
    type: 'string',
    pattern: /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
    expected: 'a CloudFormation stack name',
    defaultText: 'LdapBridge-<environment name>',
    doc: 'the CloudFormation stack',
  },
  account: {
    cdk: 'account',
    group: 'deployment',
    type: 'string',
    pattern: /^\d{12}$/,
    expected: 'a 12-digit AWS account id',
    defaultText: "the CLI's",
    doc: 'AWS account to deploy to',
  },
  region: {
    cdk: 'region',
    group: 'deployment',
    type: 'string',
    pattern: /^[a-z]{2}(-[a-z]+)+-\d$/,
    expected: 'an AWS region such as eu-west-1',
    defaultText: "the CLI's",
    doc: 'AWS region to deploy to',
  },
  caCertificateFile: {
    cdk: 'directory.caCertificateFile',
    group: 'deployment',
    type: 'string',
    pattern: /\.pem$/,
    expected: 'a path to a .pem file',
    defaultText: 'none: the system CAs',
    doc: "path (from the project root) of the directory's private CA, bundled with the functions as LDAP_CA_CERT",
  },
  bindSecretArn: {
    cdk: 'bindSecret.secretArn',
    group: 'deployment',
    type: 'string',
    pattern: SECRET_ARN,
    expected: 'a complete secret ARN (ending in -XXXXXX), so the grant names one exact secret',
    defaultText: 'a new secret, to be filled in',
    doc: 'an existing {"bindDN","password"} secret for the service account',
  },
  bindSecretKmsKeyArn: {
    cdk: 'bindSecret.kmsKeyArn',
    group: 'deployment',
    type: 'string',
    pattern: /^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
    expected: 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)',
    defaultText: 'none',
    doc: 'the customer key that encrypts that secret (decrypt is granted only through Secrets Manager)',
  },
  reservedConcurrency: {
    cdk: 'reservedConcurrency',
    group: 'deployment',
    type: 'integer',
    default: 10,
    min: 1,
    max: 1000,
    unit: 'executions',
    doc: 'most concurrent executions of each directory function: the cap on directory connections (2 per container)',
  },
  functionTimeoutSeconds: {
    cdk: 'functionTimeoutSeconds',
    group: 'deployment',
    type: 'integer',
    default: 10,
    min: 3,
    max: 15,
    unit: 'seconds',
    doc: "directory functions' timeout; must exceed connectTimeoutMs + 2 x operationTimeoutMs and stay under Auth0's ~20 s",
  },
  logRetentionDays: {
    cdk: 'logRetentionDays',
    group: 'deployment',
    type: 'integer',
    default: 90,
    min: 1,
    max: 3653,
    values: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
    unit: 'days',
    doc: 'how long function and access logs are kept (a retention period CloudWatch Logs accepts)',
  },
  alarmTopicArn: {
    cdk: 'alarms.topicArn',
    group: 'deployment',
    type: 'string',
    pattern: /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/,
    expected: 'an SNS topic ARN',
    defaultText: 'none',
    doc: 'an existing topic the alarms notify (give this or alarms.email); its access policy must let cloudwatch.amazonaws.com publish, and a key that encrypts it must be a customer key whose policy lets CloudWatch use it (never alias/aws/sns)',
  },
  alarmEmail: {
    cdk: 'alarms.email',
    group: 'deployment',
    type: 'string',
    pattern: /^[^@\s]+@[^@\s]+\.[^@\s]+$/,
    expected: 'an email address',
    defaultText: 'none: alarms without actions',
    doc: 'an address the stack subscribes to a new alarm topic, encrypted with a new customer key (rotation on) that CloudWatch may use',
  },
  alarmInvalidCredentialsPercent: {
    cdk: 'alarms.invalidCredentialsPercent',
    group: 'deployment',
    type: 'integer',
    default: 50,
    min: 1,
    max: 100,
    unit: 'percent of logins',
    doc: 'alarm when at least this share of logins in 5 minutes is answered invalid_credentials (typos stay well below it; password spraying, or a directory that refuses good passwords, jumps above it)',
  },
  alarmInvalidCredentialsMinLogins: {
    cdk: 'alarms.invalidCredentialsMinLogins',
    group: 'deployment',
    type: 'integer',
    default: 20,
    min: 1,
    max: 1_000_000,
    unit: 'logins in 5 minutes',
    doc: 'the invalid_credentials share alarms only over 5 minutes with at least this many logins, so two typos in a quiet hour do not page anyone',
  },
  alarmLockoutShieldPer5Minutes: {
    cdk: 'alarms.lockoutShieldPer5Minutes',
    group: 'deployment',
    type: 'integer',
    default: 10,
    min: 1,
    max: 1_000_000,
    unit: 'logins in 5 minutes',
    doc: 'alarm when the lockout shield answers this many logins in 5 minutes instead of binding: accounts are being guessed at close to their lockout threshold',
  },
  alarmDirectoryUnavailablePer5Minutes: {
    cdk: 'alarms.directoryUnavailablePer5Minutes',
    group: 'deployment',
    type: 'integer',
    default: 5,
    min: 1,
    max: 1_000_000,
    unit: 'requests in 5 minutes',
    doc: 'alarm when a route answers directory_unavailable (503) this many times in 5 minutes: the directory is down, unreachable, slow or refuses the service account',
  },
  networkKind: {
    cdk: 'network.kind',
    group: 'deployment-network',
    type: 'enum',
    values: ['demo', 'existing'],
    default: 'demo',
    doc: 'existing: your VPC that reaches the directory; demo: a new VPC with isolated subnets only',
  },
  vpcId: {
    cdk: 'network.vpcId',
    group: 'deployment-network',
    type: 'string',
    pattern: /^vpc-[0-9a-f]{8,17}$/,
    expected: 'vpc-xxxxxxxx',
    defaultText: 'required with kind existing',
    doc: 'the VPC',
  },
  availabilityZones: {
    cdk: 'network.availabilityZones',
    group: 'deployment-network',
    type: 'list',
    defaultText: 'required with kind existing',
    doc: "the VPC's availability zones, in the order of the subnets",
  },
  privateSubnetIds: {
    cdk: 'network.privateSubnetIds',
    group: 'deployment-network',
    type: 'list',
    itemPattern: /^subnet-[0-9a-f]{8,17}$/,
    expected: 'subnet-xxxxxxxx',
    defaultText: 'required with kind existing',
    doc: 'one private subnet per zone, with a route to the directory',
  },
  privateSubnetRouteTableIds: {
    cdk: 'network.privateSubnetRouteTableIds',
    group: 'deployment-network',
    type: 'list',
    itemPattern: /^rtb-[0-9a-f]{8,17}$/,
    expected: 'rtb-xxxxxxxx',
    defaultText: 'none',
    doc: "those subnets' route tables, in the same order",
  },
  vpcCidrBlock: {
    cdk: 'network.vpcCidrBlock',
    group: 'deployment-network',
    type: 'string',
    pattern: /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/,
    expected: 'an IPv4 CIDR',
    defaultText: 'none',
    doc: "the VPC's CIDR; needed only when the VPC already has a Secrets Manager endpoint",
  },
  networkRanges: {
    cdk: 'directory.networkRanges',
    group: 'deployment-network',
    type: 'list',
    required: true,
    doc: 'CIDR ranges of the directory servers: the only egress the functions get besides Secrets Manager',
  },
  ports: {
    cdk: 'directory.ports',
    group: 'deployment-network',
    type: 'integer-list',
    min: 1,
    max: 65_535,
    defaultText: 'the ports of directory.urls',
    doc: 'directory ports the functions may reach',
  },
  createSecretsManagerEndpoint: {
    cdk: 'createSecretsManagerEndpoint',
    group: 'deployment-network',
    type: 'boolean',
    default: true,
    doc: 'create the Secrets Manager interface endpoint (false when the VPC already has one: give vpcCidrBlock)',
  },
  throttlingRateLimit: {
    cdk: 'throttling.rateLimit',
    group: 'deployment-api',
    type: 'integer',
    default: 50,
    min: 1,
    max: 10_000,
    unit: 'requests per second',
    doc: "the stage's steady request rate",
  },
  throttlingBurstLimit: {
    cdk: 'throttling.burstLimit',
    group: 'deployment-api',
    type: 'integer',
    default: 100,
    min: 1,
    max: 5000,
    unit: 'requests',
    doc: "the stage's burst (at least a tenth of rateLimit)",
  },
  authorizerCacheSeconds: {
    cdk: 'authorizerCacheSeconds',
    group: 'deployment-api',
    type: 'integer',
    default: 60,
    min: 0,
    max: 3600,
    unit: 'seconds',
    doc: "how long API Gateway keeps the authorizer's answer for one token",
  },
  allowedSourceIps: {
    cdk: 'allowedSourceIps',
    group: 'deployment-api',
    type: 'list',
    defaultText: 'no restriction',
    doc: "Auth0's outbound IP addresses (or CIDRs) for the tenant's region: a WAF rule evaluated before any other blocks every other source, and the API's resource policy refuses them too",
  },
  wafRateLimitPer5Minutes: {
    cdk: 'wafRateLimitPer5Minutes',
    group: 'deployment-api',
    type: 'integer',
    min: 10,
    max: 2_000_000_000,
    unit: 'requests',
    defaultText: 'twice what the stage accepts: 2 x (throttling.rateLimit x 300 + throttling.burstLimit)',
    doc: 'requests one source IP may send in 5 minutes before the WAF blocks it; at least what the stage accepts in that time (throttling.rateLimit x 300 + throttling.burstLimit), since the WAF also counts the requests the stage throttles',
  },
  customDomainName: {
    cdk: 'customDomain.domainName',
    group: 'deployment-api',
    type: 'string',
    pattern: /^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/i,
    expected: 'a DNS name',
    defaultText: 'none: the execute-api URL',
    doc: 'a custom domain (TLS 1.2 minimum); the execute-api endpoint is then disabled',
  },
  customDomainCertificateArn: {
    cdk: 'customDomain.certificateArn',
    group: 'deployment-api',
    type: 'string',
    pattern: /^arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/,
    expected: "an ACM certificate ARN in the API's region",
    defaultText: 'required with domainName',
    doc: "the custom domain's certificate",
  },
  syncLeaversEnabled: {
    cdk: 'syncLeavers.enabled',
    group: 'deployment',
    type: 'boolean',
    default: false,
    doc: "true: the stack runs sync-leavers on a schedule, in the directory functions' subnets: it reads the directory and the connection's users and blocks in Auth0 the users who left the directory (and unblocks those back in it). Those subnets need a route to the internet (a NAT gateway or equivalent) for Auth0's Management API; network.kind existing only",
  },
  syncLeaversConnection: {
    cdk: 'syncLeavers.connection',
    group: 'deployment',
    type: 'string',
    pattern: /^(?=.{1,128}$)[A-Za-z0-9](?:-?[A-Za-z0-9])*$/,
    expected: 'an Auth0 connection name (letters, digits and inner dashes, at most 128)',
    defaultText: 'required with syncLeavers.enabled',
    doc: 'the Auth0 database connection whose users the scheduled sync-leavers compares with the directory',
  },
  syncLeaversSchedule: {
    cdk: 'syncLeavers.schedule',
    group: 'deployment',
    type: 'string',
    default: 'rate(1 hour)',
    pattern: /^(?:rate\((?:1 (?:minute|hour|day)|(?:[2-9]|[1-9]\d+) (?:minutes|hours|days))\)|cron\(\S+(?: \S+){5}\))$/,
    expected:
      'an EventBridge schedule expression: rate(N minutes|hours|days) (rate(1 hour) for one), or cron(minutes hours day-of-month month day-of-week year)',
    doc: 'when the scheduled sync-leavers runs: a rate of at least 15 minutes (a run may take the function\'s 15 minutes), or a cron expression in UTC with "?" in day-of-month or day-of-week',
  },
  syncLeaversApply: {
    cdk: 'syncLeavers.apply',
    group: 'deployment',
    type: 'boolean',
    default: false,
    doc: "false: every scheduled run is a dry run that only logs how many users it would block and unblock; set true (and deploy) once you have read a few of those runs' logs and agree with them",
  },
  syncLeaversMaxBlock: {
    cdk: 'syncLeavers.maxBlock',
    group: 'deployment',
    type: 'string',
    pattern: /^(?:\d{1,9}|\d{1,3}(?:\.\d+)?%)$/,
    expected: 'a number of users ("25") or a share of the connection\'s users ("5%")',
    defaultText: "10% of the connection's users, at least 10",
    doc: 'the most users one scheduled run may block, as sync-leavers --max-block: a run that would block more blocks nobody and fails (the errors alarm), since a directory read that finds too little makes users look gone',
  },
  syncLeaversManagementApiSecretArn: {
    cdk: 'syncLeavers.managementApiSecretArn',
    group: 'deployment',
    type: 'string',
    pattern: SECRET_ARN,
    expected: 'a complete secret ARN (ending in -XXXXXX), so the grant names one exact secret',
    defaultText: 'a new secret, to be filled in',
    doc: 'an existing secret {"domain","clientId","clientSecret"} of the machine-to-machine application the scheduled sync-leavers calls the Management API with (scopes read:connections, read:users, update:users); the client secret never goes in cdk.json',
  },
} as const satisfies Record<string, Setting>;

export type RuntimeSettingName = keyof typeof RUNTIME_SETTINGS;

/** Every setting, runtime first, in the order of the README. */
export const ALL_SETTINGS: readonly Setting[] = [
  ...Object.values(RUNTIME_SETTINGS),
  ...Object.values(DEPLOYMENT_SETTINGS),
];

/** The default as a person reads it. */
export function describeDefault(setting: Setting): string {
  if (setting.defaultText !== undefined) return setting.defaultText;
  if ('default' in setting && setting.default !== undefined) return String(setting.default);
  return setting.required ? 'required' : 'none';
}

/** What a valid value looks like, as a person reads it. */
export function describeType(setting: Setting): string {
  switch (setting.type) {
    case 'integer':
      return setting.values
        ? `${setting.values.join(', ')} ${setting.unit}`
        : `${setting.min}-${setting.max} ${setting.unit}`;
    case 'boolean':
      return 'true or false';
    case 'enum':
      return setting.values.join(', ');
    case 'list':
      return setting.expected ? `comma-separated ${setting.expected}` : 'comma-separated list';
    case 'integer-list':
      return `list of ${setting.min}-${setting.max}`;
    case 'json':
      return 'JSON object';
    case 'string':
      return setting.expected ?? 'text';
  }
}
