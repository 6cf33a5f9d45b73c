// The deployment configuration: named environments in cdk.json context, chosen with
// `-c env=NAME`, validated before any construct is built. Every key and its rule come from the
// contract's settings table (lambdas/contract/settings.ts): deployment-only keys are checked
// here against their rows; keys that configure the functions become their environment and are
// checked by the runtime's own loadConfig, so a bad filter or mapping fails `cdk synth`, not the
// first login. Only rules that tie several deployment keys together are written here. Messages
// name the cdk.json key, the bad value and what was expected; every problem is reported at once.
import {
  DEPLOYMENT_SETTINGS as D,
  RUNTIME_SETTINGS,
  type RuntimeSettingName,
  RUNTIME_SETTINGS as S,
  type Setting,
} from '../lambdas/contract/settings.ts';
import { loadConfig } from '../lambdas/core/config/bridge-config.ts';
import { METRICS_SERVICE_ENV } from '../lambdas/adapters/cloudwatch-metrics.ts';
import {
  defaultRateLimitPer5Minutes,
  leastRateLimitPer5Minutes,
  RATE_LIMIT_WINDOW_SECONDS,
} from './constructs/bridge-web-acl.ts';
import { parseSettingText, settingTextFromJson } from '../lambdas/core/config/read-settings.ts';
import { parseBlockLimit } from '../lambdas/core/migration/leavers.ts';

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
  };
  directory: {
    urls: string[];
    /** Path (relative to the project) of the PEM of a private CA, bundled with the functions. */
    caCertificateFile?: string;
    /** CIDR ranges where the directory servers are: the only egress the functions get besides the endpoint. */
    networkRanges: string[];
    /** Ports, derived from the URLs unless given. */
    ports: number[];
    connectTimeoutMs: number;
    operationTimeoutMs: number;
  };
  /**
   * The runtime settings cdk.json gives the functions, as environment variables (only what it
   * sets, plus the settings stated in every Lambda environment). Checked by the runtime at synth.
   */
  functionSettings: Record<string, string>;
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
  /** When the alarms on outcomes fire (the `alarms.*` thresholds). */
  alarmThresholds: AlarmThresholds;
  /** The scheduled sync-leavers (`syncLeavers.*`); absent unless syncLeavers.enabled is true. */
  syncLeavers?: SyncLeaversConfig;
}

export interface SyncLeaversConfig {
  /** The Auth0 database connection whose users are compared with the directory. */
  connection: string;
  /** An EventBridge schedule expression: rate(...) or cron(...) in UTC. */
  schedule: string;
  /** false: dry runs that only report. */
  apply: boolean;
  /** An existing {"domain","clientId","clientSecret"} secret; absent: the stack creates one to fill in. */
  managementApiSecretArn?: string;
  /** The most users one run may block, as sync-leavers --max-block (`25` or `5%`); absent: its default. */
  maxBlock?: string;
}

export interface AlarmThresholds {
  /** Percent of logins in 5 minutes answered invalid_credentials. */
  invalidCredentialsPercent: number;
  /** Logins in 5 minutes below which that share does not alarm. */
  invalidCredentialsMinLogins: number;
  /** Logins the lockout shield answered in 5 minutes. */
  lockoutShieldPer5Minutes: number;
  /** directory_unavailable answers of one route in 5 minutes. */
  directoryUnavailablePer5Minutes: number;
}

export class DeploymentConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid deployment configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'DeploymentConfigError';
  }
}

/** A placeholder that satisfies the runtime's ARN check while the real one is a deploy-time token. */
const PLACEHOLDER_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:placeholder-AbCdEf';
/** Where the bundled private CA lands in the function's package. */
export const BUNDLED_CA_PATH = '/var/task/directory-ca.pem';
/** The keys of a cdk.json environment that hold objects of further keys. */
const SECTIONS = [
  'auth0',
  'directory',
  'directory.groups',
  'network',
  'bindSecret',
  'throttling',
  'customDomain',
  'alarms',
  'syncLeavers',
];

