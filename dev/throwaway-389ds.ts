// Starts a real, throwaway 389 Directory Server (Debian's 389-ds-base) on 127.0.0.1 for the
// tests: an instance created by dscreate with every path inside a temporary folder (dscreate's
// defaults point at /etc and /var and expect systemd; a copied defaults.inf points them here),
// plain LDAP on a free port, listening on 127.0.0.1 only. Stopped by its process id; its files
// are deleted on stop.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { launchServer, terminateServer } from './child-server.ts';
import { canConnect, freePort, randomSecret } from './throwaway-slapd.ts';

export const DS389_INSTALL_COMMAND = 'apt-get update && apt-get install -y --no-install-recommends 389-ds-base';
const run = promisify(execFile);

export interface Throwaway389ds {
  ldapUrl: string;
  suffix: string;
  rootDN: string;
  rootPassword: string;
  pid: number;
  stop(): Promise<void>;
}

export function ensure389dsInstalled(): void {
  if (existsSync('/usr/sbin/dscreate') && existsSync('/usr/sbin/ns-slapd')) return;
  if (process.getuid?.() !== 0)
    throw new Error(`389 Directory Server is not installed. Install it with:\n  sudo sh -c '${DS389_INSTALL_COMMAND}'`);
  execFileSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${DS389_INSTALL_COMMAND}`], { stdio: 'ignore' });
}

export async function startThrowaway389ds(options: { suffix?: string } = {}): Promise<Throwaway389ds> {
  ensure389dsInstalled();
  const suffix = options.suffix ?? 'dc=example,dc=test';
  const root = mkdtempSync(path.join(os.tmpdir(), 'auth0-ldap-bridge-389ds-'));
  const instance = `t${path
    .basename(root)
    .slice(-6)
    .replace(/[^A-Za-z0-9]/g, 'x')}`;
  const rootPassword = randomSecret();
  try {
    const [port, securePort] = await Promise.all([freePort(), freePort()]);
    // dscreate reads its defaults from $PREFIX/share/dirsrv/inf/defaults.inf: every path here,
    // no systemd, run as root (the folder is ours; dropping to the dirsrv user could not read it).
    mkdirSync(path.join(root, 'share', 'dirsrv', 'inf'), { recursive: true });
    mkdirSync(path.join(root, 'etc', 'dirsrv'), { recursive: true });
    mkdirSync(path.join(root, 'tmp'));
    cpSync('/etc/dirsrv/schema', path.join(root, 'etc', 'dirsrv', 'schema'), { recursive: true });
    cpSync('/etc/dirsrv/config', path.join(root, 'etc', 'dirsrv', 'config'), { recursive: true });
    const defaults = readFileSync('/usr/share/dirsrv/inf/defaults.inf', 'utf8')
      .replace(/^with_systemd = .*$/m, 'with_systemd = 0')
      .replace(/^(user|group) = .*$/gm, '$1 = root')
      .replace(/= \/(etc|var|run)\b/g, `= ${root}/$1`)
      .replace(/^tmp_dir = .*$/m, `tmp_dir = ${root}/tmp`)
      .replace(/^db_home_dir = .*$/m, `db_home_dir = ${root}/var/lib/dirsrv/slapd-{instance_name}/db`);
    writeFileSync(path.join(root, 'share', 'dirsrv', 'inf', 'defaults.inf'), defaults);
    const inf = path.join(root, 'instance.inf');
    writeFileSync(
      inf,
      `[general]\nconfig_version = 2\nfull_machine_name = localhost\nstart = False\nstrict_host_checking = False\n\n` +
        `[slapd]\ninstance_name = ${instance}\nport = ${port}\nsecure_port = ${securePort}\nroot_dn = cn=Directory Manager\nroot_password = ${rootPassword}\nself_sign_cert = False\n\n` +
        `[backend-userroot]\nsample_entries = no\nsuffix = ${suffix}\ncreate_suffix_entry = True\n`,
      { mode: 0o600 },
    );
    await run('/usr/sbin/dscreate', ['from-file', inf], { env: { ...process.env, PREFIX: root }, timeout: 180_000 });

    // Listen on loopback only (the default is every interface).
    const configDir = path.join(root, 'etc', 'dirsrv', `slapd-${instance}`);
    const dse = path.join(configDir, 'dse.ldif');
    writeFileSync(
      dse,
      readFileSync(dse, 'utf8').replace(/^(dn: cn=config\n(?:.+\n)*?)(\n)/m, '$1nsslapd-listenhost: 127.0.0.1\n$2'),
    );

    const child = await launch(configDir, path.join(root, 'run', 'ns-slapd.pid'), port);
    return {
      ldapUrl: `ldap://127.0.0.1:${port}`,
      suffix,
      rootDN: 'cn=Directory Manager',
      rootPassword,
      pid: child.pid as number,
      async stop() {
        await terminateServer(child, 10_000);
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

function launch(configDir: string, pidFile: string, port: number): Promise<ChildProcess> {
  // -d 0 keeps ns-slapd in the foreground, so it is our child and dies with its process id.
  return launchServer({
    command: '/usr/sbin/ns-slapd',
    args: ['-D', configDir, '-i', pidFile, '-d', '0'],
    name: 'ns-slapd',
    isReady: () => canConnect(port),
    timeoutMs: 60_000,
    waitingFor: `listen on 127.0.0.1:${port}`,
  });
}
