// Helpers for integration tests: the bridge (the on-prem server's own composition root) against the shared test
// directory and a local token issuer, with its log lines captured.
import { inject } from 'vitest';
import { loadConfig } from '../../lambdas/core/config/bridge-config.ts';
import { type RunningServer, startBridgeServer } from '../../lambdas/entry/server.ts';
import { startDevTokenIssuer, type DevTokenIssuer } from '../../dev/dev-token-issuer.ts';

export const TEST_AUDIENCE = 'https://bridge.test/api/';
export const TEST_CLIENT = {
  clientId: 'auth0-custom-db',
  clientSecret: 'test-client-secret-4f1c9a',
  scopes: ['users:login', 'users:read'],
};
export const READ_ONLY_CLIENT = {
  clientId: 'read-only-client',
  clientSecret: 'read-only-secret-77aa',
  scopes: ['users:read'],
};
export const FOREIGN_CLIENT = {
  clientId: 'not-allowed-client',
  clientSecret: 'foreign-secret-19b2',
  scopes: ['users:login', 'users:read'],
};

export interface TestStack extends RunningServer {
  issuer: DevTokenIssuer;
  logs: string[];
  post(
    path: string,
    body: unknown,
    options?: { token?: string | null; headers?: Record<string, string> },
  ): Promise<Response>;
}

/** The directory environment for the shared slapd; pass overrides to change one variable. */
export function directoryEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const directory = inject('directory');
  return {
    LDAP_URLS: directory.ldapsUrl,
    LDAP_CA_CERT: directory.caCertPath,
    LDAP_BASE_DN: directory.baseDN,
    LDAP_BIND_DN: directory.serviceDN,
    LDAP_BIND_PASSWORD: directory.servicePassword,
    ...overrides,
  };
}

export async function startTestStack(overrides: Record<string, string | undefined> = {}): Promise<TestStack> {
  const issuer = await startDevTokenIssuer({
    audience: TEST_AUDIENCE,
    clients: [TEST_CLIENT, READ_ONLY_CLIENT, FOREIGN_CLIENT],
  });
  const logs: string[] = [];
  let stack: RunningServer;
  try {
    const config = loadConfig({
      ...directoryEnv(),
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: TEST_AUDIENCE,
      AUTH_ALLOWED_CLIENT_IDS: `${TEST_CLIENT.clientId},${READ_ONLY_CLIENT.clientId}`,
      PORT: '0',
      LOG_LEVEL: 'debug',
      ...overrides,
    });
    stack = await startBridgeServer(config, { writeLog: (line) => logs.push(line) });
  } catch (error) {
    await issuer.stop();
    throw error;
  }
  const token = await issuer.mint({ clientId: TEST_CLIENT.clientId });
  return {
    ...stack,
    issuer,
    logs,
    async stop() {
      await stack.stop();
      await issuer.stop();
    },
    post(path, body, options = {}) {
      const bearer = options.token === undefined ? token : options.token;
      return fetch(`${stack.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
          ...options.headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
  };
}
