// The doctor's verdicts on the way to the directory servers: DNS, TCP and TLS for each server of
// LDAP_URLS. One server failing while another answers is a warning (the bridge fails over to the
// next server in LDAP_URLS); none answering is the broken link. Each failure names what was seen
// and what usually fixes it.
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import {
  type CertificateSummary,
  type DirectoryServer,
  type DnsObservation,
  describeFailure,
  type ProbeFailure,
  TIMEOUT,
  type TcpObservation,
  type TlsObservation,
} from './observations.ts';
import type { LinkResult } from './walk.ts';

/** A certificate that expires sooner than this is a warning: time to renew it before logins stop. */
export const CERTIFICATE_WARNING_DAYS = 30;

const DAY_MS = 86_400_000;

/** One server's part of a link. */
interface ServerVerdict {
  server: DirectoryServer;
  status: LinkResult['status'];
  text: string;
  fix?: string | undefined;
}

/** The verdicts of every server as one link: failed everywhere fails, failed somewhere warns. */
function acrossServers(verdicts: readonly ServerVerdict[]): LinkResult {
  const failed = verdicts.filter((verdict) => verdict.status === 'fail');
  const first = failed[0] ?? verdicts.find((verdict) => verdict.status === 'warn');
  // Two URLs of one host (other ports) resolve alike: said once.
  const summary = [...new Set(verdicts.map((verdict) => verdict.text))].join('; ');
  if (verdicts.length === 0) return { status: 'fail', summary: `no server of ${S.LDAP_URLS.env} left to check` };
  if (first === undefined) return { status: 'ok', summary };
  const every = failed.length === verdicts.length;
  return {
    status: every ? 'fail' : 'warn',
    summary: failed.length > 0 && !every ? `${summary} (the bridge fails over to the servers that answer)` : summary,
    fix: first.fix,
    server: first.server.url,
  };
}

/** The servers a link's verdict leaves for the next link: those that did not fail. */
export function serversThatPassed<T extends { server: DirectoryServer }>(
  observations: readonly T[],
  passed: (observation: T) => boolean,
): DirectoryServer[] {
  return observations.filter(passed).map((observation) => observation.server);
}

export function judgeDns(observations: readonly DnsObservation[]): LinkResult {
  return acrossServers(
    observations.map((observation): ServerVerdict => {
      const { server } = observation;
      if (observation.kind === 'address')
        return { server, status: 'ok', text: `${server.host} is an address (no lookup)` };
      if (observation.kind === 'resolved')
        return {
          server,
          status: 'ok',
          text: `${server.host} -> ${observation.addresses.join(', ')} (${Math.round(observation.durationMs)} ms)`,
        };
      return {
        server,
        status: 'fail',
        text: `${server.host}: ${describeFailure(observation.failure)}`,
        fix: dnsFix(observation.failure, server.host),
      };
    }),
  );
}

function dnsFix(failure: ProbeFailure, host: string): string {
  if (failure.code === 'EAI_AGAIN' || failure.code === TIMEOUT)
    return "the DNS server did not answer: check this machine's resolver (in AWS: the VPC's DNS resolution and any Route 53 Resolver endpoints)";
  return `no DNS record for ${host}: check its spelling in ${S.LDAP_URLS.env}, and that this machine resolves the directory's domain (in AWS: a Route 53 Resolver rule or the VPC's DHCP options pointing at the directory's DNS servers)`;
}

export function judgeTcp(observations: readonly TcpObservation[]): LinkResult {
  return acrossServers(
    observations.map((observation): ServerVerdict => {
      const { server } = observation;
      if (observation.ok)
        return { server, status: 'ok', text: `${server.url} answered in ${Math.round(observation.durationMs)} ms` };
      return {
        server,
        status: 'fail',
        text: `${server.url}: ${describeFailure(observation.failure)}`,
        fix: tcpFix(observation.failure, server),
      };
    }),
  );
}

/** What a failed connection usually means, for the tcp link and for a bind that could not connect. */
export function tcpFix(failure: ProbeFailure, server: DirectoryServer): string {
  const where = `${server.host}:${server.port}`;
  switch (failure.code) {
    case 'ECONNREFUSED':
      return `nothing listening on ${where}: is the server up, is the port right (LDAP 389, LDAPS 636; Active Directory's global catalog 3268 / 3269)?`;
    case TIMEOUT:
      return `no answer within ${S.LDAP_CONNECT_TIMEOUT_MS.env}: a firewall or security group drops the packets (the directory's firewall, the bridge's security group, the VPN / Direct Connect route)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${server.host}: check the VPN / Direct Connect route and the subnet's route table`;
    case 'ECONNRESET':
      return `the connection to ${where} was reset: a firewall in the path or the server itself refused it`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return dnsFix(failure, server.host);
    default:
      return `check that ${where} can be reached from this machine`;
  }
}

/** Verification errors that mean "signed by a CA this machine was not told to trust". */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
]);

