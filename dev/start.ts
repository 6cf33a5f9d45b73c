// `npm start`: the bridge on this machine. With LDAP_URLS and AUTH_ISSUER unset it starts a
// throwaway slapd with demo users and a local token issuer, and prints ready-to-paste curl
// commands; with them set it serves the real directory for a real Auth0 tenant (on-prem
// hosting behind NGINX). Ctrl-C stops everything it started.
import { ConfigError } from '../lambdas/core/config/bridge-config.ts';
import { DEMO_USERS } from './directory-data.ts';
import { startLocalStack, type LocalStack } from './local-stack.ts';

async function main(): Promise<void> {
  let stack: LocalStack;
  try {
    stack = await startLocalStack({ env: process.env });
  } catch (error) {
    console.error(
      error instanceof ConfigError
        ? error.message
        : `start-up failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping${stack.slapd ? ' (and the throwaway directory)' : ''}...`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  console.error(await banner(stack));
}

async function banner(stack: LocalStack): Promise<string> {
  const lines = [`auth0-ldap-bridge listening on ${stack.url}  (POST /login, POST /get-user)`];
  lines.push(
    `  directory: ${stack.config.directory.urls.join(', ')}  base ${stack.config.directory.baseDN}${stack.slapd ? '  [throwaway slapd with demo users]' : ''}`,
  );
  lines.push(
    `  tokens:    issuer ${stack.config.auth.issuer}  audience ${stack.config.auth.audience}${stack.issuer ? '  [local dev issuer]' : ''}`,
  );
  if (stack.issuer && stack.devClient) {
    const token = await stack.issuer.mint({ clientId: stack.devClient.clientId, expiresInSeconds: 3600 });
    const demo = DEMO_USERS[0];
    if (demo) {
      lines.push('', 'Try it (the token is valid for one hour):', '');
      lines.push(`TOKEN='${token}'`, '');
      lines.push(
        `curl -sS -X POST ${stack.url}/login -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
      );
      lines.push(`  -d '{"username":"${demo.uid}","password":"${demo.password}"}'`, '');
      lines.push(
        `curl -sS -X POST ${stack.url}/get-user -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
      );
      lines.push(`  -d '{"username":"${demo.mail ?? demo.uid}"}'`, '');
      lines.push(`Demo users: ${DEMO_USERS.map((user) => `${user.uid} / ${user.password}`).join(', ')}`);
      lines.push(`A new token: curl -sS -X POST ${stack.issuer.tokenUrl} -H 'Content-Type: application/json' \\`);
      lines.push(
        `  -d '{"grant_type":"client_credentials","client_id":"${stack.devClient.clientId}","client_secret":"${stack.devClient.clientSecret}","audience":"${stack.issuer.audience}"}'`,
      );
    }
  }
  lines.push('', 'Logs follow as JSON lines on stdout. Ctrl-C stops everything.');
  return lines.join('\n');
}

await main();
