// The request bodies of the HTTP contract, as JSON Schema (draft-04, the dialect API Gateway
// models accept). API Gateway validates against these objects, and so does the runtime
// (core/http/request-body.ts interprets exactly the keywords used here), so the two cannot
// drift apart.

export const USERNAME_MAX_LENGTH = 256;
export const PASSWORD_MAX_LENGTH = 1024;

/** The largest body any valid request can have, with room for JSON escaping of every character. */
export const MAX_BODY_BYTES = 16 * 1024;

export interface StringProperty {
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
