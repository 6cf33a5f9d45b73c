// `auth0-ldap-bridge ARGS` as its own process against the Management API emulator, as the tests
// of the migration commands run it: https://<domain>/... is routed to the emulator's
// https://127.0.0.1:PORT/... (NODE_EXTRA_CA_CERTS names its CA), nothing else of the environment
// is inherited but PATH, and the process can be sent a signal once its stderr shows a marker.
import { spawn } from 'node:child_process';
import type { ManagementApiEmulator } from './management-api-emulator.ts';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCliAgainstEmulator(
  args: string[],
  options: {
    emulator: Pick<ManagementApiEmulator, 'url' | 'caPath'>;
    /** The tenant domain the command is configured with (AUTH0_DOMAIN), routed to the emulator. */
    domain: string;
    env: Record<string, string | undefined>;
    /** Sends `signal` once stderr shows `marker` (an interrupted run). */
    stopAt?: { marker: string; signal: NodeJS.Signals };
  },
): Promise<CliRun> {
  const { emulator, domain, stopAt } = options;
  // Only the address changes: https://<domain>/... goes to the emulator's https://127.0.0.1:PORT/...
  const route = `data:text/javascript,${encodeURIComponent(
    `const real = globalThis.fetch; const from = 'https://${domain}'; const to = ${JSON.stringify(emulator.url)};
     globalThis.fetch = (input, init) => { const url = input instanceof Request ? input.url : String(input);
       return real(url.startsWith(from) ? to + url.slice(from.length) : input, init); };`,
  )}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', route, 'lambdas/entry/cli.ts', ...args], {
    env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: emulator.caPath, ...options.env } as NodeJS.ProcessEnv,
  });
  let stdout = '';
  let stderr = '';
  let stopped = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stopAt && !stopped && stderr.includes(stopAt.marker)) {
      stopped = true;
      child.kill(stopAt.signal);
    }
  });
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
