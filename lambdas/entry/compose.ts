// The composition root shared by the local server and the Lambda handlers: the only place that
// constructs adapters from validated configuration.
import { readFileSync } from 'node:fs';
import type { BridgeConfig } from '../core/config.ts';
import type { CallerAuthorizer, HandlerDeps, HandlerSettings } from '../core/handle.ts';
import type { Logger } from '../core/ports.ts';
import { attributesForProfile } from '../core/profile.ts';
import { LdapDirectory, type ServiceCredentialsSource } from '../adapters/ldap-directory.ts';
import { createSecretsManagerReader, SecretsManagerServiceCredentials, StaticServiceCredentials } from '../adapters/service-credentials.ts';

export interface Bridge {
  deps: Omit<HandlerDeps, 'requestId'>;
  directory: LdapDirectory;
  close(): Promise<void>;
}

export function handlerSettings(config: BridgeConfig): HandlerSettings {
  return {
    userFilter: config.directory.userFilter,
    mapping: config.directory.mapping,
    scopes: config.auth.scopes,
    timingDecoyDN: `cn=auth0-ldap-bridge-timing-decoy,${config.directory.baseDN}`,
  };
}

/**
 * The bridge's dependencies. The caller check comes from the entry point: the local server
 * verifies bearer tokens itself, the Lambda trusts API Gateway's authorizer; so jose stays out
 * of the Lambda bundle.
 */
export function createBridge(config: BridgeConfig, logger: Logger, authorizer: CallerAuthorizer): Bridge {
  const { directory: ldap } = config;
  const directory = new LdapDirectory({
    urls: ldap.urls,
    caPem: ldap.caCertPath === undefined ? undefined : readCaCertificate(ldap.caCertPath),
    startTls: ldap.startTls,
    connectTimeoutMs: ldap.connectTimeoutMs,
    operationTimeoutMs: ldap.operationTimeoutMs,
    maxIdleMs: ldap.idleTimeoutMs,
    logger,
    baseDN: ldap.baseDN,
    credentials: serviceCredentials(config),
    attributes: attributesForProfile(ldap.mapping),
    bindPoolSize: ldap.bindPoolSize,
    bindQueueLimit: ldap.bindQueueLimit,
    failoverCooldownMs: ldap.failoverCooldownMs,
  });
  if (ldap.allowPlaintext) logger.warn('LDAP_ALLOW_PLAINTEXT=true: passwords travel to the directory without TLS');
  return {
    deps: { settings: handlerSettings(config), directory, authorizer, logger },
    directory,
    close: () => directory.close(),
  };
}

function serviceCredentials(config: BridgeConfig): ServiceCredentialsSource {
  const source = config.directory.bindCredentials;
  if (source.kind === 'static') return new StaticServiceCredentials({ bindDN: source.bindDN, password: source.password });
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
    throw new Error(`LDAP_CA_CERT: "${path}" cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`LDAP_CA_CERT: "${path}" is not a PEM certificate`);
  return pem;
}