type Raw = Record<string, unknown>;
/** A cdk.json key no row names whose name says it holds a credential. */
const SECRET_KEY = /secret|password|credential|token/i;

/** Reads environment `envName` from the `environments` context object. */
export function readDeploymentConfig(environments: unknown, envName: string | undefined): DeploymentConfig {
  if (!isObject(environments)) {
    throw new DeploymentConfigError(['context "environments": expected an object of named environments in cdk.json']);
  }
  const names = Object.keys(environments);
  if (!envName || !Object.hasOwn(environments, envName)) {
    throw new DeploymentConfigError([
      `context "env": ${JSON.stringify(envName ?? null)} expected one of ${names.join(', ')} (cdk synth -c env=NAME)`,
    ]);
  }
  const raw = environments[envName];
  const context = new ContextReader(isObject(raw) ? raw : {}, envName);
  if (!isObject(raw)) context.problems.push(`${context.at('')}: expected an object`);
  context.checkKnownKeys();

  const functionSettings = readFunctionSettings(context);
  const urls = context.runtimeList('LDAP_URLS');
  const derivedPorts = [...new Set(urls.map(portOf).filter((port): port is number => port !== undefined))];
  const networkRanges = context.get(D.networkRanges) as string[] | undefined;
  for (const range of networkRanges ?? []) {
    const problem = describeCidrProblem(range);
    if (problem) context.problem(D.networkRanges, `${JSON.stringify(range)} ${problem}`);
  }
  const certificateFile = context.get(D.caCertificateFile) as string | undefined;
  const alarms = {
    ...optional('topicArn', context.get(D.alarmTopicArn) as string | undefined),
    ...optional('email', context.get(D.alarmEmail) as string | undefined),
  };
  const domainName = context.get(D.customDomainName) as string | undefined;

  const config: DeploymentConfig = {
    envName,
    stackName: (context.get(D.stackName) as string | undefined) ?? `LdapBridge-${envName}`,
    ...optional('account', context.get(D.account) as string | undefined),
    ...optional('region', context.get(D.region) as string | undefined),
    auth0: {
      issuer: functionSettings.AUTH_ISSUER ?? '',
      audience: functionSettings.AUTH_AUDIENCE ?? '',
      allowedClientIds: context.runtimeList('AUTH_ALLOWED_CLIENT_IDS'),
    },
    directory: {
      urls,
      ...optional('caCertificateFile', certificateFile),
      networkRanges: networkRanges ?? [],
      ports: (context.get(D.ports) as number[] | undefined) ?? derivedPorts,
      connectTimeoutMs: Number(functionSettings.LDAP_CONNECT_TIMEOUT_MS),
      operationTimeoutMs: Number(functionSettings.LDAP_TIMEOUT_MS),
    },
    functionSettings,
    network: readNetwork(context),
    createSecretsManagerEndpoint: context.get(D.createSecretsManagerEndpoint) as boolean,
    bindSecret: readBindSecret(context),
    throttling: {
      rateLimit: context.get(D.throttlingRateLimit) as number,
      burstLimit: context.get(D.throttlingBurstLimit) as number,
    },
    reservedConcurrency: context.get(D.reservedConcurrency) as number,
    functionTimeoutSeconds: context.get(D.functionTimeoutSeconds) as number,
    authorizerCacheSeconds: context.get(D.authorizerCacheSeconds) as number,
    ...optional('allowedSourceIps', context.get(D.allowedSourceIps) as string[] | undefined),
    // Derived from the stage's throttle when absent; checkDeploymentRules holds a given value to it.
    wafRateLimitPer5Minutes:
      (context.get(D.wafRateLimitPer5Minutes) as number | undefined) ??
      defaultRateLimitPer5Minutes(
        context.get(D.throttlingRateLimit) as number,
        context.get(D.throttlingBurstLimit) as number,
      ),
    ...(domainName
      ? { customDomain: { domainName, certificateArn: context.required(D.customDomainCertificateArn) as string } }
      : {}),
    logRetentionDays: context.get(D.logRetentionDays) as number,
    ...(Object.keys(alarms).length > 0 ? { alarms } : {}),
    alarmThresholds: {
      invalidCredentialsPercent: context.get(D.alarmInvalidCredentialsPercent) as number,
      invalidCredentialsMinLogins: context.get(D.alarmInvalidCredentialsMinLogins) as number,
      lockoutShieldPer5Minutes: context.get(D.alarmLockoutShieldPer5Minutes) as number,
      directoryUnavailablePer5Minutes: context.get(D.alarmDirectoryUnavailablePer5Minutes) as number,
    },
    ...optional('syncLeavers', readSyncLeavers(context)),
  };
  checkDeploymentRules(config, context);
  if (context.problems.length > 0) throw new DeploymentConfigError(context.problems);
  return config;
}

