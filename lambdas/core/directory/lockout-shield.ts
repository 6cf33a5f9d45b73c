// The lockout shield: the bridge is never what locks a directory account. Before a user bind it
// reads how close the account is to the directory's own lockout (failure state read in the
// login's own search; the policy read once and remembered) and stops short of it, keeping
// `reserve` attempts for the user's own devices (Windows, VPN, mail). When the shield holds, the
// login is answered like any wrong password, without binding as the user.
//
// Per kind of directory:
// - OpenLDAP ppolicy: failures are the entry's `pwdFailureTime` values inside the policy's
//   `pwdFailureCountInterval`; the policy (`pwdLockout`, `pwdMaxFailure`) is the entry's
//   `pwdPolicySubentry`, else LDAP_LOCKOUT_POLICY_DN (the overlay's ppolicy_default), else the one
//   pwdPolicy entry under the domain (found once; with several, LDAP_LOCKOUT_POLICY_DN must say).
// - 389-ds: `passwordRetryCount` until `retryCountResetTime`; the policy (`passwordLockout`,
//   `passwordMaxFailure`, `passwordResetFailureCount`) is the entry's `pwdpolicysubentry`, else
//   LDAP_LOCKOUT_POLICY_DN, else cn=config.
// - Active Directory: `badPwdCount` unless `badPasswordTime` is older than the domain's
//   `lockOutObservationWindow`; `lockoutThreshold` from the domain root (LDAP_LOCKOUT_POLICY_DN, else
//   the dc= part of LDAP_BASE_DN). `badPwdCount` is kept per domain controller: the bridge reads it
//   from the controller it searches, which is the one it binds to (same LDAP_URLS order).
// An account already locked counts as having no attempts left.
import { parseGeneralizedTime } from './account-states.ts';
import type { DirectoryEntry } from '../profile/map-entry.ts';
import type { AccountStateRules } from './account-states.ts';

export interface LockoutPolicy {
  /** Failed binds that lock the account; 0: the directory never locks it. */
  threshold: number;
  /** Failures older than this no longer count; undefined: they count until a good bind resets them. */
  windowMs: number | undefined;
  /** How long a lock lasts (Active Directory); undefined: until an administrator or the window ends it. */
  lockoutDurationMs?: number | undefined;
}

export interface LockoutShieldSettings {
  enabled: boolean;
  /** Attempts left to the user's own devices: the bridge stops this many short of the threshold. */
  reserve: number;
  /** The threshold to assume instead of reading the policy (0: the directory never locks). */
  threshold: number | undefined;
  /** Where the policy is when the entry does not name its own. */
  policyDN: string | undefined;
  /** Whose rules: the account-state rules of the preset (openldap, 389ds, active-directory, none). */
  kind: AccountStateRules;
}

interface KindRules {
  /** Read in the login's own user search. */
  userAttributes: string[];
  policyAttributes: string[];
  /** The policy entry that governs this user; `discover`: the only policy entry of its class under the domain. */
  policyDN(entry: DirectoryEntry, configured: string | undefined, domainDN: string): string | { discover: string };
  parsePolicy(policy: DirectoryEntry): LockoutPolicy;
  /** Failures that count now; Infinity for an account already locked. */
  failures(entry: DirectoryEntry, policy: LockoutPolicy, now: Date): number;
}

/** Milliseconds between 1601-01-01 (Windows FILETIME epoch) and 1970-01-01. */
const FILETIME_EPOCH_OFFSET_MS = 11_644_473_600_000;

