// What the doctor's probes saw, as plain data: the adapters (lambdas/adapters/doctor-probes.ts)
// do the I/O and fill these in, the advice files of this folder judge them without any I/O.
// A failure carries the error's code and first line, never a credential: probes build it from
// socket, TLS and LDAP errors, whose messages hold none.
import type { LockoutPolicy } from '../directory/lockout-shield.ts';
import type { DirectoryEntry } from '../profile/map-entry.ts';

export interface ProbeFailure {
  /** Node's error code (ECONNREFUSED, ENOTFOUND, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...), or `timeout`. */
  code?: string | undefined;
  /** The LDAP result code, when the server answered with one (49, 32, 50, ...). */
  resultCode?: number | undefined;
  /** The first line of the error: for an LDAP answer, the server's diagnostic message. */
  message: string;
}

/** The code probes give a step that did not finish within its timeout. */
export const TIMEOUT = 'timeout';

/** One server of LDAP_URLS, as the probes address it. */
export interface DirectoryServer {
  /** As written in LDAP_URLS. */
  url: string;
  /** Without IPv6 brackets. */
  host: string;
  port: number;
  /** ldaps:// */
  secure: boolean;
}

export type DnsObservation = { server: DirectoryServer } & (
  | { kind: 'address' }
  | { kind: 'resolved'; addresses: string[]; durationMs: number }
  | { kind: 'failed'; failure: ProbeFailure; durationMs: number }
);

export type TcpObservation = { server: DirectoryServer; durationMs: number } & (
  | { ok: true }
  | { ok: false; failure: ProbeFailure }
);

/** The server's certificate, as an operator compares it with LDAP_URLS and LDAP_CA_CERT. */
export interface CertificateSummary {
  /** `CN=dc1.corp.example, O=Corp` */
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** subjectAltName entries: `DNS:dc1.corp.example`, `IP:10.0.0.5`. */
  names: string[];
}

export type TlsObservation = { server: DirectoryServer } /** ldap:// without StartTLS. */ & (
  | { kind: 'plaintext' }
  | ({ kind: 'ldaps' | 'starttls'; durationMs: number } & (
      | { ok: true; protocol: string; certificate: CertificateSummary }
      /** `certificate`: read from a second handshake that only looks at it, when verification failed. */
      | { ok: false; failure: ProbeFailure; certificate?: CertificateSummary | undefined }
    ))
);

/** Who the service account is, as the doctor may name it (never its password). */
export type ServiceAccount =
  | { source: 'LDAP_BIND_DN'; bindDN: string }
  | { source: 'LDAP_BIND_SECRET_ARN'; secretArn: string; bindDN?: string | undefined };

export type ServiceBindObservation =
  | { stage: 'credentials'; account: ServiceAccount; failure: ProbeFailure }
  /** No server of LDAP_URLS could be connected to (TCP, TLS, StartTLS); `url` is the last tried. */
  | { stage: 'connect'; account: ServiceAccount; url: string; failure: ProbeFailure }
  | ({ stage: 'bind'; account: ServiceAccount; url: string; durationMs: number } & (
      | { ok: true }
      | { ok: false; failure: ProbeFailure }
    ));

export type BaseDnObservation = {
  durationMs: number;
} /** `entriesBelow`: entries a one-level search returned (at most 1 asked for). */ & (
  | { ok: true; entriesBelow: number }
  /** `namingContexts`: what the rootDSE lists, when the base does not exist and the rootDSE may be read. */
  | { ok: false; stage: 'base' | 'below'; failure: ProbeFailure; namingContexts?: string[] | undefined }
);

/** A search's outcome: how many entries (never which), or why it failed. */
export type SearchObservation = { filter: string; durationMs: number } & (
  | { ok: true; count: number }
  | { ok: false; failure: ProbeFailure }
);

/** The first user entry the user filter finds with any username, with the attributes every user search asks for. */
export type SampleEntryObservation = { filter: string; durationMs: number } & (
  | { ok: true; entry: DirectoryEntry | undefined }
  | { ok: false; failure: ProbeFailure }
);

export type LockoutObservation =
  /** LDAP_LOCKOUT_SHIELD=false. */
  | { kind: 'off' }
  /** The shield is on but the account-state rules have no lockout rules; `fix` is the shield's own warning's. */
  | { kind: 'no-rules'; fix: string }
  /** `unreadable`: what the shield warned when the policy could not be found or read. */
  | {
      kind: 'policy';
      source: string;
      policy: LockoutPolicy | undefined;
      unreadable?: { reason: string; fix: string } | undefined;
    }
  | { kind: 'failed'; failure: ProbeFailure };

export type IssuerObservation = { url: string; durationMs: number } & (
  | {
      ok: true;
      status: number;
      body: string;
      /** The response's Date header, as sent. */
      date: string | undefined;
      /** This machine's clock (ms since the epoch) when the request was sent and when its answer arrived. */
      sentAt: number;
      receivedAt: number;
    }
  | { ok: false; failure: ProbeFailure }
);

/** What the bridge's own handle() answered for /login or /get-user, with its request log line's fields. */
export interface RouteObservation {
  status: number;
  body: unknown;
  /** The fields of the log line handle() wrote for the request (reason, lockout_shield, ...). */
  logged: Readonly<Record<string, unknown>>;
}

/** A failure in one phrase: `ECONNREFUSED connect ECONNREFUSED 10.0.0.5:636`, `49 invalid credentials`. */
export function describeFailure(failure: ProbeFailure): string {
  const code = failure.resultCode ?? failure.code;
  if (code === undefined || failure.message.includes(String(code))) return failure.message;
  return `${code} ${failure.message}`;
}

/** A server of LDAP_URLS (already validated: ldap:// or ldaps://, a host, at most a port), as the probes address it. */
export function directoryServer(url: string): DirectoryServer {
  const { protocol, hostname, port } = new URL(url);
  const secure = protocol === 'ldaps:';
  return { url, host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port) || (secure ? 636 : 389), secure };
}
