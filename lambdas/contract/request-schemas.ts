// The request bodies of the HTTP contract, as JSON Schema (draft-04, the dialect API Gateway
// models accept), and the validator the local server and the Lambdas run against the same
// objects. The validator interprets exactly the keywords these schemas use, so the schema
// handed to API Gateway and the checks run here cannot drift apart.

export const USERNAME_MAX_LENGTH = 256;
export const PASSWORD_MAX_LENGTH = 1024;

/** The largest body any valid request can have, with room for JSON escaping of every character. */
export const MAX_BODY_BYTES = 16 * 1024;

interface StringProperty {
  type: 'string';
  minLength: number;
  maxLength: number;
  /** ECMA-262 regular expression the whole value must match (JSON Schema `pattern`). */
  pattern?: string;
  /** Why a value that misses `pattern` is refused (for the 400 body; not part of JSON Schema). */
  patternReason?: string;
}

export interface ObjectSchema {
  $schema: 'http://json-schema.org/draft-04/schema#';
  title: string;
  type: 'object';
  required: string[];
  additionalProperties: false;
  properties: Record<string, StringProperty>;
}

/**
 * No control characters in a username: some directories (389-ds, Active Directory) end a value at
 * NUL, so "alice\u0000" would otherwise find alice; no login name contains one legitimately.
 */
const username: StringProperty = {
  type: 'string',
  minLength: 1,
  maxLength: USERNAME_MAX_LENGTH,
  pattern: '^[^\\u0000-\\u001f\\u007f]*$',
  patternReason: 'must not contain control characters',
};
const password: StringProperty = { type: 'string', minLength: 1, maxLength: PASSWORD_MAX_LENGTH };

export const loginRequestSchema: ObjectSchema = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  title: 'LoginRequest',
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: { username, password },
};

export const getUserRequestSchema: ObjectSchema = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  title: 'GetUserRequest',
  type: 'object',
  required: ['username'],
  additionalProperties: false,
  properties: { username },
};

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
