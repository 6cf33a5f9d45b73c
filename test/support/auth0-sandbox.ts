// Runs the Auth0 custom-database scripts the way Auth0 does: the file's text evaluated in a
// separate context with a read-only `configuration`, a `global` that persists between calls of
// one container, Auth0's error classes, and the Node runtime's `fetch`, `AbortSignal` and `URL`.
// Only the tenant's token endpoint is routed to the local issuer, since it is addressed as
// https://{AUTH0_DOMAIN}/oauth/token; given a Management API emulator, the tenant's /api/v2/ and the
// token requests for its audience go there instead.
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
): ScriptContainer {
  const requests: string[] = [];
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
    // The host's Error, so tests can tell a plain Error from Auth0's error classes across the context.
    Error,
    WrongUsernameOrPasswordError,
    UnauthorizedError,
    ValidationError,
    console: { log() {}, error() {} },
  });
  const code = readFileSync(file, 'utf8');
  const scriptFunction = vm.runInContext(`${code}\n;${functionName}`, context, { filename: file }) as (
    ...args: unknown[]
  ) => void;
  return {
    requests,
    call(...args: unknown[]) {
      return new Promise((resolve) => {
        scriptFunction(...args, (...callbackArgs: unknown[]) => resolve(callbackArgs));
      });
    },
  };
}
