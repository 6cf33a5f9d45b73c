// Starts a real, throwaway Active Directory domain controller (Debian's Samba AD DC) on 127.0.0.1
// for the tests: a freshly provisioned domain EXAMPLE.TEST in a temporary folder, only Samba's LDAP
// service, LDAPS with our own CA (IP SAN 127.0.0.1). Samba's LDAP ports are fixed (389 and 636),
// so one runs at a time. Stopped by its process id; its files are deleted on stop.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { launchServer, terminateServer } from './child-server.ts';
import { canConnect, makeCertificates, randomSecret } from './throwaway-slapd.ts';

export const SAMBA_INSTALL_COMMAND =
  'apt-get update && apt-get install -y --no-install-recommends samba samba-ad-dc samba-ad-provision faketime';
const run = promisify(execFile);

export interface ThrowawaySambaAd {
  ldapUrl: string;
  ldapsUrl: string;
  caCertPath: string;
  /** DC=example,DC=test */
  baseDN: string;
  /** example.test: the UPN suffix. */
  dnsDomain: string;
  adminUpn: string;
  adminPassword: string;
  pid: number;
  /** Runs samba-tool on the domain's database (no network), e.g. ['user', 'disable', 'bob']. */
  tool(args: string[], options?: { daysAgo?: number }): Promise<string>;
  stop(): Promise<void>;
}

export function ensureSambaInstalled(): void {
  if (existsSync('/usr/bin/samba-tool') && existsSync('/usr/sbin/samba') && existsSync('/usr/bin/faketime')) return;
  if (process.getuid?.() !== 0)
    throw new Error(`Samba AD DC is not installed. Install it with:\n  sudo sh -c '${SAMBA_INSTALL_COMMAND}'`);
  execFileSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${SAMBA_INSTALL_COMMAND}`], { stdio: 'ignore' });
}

export async function startThrowawaySambaAd(): Promise<ThrowawaySambaAd> {
  ensureSambaInstalled();
  if ((await canConnect(389)) || (await canConnect(636)))
    throw new Error('127.0.0.1:389 or :636 is taken; Samba AD needs both (is another test directory running?)');
  const directory = mkdtempSync(path.join(os.tmpdir(), 'auth0-ldap-bridge-samba-'));
  // Samba's tool refuses simple passwords: upper, lower, digit and symbol.
  const adminPassword = `Aa1!${randomSecret()}`;
  try {
    await run(
      'samba-tool',
      [
        'domain',
        'provision',
        '--use-rfc2307',
        '--realm=EXAMPLE.TEST',
        '--domain=EXAMPLE',
        '--server-role=dc',
        '--dns-backend=NONE',
        `--adminpass=${adminPassword}`,
        '--host-name=dc1',
        '--host-ip=127.0.0.1',
        `--targetdir=${directory}`,
        '--option=interfaces=lo',
        '--option=bind interfaces only=yes',
      ],
      { timeout: 120_000 },
    );
    makeCertificates(directory);
    mkdirSync(path.join(directory, 'run'), { recursive: true });
    const smbConf = path.join(directory, 'etc', 'smb.conf');
    // Only the LDAP service; plain simple binds allowed (the tests also use LDAPS); logs and pids
    // inside the throwaway folder; our own certificate so LDAPS verifies against our CA.
    const global = [
      'server services = ldap',
      'ldap server require strong auth = no',
      `log file = ${directory}/log.%m`,
      `pid directory = ${directory}/run`,
      'tls enabled = yes',
      `tls keyfile = ${directory}/server.key`,
      `tls certfile = ${directory}/server.pem`,
      `tls cafile = ${directory}/ca.pem`,
    ];
    const config = readFileSync(smbConf, 'utf8').replace(
      /^\[global\]\n/m,
      `[global]\n${global.map((line) => `\t${line}\n`).join('')}`,
    );
    writeFileSync(smbConf, config.replace(/^\tserver services = s3fs.*\n/m, ''));

    const child = await launch(smbConf);
    const samDb = path.join(directory, 'private', 'sam.ldb');
    return {
      ldapUrl: 'ldap://127.0.0.1:389',
      ldapsUrl: 'ldaps://127.0.0.1:636',
      caCertPath: path.join(directory, 'ca.pem'),
      baseDN: 'DC=example,DC=test',
      dnsDomain: 'example.test',
      adminUpn: 'Administrator@example.test',
      adminPassword,
      pid: child.pid as number,
      async tool(args, options = {}) {
        // faketime lets a test make a password that was set days ago (an expired password).
        const command = options.daysAgo ? ['faketime', '-f', `-${options.daysAgo}d`, 'samba-tool'] : ['samba-tool'];
        const { stdout } = await run(command[0] as string, [...command.slice(1), ...args, '-H', samDb, '-s', smbConf], {
          timeout: 60_000,
        });
        return stdout;
      },
      async stop() {
        await terminate(child);
        rmSync(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

function launch(smbConf: string): Promise<ChildProcess> {
  // -i: interactive (foreground, our child); the prefork workers die with it.
  return launchServer({
    command: '/usr/sbin/samba',
    args: ['-i', '-s', smbConf],
    name: 'samba',
    isReady: async () => (await canConnect(389)) && (await canConnect(636)),
    timeoutMs: 60_000,
    waitingFor: 'listen on 127.0.0.1:389 and :636',
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  await terminateServer(child);
  // The workers notice the master is gone; wait until the ports are free for the next start.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await canConnect(389))) await new Promise((resolve) => setTimeout(resolve, 100));
}
