// `npm start`: the one-command demo, or the real server. Three cases, decided by which halves of
// the configuration are set:
// - nothing (no LDAP_* directory and no AUTH_* issuer settings): a throwaway slapd with demo users,
//   a local token issuer and the bridge, with ready-to-paste curl commands;
// - both halves: exactly `auth0-ldap-bridge serve`;
// - only one half: refuse, naming the missing half (a forgotten LDAP_URLS must never put demo
//   users behind a real tenant's tokens, nor a real directory behind a demo issuer).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type DemoStack, startDemoStack } from './demo-stack.ts';
import { DEMO_USERS } from './directory-data.ts';
import { chooseStartMode } from './start-mode.ts';

async function runDemo(): Promise<void> {
  let stack: DemoStack;
  try {
    stack = await startDemoStack({ env: process.env });
  } catch (error) {
    console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping the bridge, the issuer and the throwaway directory...`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  console.error(await banner(stack));
}

async function banner(stack: DemoStack): Promise<string> {
  const config = stack.server.config;
  const token = await stack.issuer.mint({ clientId: stack.devClient.clientId, expiresInSeconds: 3600 });
  const [demo] = DEMO_USERS;
  if (!demo) throw new Error('dev/directory-data.ts has no demo users');
  return [
    `auth0-ldap-bridge demo listening on ${stack.url}  (POST /login, POST /get-user)`,
    `  directory: ${config.directory.urls.join(', ')}  base ${config.directory.baseDN}  [throwaway slapd with demo users]`,
    `  tokens:    issuer ${config.auth.issuer}  audience ${config.auth.audience}  [local dev issuer]`,
    '',
    'Try it (the token is valid for one hour):',
    '',
    `TOKEN='${token}'`,
    '',
    `curl -sS -X POST ${stack.url}/login -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
    `  -d '{"username":"${demo.uid}","password":"${demo.password}"}'`,
    '',
    `curl -sS -X POST ${stack.url}/get-user -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
    `  -d '{"username":"${demo.mail ?? demo.uid}"}'`,
    '',
    `Demo users: ${DEMO_USERS.map((user) => `${user.uid} / ${user.password}`).join(', ')}`,
    `A new token: curl -sS -X POST ${stack.issuer.tokenUrl} -H 'Content-Type: application/json' \\`,
    `  -d '{"grant_type":"client_credentials","client_id":"${stack.devClient.clientId}","client_secret":"${stack.devClient.clientSecret}","audience":"${stack.issuer.audience}"}'`,
    '',
    'Logs follow as JSON lines on stdout. Ctrl-C stops everything.',
  ].join('\n');
}

const CLI = new URL('../lambdas/entry/cli.ts', import.meta.url);
const mode = chooseStartMode(process.env);
if (mode.kind === 'demo') await runDemo();
else if (mode.kind === 'serve') {
  // Exactly `auth0-ldap-bridge serve`, in a process of its own: its workers then load the
  // command line, never this file or anything else in dev/.
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(CLI), 'serve'], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.once('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
} else {
  console.error(mode.message);
  process.exitCode = 2;
}