const RULES: Record<AccountStateRules, KindRules | undefined> = {
  openldap: {
    userAttributes: ['pwdFailureTime', 'pwdPolicySubentry', 'pwdAccountLockedTime'],
    policyAttributes: ['pwdLockout', 'pwdMaxFailure', 'pwdFailureCountInterval', 'pwdLockoutDuration'],
    policyDN: (entry, configured) =>
      first(entry, 'pwdPolicySubentry') ?? configured ?? { discover: '(objectClass=pwdPolicy)' },
    parsePolicy(policy) {
      const locks = first(policy, 'pwdLockout')?.toUpperCase() === 'TRUE';
      const interval = wholeNumber(first(policy, 'pwdFailureCountInterval')) ?? 0;
      const duration = wholeNumber(first(policy, 'pwdLockoutDuration')) ?? 0;
      return {
        threshold: locks ? (wholeNumber(first(policy, 'pwdMaxFailure')) ?? 0) : 0,
        windowMs: interval > 0 ? interval * 1000 : undefined,
        // 0: locked until an administrator unlocks the account.
        lockoutDurationMs: duration > 0 ? duration * 1000 : undefined,
      };
    },
    failures(entry, policy, now) {
      const lockedAt = first(entry, 'pwdAccountLockedTime');
      if (lockedAt !== undefined) {
        // A lock whose duration has passed is over (slapd clears the attribute at the next good bind).
        const at = parseGeneralizedTime(lockedAt)?.getTime();
        const ended =
          at !== undefined && policy.lockoutDurationMs !== undefined && at + policy.lockoutDurationMs <= now.getTime();
        if (!ended) return Number.POSITIVE_INFINITY;
        return 0;
      }
      const since = policy.windowMs === undefined ? Number.NEGATIVE_INFINITY : now.getTime() - policy.windowMs;
      // A value that does not parse counts: the shield never guesses in the attacker's favour.
      return values(entry, 'pwdFailureTime').filter(
        (value) => (parseGeneralizedTime(value)?.getTime() ?? now.getTime()) > since,
      ).length;
    },
  },
  '389ds': {
    userAttributes: ['passwordRetryCount', 'retryCountResetTime', 'accountUnlockTime', 'pwdpolicysubentry'],
    policyAttributes: ['passwordLockout', 'passwordMaxFailure', 'passwordResetFailureCount'],
    policyDN: (entry, configured) => first(entry, 'pwdpolicysubentry') ?? configured ?? 'cn=config',
    parsePolicy(policy) {
      const locks = first(policy, 'passwordLockout')?.toLowerCase() === 'on';
      const reset = wholeNumber(first(policy, 'passwordResetFailureCount')) ?? 0;
      return {
        threshold: locks ? (wholeNumber(first(policy, 'passwordMaxFailure')) ?? 0) : 0,
        windowMs: reset > 0 ? reset * 1000 : undefined,
      };
    },
    failures(entry, _policy, now) {
      const unlock = first(entry, 'accountUnlockTime');
      if (unlock !== undefined) {
        const until = parseGeneralizedTime(unlock)?.getTime();
        // 19700101000000Z: locked until an administrator unlocks it.
        if (until === undefined || until === 0 || until > now.getTime()) return Number.POSITIVE_INFINITY;
      }
      const resetAt = parseGeneralizedTime(first(entry, 'retryCountResetTime') ?? '')?.getTime();
      if (resetAt !== undefined && resetAt <= now.getTime()) return 0;
      return wholeNumber(first(entry, 'passwordRetryCount')) ?? 0;
    },
  },
  'active-directory': {
    userAttributes: ['badPwdCount', 'badPasswordTime', 'lockoutTime'],
    policyAttributes: ['lockoutThreshold', 'lockOutObservationWindow', 'lockoutDuration'],
    policyDN: (_entry, configured, domainDN) => configured ?? domainDN,
    parsePolicy(policy) {
      // Durations are negative counts of 100 ns.
      const duration = (name: string) => {
        const raw = first(policy, name);
        return raw !== undefined && /^-?\d+$/.test(raw) ? Math.abs(Number(raw)) / 10_000 : undefined;
      };
      const lockoutDurationMs = duration('lockoutDuration');
      return {
        threshold: wholeNumber(first(policy, 'lockoutThreshold')) ?? 0,
        windowMs: duration('lockOutObservationWindow') || undefined,
        lockoutDurationMs: lockoutDurationMs === 0 ? undefined : lockoutDurationMs,
      };
    },
    failures(entry, policy, now) {
      const lockedAt = fileTimeMs(first(entry, 'lockoutTime'));
      if (lockedAt !== undefined && lockedAt > 0) {
        const until =
          policy.lockoutDurationMs === undefined ? Number.POSITIVE_INFINITY : lockedAt + policy.lockoutDurationMs;
        if (until > now.getTime()) return Number.POSITIVE_INFINITY;
      }
      const lastBad = fileTimeMs(first(entry, 'badPasswordTime')) ?? 0;
      if (policy.windowMs !== undefined && lastBad <= now.getTime() - policy.windowMs) return 0;
      return wholeNumber(first(entry, 'badPwdCount')) ?? 0;
    },
  },
  none: undefined,
};