/**
 * The runtime settings cdk.json sets, as the functions' environment text, then checked by the
 * runtime's own reader with messages that name the cdk.json keys.
 */
function readFunctionSettings(context: ContextReader): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [name, setting] of Object.entries(RUNTIME_SETTINGS) as Array<[RuntimeSettingName, Setting]>) {
    if (setting.cdk === undefined) continue;
    const text = context.text(setting);
    if (text !== undefined) settings[name] = text;
    else if (setting.statedInLambda && 'default' in setting && setting.default !== undefined)
      settings[name] = String(setting.default);
  }
  const runtimeEnv = { ...settings, LDAP_BIND_SECRET_ARN: PLACEHOLDER_SECRET_ARN };
  try {
    loadConfig(runtimeEnv, (setting) => (setting.cdk ? context.at(setting.cdk) : `${setting.env} (set by the stack)`));
  } catch (error) {
    const runtimeProblems = (error as { problems?: string[] }).problems ?? [String(error)];
    context.problems.push(...runtimeProblems);
  }
  return settings;
}

/** Rules that tie several deployment values together (each single value was checked against its row). */
function checkDeploymentRules(config: DeploymentConfig, context: ContextReader): void {
  const issuer = config.auth0.issuer;
  if (issuer && !/^https:\/\//.test(issuer)) {
    context.problem(
      S.AUTH_ISSUER,
      `${JSON.stringify(issuer)} must be https:// (the functions run in AWS, not on this machine)`,
    );
  }
  for (const ip of config.allowedSourceIps ?? []) {
    const problem = describeCidrProblem(ip.includes('/') ? ip : `${ip}/32`);
    if (problem) context.problem(D.allowedSourceIps, `${JSON.stringify(ip)} ${problem}`);
  }
  // The directory timeouts must fit in the function's, which must fit in Auth0's ~20 s script budget.
  const { connectTimeoutMs, operationTimeoutMs } = config.directory;
  if ((connectTimeoutMs + 2 * operationTimeoutMs) / 1000 >= config.functionTimeoutSeconds) {
    context.problem(
      D.functionTimeoutSeconds,
      `${config.functionTimeoutSeconds} must exceed ${S.LDAP_CONNECT_TIMEOUT_MS.cdk} + 2 x ${S.LDAP_TIMEOUT_MS.cdk} (a search and a bind)`,
    );
  }
  if (!config.createSecretsManagerEndpoint && (config.network.kind !== 'existing' || !config.network.vpcCidrBlock)) {
    context.problem(
      D.createSecretsManagerEndpoint,
      `false needs ${D.networkKind.cdk} "existing" with ${D.vpcCidrBlock.cdk} (egress 443 to the VPC's own endpoint)`,
    );
  }
  if (config.throttling.burstLimit < config.throttling.rateLimit / 10) {
    context.problem(
      D.throttlingBurstLimit,
      `${config.throttling.burstLimit} is too small for ${D.throttlingRateLimit.cdk} ${config.throttling.rateLimit}`,
    );
  }
  // WAF counts every request, those the stage then throttles included: a per-IP limit under what
  // the stage accepts would turn the tenant's busiest minutes into minutes of 403s for all of
  // Auth0's logins from that egress address.
  const leastWafLimit = leastRateLimitPer5Minutes(config.throttling.rateLimit, config.throttling.burstLimit);
  if (config.wafRateLimitPer5Minutes < leastWafLimit) {
    context.problem(
      D.wafRateLimitPer5Minutes,
      `${config.wafRateLimitPer5Minutes} is below ${D.throttlingRateLimit.cdk} ${config.throttling.rateLimit} x ${RATE_LIMIT_WINDOW_SECONDS} + ${D.throttlingBurstLimit.cdk} ${config.throttling.burstLimit} = ${leastWafLimit}: the WAF would block a source the stage still accepts (leave it out to derive it)`,
    );
  }
  if (config.alarms?.topicArn && config.alarms.email) {
    context.problem(D.alarmEmail, `give ${D.alarmTopicArn.cdk} or ${D.alarmEmail.cdk}, not both`);
  }
  // The scheduled sync-leavers calls Auth0's Management API from the directory functions' subnets;
  // the demo VPC's subnets are isolated (no route to the internet), so every run would fail.
  if (config.syncLeavers && config.network.kind !== 'existing') {
    context.problem(
      D.syncLeaversEnabled,
      `true needs ${D.networkKind.cdk} "existing" whose private subnets reach the internet (a NAT gateway or equivalent) for Auth0's Management API; the demo VPC's subnets are isolated`,
    );
  }
}

