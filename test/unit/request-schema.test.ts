import { describe, expect, it } from 'vitest';
import { getUserRequestSchema, loginRequestSchema } from '../../lambdas/contract/request-schemas.ts';
import { validateAgainstSchema } from '../../lambdas/core/http/request-body.ts';

describe('validateAgainstSchema', () => {
  it('accepts a valid login body', () => {
    expect(validateAgainstSchema(loginRequestSchema, { username: 'a', password: 'b' })).toEqual({
      ok: true,
      value: { username: 'a', password: 'b' },
    });
  });

  it.each([
    [[], 'body', 'must be a JSON object'],
    [null, 'body', 'must be a JSON object'],
    [{ username: 'a' }, 'password', 'is required'],
    [{ username: 'a', password: 1 }, 'password', 'must be a string'],
    [{ username: '', password: 'x' }, 'username', 'must be at least 1 character(s)'],
    [{ username: 'u'.repeat(257), password: 'x' }, 'username', 'must be at most 256 characters'],
    [{ username: 'u', password: 'p'.repeat(1025) }, 'password', 'must be at most 1024 characters'],
    [{ username: 'u', password: 'p', extra: 1 }, 'body', 'unknown field "extra"'],
  ])('rejects %j', (body, field, reason) => {
    expect(validateAgainstSchema(loginRequestSchema, body)).toEqual({ ok: false, field, reason });
  });

  it('counts code points, as JSON Schema does: 256 astral characters are a valid username', () => {
    expect(validateAgainstSchema(getUserRequestSchema, { username: '😀'.repeat(256) }).ok).toBe(true);
    expect(validateAgainstSchema(getUserRequestSchema, { username: '😀'.repeat(257) }).ok).toBe(false);
  });

  it('never echoes a hostile unknown key in full', () => {
    const result = validateAgainstSchema(getUserRequestSchema, { username: 'a', ['<script>'.repeat(20)]: 1 });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).not.toContain('<');
      expect(result.reason.length).toBeLessThan(80);
    }
  });

  it('rejects password on /get-user: the schema is per route', () => {
    expect(validateAgainstSchema(getUserRequestSchema, { username: 'a', password: 'b' })).toEqual({
      ok: false,
      field: 'body',
      reason: 'unknown field "password"',
    });
  });

  it('is a schema API Gateway accepts: draft-04, no extra properties, limits on every field', () => {
    for (const schema of [loginRequestSchema, getUserRequestSchema]) {
      expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
      expect(schema.additionalProperties).toBe(false);
      for (const property of Object.values(schema.properties)) expect(property.maxLength).toBeGreaterThan(0);
    }
  });
});
