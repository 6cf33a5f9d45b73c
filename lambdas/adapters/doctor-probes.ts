// The doctor's I/O: DNS lookups, TCP and TLS handshakes, a service-account session with the
// directory, and the issuer's key set, each within a timeout, each reported as an observation of
// lambdas/core/doctor/observations.ts for the core to judge. TLS is verified exactly as the
// bridge verifies it (its CA, TLS 1.2 or newer, the server's name); only when that fails does a
// second handshake read the certificate, to say which one it was, and send nothing over it.
// Every socket and client opened here is closed before its function returns, or by close().
import dns from 'node:dns/promises';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { Client, type Entry, ResultCodeError } from 'ldapts';
import type { BindCredentialsSource } from '../core/config/bridge-config.ts';
import {
  type BaseDnObservation,
  type CertificateSummary,
  type DirectoryServer,
  type DnsObservation,
  type IssuerObservation,
  type ProbeFailure,
  type SampleEntryObservation,
  type SearchObservation,
  type ServiceAccount,
  type ServiceBindObservation,
  TIMEOUT,
  type TcpObservation,
  type TlsObservation,
} from '../core/doctor/observations.ts';
import { normaliseEntry, type ServiceCredentials } from './ldap-directory.ts';
import { createSecretsManagerReader, parseCredentialsSecret } from './service-credentials.ts';

export interface DirectoryProbeOptions {
  /** LDAP_CA_CERT's PEM; undefined trusts the system CAs, as the bridge does. */
  caPem: string | undefined;
  startTls: boolean;
  connectTimeoutMs: number;
  operationTimeoutMs: number;
}

class ProbeTimeout extends Error {
  readonly code = TIMEOUT;
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'ProbeTimeout';
  }
}

/** `work`, or ProbeTimeout after `timeoutMs` (then `onTimeout` releases what `work` holds). */
async function within<T>(timeoutMs: number, work: Promise<T>, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new ProbeTimeout(timeoutMs));
    }, timeoutMs);
  });
  work.catch(() => undefined); // a late failure after the timeout is not an unhandled rejection
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What went wrong, as the core reads it: the LDAP result code or the error code, and one line of message. */
export function failureOf(error: unknown): ProbeFailure {
  if (error instanceof ResultCodeError) {
    // ldapts appends " Code: 0x31"; a server without a diagnostic message leaves only that.
    const said = firstLine(error.message).replace(/\s*Code: 0x[0-9a-f]+$/i, '');
    return { resultCode: error.code, message: said || words(error.name) };
  }
  if (!(error instanceof Error)) return { message: String(error) };
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const code = (error as { code?: unknown }).code ?? (cause as { code?: unknown } | undefined)?.code;
  if (error.name === 'TimeoutError' || /timed out|timeout/i.test(error.message))
    return { code: TIMEOUT, message: firstLine(error.message) };
  return { code: typeof code === 'string' ? code : undefined, message: firstLine(cause?.message ?? error.message) };
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? '';
}

