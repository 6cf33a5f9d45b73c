// The error model of the HTTP contract. Every failure the bridge can report is one class here,
// carrying (as jose's errors do) a static and an instance `code` (what callers switch on, what
// the response body and the log field `error` carry), `status` and `name`. core/http/responses.ts
// is the one place that turns them into responses; the CDK builds API Gateway's own refusals
// (GATEWAY_RESPONSES below) and its alarm filters from the same classes. A new error is one
// class here.
//
// `name` is spelled out because bundles are minified (class names would read "e").

export abstract class BridgeError extends Error {
  static readonly code: string;
  static readonly status: number;
  abstract readonly code: string;
  abstract readonly status: number;
  /** Extra response headers this error needs (WWW-Authenticate, Retry-After, Allow). */
  headers(): Record<string, string> {
    return {};
  }
  /** Fields safe to put in the response body besides `error`. Never user input. */
  publicDetail(): Record<string, string> {
    return {};
  }
}

/** 400: the request body or headers break the contract. Says which field and why. */
export class InvalidRequest extends BridgeError {
  static override readonly code = 'invalid_request';
  static override readonly status = 400;
  override readonly name = 'InvalidRequest';
  readonly code = InvalidRequest.code;
  readonly status = InvalidRequest.status;
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
  override publicDetail() {
    return { field: this.field, error_description: this.reason };
  }
}

/** 401: unknown user, wrong or blank password. One body for all of them, on purpose. */
export class InvalidCredentials extends BridgeError {
  static override readonly code = 'invalid_credentials';
  static override readonly status = 401;
  override readonly name = 'InvalidCredentials';
  readonly code = InvalidCredentials.code;
  readonly status = InvalidCredentials.status;
  constructor() {
    super('invalid credentials');
  }
}

/** 403: the password was proven right but the account may not log in. One class per state, below. */
export abstract class AccountStateError extends BridgeError {
  static override readonly status = 403;
  readonly status = AccountStateError.status;
}

export class AccountDisabled extends AccountStateError {
  static override readonly code = 'account_disabled';
  override readonly name = 'AccountDisabled';
  readonly code = AccountDisabled.code;
  constructor() {
    super('account disabled');
  }
}

export class AccountExpired extends AccountStateError {
  static override readonly code = 'account_expired';
  override readonly name = 'AccountExpired';
  readonly code = AccountExpired.code;
  constructor() {
    super('account expired');
  }
}

export class AccountLocked extends AccountStateError {
  static override readonly code = 'account_locked';
  override readonly name = 'AccountLocked';
  readonly code = AccountLocked.code;
  constructor() {
    super('account locked');
  }
}

export class PasswordExpired extends AccountStateError {
  static override readonly code = 'password_expired';
  override readonly name = 'PasswordExpired';
  readonly code = PasswordExpired.code;
  constructor() {
    super('password expired');
  }
}

export class PasswordChangeRequired extends AccountStateError {
  static override readonly code = 'password_change_required';
  override readonly name = 'PasswordChangeRequired';
  readonly code = PasswordChangeRequired.code;
  constructor() {
    super('password change required');
  }
}

/** Every account state, by code: what a directory adapter or the entry's own attributes report. */
export const ACCOUNT_STATE_ERRORS = {
  account_disabled: AccountDisabled,
  account_expired: AccountExpired,
  account_locked: AccountLocked,
  password_expired: PasswordExpired,
  password_change_required: PasswordChangeRequired,
} as const;

export type AccountStateCode = keyof typeof ACCOUNT_STATE_ERRORS;

/** The 403 for an account state. */
export function accountStateError(code: AccountStateCode): AccountStateError {
  return new ACCOUNT_STATE_ERRORS[code]();
}

/** 404 on /get-user. */
export class UserNotFound extends BridgeError {
  static override readonly code = 'user_not_found';
  static override readonly status = 404;
  override readonly name = 'UserNotFound';
  readonly code = UserNotFound.code;
  readonly status = UserNotFound.status;
  /** For the log only (e.g. an inactive account that exists but is hidden); never in the response. */
  constructor(readonly why?: string) {
    super('user not found');
  }
}

