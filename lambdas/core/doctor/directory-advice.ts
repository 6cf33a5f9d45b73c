// The doctor's verdicts on the directory itself, as the bridge's service account meets it: the
// bind, the base DN, the user filter, the attributes of a user entry, and the lockout policy the
// shield will judge logins by. The account is named, never its password.
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import type { DirectoryConfig } from '../config/bridge-config.ts';
import { type AccountStateRules, accountStateAttributes } from '../directory/account-states.ts';
import { groupAttributes } from '../directory/groups.ts';
import { type LockoutShieldSettings, lockoutAttributes } from '../directory/lockout-shield.ts';
import { attributesForProfile, type DirectoryEntry } from '../profile/map-entry.ts';
import {
  type BaseDnObservation,
  describeFailure,
  type DirectoryServer,
  type LockoutObservation,
  type ProbeFailure,
  type SampleEntryObservation,
  type SearchObservation,
  type ServiceAccount,
  type ServiceBindObservation,
  TIMEOUT,
} from './observations.ts';
import { tcpFix } from './network-advice.ts';
import type { LinkResult } from './walk.ts';

/** The account as the doctor names it: its DN and where it is configured. */
export function describeAccount(account: ServiceAccount): string {
  if (account.source === 'LDAP_BIND_DN') return `${account.bindDN} (${S.LDAP_BIND_DN.env})`;
  return `${account.bindDN ?? 'the account'} from the secret ${account.secretArn} (${S.LDAP_BIND_SECRET_ARN.env})`;
}

/** Where the account's DN and password are set, for a fix. */
function credentialSettings(account: ServiceAccount): string {
  return account.source === 'LDAP_BIND_DN'
    ? `${S.LDAP_BIND_DN.env} and ${S.LDAP_BIND_PASSWORD.env}`
    : `the secret's "bindDN" and "password" (${S.LDAP_BIND_SECRET_ARN.env} ${account.secretArn})`;
}

/**
 * Active Directory says why it refused a bind in the diagnostic message ("data 52e"); for the
 * service account every reason may be named: it is our own account, not a user's.
 */
const AD_REFUSALS: ReadonlyMap<string, { seen: string; fix: string }> = new Map([
  ['525', { seen: 'no such account', fix: 'the DN names no account: use its full DN or its userPrincipalName' }],
  ['52e', { seen: 'wrong password', fix: "set the account's current password" }],
  ['530', { seen: 'not permitted to log on at this time', fix: "lift the account's logon-hours restriction" }],
  ['531', { seen: 'not permitted to log on at this workstation', fix: "lift the account's workstation restriction" }],
  ['532', { seen: 'password expired', fix: "set a new password and mark it 'password never expires'" }],
  ['533', { seen: 'account disabled', fix: 'enable the service account' }],
  ['701', { seen: 'account expired', fix: "extend the account's expiry date" }],
  ['773', { seen: 'must change its password', fix: "set its password and clear 'must change password at next logon'" }],
  ['775', { seen: 'account locked', fix: 'unlock the account, and find what keeps binding with an old password' }],
]);

/** LDAP result codes a refused service bind comes with, other than 49. */
const BIND_REFUSALS: ReadonlyMap<number, { seen: string; fix: string }> = new Map([
  [8, { seen: 'the directory requires TLS before a bind', fix: `use ldaps:// or set ${S.LDAP_STARTTLS.env}=true` }],
  [13, { seen: 'the directory requires TLS before a bind', fix: `use ldaps:// or set ${S.LDAP_STARTTLS.env}=true` }],
  [
    19,
    {
      seen: "the account's password policy refused the bind (locked, or its password expired)",
      fix: 'unlock the service account or give it a new password, and exempt it from the lockout policy',
    },
  ],
  [
    48,
    {
      seen: 'the account cannot use a password bind',
      fix: 'give the service account a password (userPassword)',
    },
  ],
  [
    53,
    {
      seen: 'the directory refuses this bind by policy',
      fix: 'the account may be inactivated (389-ds nsAccountLock) or the server refuses binds without TLS: check the account',
    },
  ],
]);

