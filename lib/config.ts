// The deployment configuration: named environments in cdk.json context, chosen with
// `-c env=NAME`, validated before any construct is built. Messages name the key, the bad value
// and what was expected; every problem is reported at once. The Lambda environment derived from
// it is also run through the runtime's own loadConfig, so a bad filter or mapping fails
// `cdk synth`, not the first login.
import { loadConfig } from '../lambdas/core/config/bridge-config.ts';

export interface ExistingVpcConfig {
  vpcId: string;
  availabilityZones: string[];
  /** Private or isolated subnets (one per availability zone) the directory is reachable from. */
  privateSubnetIds: string[];
  privateSubnetRouteTableIds?: string[];
  /** The VPC's CIDR; needed only when the VPC already has a Secrets Manager endpoint (egress 443 to it). */
  vpcCidrBlock?: string;
}

export interface DeploymentConfig {
  envName: string;
  stackName: string;
  account?: string;
  region?: string;
  auth0: {
    issuer: string;
    audience: string;
    allowedClientIds: string[];
    loginScope: string;
    getUserScope: string;
  };
  directory: {
    urls: string[];
    baseDN: string;
    preset: string;
    userFilter?: string;
    profileMapping?: Record<string, unknown>;
    userIdPrefix?: string;
    /** Path (relative to the project) of the PEM of a private CA, bundled with the functions. */
    caCertificateFile?: string;
    startTls: boolean;
    /** CIDR ranges where the directory servers are: the only egress the functions get besides the endpoint. */
    networkRanges: string[];
    /** Ports, derived from the URLs unless given. */
    ports: number[];
    connectTimeoutMs: number;
    operationTimeoutMs: number;
    /** LDAP_ACCOUNT_STATES, LDAP_HIDE_INACTIVE_USERS and the LDAP_GROUP* variables; checked by the runtime's loadConfig at synth. */
    accountStates?: string;
    hideInactiveUsers?: boolean;
    groups?: {
      mode?: string;
      attribute?: string;
      baseDN?: string;
      objectFilter?: string;
      memberAttributes?: string[];
      filter?: string;
      maxDepth?: number;
      maxCount?: number;
      cacheSeconds?: number;
      memberUidAttribute?: string;
    };
  };
  network: { kind: 'demo' } | ({ kind: 'existing' } & ExistingVpcConfig);
  /** Create the Secrets Manager interface endpoint in the VPC (skip when the VPC already has one). */
  createSecretsManagerEndpoint: boolean;
  bindSecret: { kind: 'create' } | { kind: 'existing'; secretArn: string; kmsKeyArn?: string };
  throttling: { rateLimit: number; burstLimit: number };
  /** The most concurrent executions of each directory function: the cap on directory connections. */
  reservedConcurrency: number;
  functionTimeoutSeconds: number;
  authorizerCacheSeconds: number;
  /** Auth0's outbound IP addresses; when set, the API's resource policy refuses every other source. */
  allowedSourceIps?: string[];
  wafRateLimitPer5Minutes: number;
  customDomain?: { domainName: string; certificateArn: string };
  logRetentionDays: number;
  alarms?: { topicArn?: string; email?: string };
}

export class DeploymentConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid deployment configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** CloudWatch Logs accepts only these retention periods. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
const SECRET_ARN = /^arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;
/** A placeholder that satisfies the runtime's ARN check while the real one is a deploy-time token. */
const PLACEHOLDER_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:placeholder-AbCdEf';

type Raw = Record<string, unknown>;

