// One kept-open LDAP connection that survives its server: it opens the socket itself (with a
// timeout, TLS verification and failover across LDAP_URLS in order), hands the socket to an
// ldapts Client, and replaces the client when the socket dies. A client is never reused after
// its socket closed, because ldapts would silently reconnect it anonymously.
import net from 'node:net';
import tls from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import { BridgeError, DirectoryUnavailable } from '../contract/errors.ts';
import {
  type BridgeMetrics,
  type DirectoryOperation,
  type DirectoryResult,
  type Logger,
  NO_METRICS,
} from '../core/ports.ts';

export interface LdapEndpoints {
  urls: readonly string[];
  /** PEM of a private CA; undefined trusts the system CAs. Verification is never turned off. */
  caPem: string | undefined;
  startTls: boolean;
  connectTimeoutMs: number;
  operationTimeoutMs: number;
  /** A connection unused for longer is replaced before use (frozen Lambda containers, NAT idle timeouts). */
  maxIdleMs: number;
  logger: Logger;
  /** Counts sockets opened, for the benchmarks and tests that prove warm requests open none. */
  stats?: ConnectionStats;
  /** Shared by every connection to the same directory: which servers recently failed. */
  health?: ServerHealth;
  /** Directory operations, failovers and open connections by server; default not counted. */
  metrics?: BridgeMetrics;
}

/**
 * Remembers servers that did not answer, so a dead primary's connect timeout is paid once per
 * cool-down period instead of on every reconnect, and brings them back once it has passed.
 */
export class ServerHealth {
  private readonly failedUntil = new Map<string, number>();

  constructor(
    /** Milliseconds a server that did not answer is tried only after the others. */
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The configured order, with servers still cooling down moved to the end (tried if nothing else answers). */
  order(urls: readonly string[]): string[] {
    return [...urls.filter((url) => !this.isCoolingDown(url)), ...urls.filter((url) => this.isCoolingDown(url))];
  }

  isCoolingDown(url: string): boolean {
    return (this.failedUntil.get(url) ?? 0) > this.now();
  }

  markFailed(url: string): void {
    this.failedUntil.set(url, this.now() + this.cooldownMs);
  }

  markAnswered(url: string): void {
    this.failedUntil.delete(url);
  }
}

export interface ConnectionStats {
  socketsOpened: number;
}

export class LdapConnection {
  private client: Client | undefined;
  /** The server the kept client is connected to. */
  private clientUrl: string | undefined;
  private opening: Promise<Client> | undefined;
  private lastUsedAt = 0;
  /** Which server each client was opened to (for marking it when the connection dies at once). */
  private readonly urlOf = new WeakMap<Client, string>();

  constructor(
    private readonly endpoints: LdapEndpoints,
    /** Runs once on every new connection to `server` before it is used (the service-account bind). */
    private readonly prepare: (client: Client, server: string) => Promise<void>,
    /** Whether a kept connection can serve as it is (connected; bound, for the search connection). */
    private readonly isReady: (client: Client) => boolean,
    private readonly role: string,
  ) {}

  /**
   * Runs `operation` on the kept connection, or on a new one when there is none, it idled too
   * long, or it turns out to be dead (then once more on a fresh connection). A timeout is not
   * retried: the caller must get its answer within the configured time.
   */
  async run<T>(operation: (client: Client) => Promise<T>, kind: DirectoryOperation): Promise<T> {
    const kept = this.client;
    if (kept && this.canServe(kept)) {
      try {
        return await this.track(kept, kind, operation);
      } catch (error) {
        if (!isDeadConnection(error)) throw error;
        this.endpoints.logger.info('ldap connection lost; reconnecting', {
          role: this.role,
          reason: describeError(error),
        });
        this.discard(kept);
      }
    } else if (kept) {
      this.discard(kept);
    }
    return this.runOnNewConnection(operation, kind, true);
  }

