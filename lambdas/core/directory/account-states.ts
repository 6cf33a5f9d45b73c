// What a user entry's own attributes say about its account, per kind of directory. Used in two
// places: after a successful bind (the password is proven, so a disabled or expired account can
// be named with 403 even when the server let the bind through), and by /get-user and the bulk
// exporter, which leave out disabled and expired accounts so that nobody can enter Auth0
// through "forgot password" with an account the directory has switched off.
import type { AccountStateCode } from '../../contract/errors.ts';
import type { DirectoryEntry } from '../profile/map-entry.ts';

import { ACCOUNT_STATE_RULES } from '../../contract/settings.ts';
export { ACCOUNT_STATE_RULES };
export type AccountStateRules = (typeof ACCOUNT_STATE_RULES)[number];

/** States that keep an account out of /get-user and the export unless configured otherwise. */
export const INACTIVE_STATES: ReadonlySet<AccountStateCode> = new Set(['account_disabled', 'account_expired']);

interface RuleSet {
  /** Attributes the rules read; several are operational, so every user search asks for them by name. */
  attributes: string[];
  /** The first state that applies, strongest first; undefined for an account in good standing. */
  evaluate(entry: DirectoryEntry, now: Date): AccountStateCode | undefined;
}

const AD_ACCOUNTDISABLE = 0x2n;
/** accountExpires values that mean "never" (0 and the largest 64-bit integer). */
const AD_NEVER = new Set(['0', '9223372036854775807']);
/** Milliseconds between 1601-01-01 (Windows FILETIME epoch) and 1970-01-01. */
const FILETIME_EPOCH_OFFSET_MS = 11_644_473_600_000n;
/** ppolicy's value for an account locked by an administrator until unlocked by one. */
const OPENLDAP_PERMANENT_LOCK = '000001010000Z';

const RULES: Record<AccountStateRules, RuleSet> = {
  'active-directory': {
    attributes: ['userAccountControl', 'accountExpires'],
    evaluate(entry, now) {
      const control = first(entry, 'userAccountControl');
      if (
        control !== undefined &&
        (!/^-?\d+$/.test(control) || (BigInt.asUintN(32, BigInt(control)) & AD_ACCOUNTDISABLE) !== 0n)
      ) {
        return 'account_disabled';
      }
      const expires = first(entry, 'accountExpires');
      if (expires !== undefined && !AD_NEVER.has(expires)) {
        // An unreadable value counts as expired: the bridge never guesses in the user's favour.
        if (!/^\d+$/.test(expires)) return 'account_expired';
        const expiresMs = BigInt(expires) / 10_000n - FILETIME_EPOCH_OFFSET_MS;
        if (expiresMs <= BigInt(now.getTime())) return 'account_expired';
      }
      return undefined;
    },
  },
  '389ds': {
    attributes: ['nsAccountLock', 'pwdReset'],
    evaluate(entry) {
      if (first(entry, 'nsAccountLock')?.toLowerCase() === 'true') return 'account_disabled';
      if (first(entry, 'pwdReset')?.toUpperCase() === 'TRUE') return 'password_change_required';
      return undefined;
    },
  },
  openldap: {
    attributes: ['pwdAccountLockedTime', 'pwdEndTime', 'pwdReset', 'shadowExpire'],
    evaluate(entry, now) {
      if (first(entry, 'pwdAccountLockedTime') === OPENLDAP_PERMANENT_LOCK) return 'account_disabled';
      const endTime = first(entry, 'pwdEndTime');
      if (endTime !== undefined) {
        const end = parseGeneralizedTime(endTime);
        if (end === undefined || end.getTime() <= now.getTime()) return 'account_expired';
      }
      const shadowExpire = first(entry, 'shadowExpire');
      if (shadowExpire !== undefined && shadowExpire !== '-1') {
        if (!/^\d+$/.test(shadowExpire) || Number(shadowExpire) * 86_400_000 <= now.getTime()) return 'account_expired';
      }
      if (first(entry, 'pwdReset')?.toUpperCase() === 'TRUE') return 'password_change_required';
      return undefined;
    },
  },
  none: { attributes: [], evaluate: () => undefined },
};

export function accountStateAttributes(rules: AccountStateRules): string[] {
  return RULES[rules].attributes;
}

/** The account state the entry's attributes show, or undefined for an account in good standing. */
export function accountStateOf(
  entry: DirectoryEntry,
  rules: AccountStateRules,
  now: Date,
): AccountStateCode | undefined {
  return RULES[rules].evaluate(entry, now);
}

function first(entry: DirectoryEntry, attribute: string): string | undefined {
  return entry.attributes[attribute.toLowerCase()]?.[0]?.trim();
}

/** RFC 4517 GeneralizedTime (YYYYMMDDHH[MM[SS]][.fraction](Z|+hhmm|-hhmm)); undefined when malformed. */
export function parseGeneralizedTime(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,]\d+)?(Z|[+-]\d{4})$/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute = '00', second = '00', zone] = match as unknown as string[];
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  if (Number.isNaN(utc)) return undefined;
  const offsetMinutes =
    zone === undefined || zone === 'Z'
      ? 0
      : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  return new Date(utc - offsetMinutes * 60_000);
}
