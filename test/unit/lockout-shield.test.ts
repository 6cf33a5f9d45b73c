// The lockout shield's decisions, per kind of directory, from the attributes each server keeps
// (the same behaviours run against real OpenLDAP, 389-ds and Samba AD in
// test/integration/lockout-shield.test.ts and the directory contract).
import { describe, expect, it } from 'vitest';
import { LockoutShield, type LockoutShieldSettings } from '../../lambdas/core/directory/lockout-shield.ts';
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
    expect(await instance.verdict(failures(2))).toEqual({ kind: 'bind' });
    expect(await instance.verdict(failures(3))).toEqual({ kind: 'hold', failures: 3, threshold: 5 });
    expect(await instance.verdict(failures(2, 10))).toEqual({ kind: 'bind' });
    // The policy was found once and read once, then remembered.
    expect(reads).toEqual([OPENLDAP_POLICY.dn]);
  });

  it('OpenLDAP: a locked account (pwdAccountLockedTime) is held; a policy without pwdLockout never holds', async () => {
    const { instance } = shield(
      'openldap',
      { [OPENLDAP_POLICY.dn]: OPENLDAP_POLICY },
      { policyDN: OPENLDAP_POLICY.dn },
    );
    expect((await instance.verdict(entry('uid=a,dc=x', { pwdAccountLockedTime: [generalized(1000)] }))).kind).toBe(
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
    expect((await instance.verdict(user(2, 60_000))).kind).toBe('bind');
    expect((await instance.verdict(user(3, 60_000))).kind).toBe('hold');
    expect((await instance.verdict(user(3, -1000))).kind).toBe('bind');
    expect((await instance.verdict(entry('uid=a,dc=x', { accountUnlockTime: [generalized(-60_000)] }))).kind).toBe(
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
    expect((await instance.verdict(user(2, 1000))).kind).toBe('bind');
    expect((await instance.verdict(user(3, 1000))).kind).toBe('hold');
    expect((await instance.verdict(user(4, 3_600_000))).kind).toBe('bind');
    expect((await instance.verdict(entry('cn=a,dc=x', { lockoutTime: [fileTime(60_000)] }))).kind).toBe('hold');
  });

  it('counts its own binds in flight, so concurrent attempts cannot all slip under the threshold', async () => {
    const { instance } = shield('openldap', {}, { threshold: 5 });
    const user = entry('uid=a,dc=x', { pwdFailureTime: [generalized(1000), generalized(2000)] });
    let release: () => void = () => undefined;
    const pending = instance.attempt(user.dn, () => new Promise<void>((resolve) => (release = resolve)));
    expect((await instance.verdict(user)).kind).toBe('hold');
    release();
    await pending;
    expect((await instance.verdict(user)).kind).toBe('bind');
  });

  it('always leaves one attempt to an account without failures, and costs nothing when off or without a policy', async () => {
    const { instance } = shield('openldap', {}, { threshold: 2, reserve: 5 });
    expect((await instance.verdict(entry('uid=a,dc=x', {}))).kind).toBe('bind');
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