  /**
   * A new connection that dies on its first operation belongs to a server that is going away (a
   * killed server's listening socket can still accept for a moment): that server is marked as
   * not answering, so the one further try goes to the next server in LDAP_URLS.
   */
  private async runOnNewConnection<T>(
    operation: (client: Client) => Promise<T>,
    kind: DirectoryOperation,
    mayTryAnother: boolean,
  ): Promise<T> {
    const fresh = await this.open();
    try {
      return await this.track(fresh, kind, operation);
    } catch (error) {
      if (!mayTryAnother || !isDeadConnection(error)) throw error;
      const url = this.urlOf.get(fresh);
      this.endpoints.logger.warn('directory server closed a new connection', {
        role: this.role,
        url,
        reason: describeError(error),
      });
      if (url !== undefined) {
        this.endpoints.health?.markFailed(url);
        this.metrics.directoryFailover(url);
      }
      this.discard(fresh);
      return this.runOnNewConnection(operation, kind, false);
    }
  }

  /**
   * Opens and prepares a connection (for the search connection: bound as the service account)
   * unless the kept one can serve as it is; no operation is sent on a kept one. For readiness
   * probes: concurrent calls share one opening, as requests do.
   */
  async ensureOpen(): Promise<void> {
    const kept = this.client;
    if (kept && this.canServe(kept)) return;
    if (kept) this.discard(kept);
    await this.open();
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.isConnected) await client.unbind().catch(() => undefined);
  }

  /** Runs one operation on `client`, counted by the server it is connected to. */
  private async track<T>(
    client: Client,
    kind: DirectoryOperation,
    operation: (client: Client) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const server = this.urlOf.get(client) ?? 'unknown';
    try {
      const result = await operation(client);
      this.metrics.directoryOperation(server, kind, 'ok', performance.now() - started);
      return result;
    } catch (error) {
      this.metrics.directoryOperation(server, kind, directoryResultOf(error), performance.now() - started);
      throw error;
    } finally {
      this.lastUsedAt = Date.now();
    }
  }

  private get metrics(): BridgeMetrics {
    return this.endpoints.metrics ?? NO_METRICS;
  }

  /** Whether the kept connection serves the next operation as it is: ready, not idle too long, on the preferred server. */
  private canServe(kept: Client): boolean {
    const idleFor = Date.now() - this.lastUsedAt;
    return this.isReady(kept) && idleFor <= this.endpoints.maxIdleMs && !this.shouldReturnToPreferred();
  }

  /** On a fallback server while a server earlier in LDAP_URLS has finished cooling down: go back to it. */
  private shouldReturnToPreferred(): boolean {
    const health = this.endpoints.health;
    if (!health || this.clientUrl === undefined) return false;
    // The first server in LDAP_URLS order that is not cooling down; going back only ever moves forward.
    const preferred = this.endpoints.urls.find((url) => !health.isCoolingDown(url));
    return (
      preferred !== undefined && this.endpoints.urls.indexOf(preferred) < this.endpoints.urls.indexOf(this.clientUrl)
    );
  }

  private discard(client: Client): void {
    if (this.client === client) {
      this.client = undefined;
      this.clientUrl = undefined;
    }
    void client.unbind().catch(() => undefined);
  }

