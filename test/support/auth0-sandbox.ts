// Runs the Auth0 custom-database scripts the way Auth0 does: the file's text evaluated in a
// separate context with a read-only `configuration`, a `global` that persists between calls of
// one container, Auth0's error classes, and the Node runtime's `fetch`, `AbortSignal` and `URL`.
// Only the tenant's token endpoint is routed to the local issuer, since it is addressed as
// https://{AUTH0_DOMAIN}/oauth/token; given a Management API emulator, the tenant's /api/v2/ and the
// token requests for its audience go there instead. Given `hosts`, every request to https://<host>/
// goes to that host's target (another tenant, served by an emulator).
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

export class WrongUsernameOrPasswordError extends Error {
  constructor(
    readonly userNameOrEmail?: string,
    message?: string,
  ) {
    super(message);
    this.name = 'WrongUsernameOrPasswordError';
  }
}
export class UnauthorizedError extends Error {
  constructor(message?: string) {
    super(message);
    this.name = 'UnauthorizedError';
  }
}
export class ValidationError extends Error {
  constructor(
    readonly errorCode?: string,
    message?: string,
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}

export interface ScriptContainer {
  /** Calls the script's function and resolves with the arguments it passed to callback. */
  call(...args: unknown[]): Promise<unknown[]>;
  /** Requests the script made, by URL. */
  requests: string[];
  /** console.log and console.error lines (the tenant's real-time logs), over every call. */
  logs: string[];
}

/** Where the tenant's Management API is served in a test: an emulator's base URL and a fetch that trusts its CA. */
export interface ManagementApiTarget {
  url: string;
  fetch: typeof fetch;
}

export function loadAuth0Script(
  file: string,
  functionName: string,
  configuration: Record<string, string>,
  tokenEndpointTarget: string,
  managementApi?: ManagementApiTarget,
  hosts: Record<string, ManagementApiTarget> = {},
): ScriptContainer {
  const requests: string[] = [];
  const logs: string[] = [];
  const line = (...args: unknown[]) => logs.push(args.map(String).join(' '));
  const tenant = `https://${configuration.AUTH0_DOMAIN}`;
  const tenantTokenUrl = `${tenant}/oauth/token`;
  const forManagementApi = (init?: RequestInit) => {
    try {
      return (JSON.parse(String(init?.body)) as { audience?: unknown }).audience === `${tenant}/api/v2/`;
    } catch {
      return false;
    }
  };
  const sandboxFetch = (input: string, init?: RequestInit) => {
    requests.push(input);
    const host = Object.keys(hosts).find((name) => input.startsWith(`https://${name}/`));
    if (host) return hosts[host]!.fetch(`${hosts[host]!.url}${input.slice(`https://${host}`.length)}`, init);
    if (
      managementApi &&
      (input.startsWith(`${tenant}/api/v2/`) || (input === tenantTokenUrl && forManagementApi(init)))
    )
      return managementApi.fetch(`${managementApi.url}${input.slice(tenant.length)}`, init);
    return fetch(input === tenantTokenUrl ? tokenEndpointTarget : input, init);
  };
  const context = vm.createContext({
    configuration: Object.freeze({ ...configuration }),
    global: {},
    fetch: sandboxFetch,
    AbortSignal,
    URL,
    setTimeout,
    // A global of Auth0's Node runtime (scripts read a token's base64url payload with it).
    Buffer,
    // The host's Error, so tests can tell a plain Error from Auth0's error classes across the context.
    Error,
    WrongUsernameOrPasswordError,
    UnauthorizedError,
    ValidationError,
    console: { log: line, error: line },
  });
  const code = readFileSync(file, 'utf8');
  const scriptFunction = vm.runInContext(`${code}\n;${functionName}`, context, { filename: file }) as (
    ...args: unknown[]
  ) => void;
  return {
    requests,
    logs,
    call(...args: unknown[]) {
      return new Promise((resolve) => {
        scriptFunction(...args, (...callbackArgs: unknown[]) => resolve(callbackArgs));
      });
    },
  };
}

/** What one post-login execution asked of Auth0, and what it logged. */
export interface PostLoginOutcome {
  /** api.user.setAppMetadata(name, value) calls, in order. */
  appMetadata: Array<[string, unknown]>;
  /** api.user.setUserMetadata(name, value) calls, in order. */
  userMetadata: Array<[string, unknown]>;
  /** api.access.deny(reason) calls. */
  denials: string[];
  /** console.log and console.error lines (Monitoring > Actions Logs). */
  logs: string[];
  /** What the Action threw or rejected with: Auth0 fails the login then. */
  thrown?: unknown;
}

export interface PostLoginActionContainer {
  /** One execution of onExecutePostLogin, the module evaluated afresh; api.cache lives on between executions. */
  run(event: Record<string, unknown>): Promise<PostLoginOutcome>;
  /** Requests the Action made, by URL, over every execution. */
  requests: string[];
  /** The trigger's cache: key -> record, as api.cache.get returns it. */
  cache: Map<string, { value: string; expires_at: number }>;
}

/** Actions' cache limits (https://auth0.com/docs/customize/actions/limitations). */
const ACTION_CACHE = {
  maxKeyBytes: 64,
  maxValueBytes: 4096,
  maxEntries: 20,
  maxTotalBytes: 8192,
  defaultTtlMs: 15 * 60 * 1000,
  maxTtlMs: 24 * 60 * 60 * 1000,
};

/**
 * Runs a post-login Action the way Auth0 does: `exports.onExecutePostLogin(event, api)` with the
 * runtime's fetch, api.user.setAppMetadata / setUserMetadata, api.access.deny, and api.cache held to
 * Actions' limits (a refused write answers { type: 'error', code }, the codes being this sandbox's
 * names). Requests to https://{domain}/oauth/token go to `tokenEndpointTarget`.
 */
export function loadPostLoginAction(
  file: string,
  options: { domain: string; tokenEndpointTarget: string },
): PostLoginActionContainer {
  const requests: string[] = [];
  const cache = new Map<string, { value: string; expires_at: number }>();
  const tenantTokenUrl = `https://${options.domain}/oauth/token`;
  const sandboxFetch = (input: string, init?: RequestInit) => {
    requests.push(input);
    return fetch(input === tenantTokenUrl ? options.tokenEndpointTarget : input, init);
  };
  const live = (key: string) => {
    const record = cache.get(key);
    if (record && record.expires_at <= Date.now()) cache.delete(key);
    return cache.get(key);
  };
  const cacheApi = {
    get: (key: string) => {
      const record = live(key);
      return record ? { ...record } : undefined;
    },
    set(key: string, value: unknown, setOptions: { ttl?: number; expires_at?: number } = {}) {
      if (typeof key !== 'string' || Buffer.byteLength(key) > ACTION_CACHE.maxKeyBytes)
        return { type: 'error', code: 'key_too_long' };
      if (typeof value !== 'string' || Buffer.byteLength(value) > ACTION_CACHE.maxValueBytes)
        return { type: 'error', code: 'value_too_large' };
      for (const existing of [...cache.keys()]) live(existing);
      const others = [...cache.entries()].filter(([other]) => other !== key);
      const total = others.reduce((sum, [k, r]) => sum + Buffer.byteLength(k) + Buffer.byteLength(r.value), 0);
      if (others.length >= ACTION_CACHE.maxEntries) return { type: 'error', code: 'too_many_entries' };
      if (total + Buffer.byteLength(key) + Buffer.byteLength(value) > ACTION_CACHE.maxTotalBytes)
        return { type: 'error', code: 'cache_full' };
      const now = Date.now();
      const ends = [now + ACTION_CACHE.maxTtlMs];
      if (setOptions.ttl !== undefined) ends.push(now + setOptions.ttl);
      if (setOptions.expires_at !== undefined) ends.push(setOptions.expires_at);
      if (setOptions.ttl === undefined && setOptions.expires_at === undefined)
        ends.push(now + ACTION_CACHE.defaultTtlMs);
      cache.set(key, { value, expires_at: Math.min(...ends) });
      return { type: 'success' };
    },
    delete(key: string) {
      cache.delete(key);
      return { type: 'success' };
    },
  };
  const code = readFileSync(file, 'utf8');
  return {
    requests,
    cache,
    async run(event) {
      const outcome: PostLoginOutcome = { appMetadata: [], userMetadata: [], denials: [], logs: [] };
      const line = (...args: unknown[]) => outcome.logs.push(args.map(String).join(' '));
      const module = { exports: {} as { onExecutePostLogin?: (event: unknown, api: unknown) => Promise<void> } };
      vm.runInNewContext(
        code,
        { exports: module.exports, module, console: { log: line, error: line }, fetch: sandboxFetch, AbortSignal, URL },
        { filename: file },
      );
      const api = {
        access: { deny: (reason: string) => outcome.denials.push(reason) },
        user: {
          setAppMetadata: (name: string, value: unknown) => outcome.appMetadata.push([name, value]),
          setUserMetadata: (name: string, value: unknown) => outcome.userMetadata.push([name, value]),
        },
        cache: cacheApi,
      };
      try {
        await module.exports.onExecutePostLogin?.(event, api);
      } catch (error) {
        outcome.thrown = error;
      }
      return outcome;
    },
  };
}