export interface TlsSettings {
  /** LDAP_CA_CERT, when set. */
  caCertPath: string | undefined;
  allowPlaintext: boolean;
  /** Now, in ms since the epoch (certificate lifetimes are judged against it). */
  now: number;
}

export function judgeTls(observations: readonly TlsObservation[], settings: TlsSettings): LinkResult {
  return acrossServers(observations.map((observation) => tlsVerdict(observation, settings)));
}

function tlsVerdict(observation: TlsObservation, settings: TlsSettings): ServerVerdict {
  const { server } = observation;
  if (observation.kind === 'plaintext') {
    if (!settings.allowPlaintext)
      return { server, status: 'ok', text: `${server.url}: no TLS (loopback: the traffic stays on this machine)` };
    return {
      server,
      status: 'warn',
      text: `${server.url}: no TLS, passwords travel in clear (${S.LDAP_ALLOW_PLAINTEXT.env}=true)`,
      fix: `use ldaps:// or set ${S.LDAP_STARTTLS.env}=true; keep ${S.LDAP_ALLOW_PLAINTEXT.env} only where the network path is encrypted (IPsec, a VPN)`,
    };
  }
  const how = observation.kind === 'ldaps' ? 'LDAPS' : 'StartTLS';
  if (observation.ok) {
    const { certificate } = observation;
    const days = Math.floor((certificate.notAfter.getTime() - settings.now) / DAY_MS);
    const seen = `${server.url} (${how}, ${observation.protocol}): ${describeCertificate(certificate)}`;
    if (days >= CERTIFICATE_WARNING_DAYS)
      return { server, status: 'ok', text: `${seen}, valid until ${day(certificate.notAfter)} (${days} days)` };
    return {
      server,
      status: 'warn',
      text: `${seen}, expires ${day(certificate.notAfter)} (in ${days} day${days === 1 ? '' : 's'})`,
      fix: `renew the directory's certificate before ${day(certificate.notAfter)}: from then on the bridge refuses it and every login fails`,
    };
  }
  const { failure, certificate } = observation;
  const seen = certificate ? ` (${describeCertificate(certificate)})` : '';
  const code = failure.code ?? '';
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    const issuer = certificate ? `, ${certificate.issuer}` : '';
    return {
      server,
      status: 'fail',
      text: `${server.url}: the certificate is not trusted (${code})${seen}`,
      fix:
        settings.caCertPath === undefined
          ? `set ${S.LDAP_CA_CERT.env} to the PEM file of the CA that signed the directory's certificate${issuer}: this machine's system CAs do not include it`
          : `${S.LDAP_CA_CERT.env} (${settings.caCertPath}) is not the CA that signed the directory's certificate: set it to the PEM file of that CA${issuer}`,
    };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = certificate?.names ?? [];
    const usable = names.map((name) => name.replace(/^(DNS|IP):/, ''));
    return {
      server,
      status: 'fail',
      text: `${server.url}: the certificate is not for ${server.host}${names.length > 0 ? ` (it names ${names.join(', ')})` : ''}`,
      fix: `use a name the certificate holds in ${S.LDAP_URLS.env}${usable.length > 0 ? ` (${usable.join(', ')})` : ''}, or reissue the certificate with ${server.host} in its subjectAltName`,
    };
  }
  if (code === 'CERT_HAS_EXPIRED')
    return {
      server,
      status: 'fail',
      text: `${server.url}: the certificate has expired${certificate ? ` (on ${day(certificate.notAfter)})` : ''}${seen}`,
      fix: "renew the directory's certificate",
    };
  if (code === 'CERT_NOT_YET_VALID')
    return {
      server,
      status: 'fail',
      text: `${server.url}: the certificate is not valid yet${certificate ? ` (from ${day(certificate.notBefore)})` : ''}`,
      fix: "check this machine's clock (NTP); otherwise the certificate was issued with a start date in the future",
    };
  if (failure.resultCode !== undefined)
    return {
      server,
      status: 'fail',
      text: `${server.url}: the server refused StartTLS (${describeFailure(failure)})`,
      fix: `enable TLS on the directory server (OpenLDAP: TLSCertificateFile and TLSCertificateKeyFile; Active Directory: a domain controller certificate), or use ldaps://`,
    };
  return {
    server,
    status: 'fail',
    text: `${server.url}: no ${how} handshake (${describeFailure(failure)})`,
    fix:
      how === 'LDAPS'
        ? `is ${server.port} the server's LDAPS port (usually 636)? For a plain LDAP port use ldap:// with ${S.LDAP_STARTTLS.env}=true; the server must offer TLS 1.2 or newer`
        : `is ${server.port} the server's plain LDAP port (usually 389)? The server must offer TLS 1.2 or newer`,
  };
}

function describeCertificate(certificate: CertificateSummary): string {
  return `${certificate.subject}, issued by ${certificate.issuer}`;
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}
