// The product: one HTTP request in, one response out. The local server and the Lambda
// handlers are thin adapters around this function. Order of checks: route, method, caller,
// body; a caller without a valid token learns nothing about what the body should be.
// Requests and responses are plain data (not the Web Request/Response classes): each entry
// point already holds the parts, and building stream-backed objects per login cost the local
// server about a tenth of its CPU under load (bench/, profiled).
import {
  accountStateError,
  BridgeError,
  DirectoryDataError,
  InternalError,
  InvalidCredentials,
  InvalidRequest,
  MethodNotAllowed,
  RouteNotFound,
  UserNotFound,
} from '../../contract/errors.ts';
import { type RouteName, type RouteScopes, routeForPath } from '../../contract/routes.ts';
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import { accountStateOf } from '../directory/account-states.ts';
import type { GroupParentsCache } from '../directory/groups.ts';
import type { LockoutShield } from '../directory/lockout-shield.ts';
import { buildUserFilter } from '../directory/ldap-filter.ts';
import { type BindOutcome, type BridgeMetrics, type Logger, NO_METRICS, type UserDirectory } from '../ports.ts';
import type { Auth0Profile, DirectoryEntry } from '../profile/map-entry.ts';
import { hiddenStateOf, profileOf, type UserProfileSettings } from '../profile/build-profile.ts';
import type { VerifiedClient } from '../caller/token-claims.ts';
import { readJsonBody } from './request-body.ts';
import { type BridgeResponse, errorResponse, jsonResponse } from './responses.ts';

/** One HTTP request, as an entry point hands it to the core. Everything that belongs to this request travels here. */
export interface BridgeRequest {
  /** The id every response and log line of this request carries (API Gateway's, or one the server made). */
  id: string;
  method: string;
  /** The path the route is chosen by, without query string. */
  path: string;
  /** Names lower-case; a repeated header's values joined with ", " (as HTTP combines them). */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body, where the entry point holds it already (the Lambdas); empty when readBody is given. */
  body: Uint8Array;
  /**
   * Receives the body, for an entry point that has not read it (the on-prem server). Called only
   * once the caller is verified, so a request without a valid token never waits for its body;
   * rejects with a BridgeError (too large, too slow, connection closed).
   */
  readBody?: (() => Promise<Uint8Array>) | undefined;
  /** What API Gateway's token authorizer found, on the Lambda path; absent elsewhere. */
  authorizerContext?: Readonly<Record<string, unknown>> | null | undefined;
}

/** Decides whether the caller of a request may use a route (token check, or API Gateway's authorizer result). */
export interface CallerAuthorizer {
  authorize(request: BridgeRequest, requiredScope: string): Promise<VerifiedClient>;
}

export interface HandlerSettings extends UserProfileSettings {
  userFilter: string;
  scopes: RouteScopes;
  /**
   * A DN that does not exist, bound with the offered password when the username matches no
   * entry, so an unknown user costs the same directory round trip as a wrong password.
   */
  timingDecoyDN: string;
}

/** What handle() needs, built once per process by an entry point and shared by every request. */
export interface HandlerDeps {
  settings: HandlerSettings;
  directory: UserDirectory;
  authorizer: CallerAuthorizer;
  logger: Logger;
  /** Which groups contain which, remembered across requests (see GroupParentsCache); optional. */
  groupParents?: GroupParentsCache | undefined;
  /** Stops short of the directory's account lockout; none: every login binds. */
  lockoutShield?: LockoutShield | undefined;
  /** Counts requests by route and outcome; default nothing. */
  metrics?: BridgeMetrics | undefined;
}

/** What one request did, for its log line. Never holds user input or secrets. */
interface RequestTrace {
  route?: RouteName;
  clientId?: string;
  userDn?: string;
  /** Set when the lockout shield answered instead of a bind: the account's counted failures and threshold. */
  lockoutShield?: { failures: number | 'locked'; threshold: number };
}

type RouteHandler = (body: Record<string, string>, deps: HandlerDeps, trace: RequestTrace) => Promise<Auth0Profile>;

