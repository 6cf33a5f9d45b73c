// bcrypt labels: PHP's `$2y$` is carried as `$2b$` (the label Auth0's import accepts) with the hash
// body unchanged, checked against a hash PHP itself made (the password_verify example of PHP's
// manual) and a bcrypt implementation that is not ours (hash-wasm). The other schemes are tested
// with hashes from slappasswd and libxcrypt in test/integration/password-hashes.test.ts.
import { bcryptVerify } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { mapOneUserPassword } from '../../lambdas/core/migration/password-hashes.ts';

/** From PHP's manual (password_verify): password_hash('rasmuslerdorf', PASSWORD_DEFAULT). */
const PHP_HASH = '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a';
const PHP_PASSWORD = 'rasmuslerdorf';

describe('{CRYPT} bcrypt labels', () => {
  it('carries a PHP $2y$ hash as $2b$ with the same body, which still verifies the original password', async () => {
    const mapping = mapOneUserPassword(`{CRYPT}${PHP_HASH}`);
    expect(mapping).toEqual({
      kind: 'mapped',
      scheme: 'CRYPT-BCRYPT',
      customPasswordHash: { algorithm: 'bcrypt', hash: { value: `$2b$${PHP_HASH.slice(4)}`, encoding: 'utf8' } },
    });
    if (mapping.kind !== 'mapped') return;
    expect(await bcryptVerify({ password: PHP_PASSWORD, hash: mapping.customPasswordHash.hash.value })).toBe(true);
    expect(await bcryptVerify({ password: `${PHP_PASSWORD}x`, hash: mapping.customPasswordHash.hash.value })).toBe(
      false,
    );
  });

  it.each(['$2a$', '$2b$'])('carries %s hashes as they are', (label) => {
    const value = `${label}${PHP_HASH.slice(4)}`;
    expect(mapOneUserPassword(`{CRYPT}${value}`)).toMatchObject({
      kind: 'mapped',
      customPasswordHash: { algorithm: 'bcrypt', hash: { value } },
    });
  });

  it('does not carry $2x$ (hashes of the old, buggy implementation compute something else)', () => {
    expect(mapOneUserPassword(`{CRYPT}$2x$${PHP_HASH.slice(4)}`)).toMatchObject({
      kind: 'unsupported',
      reason: expect.stringContaining('bcrypt $2x$'),
    });
  });

  it('reports a truncated bcrypt value as malformed, not as another crypt variant', () => {
    expect(mapOneUserPassword(`{CRYPT}${PHP_HASH.slice(0, -1)}`)).toMatchObject({
      kind: 'unsupported',
      reason: expect.stringContaining('malformed {CRYPT} bcrypt value'),
    });
  });
});