/** The environment of the login / get-user functions. No secrets: the bind password stays in Secrets Manager. */
export function lambdaEnvironment(
  config: Pick<DeploymentConfig, 'functionSettings' | 'directory' | 'stackName'>,
  bindSecretArn: string,
): Record<string, string> {
  return {
    ...config.functionSettings,
    // The `service` dimension of the functions' CloudWatch metrics, which the dashboard and alarms read.
    [METRICS_SERVICE_ENV]: config.stackName,
    [S.LDAP_BIND_SECRET_ARN.env]: bindSecretArn,
    ...(config.directory.caCertificateFile ? { [S.LDAP_CA_CERT.env]: BUNDLED_CA_PATH } : {}),
    // One request at a time per Lambda container: one bind connection is enough.
    [S.LDAP_BIND_POOL_SIZE.env]: '1',
    NODE_OPTIONS: '--enable-source-maps',
  };
}

/** The environment of the token authorizer: the token and logging settings only. */
export function authorizerEnvironment(
  config: Pick<DeploymentConfig, 'functionSettings' | 'stackName'>,
): Record<string, string> {
  const tokenSettings = Object.entries(config.functionSettings).filter(([name]) => {
    const group = RUNTIME_SETTINGS[name as RuntimeSettingName]?.group;
    return group === 'tokens' || group === 'logging';
  });
  return {
    ...Object.fromEntries(tokenSettings),
    [METRICS_SERVICE_ENV]: config.stackName,
    NODE_OPTIONS: '--enable-source-maps',
  };
}