  /** One opening at a time: concurrent requests share it instead of each opening a socket. */
  private open(): Promise<Client> {
    this.opening ??= this.connectFirstAnswering().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async connectFirstAnswering(): Promise<Client> {
    let lastProblem = 'no LDAP URL configured';
    const urls = this.endpoints.health ? this.endpoints.health.order(this.endpoints.urls) : this.endpoints.urls;
    for (const [index, url] of urls.entries()) {
      let client: Client | undefined;
      try {
        const connecting = performance.now();
        try {
          client = await this.connect(url);
        } catch (error) {
          this.metrics.directoryOperation(url, 'connect', directoryResultOf(error), performance.now() - connecting);
          throw error;
        }
        this.metrics.directoryOperation(url, 'connect', 'ok', performance.now() - connecting);
        this.endpoints.health?.markAnswered(url);
        this.urlOf.set(client, url);
        await this.prepare(client, url);
        this.client = client;
        this.clientUrl = url;
        this.lastUsedAt = Date.now();
        return client;
      } catch (error) {
        if (client) void client.unbind().catch(() => undefined);
        // The server answered (for example it refused the service bind): trying the next one
        // would only hide a configuration problem.
        if (error instanceof BridgeError || error instanceof ResultCodeError) throw error;
        this.endpoints.health?.markFailed(url);
        if (index < urls.length - 1) this.metrics.directoryFailover(url);
        lastProblem = `${url}: ${describeError(error)}`;
        this.endpoints.logger.warn('directory server did not answer', {
          role: this.role,
          url,
          reason: describeError(error),
        });
      }
    }
    throw new DirectoryUnavailable(`no directory server answered (${lastProblem})`);
  }

  private async connect(url: string): Promise<Client> {
    const { protocol, hostname, port } = new URL(url);
    const secure = protocol === 'ldaps:';
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    const tlsOptions = this.tlsOptions(host);
    const socket = await openSocket(
      host,
      Number(port) || (secure ? 636 : 389),
      secure ? tlsOptions : undefined,
      this.endpoints.connectTimeoutMs,
    );
    if (this.endpoints.stats) this.endpoints.stats.socketsOpened += 1;
    this.metrics.directoryConnectionOpened(url);
    socket.once('close', () => this.metrics.directoryConnectionClosed(url));
    socket.setKeepAlive(true, 30_000);
    let handedOver = false;
    // ldapts asks for a socket on its first operation; it gets ours, once. Asked again (its
    // socket died), it fails instead of reconnecting anonymously.
    const handOver = () => {
      // A socket the server closed before its first use would leave ldapts waiting for a
      // 'connect' event that never comes (until the connect timeout): say so at once.
      if (handedOver || socket.destroyed || socket.readyState !== 'open') throw new Error('ldap connection lost');
      handedOver = true;
      return socket;
    };
    const client = new Client({
      url,
      timeout: this.endpoints.operationTimeoutMs,
      connectTimeout: this.endpoints.connectTimeoutMs,
      ...(secure
        ? { createSecureConnection: handOver as unknown as typeof tls.connect }
        : { createConnection: handOver as typeof net.connect }),
    });
    if (!secure && this.endpoints.startTls) {
      await client.startTLS({ ...tlsOptions });
    }
    return client;
  }

  private tlsOptions(host: string): tls.ConnectionOptions {
    return {
      ...(this.endpoints.caPem ? { ca: [this.endpoints.caPem] } : {}),
      ...(net.isIP(host) ? {} : { servername: host }),
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
    };
  }
}

/** Opens TCP (and TLS) within the timeout; certificate problems reject here, with their reason. */
function openSocket(
  host: string,
  port: number,
  tlsOptions: tls.ConnectionOptions | undefined,
  timeoutMs: number,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = tlsOptions ? tls.connect({ ...tlsOptions, host, port }) : net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(tlsOptions ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/** A socket that closed or reset under a kept connection; worth one retry on a fresh one. Timeouts are not. */
export function isDeadConnection(error: unknown): boolean {
  if (error instanceof BridgeError || error instanceof ResultCodeError) return false;
  if (!(error instanceof Error)) return false;
  return !isTimeout(error);
}

/** LDAP result codes by which a server says it cannot serve now, rather than answering the question. */
const SERVER_TROUBLE_CODES = new Set([
  1, // operationsError
  51, // busy
  52, // unavailable
  80, // other
]);

/** How an operation that threw ended, for the directory metrics. */
export function directoryResultOf(error: unknown): DirectoryResult {
  if (error instanceof ResultCodeError) {
    if (error.code === 3) return 'timeout'; // timeLimitExceeded
    return SERVER_TROUBLE_CODES.has(error.code) ? 'error' : 'answered';
  }
  if (error instanceof BridgeError) return 'error';
  return isTimeout(error) ? 'timeout' : 'connection_error';
}

export function isTimeout(error: unknown): boolean {
  return error instanceof Error && /timed out|timeout/i.test(error.message);
}

/** A short reason for logs: error code and message, which for socket and TLS errors hold no credentials. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  const firstLine = error.message.split('\n')[0] ?? '';
  return code !== undefined && !firstLine.includes(String(code)) ? `${String(code)} ${firstLine}` : firstLine;
}
