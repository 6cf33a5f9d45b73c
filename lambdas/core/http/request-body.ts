// Reads and checks a request body against its route's schema: declared as JSON, within the size
// limit, valid UTF-8, valid JSON, and exactly the schema's fields (the keywords the contract's
// schemas use, interpreted here the way API Gateway's model validation does).
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from '../../contract/errors.ts';
import { MAX_BODY_BYTES, type ObjectSchema } from '../../contract/request-schemas.ts';
import type { BridgeRequest } from './handle.ts';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body's fields, or InvalidRequest / PayloadTooLarge / UnsupportedMediaType naming what is wrong (never echoing a value). */
export function readJsonBody(request: BridgeRequest, schema: ObjectSchema): Record<string, string> {
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

export type ValidationResult =
  | { ok: true; value: Record<string, string> }
  | { ok: false; field: string; reason: string };

/**
 * Checks a parsed JSON value against one of the schemas above. Lengths count Unicode code
 * points, as JSON Schema does. Reasons name the rule, never the value (it may be a password).
 */
export function validateAgainstSchema(schema: ObjectSchema, value: unknown): ValidationResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, field: 'body', reason: 'must be a JSON object' };
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(schema.properties, key)) {
      return { ok: false, field: 'body', reason: `unknown field "${printableFieldName(key)}"` };
    }
  }
  for (const key of schema.required) {
    if (!Object.hasOwn(record, key)) return { ok: false, field: key, reason: 'is required' };
  }
  const result: Record<string, string> = {};
  for (const [key, rule] of Object.entries(schema.properties)) {
    if (!Object.hasOwn(record, key)) continue;
    const fieldValue = record[key];
    if (typeof fieldValue !== 'string') return { ok: false, field: key, reason: 'must be a string' };
    const length = countCodePoints(fieldValue);
    if (length < rule.minLength)
      return { ok: false, field: key, reason: `must be at least ${rule.minLength} character(s)` };
    if (length > rule.maxLength)
      return { ok: false, field: key, reason: `must be at most ${rule.maxLength} characters` };
    if (rule.pattern !== undefined && !new RegExp(rule.pattern, 'u').test(fieldValue)) {
      return { ok: false, field: key, reason: rule.patternReason ?? 'has a character that is not allowed' };
    }
    result[key] = fieldValue;
  }
  return { ok: true, value: result };
}

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** Unknown keys are attacker-chosen: echo at most a short, printable prefix. */
function printableFieldName(key: string): string {
  const printable = key.replace(/[^\w.-]/g, '?');
  return printable.length > 40 ? `${printable.slice(0, 40)}...` : printable;
}
