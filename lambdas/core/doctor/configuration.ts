// The doctor's first link: the bridge's own configuration, read by the bridge's own readers
// (core/config/bridge-config.ts), limited to what the walked links need. The directory links
// need the LDAP_* settings; the issuer links the AUTH_* settings; /login and /get-user (the user
// and login links) both, as the bridge itself reads them.
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import {
  type AuthConfig,
  ConfigError,
  type DirectoryConfig,
  type Env,
  loadAuthorizerConfig,
  loadDirectoryConfig,
} from '../config/bridge-config.ts';
import type { DoctorLink } from './report.ts';
import { ISSUER_LINKS, type LinkResult } from './walk.ts';

export interface DoctorConfig {
  /** Read when a directory link, user or login is walked. */
  directory?: DirectoryConfig | undefined;
  /** Read when jwks, clock, user or login is walked. */
  auth?: AuthConfig | undefined;
}

/**
 * Settings the token check needs but the issuer links do not, given stand-ins when absent and
 * only the issuer links are walked: `doctor --stack` checks the deployed issuer from a machine
 * that may hold no AUTH_* settings but the issuer the stack reported.
 */
const NOT_NEEDED_BY_ISSUER_LINKS: Record<string, string> = {
  [S.AUTH_AUDIENCE.env]: 'not-needed-by-the-issuer-links',
  [S.AUTH_ALLOWED_CLIENT_IDS.env]: 'not-needed-by-the-issuer-links',
};

/** Reads what the walked links need, or throws ConfigError listing every problem at once. */
export function loadDoctorConfig(env: Env, walked: ReadonlySet<DoctorLink>): DoctorConfig {
  const others = [...walked].filter((link) => link !== 'configuration');
  // Asked for nothing but the configuration: the whole of it.
  const all = others.length === 0;
  const routes = walked.has('user') || walked.has('login');
  const directoryLinks = others.some((link) => !ISSUER_LINKS.has(link));
  const issuerLinks = others.some((link) => ISSUER_LINKS.has(link));
  const problems: string[] = [];
  const read = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const config: DoctorConfig = {};
  if (all || directoryLinks) config.directory = read(() => loadDirectoryConfig(env).directory);
  if (all || issuerLinks || routes) {
    // The user and login links are directory links too: the whole configuration, as the bridge reads it.
    const authEnv = all || directoryLinks ? env : { ...NOT_NEEDED_BY_ISSUER_LINKS, ...env };
    config.auth = read(() => loadAuthorizerConfig(authEnv).auth);
  }
  // Both readers check LOG_LEVEL: a bad one is one problem.
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return config;
}

export function configurationOk(config: DoctorConfig): LinkResult {
  const parts: string[] = [];
  const { directory, auth } = config;
  if (directory) {
    const servers = `${directory.urls.length} server${directory.urls.length === 1 ? '' : 's'}`;
    parts.push(
      `directory: ${servers} in ${S.LDAP_URLS.env}, base ${directory.baseDN}, preset ${directory.preset}, user filter ${directory.userFilter}`,
    );
  }
  if (auth) parts.push(`issuer: ${auth.issuer} (keys at ${auth.jwksUrl})`);
  return { status: 'ok', summary: `settings valid; ${parts.join('; ')}` };
}

export function configurationFailed(error: ConfigError): LinkResult {
  return {
    status: 'fail',
    summary: `settings missing or invalid: ${error.problems.join('; ')}`,
    fix: 'correct the settings named above (auth0-ldap-bridge doctor --help lists every setting with its default); nothing else was checked',
  };
}