/** 401: missing, malformed, forged, expired or foreign token. No detail, on purpose. */
export class InvalidToken extends BridgeError {
  static override readonly code = 'invalid_token';
  static override readonly status = 401;
  override readonly name = 'InvalidToken';
  readonly code = InvalidToken.code;
  readonly status = InvalidToken.status;
  constructor(readonly why: string) {
    super(`invalid token: ${why}`);
  }
  override headers() {
    return { 'www-authenticate': 'Bearer error="invalid_token"' };
  }
}

/** 403: a valid token that lacks the route's scope. */
export class InsufficientScope extends BridgeError {
  static override readonly code = 'insufficient_scope';
  static override readonly status = 403;
  override readonly name = 'InsufficientScope';
  readonly code = InsufficientScope.code;
  readonly status = InsufficientScope.status;
  constructor(readonly requiredScope: string) {
    super(`missing scope ${requiredScope}`);
  }
  override headers() {
    return { 'www-authenticate': `Bearer error="insufficient_scope", scope="${this.requiredScope}"` };
  }
}

/** 404 for a path that is not a route. */
export class RouteNotFound extends BridgeError {
  static override readonly code = 'not_found';
  static override readonly status = 404;
  override readonly name = 'RouteNotFound';
  readonly code = RouteNotFound.code;
  readonly status = RouteNotFound.status;
  constructor() {
    super('no such route');
  }
}

/** 405: every route is POST. */
export class MethodNotAllowed extends BridgeError {
  static override readonly code = 'method_not_allowed';
  static override readonly status = 405;
  override readonly name = 'MethodNotAllowed';
  readonly code = MethodNotAllowed.code;
  readonly status = MethodNotAllowed.status;
  constructor() {
    super('only POST is allowed');
  }
  override headers() {
    return { allow: 'POST' };
  }
}

/** 415: the body must be declared as JSON. */
export class UnsupportedMediaType extends BridgeError {
  static override readonly code = 'unsupported_media_type';
  static override readonly status = 415;
  override readonly name = 'UnsupportedMediaType';
  readonly code = UnsupportedMediaType.code;
  readonly status = UnsupportedMediaType.status;
  constructor() {
    super('Content-Type must be application/json');
  }
}

/** 413: the body is larger than any valid request can be. */
export class PayloadTooLarge extends BridgeError {
  static override readonly code = 'payload_too_large';
  static override readonly status = 413;
  override readonly name = 'PayloadTooLarge';
  readonly code = PayloadTooLarge.code;
  readonly status = PayloadTooLarge.status;
  constructor(readonly limitBytes: number) {
    super(`body larger than ${limitBytes} bytes`);
  }
}

/** 429: API Gateway's stage throttle refused the request (the bridge itself sheds with 503 overloaded). */
export class Throttled extends BridgeError {
  static override readonly code = 'throttled';
  static override readonly status = 429;
  override readonly name = 'Throttled';
  readonly code = Throttled.code;
  readonly status = Throttled.status;
  constructor() {
    super('too many requests');
  }
}

/** 403: the web ACL in front of API Gateway refused the request (a blocked source IP or rate). */
export class RequestBlocked extends BridgeError {
  static override readonly code = 'forbidden';
  static override readonly status = 403;
  override readonly name = 'RequestBlocked';
  readonly code = RequestBlocked.code;
  readonly status = RequestBlocked.status;
  constructor() {
    super('request blocked');
  }
}

/** 503: the directory cannot answer (down, timeout, service bind refused, pool exhausted). */
export class DirectoryUnavailable extends BridgeError {
  static override readonly code = 'directory_unavailable';
  static override readonly status = 503;
  override readonly name = 'DirectoryUnavailable';
  readonly code = DirectoryUnavailable.code;
  readonly status = DirectoryUnavailable.status;
  constructor(
    /** Why, for the log only: never sent to the caller. */
    readonly why: string,
    readonly retryAfterSeconds = 5,
  ) {
    super(`directory unavailable: ${why}`);
  }
  override headers() {
    return { 'retry-after': String(this.retryAfterSeconds) };
  }
}

