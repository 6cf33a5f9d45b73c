// The doctor's composition root, shared by `auth0-ldap-bridge doctor` and the deployed doctor
// function: reads the bridge's own configuration, runs each walked link's probes (adapters/
// doctor-probes.ts) and the core's judgement of them (core/doctor/), and closes every connection
// it opened. The user and login links run the bridge's own handle() with its own dependencies
// (createBridge), so they find users and log in exactly as /get-user and /login do; only the
// caller check is the doctor's, which lets it through.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AuthConfig, DirectoryConfig } from '../core/config/bridge-config.ts';
import { ConfigError } from '../core/config/read-settings.ts';
import {
  configurationFailed,
  configurationOk,
  type DoctorConfig,
  loadDoctorConfig,
} from '../core/doctor/configuration.ts';
import {
  judgeAttributes,
  judgeBaseDn,
  judgeLockoutPolicy,
  judgeServiceBind,
  judgeUserSearch,
  wantedAttributes,
} from '../core/doctor/directory-advice.ts';
import { judgeClock, judgeJwks } from '../core/doctor/issuer-advice.ts';
import { judgeDns, judgeTcp, judgeTls, serversThatPassed } from '../core/doctor/network-advice.ts';
import {
  type DirectoryServer,
  directoryServer,
  type IssuerObservation,
  type LockoutObservation,
  type RouteObservation,
  type SampleEntryObservation,
  type ServiceBindObservation,
} from '../core/doctor/observations.ts';
import type { DoctorCheck, DoctorLink, DoctorReport } from '../core/doctor/report.ts';
import { judgeLogin, judgeUser } from '../core/doctor/request-advice.ts';
import { type LinkResult, linksToWalk, walkChain } from '../core/doctor/walk.ts';
import { buildUserFilter, USERNAME_PLACEHOLDER } from '../core/directory/ldap-filter.ts';
import { type CallerAuthorizer, handle } from '../core/http/handle.ts';
import type { LogFields, Logger } from '../core/ports.ts';
import type { Auth0Profile } from '../core/profile/map-entry.ts';
import {
  connectServer,
  type DirectoryProbeOptions,
  type DirectorySession,
  failureOf,
  fetchIssuer,
  handshakeServer,
  openServiceSession,
  resolveServer,
} from '../adapters/doctor-probes.ts';
import type { LdapDirectory } from '../adapters/ldap-directory.ts';
import { type Bridge, createBridge, createLdapDirectory, lockoutShield, userSearchAttributes } from './compose.ts';

export interface RunDoctorOptions {
  /**
   * Links to walk, in DOCTOR_LINKS order; default every link except 'user' and 'login'.
   * 'configuration' is always walked and reads only the settings the walked links need
   * (directory links: the LDAP_* settings; jwks/clock: the AUTH_* settings).
   */
  links?: readonly DoctorLink[];
  /** Adds the 'user' link: the profile Auth0 would receive (no bind). */
  user?: string;
  /** Adds the 'login' link: a full login, exactly as /login does it (lockout shield included). */
  login?: { username: string; password: string };
  /** Called as each link finishes, for progress output. */
  onCheck?: (check: DoctorCheck) => void;
}

/** Milliseconds to wait for the issuer's key set: as long as the token verifier waits (its jwksTimeoutMs default). */
const ISSUER_TIMEOUT_MS = 3000;

/** The username the user-search link searches for: the filter is tried, nobody is looked up. */
const SAMPLE_USERNAME = 'auth0-ldap-bridge-doctor-sample';

/** The doctor calls handle() itself: the caller is the doctor, allowed whatever the route's scope. */
const DOCTOR_CALLER: CallerAuthorizer = {
  async authorize(_request, requiredScope) {
    return { clientId: 'auth0-ldap-bridge-doctor', scopes: [requiredScope], expiresAt: Date.now() / 1000 + 60 };
  },
};

/** Walks the chain; never throws for a broken link (that is a 'fail' check), and closes what it opened. */
export async function runDoctor(
  env: Readonly<Record<string, string | undefined>>,
  options: RunDoctorOptions = {},
): Promise<DoctorReport> {
  const walked = linksToWalk({
    links: options.links,
    user: options.user !== undefined,
    login: options.login !== undefined,
  });
  const run = new DoctorRun(env, walked, options);
  try {
    const checks = await walkChain(walked, (link) => run.check(link), {
      now: () => performance.now(),
      onCheck: options.onCheck,
    });
    return {
      ok: checks.every((check) => check.status !== 'fail'),
      ranOn: { kind: 'local' },
      checks,
      ...(run.profile === undefined ? {} : { profile: run.profile }),
    };
  } finally {
    await run.close();
  }
}

/** A log line the bridge's own code wrote during the walk; the doctor reads its fields, never prints it. */
interface LoggedLine {
  level: keyof Logger;
  message: string;
  fields: LogFields;
}

