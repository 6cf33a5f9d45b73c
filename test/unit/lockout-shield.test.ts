// The lockout shield's decisions, per kind of directory, from the attributes each server keeps
// (the same behaviours run against real OpenLDAP, 389-ds and Samba AD in
// test/integration/lockout-shield.test.ts and the directory contract).
import { describe, expect, it } from 'vitest';
import {
  LocalAccountLeases,
  LockoutShield,
  type LockoutShieldSettings,
  type ShieldVerdict,
} from '../../lambdas/core/directory/lockout-shield.ts';
import type { DirectoryEntry } from '../../lambdas/core/profile/map-entry.ts';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const generalized = (msAgo: number) =>
  `${new Date(NOW - msAgo)
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, '')}Z`;
const fileTime = (msAgo: number) => String((NOW - msAgo + 11_644_473_600_000) * 10_000);
const entry = (dn: string, attributes: Record<string, string[]>): DirectoryEntry => ({
  dn,
  attributes: Object.fromEntries(Object.entries(attributes).map(([name, values]) => [name.toLowerCase(), values])),
});

/** The verdict's kind, with a bind finished at once (as the handler does after binding). */
async function kindOf(pending: Promise<ShieldVerdict>): Promise<ShieldVerdict['kind']> {
  const verdict = await pending;
  if (verdict.kind === 'bind') verdict.done(false);
  return verdict.kind;
}

function shield(
  kind: LockoutShieldSettings['kind'],
  policies: Record<string, DirectoryEntry>,
  overrides: Partial<LockoutShieldSettings> = {},
  found: string[] = [],
) {
  const reads: string[] = [];
  const warnings: string[] = [];
  const instance = new LockoutShield(
    { enabled: true, reserve: 2, threshold: undefined, policyDN: undefined, kind, ...overrides },
    'dc=example,dc=test',
    async (dn) => {
      reads.push(dn);
      return policies[dn];
    },
    async () => found,
    (where) => warnings.push(where),
    new LocalAccountLeases(() => NOW),
    300_000,
    () => NOW,
  );
  return { instance, reads, warnings };
}

const OPENLDAP_POLICY = entry('cn=default,ou=policies,dc=example,dc=test', {
  pwdLockout: ['TRUE'],
  pwdMaxFailure: ['5'],
  pwdFailureCountInterval: ['600'],
});