/** InvalidCredentialsError -> invalid credentials. */
function words(name: string): string {
  return name
    .replace(/Error$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}

export async function resolveServer(server: DirectoryServer, timeoutMs: number): Promise<DnsObservation> {
  if (net.isIP(server.host) !== 0) return { server, kind: 'address' };
  const started = performance.now();
  try {
    const found = await within(timeoutMs, dns.lookup(server.host, { all: true }));
    return {
      server,
      kind: 'resolved',
      addresses: found.map((each) => each.address),
      durationMs: performance.now() - started,
    };
  } catch (error) {
    return { server, kind: 'failed', failure: failureOf(error), durationMs: performance.now() - started };
  }
}

export async function connectServer(server: DirectoryServer, timeoutMs: number): Promise<TcpObservation> {
  const started = performance.now();
  const socket = net.connect({ host: server.host, port: server.port });
  try {
    await within(timeoutMs, once(socket, 'connect'));
    return { server, ok: true, durationMs: performance.now() - started };
  } catch (error) {
    return { server, ok: false, failure: failureOf(error), durationMs: performance.now() - started };
  } finally {
    socket.destroy();
  }
}

/** The bridge's TLS options (lambdas/adapters/ldap-connection.ts); `verify` false only to read a refused certificate. */
function tlsOptions(host: string, caPem: string | undefined, verify: boolean): tls.ConnectionOptions {
  return {
    ...(caPem ? { ca: [caPem] } : {}),
    ...(net.isIP(host) ? {} : { servername: host }),
    minVersion: 'TLSv1.2',
    rejectUnauthorized: verify,
  };
}

/** A TLS connection to the server (LDAPS, or StartTLS on plain LDAP), and how to close it. */
interface TlsConnection {
  socket: tls.TLSSocket;
  close(): Promise<void>;
}

async function openTls(
  server: DirectoryServer,
  options: DirectoryProbeOptions,
  verify: boolean,
): Promise<TlsConnection> {
  const settings = tlsOptions(server.host, options.caPem, verify);
  if (server.secure) {
    const socket = tls.connect({ ...settings, host: server.host, port: server.port });
    try {
      await within(options.connectTimeoutMs, once(socket, 'secureConnect'));
    } catch (error) {
      socket.destroy();
      throw error;
    }
    return { socket, close: async () => void socket.destroy() };
  }
  let upgraded: tls.TLSSocket | undefined;
  const client = new Client({
    url: server.url,
    connectTimeout: options.connectTimeoutMs,
    timeout: options.operationTimeoutMs,
    // ldapts upgrades the connection with this; keeping the socket lets the doctor read its certificate.
    createSecureConnection: ((connection: tls.ConnectionOptions) => {
      upgraded = tls.connect(connection);
      return upgraded;
    }) as typeof tls.connect,
  });
  const close = async () => {
    upgraded?.destroy();
    await client.unbind().catch(() => undefined);
  };
  try {
    await within(options.connectTimeoutMs + options.operationTimeoutMs, client.startTLS(settings), () => {
      upgraded?.destroy();
    });
  } catch (error) {
    await close();
    throw error;
  }
  if (upgraded === undefined) {
    await close();
    throw new Error('StartTLS finished without a TLS socket');
  }
  return { socket: upgraded, close };
}

export async function handshakeServer(
  server: DirectoryServer,
  options: DirectoryProbeOptions,
): Promise<TlsObservation> {
  if (!server.secure && !options.startTls) return { server, kind: 'plaintext' };
  const kind = server.secure ? 'ldaps' : 'starttls';
  const started = performance.now();
  let connection: TlsConnection | undefined;
  try {
    connection = await openTls(server, options, true);
    return {
      server,
      kind,
      ok: true,
      protocol: connection.socket.getProtocol() ?? 'TLS',
      certificate: summariseCertificate(connection.socket.getPeerCertificate()),
      durationMs: performance.now() - started,
    };
  } catch (error) {
    const failure = failureOf(error);
    const durationMs = performance.now() - started;
    const refusedCertificate =
      failure.code !== undefined && failure.code !== TIMEOUT && failure.resultCode === undefined
        ? await readRefusedCertificate(server, options)
        : undefined;
    return { server, kind, ok: false, failure, certificate: refusedCertificate, durationMs };
  } finally {
    await connection?.close();
  }
}

/** The certificate a verified handshake refused, read from an unverified one that is closed at once. */
async function readRefusedCertificate(
  server: DirectoryServer,
  options: DirectoryProbeOptions,
): Promise<CertificateSummary | undefined> {
  let connection: TlsConnection | undefined;
  try {
    connection = await openTls(server, options, false);
    return summariseCertificate(connection.socket.getPeerCertificate());
  } catch {
    return undefined;
  } finally {
    await connection?.close();
  }
}

function summariseCertificate(certificate: tls.PeerCertificate): CertificateSummary {
  return {
    subject: distinguishedName(certificate.subject),
    issuer: distinguishedName(certificate.issuer),
    notBefore: new Date(certificate.valid_from),
    notAfter: new Date(certificate.valid_to),
    names: (certificate.subjectaltname ?? '')
      .split(', ')
      .filter((name) => name !== '')
      .map((name) => name.replace(/^IP Address:/, 'IP:')),
  };
}

function distinguishedName(name: tls.Certificate | undefined): string {
  return Object.entries(name ?? {})
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}

/** The service account's credentials: configured, or read from the secret as the bridge reads it. */
async function serviceCredentials(source: BindCredentialsSource, timeoutMs: number): Promise<ServiceCredentials> {
  if (source.kind === 'static') return { bindDN: source.bindDN, password: source.password };
  const reader = await createSecretsManagerReader();
  return parseCredentialsSecret(await within(timeoutMs, reader.getSecretString(source.secretArn)));
}

/**
 * Connects to the servers of LDAP_URLS in order, as the bridge does (the first that answers),
 * and binds there as the service account. The session is there only when the bind succeeded.
 */
export async function openServiceSession(
  servers: readonly DirectoryServer[],
  source: BindCredentialsSource,
  options: DirectoryProbeOptions,
): Promise<{ observation: ServiceBindObservation; session?: DirectorySession }> {
  let account: ServiceAccount =
    source.kind === 'static'
      ? { source: 'LDAP_BIND_DN', bindDN: source.bindDN }
      : { source: 'LDAP_BIND_SECRET_ARN', secretArn: source.secretArn };
  let credentials: ServiceCredentials;
  try {
    credentials = await serviceCredentials(source, options.operationTimeoutMs);
  } catch (error) {
    return { observation: { stage: 'credentials', account, failure: failureOf(error) } };
  }
  if (account.source === 'LDAP_BIND_SECRET_ARN') account = { ...account, bindDN: credentials.bindDN };
  let last: { url: string; failure: ProbeFailure } = {
    url: servers[0]?.url ?? '',
    failure: { message: 'no server configured' },
  };
  for (const server of servers) {
    const started = performance.now();
    const client = new Client({
      url: server.url,
      connectTimeout: options.connectTimeoutMs,
      timeout: options.operationTimeoutMs,
      ...(server.secure ? { tlsOptions: tlsOptions(server.host, options.caPem, true) } : {}),
    });
    try {
      if (!server.secure && options.startTls)
        await within(
          options.connectTimeoutMs + options.operationTimeoutMs,
          client.startTLS(tlsOptions(server.host, options.caPem, true)),
        );
      await client.bind(credentials.bindDN, credentials.password);
      const session = new DirectorySession(client, options.operationTimeoutMs);
      return {
        observation: { stage: 'bind', account, url: server.url, ok: true, durationMs: performance.now() - started },
        session,
      };
    } catch (error) {
      await client.unbind().catch(() => undefined);
      const failure = failureOf(error);
      // The server answered (it refused the bind): the next server would only hide it.
      if (failure.resultCode !== undefined)
        return {
          observation: {
            stage: 'bind',
            account,
            url: server.url,
            ok: false,
            failure,
            durationMs: performance.now() - started,
          },
        };
      last = { url: server.url, failure };
    }
  }
  return { observation: { stage: 'connect', account, ...last } };
}

/** A connection bound as the service account, for the links that search. */
export class DirectorySession {
  constructor(
    private readonly client: Client,
    private readonly operationTimeoutMs: number,
  ) {}

  /** The base DN exists (a base search) and the account reads below it (a one-level search). */
  async readBase(baseDN: string): Promise<BaseDnObservation> {
    const started = performance.now();
    const duration = () => performance.now() - started;
    try {
      await this.search(baseDN, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
    } catch (error) {
      const failure = failureOf(error);
      const namingContexts = failure.resultCode === 32 ? await this.namingContexts() : undefined;
      return { ok: false, stage: 'base', failure, namingContexts, durationMs: duration() };
    }
    try {
      const below = await this.search(baseDN, {
        scope: 'one',
        filter: '(objectClass=*)',
        attributes: ['1.1'],
        sizeLimit: 1,
      });
      return { ok: true, entriesBelow: below.length, durationMs: duration() };
    } catch (error) {
      return { ok: false, stage: 'below', failure: failureOf(error), durationMs: duration() };
    }
  }

  /** How many entries (at most `sizeLimit`) the filter finds under the base; never which. */
  async count(baseDN: string, filter: string, sizeLimit: number): Promise<SearchObservation> {
    const started = performance.now();
    try {
      const found = await this.search(baseDN, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit });
      return { filter, ok: true, count: found.length, durationMs: performance.now() - started };
    } catch (error) {
      return { filter, ok: false, failure: failureOf(error), durationMs: performance.now() - started };
    }
  }

  /** The first entry the filter finds under the base, with `attributes`, normalised as the bridge reads entries. */
  async first(
    baseDN: string,
    filter: string,
    attributes: string[],
    guidAttributes: string[],
  ): Promise<SampleEntryObservation> {
    const started = performance.now();
    try {
      const [entry] = await this.search(baseDN, {
        scope: 'sub',
        filter,
        attributes,
        sizeLimit: 1,
        explicitBufferAttributes: guidAttributes,
      });
      const found = entry === undefined ? undefined : normaliseEntry(entry, guidAttributes);
      return { filter, ok: true, entry: found, durationMs: performance.now() - started };
    } catch (error) {
      return { filter, ok: false, failure: failureOf(error), durationMs: performance.now() - started };
    }
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }

  /** What the rootDSE lists as the directory's naming contexts; undefined when it may not be read. */
  private async namingContexts(): Promise<string[] | undefined> {
    try {
      const [root] = await this.search('', {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['namingContexts', 'defaultNamingContext'],
      });
      if (root === undefined) return undefined;
      const values = [root.namingContexts, root.defaultNamingContext].flat();
      return [...new Set(values.filter((value): value is string => typeof value === 'string' && value !== ''))];
    } catch {
      return undefined;
    }
  }

  private async search(
    baseDN: string,
    options: {
      scope: 'base' | 'one' | 'sub';
      filter: string;
      attributes: string[];
      sizeLimit?: number;
      explicitBufferAttributes?: string[];
    },
  ): Promise<Entry[]> {
    const result = await this.client.search(baseDN, {
      ...options,
      derefAliases: 'never',
      timeLimit: Math.max(1, Math.ceil(this.operationTimeoutMs / 1000)),
    });
    return result.searchEntries;
  }
}

/** GET of the issuer's key set, with this machine's clock read around it (for the clock link). */
export async function fetchIssuer(url: string, timeoutMs: number): Promise<IssuerObservation> {
  const started = performance.now();
  const sentAt = Date.now();
  try {
    const signal = AbortSignal.timeout(timeoutMs);
    const response = await fetch(url, { signal, headers: { accept: 'application/json' } });
    const receivedAt = Date.now();
    const body = await response.text();
    return {
      url,
      ok: true,
      status: response.status,
      body,
      date: response.headers.get('date') ?? undefined,
      sentAt,
      receivedAt,
      durationMs: performance.now() - started,
    };
  } catch (error) {
    return { url, ok: false, failure: failureOf(error), durationMs: performance.now() - started };
  }
}