/** What the login's own search must ask for so the shield can judge without another round trip. */
export function lockoutAttributes(settings: LockoutShieldSettings): string[] {
  return settings.enabled ? (RULES[settings.kind]?.userAttributes ?? []) : [];
}

/** Reads one entry (the policy) by DN; undefined when it does not exist or may not be read. */
export type EntryReader = (dn: string, attributes: string[]) => Promise<DirectoryEntry | undefined>;

/** The DNs of at most `limit` entries matching `filter` under `baseDN`. */
export type EntryFinder = (baseDN: string, filter: string, limit: number) => Promise<string[]>;

/**
 * Who may bind as an account right now: at most one bind per account among the processes that
 * share the leases (one process: LocalAccountLeases; `serve`'s workers: their primary).
 */
export interface AccountLeases {
  /**
   * The account's lease, with the wrong passwords the bridge itself bound as it in the last
   * `windowMs` (a count the directory's, read before an earlier bind finished, may not show yet);
   * undefined when another bind as the account holds the lease.
   */
  acquire(
    account: string,
    windowMs: number,
  ): { recentFailures: number } | undefined | Promise<{ recentFailures: number } | undefined>;
  /** Gives the lease back, saying whether the bind was a wrong password. */
  release(account: string, failed: boolean): void;
}

/** The most failures remembered per account: far above any lockout threshold. */
const REMEMBERED_FAILURES = 1000;

/** Leases inside one process; also what `serve`'s primary keeps for its workers. */
export class LocalAccountLeases implements AccountLeases {
  private readonly held = new Set<string>();
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  acquire(account: string, windowMs: number): { recentFailures: number } | undefined {
    if (this.held.has(account)) return undefined;
    this.held.add(account);
    const since = this.now() - windowMs;
    const recent = (this.failures.get(account) ?? []).filter((at) => at > since);
    if (recent.length > 0) this.failures.set(account, recent);
    else this.failures.delete(account);
    return { recentFailures: recent.length };
  }

  release(account: string, failed: boolean): void {
    this.held.delete(account);
    if (!failed) return;
    const list = this.failures.get(account) ?? [];
    list.push(this.now());
    this.failures.set(account, list.slice(-REMEMBERED_FAILURES));
  }
}

/** How long the bridge remembers its own wrong passwords when the policy has no window. */
const FAILURE_MEMORY_WITHOUT_WINDOW_MS = 3_600_000;

export type ShieldVerdict =
  /** Bind; call `done` when the bind has answered, saying whether it was a wrong password. */
  | { kind: 'bind'; done: (failed: boolean) => void }
  | { kind: 'hold'; failures: number; threshold: number }
  | { kind: 'no-policy' };

/**
 * Decides, per login, whether the bridge may bind as the user. One per process: it remembers
 * policies for `policyTtlMs` (a warm login costs no extra round trip) and lets one bind per
 * account run at a time, so concurrent attempts cannot all slip under the threshold at once.
 */
export class LockoutShield {
  private readonly policies = new Map<string, { expiresAt: number; policy: Promise<LockoutPolicy | undefined> }>();