/** Reads environment `envName` from the `environments` context object. */
export function readDeploymentConfig(environments: unknown, envName: string | undefined): DeploymentConfig {
  const problems: string[] = [];
  if (typeof environments !== 'object' || environments === null) {
    throw new DeploymentConfigError(['context "environments": expected an object of named environments in cdk.json']);
  }
  const names = Object.keys(environments);
  if (!envName || !Object.hasOwn(environments, envName)) {
    throw new DeploymentConfigError([
      `context "env": ${JSON.stringify(envName ?? null)} expected one of ${names.join(', ')} (cdk synth -c env=NAME)`,
    ]);
  }
  const raw = (environments as Raw)[envName];
  const at = (path: string) => `environments.${envName}.${path}`;
  const reader = new ContextReader(isObject(raw) ? raw : {}, at, problems);
  if (!isObject(raw)) problems.push(`${at('')}: expected an object`);

  const auth0 = reader.object('auth0');
  const directory = reader.object('directory');
  const network = reader.object('network', true);
  const bindSecret = reader.object('bindSecret', true);

  const issuer = auth0.string('issuer');
  if (issuer && !/^https:\/\/[a-z0-9.-]+\/$/i.test(issuer)) {
    problems.push(
      `${at('auth0.issuer')}: ${JSON.stringify(issuer)} expected https://<tenant domain>/ with the trailing slash`,
    );
  }
  const urls = directory.stringList('urls');
  const startTls = directory.boolean('startTls', false);
  const derivedPorts = [
    ...new Set(urls.map((url) => portOf(url)).filter((port): port is number => port !== undefined)),
  ];
  const ports = directory.numberList('ports', derivedPorts, 1, 65535);
  const networkRanges = directory.stringList('networkRanges');
  for (const range of networkRanges) {
    const problem = describeCidrProblem(range);
    if (problem) problems.push(`${at('directory.networkRanges')}: ${JSON.stringify(range)} ${problem}`);
  }

  const config: DeploymentConfig = {
    envName,
    stackName: reader.string('stackName', `LdapBridge-${envName}`),
    ...optional('account', reader.optionalString('account', /^\d{12}$/, 'a 12-digit AWS account id')),
    ...optional(
      'region',
      reader.optionalString('region', /^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'),
    ),
    auth0: {
      issuer,
      audience: auth0.string('audience'),
      allowedClientIds: auth0.stringList('allowedClientIds'),
      loginScope: auth0.string('loginScope', 'users:login'),
      getUserScope: auth0.string('getUserScope', 'users:read'),
    },
    directory: {
      urls,
      baseDN: directory.string('baseDN'),
      preset: directory.string('preset', 'openldap'),
      ...optional('userFilter', directory.optionalString('userFilter')),
      ...optional('profileMapping', directory.optionalObject('profileMapping')),
      ...optional('userIdPrefix', directory.optionalString('userIdPrefix')),
      ...optional(
        'caCertificateFile',
        directory.optionalString('caCertificateFile', /\.pem$/, 'a path to a .pem file'),
      ),
      startTls,
      networkRanges,
      ports,
      connectTimeoutMs: directory.number('connectTimeoutMs', 2000, 100, 10_000),
      operationTimeoutMs: directory.number('operationTimeoutMs', 3000, 100, 10_000),
      ...optional('accountStates', directory.optionalString('accountStates')),
      ...(directory.has('hideInactiveUsers')
        ? { hideInactiveUsers: directory.boolean('hideInactiveUsers', true) }
        : {}),
      ...(directory.has('groups') ? { groups: readGroups(directory.object('groups')) } : {}),
    },
    network: readNetwork(network, at, problems),
    createSecretsManagerEndpoint: reader.boolean('createSecretsManagerEndpoint', true),
    bindSecret: readBindSecret(bindSecret, problems, at),
    throttling: {
      rateLimit: reader.object('throttling', true).number('rateLimit', 50, 1, 10_000),
      burstLimit: reader.object('throttling', true).number('burstLimit', 100, 1, 5_000),
    },
    reservedConcurrency: reader.number('reservedConcurrency', 10, 1, 1000),
    functionTimeoutSeconds: reader.number('functionTimeoutSeconds', 10, 3, 15),
    authorizerCacheSeconds: reader.number('authorizerCacheSeconds', 60, 0, 3600),
    ...optional('allowedSourceIps', reader.optionalStringList('allowedSourceIps')),
    wafRateLimitPer5Minutes: reader.number('wafRateLimitPer5Minutes', 2000, 10, 2_000_000_000),
    ...optional('customDomain', readCustomDomain(reader.object('customDomain', true), problems, at)),
    logRetentionDays: reader.number('logRetentionDays', 90, 1, 3653),
    ...optional('alarms', readAlarms(reader.object('alarms', true), problems, at)),
  };

  if (!RETENTION_DAYS.includes(config.logRetentionDays)) {
    problems.push(`${at('logRetentionDays')}: ${config.logRetentionDays} expected one of ${RETENTION_DAYS.join(', ')}`);
  }
  for (const ip of config.allowedSourceIps ?? []) {
    const problem = describeCidrProblem(ip.includes('/') ? ip : `${ip}/32`);
    if (problem) problems.push(`${at('allowedSourceIps')}: ${JSON.stringify(ip)} ${problem}`);
  }
  // The directory timeouts must fit in the function's, which must fit in Auth0's ~20 s script budget.
  if (
    (config.directory.connectTimeoutMs + 2 * config.directory.operationTimeoutMs) / 1000 >=
    config.functionTimeoutSeconds
  ) {
    problems.push(
      `${at('functionTimeoutSeconds')}: ${config.functionTimeoutSeconds} must exceed connectTimeoutMs + 2 x operationTimeoutMs (a search and a bind)`,
    );
  }
  if (!config.createSecretsManagerEndpoint && (config.network.kind !== 'existing' || !config.network.vpcCidrBlock)) {
    problems.push(
      `${at('createSecretsManagerEndpoint')}: false needs network.kind "existing" with network.vpcCidrBlock (egress 443 to the VPC's own endpoint)`,
    );
  }
  if (config.throttling.burstLimit < config.throttling.rateLimit / 10) {
    problems.push(
      `${at('throttling.burstLimit')}: ${config.throttling.burstLimit} is too small for rateLimit ${config.throttling.rateLimit}`,
    );
  }

  // The functions' runtime configuration, checked by the runtime itself.
  if (problems.length === 0) {
    try {
      loadConfig(lambdaEnvironment(config, PLACEHOLDER_SECRET_ARN));
    } catch (error) {
      const runtimeProblems = (error as { problems?: string[] }).problems ?? [String(error)];
      problems.push(
        ...runtimeProblems.map((problem) => `${at('directory')} (as the functions will read it): ${problem}`),
      );
    }
  }
  if (problems.length > 0) throw new DeploymentConfigError(problems);
  return config;
}

/** The environment of the login / get-user functions. No secrets: the bind password stays in Secrets Manager. */
export function lambdaEnvironment(
  config: Pick<DeploymentConfig, 'auth0' | 'directory'>,
  bindSecretArn: string,
): Record<string, string> {
  const { directory } = config;
  return {
    LDAP_URLS: directory.urls.join(','),
    LDAP_BASE_DN: directory.baseDN,
    LDAP_BIND_SECRET_ARN: bindSecretArn,
    LDAP_PRESET: directory.preset,
    ...(directory.userFilter ? { LDAP_USER_FILTER: directory.userFilter } : {}),
    ...(directory.profileMapping ? { LDAP_PROFILE_MAPPING: JSON.stringify(directory.profileMapping) } : {}),
    ...(directory.userIdPrefix ? { LDAP_USER_ID_PREFIX: directory.userIdPrefix } : {}),
    ...(directory.caCertificateFile ? { LDAP_CA_CERT: '/var/task/directory-ca.pem' } : {}),
    ...(directory.startTls ? { LDAP_STARTTLS: 'true' } : {}),
    LDAP_CONNECT_TIMEOUT_MS: String(directory.connectTimeoutMs),
    LDAP_TIMEOUT_MS: String(directory.operationTimeoutMs),
    ...(directory.accountStates ? { LDAP_ACCOUNT_STATES: directory.accountStates } : {}),
    ...(directory.hideInactiveUsers === undefined
      ? {}
      : { LDAP_HIDE_INACTIVE_USERS: String(directory.hideInactiveUsers) }),
    ...groupEnvironment(directory.groups),
    // One request at a time per Lambda container: one bind connection is enough.
    LDAP_BIND_POOL_SIZE: '1',
    ...authorizerEnvironment(config),
  };
}

function readGroups(groups: ContextReader): NonNullable<DeploymentConfig['directory']['groups']> {
  const text = (key: string) => optional(key, groups.optionalString(key));
  const whole = (key: string, max: number) => (groups.has(key) ? { [key]: groups.number(key, 1, 1, max) } : {});
  return {
    ...text('mode'),
    ...text('attribute'),
    ...text('baseDN'),
    ...text('objectFilter'),
    ...text('filter'),
    ...text('memberUidAttribute'),
    ...optional('memberAttributes', groups.optionalStringList('memberAttributes')),
    ...whole('maxDepth', 100),
    ...whole('maxCount', 10_000),
    ...(groups.has('cacheSeconds') ? { cacheSeconds: groups.number('cacheSeconds', 60, 0, 3600) } : {}),
  };
}

/** The LDAP_GROUP* variables for what cdk.json sets; values are checked by the runtime's loadConfig at synth. */
function groupEnvironment(groups: DeploymentConfig['directory']['groups']): Record<string, string> {
  if (!groups) return {};
  const entries: Array<[string, unknown]> = [
    ['LDAP_GROUPS', groups.mode],
    ['LDAP_GROUPS_ATTRIBUTE', groups.attribute],
    ['LDAP_GROUP_BASE_DN', groups.baseDN],
    ['LDAP_GROUP_OBJECT_FILTER', groups.objectFilter],
    ['LDAP_GROUP_MEMBER_ATTRIBUTES', groups.memberAttributes?.join(',')],
    ['LDAP_GROUP_MEMBER_UID_ATTRIBUTE', groups.memberUidAttribute],
    ['LDAP_GROUP_FILTER', groups.filter],
    ['LDAP_GROUP_MAX_DEPTH', groups.maxDepth],
    ['LDAP_GROUP_MAX_COUNT', groups.maxCount],
    ['LDAP_GROUP_CACHE_SECONDS', groups.cacheSeconds],
  ];
  return Object.fromEntries(
    entries.filter(([, value]) => value !== undefined).map(([name, value]) => [name, String(value)]),
  );
}

/** The environment of the token authorizer. */
export function authorizerEnvironment(config: Pick<DeploymentConfig, 'auth0'>): Record<string, string> {
  const { auth0 } = config;
  return {
    AUTH_ISSUER: auth0.issuer,
    AUTH_AUDIENCE: auth0.audience,
    AUTH_ALLOWED_CLIENT_IDS: auth0.allowedClientIds.join(','),
    AUTH_SCOPE_LOGIN: auth0.loginScope,
    AUTH_SCOPE_GET_USER: auth0.getUserScope,
    LOG_LEVEL: 'info',
    NODE_OPTIONS: '--enable-source-maps',
  };
}

function readNetwork(
  network: ContextReader,
  at: (path: string) => string,
  problems: string[],
): DeploymentConfig['network'] {
  const kind = network.string('kind', 'demo');
  if (kind === 'demo') return { kind: 'demo' };
  if (kind !== 'existing') {
    problems.push(`${at('network.kind')}: ${JSON.stringify(kind)} expected "existing" or "demo"`);
    return { kind: 'demo' };
  }
  const vpcId = network.string('vpcId');
  if (vpcId && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId))
    problems.push(`${at('network.vpcId')}: ${JSON.stringify(vpcId)} expected vpc-xxxxxxxx`);
  const availabilityZones = network.stringList('availabilityZones');
  const privateSubnetIds = network.stringList('privateSubnetIds');
  for (const id of privateSubnetIds)
    if (!/^subnet-[0-9a-f]{8,17}$/.test(id))
      problems.push(`${at('network.privateSubnetIds')}: ${JSON.stringify(id)} expected subnet-xxxxxxxx`);
  if (privateSubnetIds.length !== availabilityZones.length) {
    problems.push(
      `${at('network.privateSubnetIds')}: ${privateSubnetIds.length} subnet(s) for ${availabilityZones.length} availability zone(s); give one private subnet per zone`,
    );
  }
  if (network.has('publicSubnetIds')) {
    problems.push(`${at('network.publicSubnetIds')}: the directory functions run only in private subnets; remove it`);
  }
  const routeTables = network.optionalStringList('privateSubnetRouteTableIds');
  for (const id of routeTables ?? [])
    if (!/^rtb-[0-9a-f]{8,17}$/.test(id))
      problems.push(`${at('network.privateSubnetRouteTableIds')}: ${JSON.stringify(id)} expected rtb-xxxxxxxx`);
  if (routeTables && routeTables.length !== privateSubnetIds.length) {
    problems.push(
      `${at('network.privateSubnetRouteTableIds')}: ${routeTables.length} route table(s) for ${privateSubnetIds.length} subnet(s)`,
    );
  }
  const vpcCidrBlock = network.optionalString('vpcCidrBlock', /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR');
  return {
    kind: 'existing',
    vpcId,
    availabilityZones,
    privateSubnetIds,
    ...(routeTables ? { privateSubnetRouteTableIds: routeTables } : {}),
    ...(vpcCidrBlock ? { vpcCidrBlock } : {}),
  };
}

function readBindSecret(
  secret: ContextReader,
  problems: string[],
  at: (path: string) => string,
): DeploymentConfig['bindSecret'] {
  const secretArn = secret.optionalString('secretArn');
  if (!secretArn) return { kind: 'create' };
  if (!SECRET_ARN.test(secretArn)) {
    problems.push(
      `${at('bindSecret.secretArn')}: ${JSON.stringify(secretArn)} expected a complete secret ARN (ending in -XXXXXX), so the grant names one exact secret`,
    );
  }
  const kmsKeyArn = secret.optionalString(
    'kmsKeyArn',
    /^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
    'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)',
  );
  return { kind: 'existing', secretArn, ...(kmsKeyArn ? { kmsKeyArn } : {}) };
}

function readCustomDomain(
  domain: ContextReader,
  problems: string[],
  at: (path: string) => string,
): DeploymentConfig['customDomain'] {
  const domainName = domain.optionalString(
    'domainName',
    /^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/i,
    'a DNS name',
  );
  if (!domainName) return undefined;
  const certificateArn = domain.string('certificateArn');
  if (certificateArn && !/^arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/.test(certificateArn)) {
    problems.push(
      `${at('customDomain.certificateArn')}: ${JSON.stringify(certificateArn)} expected an ACM certificate ARN in the API's region`,
    );
  }
  return { domainName, certificateArn };
}

function readAlarms(
  alarms: ContextReader,
  problems: string[],
  at: (path: string) => string,
): DeploymentConfig['alarms'] {
  const topicArn = alarms.optionalString(
    'topicArn',
    /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/,
    'an SNS topic ARN',
  );
  const email = alarms.optionalString('email', /^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an email address');
  if (topicArn && email) problems.push(`${at('alarms')}: give topicArn or email, not both`);
  return topicArn || email ? { ...(topicArn ? { topicArn } : {}), ...(email ? { email } : {}) } : undefined;
}

function portOf(url: string): number | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.port) return Number(parsed.port);
    return parsed.protocol === 'ldaps:' ? 636 : parsed.protocol === 'ldap:' ? 389 : undefined;
  } catch {
    return undefined;
  }
}