/** One walk's state: what the earlier links found, and what is open. */
class DoctorRun {
  profile: Auth0Profile | undefined;
  private config: DoctorConfig = {};
  /** The servers the next network link checks: those no earlier network link failed. */
  private servers: DirectoryServer[] = [];
  private probeOptions: DirectoryProbeOptions | undefined;
  /** The bridge's own directory adapter (the lockout shield reads the policy through it). */
  private ldap: LdapDirectory | undefined;
  private bridge: Bridge | undefined;
  private opening: Promise<{ observation: ServiceBindObservation; session?: DirectorySession }> | undefined;
  private sampling: Promise<SampleEntryObservation | LinkResult> | undefined;
  private issuerAnswer: Promise<IssuerObservation> | undefined;
  private readonly logged: LoggedLine[] = [];
  private readonly logger: Logger = {
    debug: (message, fields = {}) => this.logged.push({ level: 'debug', message, fields }),
    info: (message, fields = {}) => this.logged.push({ level: 'info', message, fields }),
    warn: (message, fields = {}) => this.logged.push({ level: 'warn', message, fields }),
    error: (message, fields = {}) => this.logged.push({ level: 'error', message, fields }),
  };

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly walked: ReadonlySet<DoctorLink>,
    private readonly options: RunDoctorOptions,
  ) {}

  check(link: DoctorLink): Promise<LinkResult> {
    switch (link) {
      case 'configuration':
        return this.configuration();
      case 'dns':
        return this.dns();
      case 'tcp':
        return this.tcp();
      case 'tls':
        return this.tls();
      case 'service-bind':
        return this.serviceBind();
      case 'base-dn':
        return this.withSession(async (session) => {
          const { baseDN } = this.directory();
          return judgeBaseDn(await session.readBase(baseDN), baseDN);
        });
      case 'user-search':
        return this.withSession(async (session) => {
          const { baseDN, userFilter } = this.directory();
          return judgeUserSearch(
            await session.count(baseDN, buildUserFilter(userFilter, SAMPLE_USERNAME), 2),
            userFilter,
          );
        });
      case 'attributes':
        return this.attributes();
      case 'lockout-policy':
        return this.lockoutPolicy();
      case 'jwks':
        return this.issuer().then(judgeJwks);
      case 'clock':
        return this.issuer().then((answer) => judgeClock(answer, this.auth().clockToleranceSeconds));
      case 'user':
        return this.user();
      case 'login':
        return this.login();
    }
  }

  async close(): Promise<void> {
    const session = (await this.opening?.catch(() => undefined))?.session;
    await Promise.all([session?.close(), this.ldap?.close(), this.bridge?.close()]);
  }

  private async configuration(): Promise<LinkResult> {
    try {
      this.config = loadDoctorConfig(this.env, this.walked);
      const { directory } = this.config;
      if (directory) {
        // The bridge's own adapter checks LDAP_CA_CERT as the bridge does at start-up.
        this.ldap = createLdapDirectory(directory, this.logger, { bindPoolSize: 1, bindQueueLimit: 0 });
        this.servers = directory.urls.map(directoryServer);
        this.probeOptions = {
          caPem: directory.caCertPath === undefined ? undefined : readFileSync(directory.caCertPath, 'utf8'),
          startTls: directory.startTls,
          connectTimeoutMs: directory.connectTimeoutMs,
          operationTimeoutMs: directory.operationTimeoutMs,
        };
      }
      return configurationOk(this.config);
    } catch (error) {
      if (error instanceof ConfigError) return configurationFailed(error);
      throw error;
    }
  }

  private async dns(): Promise<LinkResult> {
    const observations = await Promise.all(
      this.servers.map((server) => resolveServer(server, this.probes().connectTimeoutMs)),
    );
    this.servers = serversThatPassed(observations, (observation) => observation.kind !== 'failed');
    return judgeDns(observations);
  }

  private async tcp(): Promise<LinkResult> {
    const observations = await Promise.all(
      this.servers.map((server) => connectServer(server, this.probes().connectTimeoutMs)),
    );
    this.servers = serversThatPassed(observations, (observation) => observation.ok);
    return judgeTcp(observations);
  }

  private async tls(): Promise<LinkResult> {
    const observations = await Promise.all(this.servers.map((server) => handshakeServer(server, this.probes())));
    this.servers = serversThatPassed(observations, (observation) => observation.kind === 'plaintext' || observation.ok);
    const { caCertPath, allowPlaintext } = this.directory();
    return judgeTls(observations, { caCertPath, allowPlaintext, now: Date.now() });
  }

  /** The service account's session, opened once: on the first server of LDAP_URLS that answers, as the bridge does. */
  private session(): Promise<{ observation: ServiceBindObservation; session?: DirectorySession }> {
    const directory = this.directory();
    this.opening ??= openServiceSession(directory.urls.map(directoryServer), directory.bindCredentials, this.probes());
    return this.opening;
  }

  private async serviceBind(): Promise<LinkResult> {
    return judgeServiceBind((await this.session()).observation, this.directory().urls.map(directoryServer));
  }

  /** Runs what searches as the service account; without a bound session, the link fails as the bind did. */
  private async withSession<T>(use: (session: DirectorySession) => Promise<T>): Promise<T | LinkResult> {
    const { observation, session } = await this.session();
    if (session) return use(session);
    const bind = judgeServiceBind(observation, this.directory().urls.map(directoryServer));
    return { ...bind, summary: `no service-account session: ${bind.summary}` };
  }

  /** The first user entry with the attributes every user search asks for, read once for the attributes and lockout links. */
  private sample(): Promise<SampleEntryObservation | LinkResult> {
    this.sampling ??= this.withSession((session) => {
      const directory = this.directory();
      const anyUser = directory.userFilter.split(USERNAME_PLACEHOLDER).join('*');
      const guids = directory.mapping.userIdFormat === 'guid' ? [directory.mapping.userIdAttribute] : [];
      return session.first(directory.baseDN, anyUser, userSearchAttributes(directory), guids);
    });
    return this.sampling;
  }

  private async attributes(): Promise<LinkResult> {
    const sample = await this.sample();
    if (!('filter' in sample)) return sample;
    const directory = this.directory();
    return judgeAttributes(sample, wantedAttributes(directory), directory);
  }

  private async lockoutPolicy(): Promise<LinkResult> {
    const directory = this.directory();
    return judgeLockoutPolicy(await this.lockoutObservation(directory), directory.lockoutShield);
  }

  private async lockoutObservation(directory: DirectoryConfig): Promise<LockoutObservation> {
    if (!directory.lockoutShield.enabled) return { kind: 'off' };
    const warnedBefore = this.logged.length;
    const shield = lockoutShield(directory, this.bridgeDirectory(), this.logger);
    const warning = () =>
      this.logged
        .slice(warnedBefore)
        .find((line) => line.level === 'warn' && line.message.startsWith('lockout shield'));
    if (shield === undefined) return { kind: 'no-rules', fix: String(warning()?.fields.fix ?? '') };
    const sample = await this.sample();
    if (!('filter' in sample)) return { kind: 'failed', failure: { message: sample.summary } };
    if (!sample.ok || sample.entry === undefined)
      return {
        kind: 'failed',
        failure: { message: 'no user entry to read the policy for (see the attributes link)' },
      };
    try {
      const found = await shield.policyOf(sample.entry);
      if (found === undefined) return { kind: 'off' };
      const warned = warning();
      return {
        kind: 'policy',
        ...found,
        unreadable: warned && { reason: String(warned.fields.reason ?? ''), fix: String(warned.fields.fix ?? '') },
      };
    } catch (error) {
      return { kind: 'failed', failure: failureOf(error) };
    }
  }

  private issuer(): Promise<IssuerObservation> {
    this.issuerAnswer ??= fetchIssuer(this.auth().jwksUrl, ISSUER_TIMEOUT_MS);
    return this.issuerAnswer;
  }

  private async user(): Promise<LinkResult> {
    const username = this.options.user ?? '';
    const observation = await this.route('/get-user', { username });
    if (observation.status === 200) this.profile = observation.body as Auth0Profile;
    return judgeUser(observation, username);
  }

  private async login(): Promise<LinkResult> {
    const { username, password } = this.options.login ?? { username: '', password: '' };
    return judgeLogin(await this.route('/login', { username, password }), username);
  }

  /** One request through the bridge's own handle(), with the bridge's own dependencies. */
  private async route(path: '/login' | '/get-user', body: Record<string, string>): Promise<RouteObservation> {
    this.bridge ??= createBridge({ directory: this.directory(), auth: this.auth() }, this.logger, DOCTOR_CALLER);
    const id = `doctor-${randomUUID()}`;
    const response = await handle(
      {
        id,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        body: new TextEncoder().encode(JSON.stringify(body)),
      },
      this.bridge.deps,
    );
    const logged = this.logged.findLast((line) => line.fields.request_id === id)?.fields ?? {};
    return { status: response.status, body: JSON.parse(response.body) as unknown, logged };
  }

  /** The lockout link's directory: the bridge's own adapter, created with the configuration. */
  private bridgeDirectory(): LdapDirectory {
    if (this.ldap === undefined) throw new Error('the configuration link did not create the directory adapter');
    return this.ldap;
  }

  private probes(): DirectoryProbeOptions {
    if (this.probeOptions === undefined) throw new Error('the configuration link did not read the directory settings');
    return this.probeOptions;
  }

  private directory(): DirectoryConfig {
    if (this.config.directory === undefined) throw new Error('the configuration link did not read the LDAP_* settings');
    return this.config.directory;
  }

  private auth(): AuthConfig {
    if (this.config.auth === undefined) throw new Error('the configuration link did not read the AUTH_* settings');
    return this.config.auth;
  }
}
