// Starting and stopping a directory server as our own child process, shared by the throwaway
// OpenLDAP, 389-ds and Samba AD harnesses: foreground, killed if this process exits, ready when
// `isReady` says so, stopped by its process id.
import { spawn, type ChildProcess } from 'node:child_process';

export interface LaunchOptions {
  command: string;
  args: string[];
  /** For messages: "slapd", "ns-slapd", "samba". */
  name: string;
  /** Resolves true once the server answers (e.g. its port accepts connections). */
  isReady: () => Promise<boolean>;
  timeoutMs: number;
  /** What the server is waited for, for the timeout message: "listen on 127.0.0.1:389". */
  waitingFor: string;
}

export async function launchServer(options: LaunchOptions): Promise<ChildProcess> {
  const child = spawn(options.command, options.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));

  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${options.name} exited during start-up (${child.exitCode ?? child.signalCode}):\n${stderr}`);
    }
    if (await options.isReady()) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${options.name} did not ${options.waitingFor} within ${options.timeoutMs / 1000} s:\n${stderr}`);
}

/** SIGTERM (after SIGCONT: a stopped process cannot act on it), SIGKILL after `graceMs`; resolves on exit. */
export async function terminateServer(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
