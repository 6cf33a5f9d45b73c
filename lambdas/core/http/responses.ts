// Builds every response the bridge sends. The one place that turns a BridgeError into HTTP.
import { BridgeError, InternalError } from '../../contract/errors.ts';

const COMMON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** One HTTP response as plain data; each entry point writes it out its own way. Header names lower-case. */
export interface BridgeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function jsonResponse(
  status: number,
  body: unknown,
  requestId: string,
  extraHeaders: Record<string, string> = {},
): BridgeResponse {
  return {
    status,
    headers: { ...COMMON_HEADERS, ...extraHeaders, 'x-request-id': requestId },
    body: JSON.stringify(body),
  };
}

/**
 * The error body is `{"error": code}` plus fields the error declares public. The request id
 * travels in the `x-request-id` header, not the body, so that the 401 for an unknown user and
 * the 401 for a wrong password are byte-identical; a 500 also carries it in the body, as the
 * only thing a caller can report.
 */
export function errorResponse(error: unknown, requestId: string): BridgeResponse {
  const known = error instanceof BridgeError ? error : new InternalError(error);
  const body: Record<string, string> = { error: known.code, ...known.publicDetail() };
  if (known.status === 500) body.request_id = requestId;
  return jsonResponse(known.status, body, requestId, known.headers());
}