export function judgeServiceBind(observation: ServiceBindObservation, servers: readonly DirectoryServer[]): LinkResult {
  const account = describeAccount(observation.account);
  switch (observation.stage) {
    case 'credentials':
      return {
        status: 'fail',
        summary: `the service account's credentials cannot be read: ${describeFailure(observation.failure)}`,
        fix:
          observation.account.source === 'LDAP_BIND_SECRET_ARN'
            ? `the function's role needs secretsmanager:GetSecretValue on ${observation.account.secretArn} (and kms:Decrypt on its key), and the secret must be JSON {"bindDN": "...", "password": "..."}`
            : `set ${credentialSettings(observation.account)}`,
      };
    case 'connect': {
      const server = servers.find((candidate) => candidate.url === observation.url);
      return {
        status: 'fail',
        summary: `no server of ${S.LDAP_URLS.env} could be reached to bind as ${account} (last: ${observation.url}: ${describeFailure(observation.failure)})`,
        fix: server ? tcpFix(observation.failure, server) : 'see the tcp and tls links',
        server: observation.url,
      };
    }
    case 'bind':
      break;
  }
  const where = { server: observation.url, durationMs: observation.durationMs };
  if (observation.ok) return { status: 'ok', summary: `bound as ${account} on ${observation.url}`, ...where };
  const { failure } = observation;
  if (failure.resultCode === undefined) {
    const timedOut = failure.code === TIMEOUT;
    return {
      status: 'fail',
      summary: `${timedOut ? 'no answer to the bind' : 'the bind did not finish'} as ${account} (${describeFailure(failure)})`,
      fix: timedOut
        ? `the server accepted the connection but did not answer within ${S.LDAP_TIMEOUT_MS.env}: is it overloaded or frozen?`
        : "the connection closed during the bind: the directory's log says why",
      ...where,
    };
  }
  if (failure.resultCode === 49) {
    const subcode = /\bdata ([0-9a-f]{3,8})\b/i.exec(failure.message)?.[1]?.toLowerCase();
    const known = subcode === undefined ? undefined : AD_REFUSALS.get(subcode);
    if (known)
      return {
        status: 'fail',
        summary: `the directory refused the service account ${account}: ${known.seen} (49, data ${subcode})`,
        fix: `${known.fix} (${credentialSettings(observation.account)})`,
        ...where,
      };
    return {
      status: 'fail',
      summary: `the directory refused the service account ${account}: wrong password or DN (49 invalid credentials)`,
      fix: `check ${credentialSettings(observation.account)}: the DN must be the account's full DN (on Active Directory also its userPrincipalName), the password its current one`,
      ...where,
    };
  }
  const known = BIND_REFUSALS.get(failure.resultCode);
  return {
    status: 'fail',
    summary: `the directory refused the service account ${account}: ${known?.seen ?? 'refused'} (${describeFailure(failure)})`,
    fix: known?.fix ?? "the directory's log for this bind says why",
    ...where,
  };
}

export function judgeBaseDn(observation: BaseDnObservation, baseDN: string): LinkResult {
  const durationMs = observation.durationMs;
  const base = `${S.LDAP_BASE_DN.env} ${baseDN}`;
  if (observation.ok) {
    if (observation.entriesBelow > 0)
      return { status: 'ok', summary: `${base} exists and the service account reads entries under it`, durationMs };
    return {
      status: 'warn',
      summary: `${base} exists, but the service account sees no entry below it`,
      fix: `point ${S.LDAP_BASE_DN.env} at the subtree that holds the users, or grant the service account read access to it`,
      durationMs,
    };
  }
  const { failure } = observation;
  switch (failure.resultCode) {
    case 32: {
      const contexts = observation.namingContexts ?? [];
      const listed = contexts.length > 0 ? `; the directory's naming contexts are: ${contexts.join(', ')}` : '';
      return {
        status: 'fail',
        summary: `${base} does not exist, or the service account may not see it (32 no such object)${listed}`,
        fix:
          contexts.length > 0
            ? `set ${S.LDAP_BASE_DN.env} to the subtree that holds the users, under ${contexts.join(' or ')}`
            : `set ${S.LDAP_BASE_DN.env} to the DN of the subtree that holds the users (e.g. ou=people,dc=example,dc=com)`,
        durationMs,
      };
    }
    case 50:
      return {
        status: 'fail',
        summary: `the service account may not read ${observation.stage === 'base' ? '' : 'under '}${base} (50 insufficient access rights)`,
        fix: 'grant the service account read access to that subtree (OpenLDAP: an access rule "by dn.exact=<account> read"; Active Directory: Read on the OU)',
        durationMs,
      };
    case 34:
      return {
        status: 'fail',
        summary: `${base} is not a valid DN (34 invalid DN syntax)`,
        fix: `write ${S.LDAP_BASE_DN.env} as comma-separated RDNs, e.g. ou=people,dc=example,dc=com`,
        durationMs,
      };
    case 10:
      return {
        status: 'fail',
        summary: `the server does not hold ${baseDN}: it answered with a referral (10)`,
        fix: `${S.LDAP_URLS.env} must name servers of the domain that holds ${S.LDAP_BASE_DN.env} (or a global catalog, port 3268 / 3269)`,
        durationMs,
      };
    default:
      return {
        status: 'fail',
        summary: `reading ${base} failed: ${describeFailure(failure)}`,
        fix: searchFailureFix(failure),
        durationMs,
      };
  }
}