  constructor(
    private readonly settings: LockoutShieldSettings,
    private readonly domainDN: string,
    private readonly readEntry: EntryReader,
    private readonly findEntries: EntryFinder,
    /** Told each time a policy cannot be found or read (the shield then lets binds through). */
    private readonly onUnreadablePolicy: (where: string) => void,
    private readonly leases: AccountLeases = new LocalAccountLeases(),
    /** A policy lowered by an administrator is followed within this time; so is an unreadable one retried. */
    private readonly policyTtlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Whether a bind as this entry's account may be attempted now. A `bind` verdict holds the
   * account's lease (no other bind as it runs meanwhile) until its `done` is called.
   */
  async verdict(entry: DirectoryEntry): Promise<ShieldVerdict> {
    const rules = RULES[this.settings.kind];
    if (!this.settings.enabled || rules === undefined) return { kind: 'no-policy' };
    const policy = await this.policyFor(entry, rules);
    if (policy === undefined || policy.threshold === 0) return { kind: 'no-policy' };
    // Nothing awaits between here and the count below.
    const counted = rules.failures(entry, policy, new Date(this.now()));
    // The bridge never makes the attempt that reaches the threshold: at least one attempt is
    // always left to the user's own devices, whatever LDAP_LOCKOUT_RESERVE says.
    const allowed = policy.threshold - Math.max(1, this.settings.reserve);
    const hold: ShieldVerdict = { kind: 'hold', failures: counted, threshold: policy.threshold };
    if (counted >= allowed) return hold;
    // One bind per account at a time among the processes sharing the leases: the next attempt is
    // held (answered like a wrong password), so each bind is judged on the directory's count after
    // the one before. Across P lease holders (hosts, Lambda containers) the directory can see at
    // most allowed - 1 + P failures: no lock while P <= the reserve.
    const account = entry.dn.toLowerCase();
    const lease = await this.leases.acquire(account, policy.windowMs ?? FAILURE_MEMORY_WITHOUT_WINDOW_MS);
    if (lease === undefined) return hold;
    // The directory's count may predate binds that finished since this login's search: the
    // bridge's own recent failures are a floor for it.
    if (lease.recentFailures >= allowed) {
      this.leases.release(account, false);
      return { ...hold, failures: Math.max(counted, lease.recentFailures) };
    }
    let finished = false;
    return {
      kind: 'bind',
      done: (failed) => {
        if (finished) return;
        finished = true;
        this.leases.release(account, failed);
      },
    };
  }

  /**
   * What this entry's logins are judged by and where it is read, for `auth0-ldap-bridge doctor`;
   * undefined when the shield is off or the directory kind has no lockout rules. `policy` is
   * undefined when LDAP_LOCKOUT_THRESHOLD is 0 or the policy cannot be found or read (then
   * onUnreadablePolicy was told why, as on a login).
   */
  async policyOf(entry: DirectoryEntry): Promise<{ source: string; policy: LockoutPolicy | undefined } | undefined> {
    const rules = RULES[this.settings.kind];
    if (!this.settings.enabled || rules === undefined) return undefined;
    const where = rules.policyDN(entry, this.settings.policyDN, this.domainDN);
    const source = typeof where === 'string' ? where : `the only ${where.discover} entry under ${this.domainDN}`;
    return { source, policy: await this.policyFor(entry, rules) };
  }

  /**
   * The policy that governs the entry. LDAP_LOCKOUT_THRESHOLD replaces only its threshold: the
   * observation window and lock duration are still read where the policy is readable, so old
   * failures and ended locks stop counting.
   */
  private async policyFor(entry: DirectoryEntry, rules: KindRules): Promise<LockoutPolicy | undefined> {
    const override = this.settings.threshold;
    if (override === 0) return undefined;
    const read = await this.readPolicy(entry, rules, override === undefined);
    if (override === undefined) return read;
    return { windowMs: undefined, ...read, threshold: override };
  }

  private readPolicy(entry: DirectoryEntry, rules: KindRules, warn: boolean): Promise<LockoutPolicy | undefined> {
    const unreadable = (where: string) => {
      if (warn) this.onUnreadablePolicy(where);
    };
    const where = rules.policyDN(entry, this.settings.policyDN, this.domainDN);
    const key = typeof where === 'string' ? where.toLowerCase() : `discover ${where.discover}`;
    const remembered = this.policies.get(key);
    if (remembered && remembered.expiresAt > this.now()) return remembered.policy;
    const policy = (async () => {
      let dn = typeof where === 'string' ? where : undefined;
      if (typeof where !== 'string') {
        const found = await this.findEntries(this.domainDN, where.discover, 2);
        if (found.length !== 1) {
          unreadable(`${found.length} entries match ${where.discover} under ${this.domainDN}`);
          return undefined;
        }
        dn = found[0];
      }
      const read = dn === undefined ? undefined : await this.readEntry(dn, rules.policyAttributes);
      if (read === undefined) {
        unreadable(`${dn} cannot be read`);
        return undefined;
      }
      return rules.parsePolicy(read);
    })();
    this.policies.set(key, { expiresAt: this.now() + this.policyTtlMs, policy });
    // A failed read (directory down) is not remembered: the next login tries again.
    policy.catch(() => {
      if (this.policies.get(key)?.policy === policy) this.policies.delete(key);
    });
    return policy;
  }
}

function values(entry: DirectoryEntry, attribute: string): readonly string[] {
  return entry.attributes[attribute.toLowerCase()] ?? [];
}

function first(entry: DirectoryEntry, attribute: string): string | undefined {
  return values(entry, attribute)[0]?.trim();
}

function wholeNumber(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function fileTimeMs(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const ticks = Number(value);
  return ticks === 0 ? 0 : ticks / 10_000 - FILETIME_EPOCH_OFFSET_MS;
}