/** 503: the token issuer's signing keys (JWKS) cannot be fetched, so no token can be checked. */
export class JwksUnavailable extends BridgeError {
  static override readonly code = 'jwks_unavailable';
  static override readonly status = 503;
  override readonly name = 'JwksUnavailable';
  readonly code = JwksUnavailable.code;
  readonly status = JwksUnavailable.status;
  constructor(readonly why: string) {
    super(`token keys unavailable: ${why}`);
  }
  override headers() {
    return { 'retry-after': '5' };
  }
}

/** 503: more requests in flight than this process accepts; shed rather than queue. */
export class Overloaded extends BridgeError {
  static override readonly code = 'overloaded';
  static override readonly status = 503;
  override readonly name = 'Overloaded';
  readonly code = Overloaded.code;
  readonly status = Overloaded.status;
  constructor() {
    super('too many requests in flight');
  }
  override headers() {
    return { 'retry-after': '1' };
  }
}

/**
 * 500 for a directory entry the bridge cannot turn into one user: more than one entry
 * matched, or the entry lacks its stable identifier. The caller sees `internal_error`;
 * the log says which.
 */
export class DirectoryDataError extends BridgeError {
  static override readonly code = 'internal_error';
  static override readonly status = 500;
  override readonly name = 'DirectoryDataError';
  readonly code = DirectoryDataError.code;
  readonly status = DirectoryDataError.status;
  constructor(readonly why: string) {
    super(why);
  }
}

/** 500: anything unexpected. The response carries the request id and nothing else. */
export class InternalError extends BridgeError {
  static override readonly code = 'internal_error';
  static override readonly status = 500;
  override readonly name = 'InternalError';
  readonly code = InternalError.code;
  readonly status = InternalError.status;
  constructor(override readonly cause?: unknown) {
    super('internal error');
  }
}

/** An error class as the tables below hold it: its static code and status. */
export interface ErrorClass {
  readonly code: string;
  readonly status: number;
  readonly prototype: BridgeError;
}

/**
 * API Gateway's own refusals (gateway responses, by their ResponseType name), each answered in
 * the bridge's format with the code of the error the bridge itself would give. Static bodies:
 * nothing a caller sent is echoed.
 */
export const GATEWAY_RESPONSES: ReadonlyArray<{ type: string; error: ErrorClass; description?: string }> = [
  { type: 'UNAUTHORIZED', error: InvalidToken },
  { type: 'ACCESS_DENIED', error: InsufficientScope },
  { type: 'AUTHORIZER_FAILURE', error: JwksUnavailable },
  { type: 'AUTHORIZER_CONFIGURATION_ERROR', error: InternalError },
  { type: 'BAD_REQUEST_BODY', error: InvalidRequest, description: 'the body does not match the request schema' },
  { type: 'BAD_REQUEST_PARAMETERS', error: InvalidRequest, description: 'a required header is missing' },
  { type: 'REQUEST_TOO_LARGE', error: PayloadTooLarge },
  { type: 'UNSUPPORTED_MEDIA_TYPE', error: UnsupportedMediaType },
  { type: 'THROTTLED', error: Throttled },
  { type: 'MISSING_AUTHENTICATION_TOKEN', error: RouteNotFound },
  { type: 'WAF_FILTERED', error: RequestBlocked },
  { type: 'DEFAULT_4XX', error: InvalidRequest },
  { type: 'DEFAULT_5XX', error: InternalError },
];

/** The body of an error response that carries no per-request detail. */
export function staticErrorBody(error: ErrorClass, description?: string): string {
  return JSON.stringify({ error: error.code, ...(description ? { error_description: description } : {}) });
}

/** 408: the on-prem server's deadline for a request's headers or body passed first; the connection is closed. */
export class RequestTimeout extends BridgeError {
  static override readonly code = 'request_timeout';
  static override readonly status = 408;
  override readonly name = 'RequestTimeout';
  readonly code = RequestTimeout.code;
  readonly status = RequestTimeout.status;
  /** Why, for the log only: which deadline (its setting and value). */
  constructor(readonly why: string) {
    super(`request timeout: ${why}`);
  }
}