describe('the lockout shield', () => {
  it('OpenLDAP: binds below threshold - reserve, holds at it, counting only failures inside the interval', async () => {
    const { instance, reads } = shield('openldap', { [OPENLDAP_POLICY.dn]: OPENLDAP_POLICY }, {}, [OPENLDAP_POLICY.dn]);
    const failures = (recent: number, old = 0) =>
      entry('uid=a,dc=example,dc=test', {
        pwdFailureTime: [
          ...Array.from({ length: recent }, (_, i) => generalized(1000 * (i + 1))),
          ...Array.from({ length: old }, () => generalized(3_600_000)),
        ],
      });
    expect(await kindOf(instance.verdict(failures(2)))).toBe('bind');
    expect(await instance.verdict(failures(3))).toEqual({ kind: 'hold', failures: 3, threshold: 5 });
    expect(await kindOf(instance.verdict(failures(2, 10)))).toBe('bind');
    // The policy was found once and read once, then remembered.
    expect(reads).toEqual([OPENLDAP_POLICY.dn]);
  });

  it('OpenLDAP: a locked account (pwdAccountLockedTime) is held; a policy without pwdLockout never holds', async () => {
    const { instance } = shield(
      'openldap',
      { [OPENLDAP_POLICY.dn]: OPENLDAP_POLICY },
      { policyDN: OPENLDAP_POLICY.dn },
    );
    expect(await kindOf(instance.verdict(entry('uid=a,dc=x', { pwdAccountLockedTime: [generalized(1000)] })))).toBe(
      'hold',
    );
    const lenient = entry('cn=lenient', { pwdLockout: ['FALSE'], pwdMaxFailure: ['3'] });
    const { instance: other } = shield('openldap', { 'cn=lenient': lenient });
    const many = entry('uid=b,dc=x', {
      pwdPolicySubentry: ['cn=lenient'],
      pwdFailureTime: Array.from({ length: 9 }, () => generalized(1000)),
    });
    expect(await other.verdict(many)).toEqual({ kind: 'no-policy' });
  });

  it('389-ds: passwordRetryCount until retryCountResetTime; accountUnlockTime in the future is a lock', async () => {
    const config = entry('cn=config', {
      passwordLockout: ['on'],
      passwordMaxFailure: ['5'],
      passwordResetFailureCount: ['600'],
    });
    const { instance } = shield('389ds', { 'cn=config': config });
    const user = (count: number, resetInMs: number) =>
      entry('uid=a,dc=x', { passwordRetryCount: [String(count)], retryCountResetTime: [generalized(-resetInMs)] });
    expect(await kindOf(instance.verdict(user(2, 60_000)))).toBe('bind');
    expect(await kindOf(instance.verdict(user(3, 60_000)))).toBe('hold');
    expect(await kindOf(instance.verdict(user(3, -1000)))).toBe('bind');
    expect(await kindOf(instance.verdict(entry('uid=a,dc=x', { accountUnlockTime: [generalized(-60_000)] })))).toBe(
      'hold',
    );
  });

  it('Active Directory: badPwdCount inside the observation window, from the domain root', async () => {
    const domain = entry('dc=example,dc=test', {
      lockoutThreshold: ['5'],
      lockOutObservationWindow: ['-9000000000'],
      lockoutDuration: ['-9000000000'],
    });
    const { instance } = shield('active-directory', { 'dc=example,dc=test': domain });
    const user = (count: number, lastBadMsAgo: number) =>
      entry('cn=a,dc=x', {
        badPwdCount: [String(count)],
        badPasswordTime: [fileTime(lastBadMsAgo)],
        lockoutTime: ['0'],
      });
    expect(await kindOf(instance.verdict(user(2, 1000)))).toBe('bind');
    expect(await kindOf(instance.verdict(user(3, 1000)))).toBe('hold');
    expect(await kindOf(instance.verdict(user(4, 3_600_000)))).toBe('bind');
    expect(await kindOf(instance.verdict(entry('cn=a,dc=x', { lockoutTime: [fileTime(60_000)] })))).toBe('hold');
  });

  it('counts a bind it allowed until it is done, so concurrent attempts cannot all slip under the threshold', async () => {
    const { instance } = shield('openldap', {}, { threshold: 5 });
    const user = entry('uid=a,dc=x', { pwdFailureTime: [generalized(1000)] });
    // Threshold 5, reserve 2: binds while failures + binds in flight < 3.
    const verdicts = await Promise.all([instance.verdict(user), instance.verdict(user), instance.verdict(user)]);
    // One bind per account at a time: the others are held until it has answered.
    expect(verdicts.map((verdict) => verdict.kind)).toEqual(['bind', 'hold', 'hold']);
    for (const verdict of verdicts) if (verdict.kind === 'bind') verdict.done(false);
    expect(await kindOf(instance.verdict(user))).toBe('bind');
  });

  it("counts the wrong passwords it bound itself, when the directory's count it read predates them", async () => {
    const { instance } = shield('openldap', {}, { threshold: 5 });
    // Every login read the entry before any of the earlier binds failed: the directory shows 0.
    const stale = entry('uid=a,dc=x', {});
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const verdict = await instance.verdict(stale);
      expect(verdict.kind).toBe('bind');
      if (verdict.kind === 'bind') verdict.done(true);
    }
    expect(await instance.verdict(stale)).toEqual({ kind: 'hold', failures: 3, threshold: 5 });
  });

  it('forgets its own failures once they leave the policy window', () => {
    let now = NOW;
    const leases = new LocalAccountLeases(() => now);
    expect(leases.acquire('uid=a', 60_000)).toEqual({ recentFailures: 0 });
    expect(leases.acquire('uid=a', 60_000)).toBeUndefined();
    leases.release('uid=a', true);
    expect(leases.acquire('uid=a', 60_000)).toEqual({ recentFailures: 1 });
    leases.release('uid=a', false);
    now += 61_000;
    expect(leases.acquire('uid=a', 60_000)).toEqual({ recentFailures: 0 });
  });

  it('never makes the attempt that reaches the threshold, even with no reserve or a threshold of 1', async () => {
    const noReserve = shield('openldap', {}, { threshold: 5, reserve: 0 }).instance;
    const four = entry('uid=a,dc=x', { pwdFailureTime: Array.from({ length: 4 }, () => generalized(1000)) });
    expect(await kindOf(noReserve.verdict(four))).toBe('hold');
    const one = shield('openldap', {}, { threshold: 1 }).instance;
    expect(await kindOf(one.verdict(entry('uid=b,dc=x', {})))).toBe('hold');
  });

  it('OpenLDAP: a lock whose pwdLockoutDuration has passed no longer holds', async () => {
    const policy = entry('cn=p', { pwdLockout: ['TRUE'], pwdMaxFailure: ['5'], pwdLockoutDuration: ['600'] });
    const { instance } = shield('openldap', { 'cn=p': policy }, { policyDN: 'cn=p' });
    expect(await kindOf(instance.verdict(entry('uid=a,dc=x', { pwdAccountLockedTime: [generalized(60_000)] })))).toBe(
      'hold',
    );
    expect(
      await kindOf(instance.verdict(entry('uid=b,dc=x', { pwdAccountLockedTime: [generalized(3_600_000)] }))),
    ).toBe('bind');
  });

  it('with LDAP_LOCKOUT_THRESHOLD still reads the window, so old failures stop counting', async () => {
    const domain = entry('dc=example,dc=test', { lockoutThreshold: ['0'], lockOutObservationWindow: ['-9000000000'] });
    const { instance } = shield('active-directory', { 'dc=example,dc=test': domain }, { threshold: 5 });
    const user = (count: number, lastBadMsAgo: number) =>
      entry('cn=a,dc=x', { badPwdCount: [String(count)], badPasswordTime: [fileTime(lastBadMsAgo)] });
    expect(await kindOf(instance.verdict(user(3, 1000)))).toBe('hold');
    expect(await kindOf(instance.verdict(user(3, 3_600_000)))).toBe('bind');
  });

  it('costs nothing when off or without a policy', async () => {
    const off = shield('openldap', {}, { enabled: false });
    expect(await off.instance.verdict(entry('uid=a,dc=x', { pwdFailureTime: ['20261201115959Z'] }))).toEqual({
      kind: 'no-policy',
    });
    expect(off.reads).toEqual([]);
    const zero = shield('active-directory', {}, { threshold: 0 });
    expect(await zero.instance.verdict(entry('cn=a,dc=x', { badPwdCount: ['99'] }))).toEqual({ kind: 'no-policy' });
  });

  it('says once when it finds no policy, and then lets binds through', async () => {
    const { instance, warnings } = shield('openldap', {}, {}, ['cn=one', 'cn=two']);
    expect(await instance.verdict(entry('uid=a,dc=x', {}))).toEqual({ kind: 'no-policy' });
    expect(await instance.verdict(entry('uid=b,dc=x', {}))).toEqual({ kind: 'no-policy' });
    expect(warnings).toEqual(['2 entries match (objectClass=pwdPolicy) under dc=example,dc=test']);
  });
});