export async function handle(request: BridgeRequest, deps: HandlerDeps): Promise<BridgeResponse> {
  const started = performance.now();
  const trace: RequestTrace = {};
  let response: BridgeResponse;
  let failure: unknown;
  try {
    const route = routeForPath(request.path);
    if (!route) throw new RouteNotFound();
    trace.route = route.name;
    if (request.method !== route.method) throw new MethodNotAllowed();
    const client = await deps.authorizer.authorize(request, deps.settings.scopes[route.name]);
    trace.clientId = client.clientId;
    const received = request.readBody ? { ...request, body: await request.readBody() } : request;
    const body = readJsonBody(received, route.requestSchema);
    const profile = await ROUTE_HANDLERS[route.name](body, deps, trace);
    response = jsonResponse(200, profile, request.id);
  } catch (error) {
    failure = error;
    response = errorResponse(error, request.id);
  }
  const durationMs = performance.now() - started;
  const known = failure === undefined || failure instanceof BridgeError ? failure : new InternalError(failure);
  logOutcome(deps.logger, request.id, trace, response.status, known, durationMs);
  (deps.metrics ?? NO_METRICS).requestHandled(trace.route, outcomeOf(trace, known), durationMs);
  return response;
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
  const verdict = (await deps.lockoutShield?.verdict(entry)) ?? { kind: 'no-policy' };
  if (verdict.kind === 'hold') {
    // One more wrong password could lock the account in the directory (for Windows, VPN, mail
    // too): no bind as the user. The same round trip as a wrong password (a bind to the decoy DN),
    // the same answer.
    trace.lockoutShield = {
      // An account already locked has no count worth logging: `locked` says it.
      failures: Number.isFinite(verdict.failures) ? verdict.failures : 'locked',
      threshold: verdict.threshold,
    };
    await deps.directory.verifyPassword(deps.settings.timingDecoyDN, password);
    throw new InvalidCredentials();
  }
  let outcome: BindOutcome | undefined;
  try {
    outcome = await deps.directory.verifyPassword(entry.dn, password);
  } finally {
    if (verdict.kind === 'bind') verdict.done(outcome?.kind === 'invalid_credentials');
  }
  switch (outcome.kind) {
    case 'ok': {
      // The password is proven, so the entry's own state may be named: some servers let a
      // disabled or expired account bind (no password policy module), the bridge does not.
      const state = accountStateOf(entry, deps.settings.accountStates, new Date());
      if (state !== undefined) throw accountStateError(state);
      return profileOf(entry, deps.settings, deps);
    }
    case 'invalid_credentials':
      throw new InvalidCredentials();
    case 'account_state':
      throw accountStateError(outcome.state);
  }
}

async function getUser(body: Record<string, string>, deps: HandlerDeps, trace: RequestTrace): Promise<Auth0Profile> {
  const entry = await findOneUser(body.username as string, deps);
  if (!entry) throw new UserNotFound();
  trace.userDn = entry.dn;
  const hidden = hiddenStateOf(entry, deps.settings, new Date());
  if (hidden !== undefined)
    throw new UserNotFound(`${hidden}: inactive accounts are hidden (${S.LDAP_HIDE_INACTIVE_USERS.env})`);
  return profileOf(entry, deps.settings, deps);
}

/** What each route of the contract does. */
const ROUTE_HANDLERS: Record<RouteName, RouteHandler> = { login, 'get-user': getUser };

/** The one entry a username names, undefined for none; two or more is a data problem, never "pick the first". */
async function findOneUser(username: string, deps: HandlerDeps): Promise<DirectoryEntry | undefined> {
  const filter = buildUserFilter(deps.settings.userFilter, username);
  const entries = await deps.directory.findUsers(filter, 2);
  if (entries.length > 1)
    throw new DirectoryDataError(
      `more than one directory entry matches the username; fix the data or ${S.LDAP_USER_FILTER.env}`,
    );
  return entries[0];
}

/** The request's outcome label: ok, the error code, or lockout_shield when the shield answered instead of a bind. */
function outcomeOf(trace: RequestTrace, failure: BridgeError | undefined): string {
  if (failure === undefined) return 'ok';
  return trace.lockoutShield ? 'lockout_shield' : failure.code;
}

function logOutcome(
  logger: Logger,
  requestId: string,
  trace: RequestTrace,
  status: number,
  failure: BridgeError | undefined,
  durationMs: number,
): void {
  const fields = {
    request_id: requestId,
    route: trace.route,
    status,
    client_id: trace.clientId,
    user_dn: trace.userDn,
    lockout_shield: trace.lockoutShield ? 'held' : undefined,
    lockout_failures: trace.lockoutShield?.failures,
    lockout_threshold: trace.lockoutShield?.threshold,
    duration_ms: Math.round(durationMs * 10) / 10,
  };
  if (failure === undefined) {
    logger.info('request handled', fields);
    return;
  }
  const reason = reasonForLog(failure);
  if (failure.status >= 500)
    logger[failure.status === 500 ? 'error' : 'warn']('request failed', { ...fields, error: failure.code, reason });
  else logger.info('request refused', { ...fields, error: failure.code, reason });
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