function searchFailureFix(failure: ProbeFailure): string {
  if (failure.code === TIMEOUT)
    return `the directory did not answer within ${S.LDAP_TIMEOUT_MS.env}: is it overloaded, or does the search need an index?`;
  return "the directory's log for this search says why";
}

export function judgeUserSearch(observation: SearchObservation, template: string): LinkResult {
  const { durationMs } = observation;
  if (observation.ok)
    return {
      status: 'ok',
      summary: `${S.LDAP_USER_FILTER.env} ${template} accepted with a sample username (${observation.count} matching entr${observation.count === 1 ? 'y' : 'ies'})`,
      durationMs,
    };
  const { failure } = observation;
  return {
    status: 'fail',
    summary: `the directory refused the user search ${observation.filter} (${describeFailure(failure)})`,
    fix:
      failure.resultCode === undefined
        ? searchFailureFix(failure)
        : `correct ${S.LDAP_USER_FILTER.env}: the attributes and matching rules it names must exist in the directory's schema, and {username} marks where the username goes`,
    durationMs,
  };
}

/** The attributes a user search asks for, by what they serve (the same functions build the bridge's list). */
export interface WantedAttributes {
  userId: string;
  profile: string[];
  state: string[];
  groups: string[];
  lockout: string[];
}

export function wantedAttributes(directory: DirectoryConfig): WantedAttributes {
  const userId = directory.mapping.userIdAttribute;
  return {
    userId,
    profile: attributesForProfile(directory.mapping).filter((name) => name.toLowerCase() !== userId.toLowerCase()),
    state: accountStateAttributes(directory.accountStates),
    groups: groupAttributes(directory.groups),
    lockout: lockoutAttributes(directory.lockoutShield),
  };
}

/**
 * Account-state attributes every account of a kind carries, so their absence means the service
 * account may not read them. The others appear only on an account that is switched off.
 */
const ALWAYS_PRESENT_STATE: Record<AccountStateRules, readonly string[]> = {
  'active-directory': ['userAccountControl', 'accountExpires'],
  '389ds': [],
  openldap: [],
  none: [],
};

export function judgeAttributes(
  observation: SampleEntryObservation,
  wanted: WantedAttributes,
  directory: Pick<DirectoryConfig, 'accountStates' | 'preset'>,
): LinkResult {
  const { durationMs } = observation;
  if (!observation.ok)
    return {
      status: 'fail',
      summary: `the search for a user entry (${observation.filter}) failed: ${describeFailure(observation.failure)}`,
      fix: searchFailureFix(observation.failure),
      durationMs,
    };
  const { entry } = observation;
  if (entry === undefined)
    return {
      status: 'fail',
      summary: `no entry under ${S.LDAP_BASE_DN.env} matches ${S.LDAP_USER_FILTER.env} with any username (${observation.filter}): no one can log in`,
      fix: `check that ${S.LDAP_BASE_DN.env} holds the users and that ${S.LDAP_USER_FILTER.env} (default from ${S.LDAP_PRESET.env} ${directory.preset}) matches their object class and attributes`,
      durationMs,
    };
  const sample = `sample entry ${entry.dn}`;
  if (!present(entry, wanted.userId))
    return {
      status: 'fail',
      summary: `${sample} has no ${wanted.userId}, or the service account may not read it: the profile's user_id cannot be built`,
      fix: `grant the service account read access to ${wanted.userId}, or set "user_id" in ${S.LDAP_PROFILE_MAPPING.env} to an attribute every user has`,
      durationMs,
    };
  const groups = [
    `user_id ${wanted.userId} present`,
    listed('profile', wanted.profile, entry),
    listed('account state', wanted.state, entry),
    listed('groups', wanted.groups, entry),
    listed('lockout', wanted.lockout, entry),
  ].filter((part) => part !== '');
  const summary = `${sample}: ${groups.join('; ')}`;
  const unreadable = ALWAYS_PRESENT_STATE[directory.accountStates].filter((name) => !present(entry, name));
  if (unreadable.length > 0)
    return {
      status: 'warn',
      summary: `${summary}; ${unreadable.join(', ')} cannot be read: disabled and expired accounts would not be recognised`,
      fix: `grant the service account read access to ${unreadable.join(', ')}, or check ${S.LDAP_ACCOUNT_STATES.env} (${directory.accountStates})`,
      durationMs,
    };
  return { status: 'ok', summary, durationMs };
}

