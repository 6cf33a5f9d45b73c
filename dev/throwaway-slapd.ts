// Starts a real, throwaway OpenLDAP server (Debian's slapd) on 127.0.0.1 for `npm start` and the
// tests: its own directory, its own CA and server certificate (IP SAN 127.0.0.1), plain LDAP
// and LDAPS on free ports, the memberof overlay. Stopped by its process id; its files are
// deleted on stop.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { launchServer, terminateServer } from './child-server.ts';

export const SLAPD_BINARY = '/usr/sbin/slapd';
export const SLAPD_INSTALL_COMMAND =
  'apt-get update && apt-get install -y --no-install-recommends slapd ldap-utils openssl';

export interface ThrowawaySlapdOptions {
  suffix?: string;
  /** DN of the read-only service account the bridge binds as. */
  serviceAccountRdn?: string;
  /**
   * Further loopback addresses to listen on with the same ports. The certificate names only
   * 127.0.0.1 and localhost, so LDAPS to another address fails hostname verification.
   */
  extraLoopbackAddresses?: string[];
  /** Seconds after which slapd closes an idle connection (slapd's idletimeout). Default never. */
  idleTimeoutSeconds?: number;
}

export interface ThrowawaySlapd {
  ldapUrl: string;
  ldapsUrl: string;
  caCertPath: string;
  suffix: string;
  rootDN: string;
  rootPassword: string;
  serviceDN: string;
  pid: number;
  /** Sends a signal to the server process (fault tests: SIGSTOP, SIGCONT, SIGKILL). */
  signal(signal: NodeJS.Signals): void;
  /** Starts the server again on the same ports and data after it was stopped or killed. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Installs slapd when missing and running as root; otherwise explains how. */
export function ensureSlapdInstalled(log: (line: string) => void = console.log): void {
  if (existsSync(SLAPD_BINARY)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`OpenLDAP's slapd is not installed. Install it with:\n  sudo sh -c '${SLAPD_INSTALL_COMMAND}'`);
  }
  log("slapd is missing; installing Debian's slapd package (about 10 seconds)...");
  execFileSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${SLAPD_INSTALL_COMMAND}`], { stdio: 'ignore' });
}

export async function startThrowawaySlapd(options: ThrowawaySlapdOptions = {}): Promise<ThrowawaySlapd> {
  ensureSlapdInstalled();
  const suffix = options.suffix ?? 'dc=example,dc=test';
  const rootDN = `cn=admin,${suffix}`;
  const rootPassword = randomSecret();
  const serviceDN = `${options.serviceAccountRdn ?? 'cn=bridge-reader'},ou=services,${suffix}`;
  const directory = mkdtempSync(path.join(os.tmpdir(), 'auth0-ldap-bridge-slapd-'));
  mkdirSync(path.join(directory, 'data'));
  makeCertificates(directory);
  const [ldapPort, ldapsPort] = await Promise.all([freePort(), freePort()]);
  const configPath = path.join(directory, 'slapd.conf');
  writeFileSync(
    configPath,
    slapdConfig(directory, suffix, rootDN, rootPassword, serviceDN, options.idleTimeoutSeconds),
    { mode: 0o600 },
  );

  const ldapUrl = `ldap://127.0.0.1:${ldapPort}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  const listenUrls = [ldapUrl, ldapsUrl];
  for (const address of options.extraLoopbackAddresses ?? []) {
    if (!/^127\.\d+\.\d+\.\d+$/.test(address)) throw new Error(`not a loopback address: ${address}`);
    listenUrls.push(`ldap://${address}:${ldapPort}`, `ldaps://${address}:${ldapsPort}`);
  }
  let child = await launch(configPath, listenUrls, ldapPort);

  const stop = async () => {
    await terminateServer(child);
    rmSync(directory, { recursive: true, force: true });
  };
  return {
    ldapUrl,
    ldapsUrl,
    caCertPath: path.join(directory, 'ca.pem'),
    suffix,
    rootDN,
    rootPassword,
    serviceDN,
    get pid() {
      return child.pid as number;
    },
    signal(signal) {
      child.kill(signal);
    },
    async restart() {
      await terminateServer(child);
      child = await launch(configPath, listenUrls, ldapPort);
    },
    stop,
  };
}

function launch(configPath: string, listenUrls: string[], ldapPort: number): Promise<ChildProcess> {
  // -d 0 keeps slapd in the foreground, so it is our child and dies with its process id.
  return launchServer({
    command: SLAPD_BINARY,
    args: ['-d', '0', '-f', configPath, '-h', listenUrls.map((url) => `${url}/`).join(' ')],
    name: 'slapd',
    isReady: () => canConnect(ldapPort),
    timeoutMs: 15_000,
    waitingFor: `listen on ${listenUrls[0]}`,
  });
}

function slapdConfig(
  directory: string,
  suffix: string,
  rootDN: string,
  rootPassword: string,
  serviceDN: string,
  idleTimeoutSeconds?: number,
): string {
  const exporterDN = `cn=bridge-exporter,ou=services,${suffix}`;
  return `# Throwaway directory for auth0-ldap-bridge development and tests.
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile ${directory}/slapd.pid
argsfile ${directory}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
moduleload ppolicy
TLSCACertificateFile ${directory}/ca.pem
TLSCertificateFile ${directory}/server.pem
TLSCertificateKeyFile ${directory}/server.key
sizelimit 500
${idleTimeoutSeconds ? `idletimeout ${idleTimeoutSeconds}` : ''}

database mdb
maxsize 268435456
suffix "${suffix}"
rootdn "${rootDN}"
rootpw ${rootPassword}
directory ${directory}/data
index objectClass eq
index uid,mail,cn eq
index member,uniqueMember,memberUid,memberOf eq

overlay memberof
memberof-refint TRUE
overlay refint
refint_attributes member

# Password policy (draft-behera ppolicy): pwdAccountLockedTime, pwdReset and pwdEndTime mean
# what they mean on a production OpenLDAP. The default policy (seeded) does not lock accounts
# after failures, so tests may repeat wrong passwords.
overlay ppolicy
ppolicy_default "cn=default,ou=policies,${suffix}"

# Paged searches count against sizelimit too (size.prtotal); the service accounts may page
# through every user, as the bulk export needs.
limits dn.exact="${serviceDN}" size=unlimited
limits dn.exact="${exporterDN}" size=unlimited

# Users may check their own password and nothing else; the read-only service account reads
# users and groups but not password hashes; the exporter account may also read hashes.
access to attrs=userPassword
  by dn.exact="${exporterDN}" read
  by self =xw
  by anonymous auth
  by * none
access to *
  by dn.exact="${serviceDN}" read
  by dn.exact="${exporterDN}" read
  by self read
  by anonymous auth
  by * none
`;
}

export function makeCertificates(directory: string): void {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: directory, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '3',
    '-subj',
    '/CN=auth0-ldap-bridge throwaway CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  run(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(
    path.join(directory, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '3',
    '-extfile',
    'server.ext',
  ]);
  chmodSync(path.join(directory, 'server.key'), 0o600);
  chmodSync(path.join(directory, 'ca.key'), 0o600);
  readFileSync(path.join(directory, 'server.pem'));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function randomSecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64url');
}
