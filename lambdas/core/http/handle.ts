// The product: one HTTP request in, one response out. The local server and the Lambda
// handlers are thin adapters around this function. Order of checks: route, method, caller,
// body; a caller without a valid token learns nothing about what the body should be.
// Requests and responses are plain data (not the Web Request/Response classes): each entry
// point already holds the parts, and building stream-backed objects per login cost the local
// server about a tenth of its CPU under load (bench/, profiled).
import {
  BridgeError,
  DirectoryDataError,
  InternalError,
  InvalidCredentials,
  InvalidRequest,
  MethodNotAllowed,
  PayloadTooLarge,
  RouteNotFound,
  AccountState,
  UnsupportedMediaType,
  UserNotFound,
} from '../../contract/errors.ts';
import { accountStateOf } from '../directory/account-states.ts';
import type { GroupParentsCache } from '../directory/groups.ts';
import { buildUserFilter } from '../directory/ldap-filter.ts';
import type { Logger, UserDirectory } from '../ports.ts';
import type { Auth0Profile, DirectoryEntry } from '../profile/map-entry.ts';
import { hiddenStateOf, profileOf, type UserProfileSettings } from '../profile/build-profile.ts';
import {
  getUserRequestSchema,
  loginRequestSchema,
  MAX_BODY_BYTES,
  validateAgainstSchema,
  type ObjectSchema,
} from '../../contract/request-schemas.ts';
import { errorResponse, jsonResponse, type BridgeResponse } from './responses.ts';
import type { VerifiedClient } from '../caller/token-claims.ts';

export type RouteName = 'login' | 'get-user';

/** One HTTP request, as an entry point hands it to the core. */
export interface BridgeRequest {
  method: string;
  /** The path the route is chosen by, without query string. */
  path: string;
  /** Names lower-case; a repeated header's values joined with ", " (as HTTP combines them). */
  headers: Readonly<Record<string, string | undefined>>;
  body: Uint8Array;
}

/** Decides whether the caller of a request may use a route (token check, or API Gateway's authorizer result). */
export interface CallerAuthorizer {
  authorize(request: BridgeRequest, requiredScope: string): Promise<VerifiedClient>;
}

export interface HandlerSettings extends UserProfileSettings {
  userFilter: string;
  scopes: { login: string; getUser: string };
  /**
   * A DN that does not exist, bound with the offered password when the username matches no
   * entry, so an unknown user costs the same directory round trip as a wrong password.
   */
  timingDecoyDN: string;
}

export interface HandlerDeps {
  settings: HandlerSettings;
  directory: UserDirectory;
  authorizer: CallerAuthorizer;
  logger: Logger;
  /** Which groups contain which, remembered across requests (see GroupParentsCache); optional. */
  groupParents?: GroupParentsCache | undefined;
  /** The id every response and log line carries; entry points pass API Gateway's, else one is made. */
  requestId?: string;
}

interface Route {
  name: RouteName;
  schema: ObjectSchema;
  scope: (scopes: HandlerSettings['scopes']) => string;
  run: (body: Record<string, string>, deps: HandlerDeps, trace: RequestTrace) => Promise<Auth0Profile>;
}

/** What one request did, for its log line. Never holds user input or secrets. */
interface RequestTrace {
  route?: RouteName;
  clientId?: string;
  userDn?: string;
}

const ROUTES: Record<string, Route> = {
  '/login': { name: 'login', schema: loginRequestSchema, scope: (scopes) => scopes.login, run: login },
  '/get-user': { name: 'get-user', schema: getUserRequestSchema, scope: (scopes) => scopes.getUser, run: getUser },
};

/** Every route path with the scope it requires: the API Gateway authorizer builds its policy from this. */
export function routeScopes(scopes: HandlerSettings['scopes']): Array<{ path: string; scope: string }> {
  return Object.entries(ROUTES).map(([path, route]) => ({ path, scope: route.scope(scopes) }));
}