function present(entry: DirectoryEntry, attribute: string): boolean {
  return (entry.attributes[attribute.toLowerCase()] ?? []).length > 0;
}

/** `profile: mail, cn present, givenName absent`; empty when the group asks for nothing. */
function listed(what: string, names: readonly string[], entry: DirectoryEntry): string {
  if (names.length === 0) return '';
  const here = names.filter((name) => present(entry, name));
  const absent = names.filter((name) => !present(entry, name));
  const parts = [
    here.length > 0 ? `${here.join(', ')} present` : '',
    absent.length > 0 ? `${absent.join(', ')} absent` : '',
  ];
  return `${what}: ${parts.filter((part) => part !== '').join(', ')}`;
}

export function judgeLockoutPolicy(observation: LockoutObservation, settings: LockoutShieldSettings): LinkResult {
  const notShielded = 'logins are not shielded: wrong passwords sent through Auth0 can lock directory accounts';
  switch (observation.kind) {
    case 'off':
      return {
        status: 'warn',
        summary: `${S.LDAP_LOCKOUT_SHIELD.env}=false: ${notShielded}`,
        fix: `set ${S.LDAP_LOCKOUT_SHIELD.env}=true`,
      };
    case 'no-rules':
      return {
        status: 'warn',
        summary: `the lockout shield is off because ${S.LDAP_ACCOUNT_STATES.env} is none: ${notShielded}`,
        fix: observation.fix,
      };
    case 'failed':
      return {
        status: 'fail',
        summary: `the lockout policy could not be read: ${describeFailure(observation.failure)}`,
        fix: searchFailureFix(observation.failure),
      };
    case 'policy':
      break;
  }
  const { policy, source } = observation;
  if (policy === undefined) {
    if (settings.threshold === 0)
      return {
        status: 'ok',
        summary: `${S.LDAP_LOCKOUT_THRESHOLD.env}=0: the directory does not lock accounts, nothing to shield`,
      };
    return {
      status: 'warn',
      summary: `no lockout policy found (${observation.unreadable?.reason ?? source}), so ${notShielded}`,
      fix: observation.unreadable?.fix ?? `set ${S.LDAP_LOCKOUT_POLICY_DN.env} or ${S.LDAP_LOCKOUT_THRESHOLD.env}`,
    };
  }
  const from =
    settings.threshold === undefined
      ? `read from ${source}`
      : `${S.LDAP_LOCKOUT_THRESHOLD.env}; the window read from ${source}`;
  if (policy.threshold === 0)
    return { status: 'ok', summary: `the policy (${from}) does not lock accounts: nothing to shield` };
  const window =
    policy.windowMs === undefined ? 'until a good bind resets them' : `over ${Math.round(policy.windowMs / 1000)} s`;
  const stopsAt = policy.threshold - settings.reserve;
  const threshold = `lockout after ${policy.threshold} failures (${from}), counted ${window}`;
  if (stopsAt <= 0)
    return {
      status: 'fail',
      summary: `${threshold}; ${S.LDAP_LOCKOUT_RESERVE.env} ${settings.reserve} leaves the bridge no attempt: every login is answered as a wrong password`,
      fix: `lower ${S.LDAP_LOCKOUT_RESERVE.env} below the directory's threshold, or raise the threshold`,
    };
  return {
    status: 'ok',
    summary: `${threshold}; the shield stops binding as a user at ${stopsAt} counted failure${stopsAt === 1 ? '' : 's'} (${S.LDAP_LOCKOUT_RESERVE.env} ${settings.reserve})`,
  };
}
