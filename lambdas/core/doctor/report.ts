// What `auth0-ldap-bridge doctor` reports, locally and from the deployed doctor function alike:
// the links of the chain from configuration to a working login, in the order they are walked,
// each with what was seen and, when it is broken, what usually fixes it. Plain data (JSON-safe),
// because the deployed doctor returns it through a Lambda invocation.
import type { Auth0Profile } from '../profile/map-entry.ts';

/** The links, in the order the doctor walks them. */
export const DOCTOR_LINKS = [
  'configuration',
  'dns',
  'tcp',
  'tls',
  'service-bind',
  'base-dn',
  'user-search',
  'attributes',
  'lockout-policy',
  'jwks',
  'clock',
  'user',
  'login',
] as const;

export type DoctorLink = (typeof DOCTOR_LINKS)[number];

/**
 * ok: the link works. warn: it works but will not for long or not everywhere (a certificate
 * expiring within 30 days, a policy the shield cannot read). fail: broken; the walk stops here.
 * skipped: not walked (after a failure, or not asked for, or not this runner's to check).
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

export interface DoctorCheck {
  link: DoctorLink;
  status: CheckStatus;
  /** What was seen, in one line an operator reads: "ldaps://dc1.corp:636 answered in 12 ms". Never a password or token. */
  summary: string;
  /** For warn and fail: what usually fixes it, naming the setting to change. */
  fix?: string;
  /** Milliseconds the check took, where timing means something (TCP, TLS, bind, search). */
  durationMs?: number;
  /** Which server of LDAP_URLS the check is about, when it is about one. */
  server?: string;
  /**
   * Set on the issuer links (jwks, clock) of a deployed report that `doctor --stack` walked from
   * the machine it runs on rather than from the deployed doctor function.
   */
  checkedLocally?: boolean;
}

export interface DoctorReport {
  /** True when no check failed (warnings allowed). */
  ok: boolean;
  /** Where the checks ran: this machine, or the deployed doctor function (its ARN). */
  ranOn: { kind: 'local' } | { kind: 'deployed'; functionArn: string };
  checks: DoctorCheck[];
  /**
   * AUTH_ISSUER of the configuration that was checked, when the issuer links (jwks, clock) were
   * not walked by this runner: the deployed doctor runs inside the VPC, which need not reach the
   * internet (the token authorizer, outside it, does), so `doctor --stack` checks them from here.
   */
  issuer?: string;
  /** With --user: the profile Auth0 would receive for that user (no bind). */
  profile?: Auth0Profile;
}
