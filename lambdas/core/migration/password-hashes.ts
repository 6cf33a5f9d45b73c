// Maps an LDAP userPassword value (RFC 2307 `{SCHEME}...`) to the custom_password_hash that
// Auth0's user import accepts, or says why it cannot. Auth0's documented rules:
// - algorithm "ldap": the whole RFC 2307 value, encoding utf8, no salt object; schemes MD5, SMD5,
//   SHA, SSHA and the SHA-2 variants (SHA256/384/512 and their salted forms);
// - algorithm "bcrypt": `$2a$` or `$2b$` only (here from `{CRYPT}$2a$...` / `{CRYPT}$2b$...`). PHP's
//   `$2y$` is the same algorithm as OpenBSD's `$2b$` (both the corrected bcrypt; only the label
//   differs), so it is carried with the `$2b$` label and an identical body. `$2x$` (PHP's label for
//   hashes made by the old buggy implementation) is a different computation and is not carried;
// - algorithm "argon2": a PHC string (here from OpenLDAP's `{ARGON2}$argon2...`);
// - `{CRYPT}` otherwise (DES, MD5-crypt, SHA-crypt, `$2x$`) is not supported by Auth0.
// An unsupported hash is not an error: the user is exported without a password and migrates
// on first login (automatic migration) or by a password reset.

export type Auth0CustomPasswordHash = {
  algorithm: 'ldap' | 'bcrypt' | 'argon2';
  hash: { value: string; encoding: 'utf8' };
};

export type PasswordHashMapping =
  | { kind: 'mapped'; scheme: string; customPasswordHash: Auth0CustomPasswordHash }
  | { kind: 'unsupported'; scheme: string; reason: string }
  /** A hash that could be imported but must not be (the account must change its password). */
  | { kind: 'withheld'; reason: string };

/** Digest length in bytes of each RFC 2307 scheme Auth0's "ldap" algorithm verifies. */
const LDAP_DIGEST_BYTES: Readonly<Record<string, number>> = {
  MD5: 16,
  SMD5: 16,
  SHA: 20,
  SSHA: 20,
  SHA256: 32,
  SSHA256: 32,
  SHA384: 48,
  SSHA384: 48,
  SHA512: 64,
  SSHA512: 64,
};

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The first userPassword value Auth0 can take, in the order the directory returned them, or the
 * reason the first one cannot be used. Undefined when there is no value (the attribute is not
 * readable by the export account, or the user has no password).
 */
export function mapUserPassword(values: readonly string[]): PasswordHashMapping | undefined {
  const mappings = values.map(mapOneUserPassword);
  return mappings.find((mapping) => mapping.kind === 'mapped') ?? mappings[0];
}

export function mapOneUserPassword(value: string): PasswordHashMapping {
  const match = /^\{([A-Za-z0-9.-]+)\}(.*)$/s.exec(value);
  if (!match)
    return {
      kind: 'unsupported',
      scheme: 'CLEARTEXT',
      reason: 'the password is stored in clear text, which Auth0 does not import; the user migrates on first login',
    };
  const scheme = (match[1] as string).toUpperCase();
  const rest = match[2] as string;

  const digestBytes = LDAP_DIGEST_BYTES[scheme];
  if (digestBytes !== undefined) {
    if (!BASE64.test(rest)) return { kind: 'unsupported', scheme, reason: `malformed {${scheme}} value (not base64)` };
    const length = Buffer.from(rest, 'base64').length;
    const salted = scheme.startsWith('S') && scheme !== 'SHA' && !/^SHA\d/.test(scheme);
    if (salted ? length <= digestBytes : length !== digestBytes) {
      return {
        kind: 'unsupported',
        scheme,
        reason: `malformed {${scheme}} value (${length} bytes for a ${digestBytes}-byte digest${salted ? ' plus salt' : ''})`,
      };
    }
    // RFC 2307 scheme names are case-insensitive; the canonical upper-case form is what Auth0 documents.
    return {
      kind: 'mapped',
      scheme,
      customPasswordHash: { algorithm: 'ldap', hash: { value: `{${scheme}}${rest}`, encoding: 'utf8' } },
    };
  }
  if (scheme === 'CRYPT') {
    const bcrypt = /^\$2([aby])\$(\d{2}\$[./A-Za-z0-9]{53})$/.exec(rest);
    if (bcrypt) {
      // Auth0 accepts only the $2a$ and $2b$ labels; $2y$ computes exactly what $2b$ does.
      const value = bcrypt[1] === 'y' ? `$2b$${bcrypt[2]}` : rest;
      return {
        kind: 'mapped',
        scheme: 'CRYPT-BCRYPT',
        customPasswordHash: { algorithm: 'bcrypt', hash: { value, encoding: 'utf8' } },
      };
    }
    if (/^\$2[aby]\$/.test(rest))
      return {
        kind: 'unsupported',
        scheme: 'CRYPT',
        reason: 'malformed {CRYPT} bcrypt value (expected $2a$, $2b$ or $2y$, a two-digit cost and 53 characters)',
      };
    const variant = /^\$(1|2x|5|6|y|7)\$/.exec(rest)?.[1];
    const name =
      variant === undefined
        ? 'DES crypt'
        : (
            {
              '1': 'MD5-crypt',
              '2x': 'bcrypt $2x$',
              '5': 'SHA-256-crypt',
              '6': 'SHA-512-crypt',
              y: 'yescrypt',
              '7': 'scrypt',
            } as Record<string, string>
          )[variant];
    return {
      kind: 'unsupported',
      scheme: 'CRYPT',
      reason: `{CRYPT} ${name} is not among the hashes Auth0 imports; the user migrates on first login`,
    };
  }
  if (scheme === 'ARGON2') {
    if (/^\$argon2(i|d|id)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(rest)) {
      return {
        kind: 'mapped',
        scheme,
        customPasswordHash: { algorithm: 'argon2', hash: { value: rest, encoding: 'utf8' } },
      };
    }
    return { kind: 'unsupported', scheme, reason: 'malformed {ARGON2} value (expected a PHC string)' };
  }
  return {
    kind: 'unsupported',
    scheme,
    reason: `the {${scheme}} scheme is not among the hashes Auth0 imports; the user migrates on first login`,
  };
}