function readNetwork(context: ContextReader): DeploymentConfig['network'] {
  const kind = context.get(D.networkKind);
  if (kind !== 'existing') {
    if (context.has('network.publicSubnetIds') || context.has(D.vpcId.cdk)) {
      context.problems.push(
        `${context.at(D.networkKind.cdk)}: "demo" creates its own VPC; remove the other network keys or set "existing"`,
      );
    }
    return { kind: 'demo' };
  }
  const availabilityZones = (context.required(D.availabilityZones) as string[] | undefined) ?? [];
  const privateSubnetIds = (context.required(D.privateSubnetIds) as string[] | undefined) ?? [];
  if (privateSubnetIds.length !== availabilityZones.length) {
    context.problem(
      D.privateSubnetIds,
      `${privateSubnetIds.length} subnet(s) for ${availabilityZones.length} availability zone(s); give one private subnet per zone`,
    );
  }
  if (context.has('network.publicSubnetIds')) {
    context.problems.push(
      `${context.at('network.publicSubnetIds')}: the directory functions run only in private subnets; remove it`,
    );
  }
  const routeTables = context.get(D.privateSubnetRouteTableIds) as string[] | undefined;
  if (routeTables && routeTables.length !== privateSubnetIds.length) {
    context.problem(
      D.privateSubnetRouteTableIds,
      `${routeTables.length} route table(s) for ${privateSubnetIds.length} subnet(s)`,
    );
  }
  const vpcCidrBlock = context.get(D.vpcCidrBlock) as string | undefined;
  return {
    kind: 'existing',
    vpcId: (context.required(D.vpcId) as string | undefined) ?? '',
    availabilityZones,
    privateSubnetIds,
    ...optional('privateSubnetRouteTableIds', routeTables),
    ...optional('vpcCidrBlock', vpcCidrBlock),
  };
}

/**
 * The `syncLeavers.*` keys when syncLeavers.enabled is true. Every key is checked either way, so a
 * schedule prepared with the switch off already fails `cdk synth` when it is wrong.
 */
function readSyncLeavers(context: ContextReader): SyncLeaversConfig | undefined {
  const enabled = context.get(D.syncLeaversEnabled) as boolean;
  const connection = context.get(D.syncLeaversConnection) as string | undefined;
  const schedule = context.get(D.syncLeaversSchedule) as string;
  const scheduleProblem = describeScheduleProblem(schedule);
  if (scheduleProblem) context.problem(D.syncLeaversSchedule, `${JSON.stringify(schedule)} ${scheduleProblem}`);
  const apply = context.get(D.syncLeaversApply) as boolean;
  const secretArn = context.get(D.syncLeaversManagementApiSecretArn) as string | undefined;
  const maxBlock = context.get(D.syncLeaversMaxBlock) as string | undefined;
  if (maxBlock !== undefined && parseBlockLimit(maxBlock) === undefined)
    context.problem(
      D.syncLeaversMaxBlock,
      `${JSON.stringify(maxBlock)} expected ${D.syncLeaversMaxBlock.expected}, at most 100%`,
    );
  if (!enabled) return undefined;
  if (!context.has(D.syncLeaversConnection.cdk))
    context.problem(D.syncLeaversConnection, `is required when ${D.syncLeaversEnabled.cdk} is true`);
  return {
    connection: connection ?? '',
    schedule,
    apply,
    ...optional('managementApiSecretArn', secretArn),
    ...optional('maxBlock', maxBlock),
  };
}

/** The least interval of a rate schedule: one run may take the function's whole timeout (15 minutes). */
export const SYNC_LEAVERS_LEAST_RATE_MINUTES = 15;
const MINUTES_PER_UNIT: Readonly<Record<string, number>> = { minute: 1, hour: 60, day: 1440 };

/**
 * What EventBridge would refuse, or what would make runs overlap, in a schedule whose form its
 * row's pattern already checked (rules from the EventBridge User Guide's cron and rate references).
 */
function describeScheduleProblem(schedule: string): string | undefined {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(schedule);
  if (rate) {
    const [, count = '', unit = ''] = rate;
    const minutes = Number(count) * (MINUTES_PER_UNIT[unit] ?? 0);
    return minutes < SYNC_LEAVERS_LEAST_RATE_MINUTES
      ? `runs more often than every ${SYNC_LEAVERS_LEAST_RATE_MINUTES} minutes: a run may take the function's 15-minute timeout`
      : undefined;
  }
  const fields = /^cron\((.*)\)$/.exec(schedule)?.[1]?.split(' ') ?? [];
  const [, , dayOfMonth, , dayOfWeek] = fields;
  if ((dayOfMonth === '?') === (dayOfWeek === '?'))
    return 'needs "?" in exactly one of day-of-month (third field) and day-of-week (fifth field), as EventBridge requires';
  return undefined;
}

