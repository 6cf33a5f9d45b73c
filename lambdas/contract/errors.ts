// The error model. Every failure the bridge can report is one class here, with a stable
// `code` (what callers switch on, and what the response body carries) and an HTTP `status`.
// `toErrorResponse` in respond.ts is the one place that turns them into responses.

export abstract class BridgeError extends Error {
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
  readonly code = 'invalid_request';
  readonly status = 400;
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
  readonly code = 'invalid_credentials';
  readonly status = 401;
  constructor() {
    super('invalid credentials');
  }
}

/** 403: the password was proven right but the account may not log in. */
export type AccountStateCode =
  | 'account_disabled'
  | 'account_expired'
  | 'account_locked'
  | 'password_expired'
  | 'password_change_required';

export class AccountState extends BridgeError {
  readonly status = 403;
  constructor(readonly code: AccountStateCode) {
    super(code);
  }
}

/** 404 on /get-user. */
export class UserNotFound extends BridgeError {
  readonly code = 'user_not_found';
  readonly status = 404;
  /** For the log only (e.g. an inactive account that exists but is hidden); never in the response. */
  constructor(readonly why?: string) {
    super('user not found');
  }
}

/** 401: missing, malformed, forged, expired or foreign token. No detail, on purpose. */
export class InvalidToken extends BridgeError {
  readonly code = 'invalid_token';
  readonly status = 401;
  constructor(readonly why: string) {
    super(`invalid token: ${why}`);
  }
  override headers() {
    return { 'www-authenticate': 'Bearer error="invalid_token"' };
  }
}

/** 403: a valid token that lacks the route's scope. */
export class InsufficientScope extends BridgeError {
  readonly code = 'insufficient_scope';
  readonly status = 403;
  constructor(readonly requiredScope: string) {
    super(`missing scope ${requiredScope}`);
  }
  override headers() {
    return { 'www-authenticate': `Bearer error="insufficient_scope", scope="${this.requiredScope}"` };
  }
}

/** 404 for a path that is not a route. */
export class RouteNotFound extends BridgeError {
  readonly code = 'not_found';
  readonly status = 404;
  constructor() {
    super('no such route');
  }
}

/** 405: every route is POST. */
export class MethodNotAllowed extends BridgeError {
  readonly code = 'method_not_allowed';
  readonly status = 405;
  constructor() {
    super('only POST is allowed');
  }
  override headers() {
    return { allow: 'POST' };
  }
}

/** 415: the body must be declared as JSON. */
export class UnsupportedMediaType extends BridgeError {
  readonly code = 'unsupported_media_type';
  readonly status = 415;
  constructor() {
    super('Content-Type must be application/json');
  }
}

/** 413: the body is larger than any valid request can be. */
export class PayloadTooLarge extends BridgeError {
  readonly code = 'payload_too_large';
  readonly status = 413;
  constructor(readonly limitBytes: number) {
    super(`body larger than ${limitBytes} bytes`);
  }
}

/** 503: the directory cannot answer (down, timeout, service bind refused, pool exhausted). */
export class DirectoryUnavailable extends BridgeError {
  readonly code = 'directory_unavailable';
  readonly status = 503;
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
  readonly code = 'jwks_unavailable';
  readonly status = 503;
  constructor(readonly why: string) {
    super(`token keys unavailable: ${why}`);
  }
  override headers() {
    return { 'retry-after': '5' };
  }
}

/** 503: more requests in flight than this process accepts; shed rather than queue. */
export class Overloaded extends BridgeError {
  readonly code = 'overloaded';
  readonly status = 503;
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
  readonly code = 'internal_error';
  readonly status = 500;
  constructor(readonly why: string) {
    super(why);
  }
}

/** 500: anything unexpected. The response carries the request id and nothing else. */
export class InternalError extends BridgeError {
  readonly code = 'internal_error';
  readonly status = 500;
  constructor(override readonly cause?: unknown) {
    super('internal error');
  }
}
