// The doctor's last two links, which run the bridge's own handle() for /get-user (--user: the
// profile Auth0 would receive) and /login (--login: a full login, lockout shield included), and
// judge its answer with the reason its request log line gives. Never shows the password.
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import type { RouteObservation } from './observations.ts';
import type { LinkResult } from './walk.ts';

export function judgeUser(observation: RouteObservation, username: string): LinkResult {
  if (observation.status === 200) {
    const profile = observation.body as { user_id?: unknown; app_metadata?: { groups?: unknown } };
    const groups = Array.isArray(profile.app_metadata?.groups) ? profile.app_metadata.groups.length : 0;
    return {
      status: 'ok',
      summary: `found ${username}: user_id ${String(profile.user_id)}, ${groups} group${groups === 1 ? '' : 's'}`,
    };
  }
  return refused(observation, username);
}

export function judgeLogin(observation: RouteObservation, username: string): LinkResult {
  const { status, logged } = observation;
  if (status === 200) {
    const profile = observation.body as { user_id?: unknown };
    return {
      status: 'ok',
      summary: `${username} logged in: the directory accepted the password (user_id ${String(profile.user_id)})`,
    };
  }
  if (status === 401 && logged.lockout_shield === 'held')
    return {
      status: 'fail',
      summary: `the lockout shield held the login of ${username} (${String(logged.lockout_failures)} of ${String(logged.lockout_threshold)} failures counted): no bind was made`,
      fix: "the account is close to the directory's lockout: wait until its failures leave the policy's window, or log in once elsewhere with the right password",
    };
  if (status === 401)
    return {
      status: 'fail',
      summary: `401 invalid_credentials for ${username}: a wrong password, or no entry matches the username`,
      fix: `check the password; auth0-ldap-bridge doctor --user ${username} shows whether the user is found`,
    };
  if (status === 403)
    return {
      status: 'fail',
      summary: `the password of ${username} is right, but the account may not log in: ${errorCode(observation)}`,
      fix: 'the directory marks the account so: enable, unlock or renew it there',
    };
  return refused(observation, username);
}

/** Any other answer of handle(): its status, error code and the reason it logged. */
function refused(observation: RouteObservation, username: string): LinkResult {
  const reason = typeof observation.logged.reason === 'string' ? `: ${observation.logged.reason}` : '';
  const seen = `${observation.status} ${errorCode(observation)}${reason}`;
  if (observation.status === 404)
    return {
      status: 'fail',
      summary: `no user ${username} (${seen})`,
      fix: reason.includes(S.LDAP_HIDE_INACTIVE_USERS.env)
        ? `the directory marks the account inactive, and ${S.LDAP_HIDE_INACTIVE_USERS.env} keeps such accounts out`
        : `check the username, and that ${S.LDAP_USER_FILTER.env} matches it ({username} is replaced by it) under ${S.LDAP_BASE_DN.env}`,
    };
  return {
    status: 'fail',
    summary: `the bridge answered ${seen}`,
    fix:
      observation.status === 503
        ? 'the directory did not answer: the links above say where the chain breaks'
        : 'the reason above names what to change',
  };
}

function errorCode(observation: RouteObservation): string {
  const error = (observation.body as { error?: unknown } | null)?.error;
  return typeof error === 'string' ? error : 'no error code';
}