function readBindSecret(context: ContextReader): DeploymentConfig['bindSecret'] {
  const secretArn = context.get(D.bindSecretArn) as string | undefined;
  if (!secretArn) return { kind: 'create' };
  const kmsKeyArn = context.get(D.bindSecretKmsKeyArn) as string | undefined;
  return { kind: 'existing', secretArn, ...optional('kmsKeyArn', kmsKeyArn) };
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

/** Reads one cdk.json environment by the settings table's keys, collecting problems with their full key path. */
class ContextReader {
  readonly problems: string[] = [];

  constructor(
    private readonly raw: Raw,
    private readonly envName: string,
  ) {}

  at(path: string): string {
    return `environments.${this.envName}.${path}`;
  }

  problem(setting: Setting, message: string): void {
    this.problems.push(`${this.at(setting.cdk ?? '?')}: ${message}`);
  }

  has(path: string): boolean {
    return this.valueAt(path) !== undefined;
  }

  /** A setting's value in the environment's text form, or undefined when cdk.json leaves it out. */
  text(setting: Setting): string | undefined {
    const value = setting.cdk === undefined ? undefined : this.valueAt(setting.cdk);
    if (value === undefined) return undefined;
    const converted = settingTextFromJson(setting, value);
    if ('expected' in converted) {
      this.problem(setting, `${JSON.stringify(value)} expected ${converted.expected}`);
      return undefined;
    }
    return converted.text;
  }

  /** A deployment setting's value, checked against its row; its default when absent or bad. */
  get(setting: Setting): unknown {
    const fallback = 'default' in setting ? setting.default : undefined;
    const text = this.text(setting);
    if (text === undefined) {
      if (setting.required && !this.has(setting.cdk ?? '')) this.problem(setting, 'is required');
      return fallback;
    }
    const parsed = parseSettingText(setting, text);
    if (parsed.ok) return parsed.value;
    this.problem(setting, `${JSON.stringify(this.valueAt(setting.cdk ?? ''))} expected ${parsed.expected}`);
    return fallback;
  }

  /** Like get, and a problem when absent. */
  required(setting: Setting): unknown {
    if (!this.has(setting.cdk ?? '')) {
      this.problem(setting, 'is required');
      return undefined;
    }
    return this.get(setting);
  }

  /** A list-valued runtime setting as the construct needs it (the runtime checks its items). */
  runtimeList(name: RuntimeSettingName): string[] {
    const value = this.valueAt((RUNTIME_SETTINGS[name] as Setting).cdk ?? '');
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  }

  /** A key no row of the table names is a typo or a leftover: say so rather than ignore it. */
  checkKnownKeys(): void {
    const known = new Set(
      ([...Object.values(RUNTIME_SETTINGS), ...Object.values(D)] as Setting[]).map((setting) => setting.cdk),
    );
    const walk = (object: Raw, prefix: string) => {
      for (const [key, value] of Object.entries(object)) {
        const path = `${prefix}${key}`;
        if (SECTIONS.includes(path) && isObject(value)) walk(value, `${path}.`);
        else if (SECTIONS.includes(path))
          this.problems.push(`${this.at(path)}: ${JSON.stringify(value)} expected an object`);
        else if (!known.has(path) && SECRET_KEY.test(key))
          this.problems.push(
            `${this.at(path)}: a secret never goes in cdk.json: it would be written into the synthesized template; keep it in Secrets Manager (${D.bindSecretArn.cdk}, ${D.syncLeaversManagementApiSecretArn.cdk})`,
          );
        else if (!known.has(path) && path !== 'network.publicSubnetIds')
          this.problems.push(`${this.at(path)}: is not a setting (see the README's cdk.json table)`);
      }
    };
    walk(this.raw, '');
  }

  private valueAt(path: string): unknown {
    let value: unknown = this.raw;
    for (const part of path.split('.')) {
      if (!isObject(value)) return undefined;
      value = value[part];
    }
    return value;
  }
}
