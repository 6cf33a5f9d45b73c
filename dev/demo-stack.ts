// The one-command demo: a throwaway slapd with demo users, a local token issuer playing the
// Auth0 tenant, and the bridge's own on-prem server (the production composition) in front of
// them, all on 127.0.0.1. Used by `npm start` when nothing is configured, and by a benchmark.
// Developer fixture: nothing in lambdas/ imports it, so no production start can reach it.
import { ROUTES } from '../lambdas/contract/routes.ts';
import { RUNTIME_SETTINGS as S } from '../lambdas/contract/settings.ts';
import { loadConfig } from '../lambdas/core/config/bridge-config.ts';
import { type RunningServer, startBridgeServer } from '../lambdas/entry/server.ts';
import { type DevClient, type DevTokenIssuer, startDevTokenIssuer } from './dev-token-issuer.ts';
import { DEMO_GROUPS, DEMO_USERS } from './directory-data.ts';
import { startSeededSlapd } from './seeded-slapd.ts';
import { randomSecret, type ThrowawaySlapd } from './throwaway-slapd.ts';

export const DEMO_AUDIENCE = 'https://ldap-bridge.local/';
export const DEMO_CLIENT_ID = 'dev-bridge-client';

export interface DemoStack {
  url: string;
  server: RunningServer;
  slapd: ThrowawaySlapd;
  issuer: DevTokenIssuer;
  devClient: DevClient;
  stop(): Promise<void>;
}

export interface DemoStackOptions {
  /** Server settings (PORT, HOST, LOG_LEVEL, MAX_IN_FLIGHT); directory and issuer are the demo's own. */
  env: Readonly<Record<string, string | undefined>>;
  /** Where log lines go; default stdout. */
  writeLog?: (line: string) => void;
}

export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const seeded = await startSeededSlapd({ users: DEMO_USERS, groups: DEMO_GROUPS });
    started.push(seeded);
    // The scopes the bridge will require, as configured (the settings table's defaults otherwise).
    const scopes = ROUTES.map((route) => options.env[S[route.scopeSetting].env] ?? S[route.scopeSetting].default);
    const devClient: DevClient = { clientId: DEMO_CLIENT_ID, clientSecret: randomSecret(), scopes };
    const issuer = await startDevTokenIssuer({ audience: DEMO_AUDIENCE, clients: [devClient] });
    started.push(issuer);
    const config = loadConfig({
      ...options.env,
      ...seeded.bridgeEnv({
        LDAP_PROFILE_MAPPING: JSON.stringify({ app_metadata: { employee_number: 'employeeNumber' } }),
      }),
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: issuer.audience,
      AUTH_ALLOWED_CLIENT_IDS: DEMO_CLIENT_ID,
    });
    const server = await startBridgeServer(config, options.writeLog ? { writeLog: options.writeLog } : {});
    started.push(server);
    return { url: server.url, server, slapd: seeded.slapd, issuer, devClient, stop: () => stopAll(started) };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

async function stopAll(started: Array<{ stop(): Promise<void> }>): Promise<void> {
  for (const part of [...started].reverse()) await part.stop().catch(() => undefined);
}