function describeCidrProblem(range: string): string | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(range);
  if (!match || match.slice(1, 5).some((part) => Number(part) > 255) || Number(match[5]) > 32)
    return 'expected an IPv4 CIDR such as 10.20.0.0/16';
  if (Number(match[5]) < 8) return 'is wider than /8: egress must name the directory network, not the internet';
  return undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads one level of the context object, collecting problems with their full key path. */
class ContextReader {
  constructor(
    private readonly raw: Raw,
    private readonly at: (path: string) => string,
    private readonly problems: string[],
    private readonly prefix = '',
  ) {}

  has(key: string): boolean {
    return Object.hasOwn(this.raw, key);
  }

  private path(key: string): string {
    return this.at(`${this.prefix}${key}`);
  }

  object(key: string, optionalObject = false): ContextReader {
    const value = this.raw[key];
    if (value === undefined && optionalObject)
      return new ContextReader({}, this.at, this.problems, `${this.prefix}${key}.`);
    if (!isObject(value)) {
      this.problems.push(
        `${this.path(key)}: ${value === undefined ? 'is required' : `${JSON.stringify(value)} expected an object`}`,
      );
      return new ContextReader({}, this.at, [], `${this.prefix}${key}.`);
    }
    return new ContextReader(value, this.at, this.problems, `${this.prefix}${key}.`);
  }