export async function handle(request: BridgeRequest, deps: HandlerDeps): Promise<BridgeResponse> {
  const requestId = deps.requestId ?? crypto.randomUUID();
  const started = performance.now();
  const trace: RequestTrace = {};
  let response: BridgeResponse;
  let failure: unknown;
  try {
    const route = Object.hasOwn(ROUTES, request.path) ? ROUTES[request.path] : undefined;
    if (!route) throw new RouteNotFound();
    trace.route = route.name;
    if (request.method !== 'POST') throw new MethodNotAllowed();
    const client = await deps.authorizer.authorize(request, route.scope(deps.settings.scopes));
    trace.clientId = client.clientId;
    const body = readJsonBody(request, route.schema);
    const profile = await route.run(body, deps, trace);
    response = jsonResponse(200, profile, requestId);
  } catch (error) {
    failure = error;
    response = errorResponse(error, requestId);
  }
  logOutcome(deps.logger, requestId, trace, response.status, failure, performance.now() - started);
  return response;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function readJsonBody(request: BridgeRequest, schema: ObjectSchema): Record<string, string> {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) throw new UnsupportedMediaType();
  const declaredLength = Number(request.headers['content-length'] ?? '0');
  if (declaredLength > MAX_BODY_BYTES) throw new PayloadTooLarge(MAX_BODY_BYTES);
  const bytes = request.body;
  if (bytes.byteLength > MAX_BODY_BYTES) throw new PayloadTooLarge(MAX_BODY_BYTES);

  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new InvalidRequest('body', 'is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input, which may hold a password: never pass it on.
    throw new InvalidRequest('body', 'is not valid JSON');
  }
  const result = validateAgainstSchema(schema, parsed);
  if (!result.ok) throw new InvalidRequest(result.field, result.reason);
  return result.value;
}

async function login(body: Record<string, string>, deps: HandlerDeps, trace: RequestTrace): Promise<Auth0Profile> {
  const username = body.username as string;
  const password = body.password as string;
  // A blank password would be an LDAP "unauthenticated bind", which servers report as success.
  if (password.trim() === '') throw new InvalidCredentials();

  const entry = await findOneUser(username, deps);
  if (!entry) {
    await deps.directory.verifyPassword(deps.settings.timingDecoyDN, password);
    throw new InvalidCredentials();
  }
  trace.userDn = entry.dn;
  const outcome = await deps.directory.verifyPassword(entry.dn, password);
  switch (outcome.kind) {
    case 'ok': {
      // The password is proven, so the entry's own state may be named: some servers let a
      // disabled or expired account bind (no password policy module), the bridge does not.
      const state = accountStateOf(entry, deps.settings.accountStates, new Date());
      if (state !== undefined) throw new AccountState(state);
      return profileOf(entry, deps.settings, deps);
    }
    case 'invalid_credentials':
      throw new InvalidCredentials();
    case 'account_state':
      throw new AccountState(outcome.state);
  }
}

async function getUser(body: Record<string, string>, deps: HandlerDeps, trace: RequestTrace): Promise<Auth0Profile> {
  const entry = await findOneUser(body.username as string, deps);
  if (!entry) throw new UserNotFound();
  trace.userDn = entry.dn;
  const hidden = hiddenStateOf(entry, deps.settings, new Date());
  if (hidden !== undefined)
    throw new UserNotFound(`${hidden}: inactive accounts are hidden (LDAP_HIDE_INACTIVE_USERS)`);
  return profileOf(entry, deps.settings, deps);
}

/** The one entry a username names, undefined for none; two or more is a data problem, never "pick the first". */
async function findOneUser(username: string, deps: HandlerDeps): Promise<DirectoryEntry | undefined> {
  const filter = buildUserFilter(deps.settings.userFilter, username);
  const entries = await deps.directory.findUsers(filter, 2);
  if (entries.length > 1)
    throw new DirectoryDataError(
      'more than one directory entry matches the username; fix the data or LDAP_USER_FILTER',
    );
  return entries[0];
}

function logOutcome(
  logger: Logger,
  requestId: string,
  trace: RequestTrace,
  status: number,
  failure: unknown,
  durationMs: number,
): void {
  const fields = {
    request_id: requestId,
    route: trace.route,
    status,
    client_id: trace.clientId,
    user_dn: trace.userDn,
    duration_ms: Math.round(durationMs * 10) / 10,
  };
  if (failure === undefined) {
    logger.info('request handled', fields);
    return;
  }
  const known = failure instanceof BridgeError ? failure : new InternalError(failure);
  const reason = reasonForLog(known);
  if (known.status >= 500)
    logger[known.status === 500 ? 'error' : 'warn']('request failed', { ...fields, error: known.code, reason });
  else logger.info('request refused', { ...fields, error: known.code, reason });
}

/** A reason an operator can act on. Built only from our own messages and error class names, never from input. */
function reasonForLog(error: BridgeError): string | undefined {
  if (error instanceof InternalError) {
    const cause = error.cause;
    return cause instanceof Error ? `${cause.name}: ${cause.message}` : 'non-error thrown';
  }
  if ('why' in error && typeof error.why === 'string') return error.why;
  if (error instanceof InvalidRequest) return error.message;
  return undefined;
}
