// Assembles the bridge on this machine: the configured directory and issuer, or, for whichever
// is not configured, a throwaway slapd with demo users and a local dev token issuer. Used by
// `npm start` and by the tests, so both run exactly the production composition.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type BridgeConfig, type Env } from '../lambdas/core/config/bridge-config.ts';
import { JsonLogger } from '../lambdas/adapters/json-logger.ts';
import { createTokenVerifier } from '../lambdas/adapters/jwks-token-verifier.ts';
import { BearerTokenAuthorizer } from '../lambdas/core/caller/bearer-token-authorizer.ts';
import { createBridge, type Bridge } from '../lambdas/entry/compose.ts';
import { createBridgeServer } from '../lambdas/entry/server.ts';
import { DEMO_GROUPS, DEMO_USERS } from './directory-data.ts';
import { startDevTokenIssuer, type DevClient, type DevTokenIssuer } from './dev-token-issuer.ts';
import { startSeededSlapd } from './seeded-slapd.ts';
import { randomSecret, type ThrowawaySlapd } from './throwaway-slapd.ts';

export const DEV_AUDIENCE = 'https://ldap-bridge.local/';
export const DEV_CLIENT_ID = 'dev-bridge-client';

export interface LocalStack {
  url: string;
  config: BridgeConfig;
  bridge: Bridge;
  server: http.Server;
  /** Present when the stack started its own directory. */
  slapd?: ThrowawaySlapd;
  /** Present when the stack started its own issuer. */
  issuer?: DevTokenIssuer;
  devClient?: DevClient;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  env: Env;
  /** Where log lines go; default stdout. */
  writeLog?: (line: string) => void;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const env: Record<string, string | undefined> = { ...options.env };
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    let slapd: ThrowawaySlapd | undefined;
    if (!env.LDAP_URLS) {
      const seeded = await startSeededSlapd({ users: DEMO_USERS, groups: DEMO_GROUPS });
      slapd = seeded.slapd;
      started.push(seeded);
      Object.assign(
        env,
        seeded.bridgeEnv({
          LDAP_PROFILE_MAPPING:
            env.LDAP_PROFILE_MAPPING ?? JSON.stringify({ app_metadata: { employee_number: 'employeeNumber' } }),
        }),
      );
    }
    let issuer: DevTokenIssuer | undefined;
    let devClient: DevClient | undefined;
    if (!env.AUTH_ISSUER) {
      devClient = { clientId: DEV_CLIENT_ID, clientSecret: randomSecret(), scopes: ['users:login', 'users:read'] };
      issuer = await startDevTokenIssuer({ audience: env.AUTH_AUDIENCE ?? DEV_AUDIENCE, clients: [devClient] });
      started.push(issuer);
      Object.assign(env, {
        AUTH_ISSUER: issuer.issuer,
        AUTH_AUDIENCE: issuer.audience,
        AUTH_ALLOWED_CLIENT_IDS: DEV_CLIENT_ID,
      });
    }

    const config = loadConfig(env);
    const logger = new JsonLogger(config.logLevel, options.writeLog);
    const bridge = createBridge(config, logger, new BearerTokenAuthorizer(createTokenVerifier(config.auth)));
    started.push({ stop: () => bridge.close() });
    const server = createBridgeServer(bridge.deps, { maxInFlight: config.server.maxInFlight });
    await listen(server, config.server.port, config.server.host);
    const { port } = server.address() as AddressInfo;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const stopServer = { stop: () => closeServer(server) };
    started.push(stopServer);

    return {
      url: `http://${host}:${port}`,
      config,
      bridge,
      server,
      ...(slapd ? { slapd } : {}),
      ...(issuer ? { issuer } : {}),
      ...(devClient ? { devClient } : {}),
      stop: () => stopAll(started),
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

async function stopAll(started: Array<{ stop(): Promise<void> }>): Promise<void> {
  for (const part of [...started].reverse()) await part.stop().catch(() => undefined);
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`PORT ${port} on ${host} is already in use; set PORT to another port (PORT=0 picks a free one)`)
          : error,
      );
    });
    server.listen(port, host, () => resolve());
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