  optionalObject(key: string): Record<string, unknown> | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (!isObject(value)) this.problems.push(`${this.path(key)}: ${JSON.stringify(value)} expected an object`);
    return isObject(value) ? value : undefined;
  }

  string(key: string, fallback?: string): string {
    const value = this.raw[key];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || value.trim() === '') {
      this.problems.push(
        `${this.path(key)}: ${value === undefined ? 'is required' : `${JSON.stringify(value)} expected a non-empty string`}`,
      );
      return '';
    }
    return value;
  }

  optionalString(key: string, pattern?: RegExp, expected?: string): string | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '' || (pattern && !pattern.test(value))) {
      this.problems.push(`${this.path(key)}: ${JSON.stringify(value)} expected ${expected ?? 'a non-empty string'}`);
      return undefined;
    }
    return value;
  }

  stringList(key: string): string[] {
    const value = this.raw[key];
    if (
      !Array.isArray(value) ||
      value.length === 0 ||
      value.some((item) => typeof item !== 'string' || item.trim() === '')
    ) {
      this.problems.push(
        `${this.path(key)}: ${value === undefined ? 'is required' : `${JSON.stringify(value)} expected a non-empty list of strings`}`,
      );
      return [];
    }
    return value as string[];
  }

  optionalStringList(key: string): string[] | undefined {
    return this.raw[key] === undefined ? undefined : this.stringList(key);
  }

  number(key: string, fallback: number, min: number, max: number): number {
    const value = this.raw[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${this.path(key)}: ${JSON.stringify(value)} expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  numberList(key: string, fallback: number[], min: number, max: number): number[] {
    const value = this.raw[key];
    if (value === undefined) return fallback;
    if (
      !Array.isArray(value) ||
      value.length === 0 ||
      value.some((item) => typeof item !== 'number' || !Number.isInteger(item) || item < min || item > max)
    ) {
      this.problems.push(
        `${this.path(key)}: ${JSON.stringify(value)} expected a non-empty list of whole numbers from ${min} to ${max}`,
      );
      return fallback;
    }
    return value as number[];
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.problems.push(`${this.path(key)}: ${JSON.stringify(value)} expected true or false`);
      return fallback;
    }
    return value;
  }
}
