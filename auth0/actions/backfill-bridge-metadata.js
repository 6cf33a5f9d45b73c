/**
 * auth0-ldap-bridge: a post-login Action (Actions > Library > Build custom, trigger "Login / Post
 * Login") that back-fills the bridge's metadata. Auth0 stores the metadata a custom-database script
 * returns only at /login/callback, so a login interrupted after the credentials moved but before the
 * callback leaves a migrated user without app_metadata.dn and groups. For such a user of the bridge's
 * connection this Action asks the bridge's /get-user for the profile (as get_user.js does), checks that
 * it is this user's (auth0|<user_id>), and sets its app_metadata keys, and the user_metadata keys the
 * user does not have.
 *
 * At most once per user: it records what happened in app_metadata.ldap_bridge_backfill
 * ({ status, at, attempts }), and a user who has app_metadata.dn (every bridge profile has one) or such
 * a record is left alone, except:
 *   done       the metadata was set from the directory
 *   not_found  the directory has no entry of this user by their email or username (or only another
 *              user's entry); a later login does not ask again
 *   failed     the bridge did not answer (down, timeout, 5xx, a refused token, an unusable profile):
 *              asked again at a later login, at least 15 minutes on, 3 attempts in all
 * It never denies or fails a login: every problem is logged (Monitoring > Actions Logs) with the
 * user's Auth0 id, never a secret, token or email address, and the login goes on.
 *
 * Secrets:
 *   CONNECTION_NAME       the name of the bridge's database connection; only its users are back-filled
 *   AUTH0_DOMAIN, BRIDGE_CLIENT_ID, BRIDGE_CLIENT_SECRET, BRIDGE_AUDIENCE, BRIDGE_URL
 *                         as in the connection's Custom Database settings, with the same valid values
 *   BRIDGE_TIMEOUT_MS     optional: this Action's budget, a whole number from 1000 to 10000, default 5000
 *                         (Auth0 stops a whole login flow, every Action in it, at 20 s)
 * Without CONNECTION_NAME it back-fills nobody and logs an error on every login; other bad secrets are
 * logged when a user needs a back-fill, and nothing is sent.
 *
 * The bridge's token is kept in api.cache until shortly before it expires (Auth0 meters machine-to-machine
 * tokens). Auth0 may drop a cached item early: that costs one token request, nothing else.
 */
const RECORD = 'ldap_bridge_backfill';
const MAX_ATTEMPTS = 3;
const RETRY_AFTER_MS = 15 * 60 * 1000;
const TOKEN_CACHE_KEY = 'ldap-bridge-token';
const LOG = 'backfill-bridge-metadata: ';

exports.onExecutePostLogin = async (event, api) => {
  try {
    await backfill(event, api);
  } catch (err) {
    // Whatever went wrong here, the user's login is not this Action's to fail.
    console.log(LOG + 'stopped by an unexpected error; the login goes on: ' + reasonOf(err));
  }
};

async function backfill(event, api) {
  const secrets = event.secrets || {};
  if (!isSet(secrets.CONNECTION_NAME)) {
    console.error(
      LOG +
        'the secret CONNECTION_NAME is missing, so this Action cannot tell the bridge users from the others and ' +
        'back-fills nobody. Add the secret and deploy.',
    );
    return;
  }
  if (!event.connection || event.connection.name !== String(secrets.CONNECTION_NAME).trim()) return;
  const user = event.user || {};
  const appMetadata = isObject(user.app_metadata) ? user.app_metadata : {};
  if (appMetadata.dn !== undefined) return;
  const attemptsSoFar = appMetadata[RECORD] === undefined ? 0 : retryableAttempts(appMetadata[RECORD], Date.now());
  if (attemptsSoFar === null) return;

  const problems = settingsProblems(secrets);
  if (problems.length > 0) {
    console.error(LOG + 'the secrets are invalid, so ' + user.user_id + ' was not back-filled: ' + problems.join('; '));
    return;
  }

  const deadline = Date.now() + timeoutMs(secrets);
  let outcome;
  try {
    outcome = await findProfile(user, secrets, api, deadline);
  } catch (err) {
    outcome = { status: 'failed', reason: reasonOf(err) };
  }
  const at = new Date().toISOString();
  if (outcome.status === 'done') {
    for (const [key, value] of Object.entries(outcome.profile.app_metadata)) {
      if (key !== RECORD) api.user.setAppMetadata(key, value);
    }
    // The user may have changed their user_metadata since: only what is missing is filled in.
    const userMetadata = isObject(user.user_metadata) ? user.user_metadata : {};
    const fromDirectory = isObject(outcome.profile.user_metadata) ? outcome.profile.user_metadata : {};
    for (const [key, value] of Object.entries(fromDirectory)) {
      if (userMetadata[key] === undefined) api.user.setUserMetadata(key, value);
    }
    api.user.setAppMetadata(RECORD, { status: 'done', at: at });
    console.log(LOG + "set the bridge's metadata of " + user.user_id + ' (' + outcome.reason + ')');
    return;
  }
  if (outcome.status === 'not_found') {
    api.user.setAppMetadata(RECORD, { status: 'not_found', at: at });
    console.log(LOG + 'nothing to set for ' + user.user_id + ': ' + outcome.reason + '; not asked again');
    return;
  }
  const attempts = attemptsSoFar + 1;
  api.user.setAppMetadata(RECORD, { status: 'failed', at: at, attempts: attempts });
  console.log(
    LOG +
      'could not back-fill ' +
      user.user_id +
      ' (attempt ' +
      attempts +
      ' of ' +
      MAX_ATTEMPTS +
      (attempts < MAX_ATTEMPTS ? ', again at a login 15 minutes on or later' : ', the last') +
      '): ' +
      outcome.reason,
  );
}

// The attempts made so far when the record allows another one now, else null (done, not found, the
// last attempt made, too recent, or a record this Action did not write).
function retryableAttempts(record, now) {
  if (!isObject(record) || record.status !== 'failed') return null;
  const attempts = record.attempts;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts >= MAX_ATTEMPTS) return null;
  const at = Date.parse(record.at);
  if (Number.isNaN(at) || now - at < RETRY_AFTER_MS) return null;
  return attempts;
}

// Asks /get-user by the user's email, then by their username, for the entry whose user_id is this user's.
async function findProfile(user, secrets, api, deadline) {
  const identifiers = [user.email, user.username].filter(function (value, index, all) {
    return typeof value === 'string' && value.trim() !== '' && all.indexOf(value) === index;
  });
  let otherEntry = false;
  for (const identifier of identifiers) {
    const result = await callBridge('/get-user', { username: identifier }, secrets, api, deadline);
    const requestId = result.requestId ? 'bridge request ' + result.requestId : 'no bridge request id';
    if (result.status === 404 && result.body && result.body.error === 'user_not_found') continue;
    if (result.status !== 200) {
      const code = (result.body && typeof result.body.error === 'string' && result.body.error) || 'no error code';
      return { status: 'failed', reason: 'the bridge answered HTTP ' + result.status + ' ' + code + ', ' + requestId };
    }
    const problem = unusableProfile(result.body);
    if (problem) return { status: 'failed', reason: 'the bridge answered HTTP 200 but ' + problem + ', ' + requestId };
    // An email or username may now be another directory user's: their groups must never reach this user.
    if ('auth0|' + result.body.user_id !== user.user_id) {
      otherEntry = true;
      continue;
    }
    return { status: 'done', profile: result.body, reason: requestId };
  }
  if (identifiers.length === 0) return { status: 'not_found', reason: 'the user has neither an email nor a username' };
  return {
    status: 'not_found',
    reason: otherEntry
      ? "the directory's entry for their email or username is another user's"
      : 'the directory has no entry for their email or username',
  };
}

// Null for a profile whose metadata can be set, else what is wrong with it (quoting nothing of it).
function unusableProfile(body) {
  if (!isObject(body)) return 'its body is not a JSON object';
  if (typeof body.user_id !== 'string' || body.user_id.trim() === '') return 'its profile has no user_id';
  if (!isObject(body.app_metadata)) return 'its profile has no app_metadata object';
  return null;
}

async function callBridge(path, body, secrets, api, deadline) {
  const result = await postToBridge(path, body, await bridgeToken(secrets, api, deadline), secrets, deadline);
  if (result.status !== 401 || !result.body || result.body.error !== 'invalid_token') return result;
  // The cached token was refused (revoked, or the bridge's keys rotated): one new token, one retry.
  api.cache.delete(TOKEN_CACHE_KEY);
  return postToBridge(path, body, await bridgeToken(secrets, api, deadline), secrets, deadline);
}

async function postToBridge(path, body, token, secrets, deadline) {
  const response = await fetch(String(secrets.BRIDGE_URL).trim().replace(/\/+$/, '') + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(remaining(deadline)),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    parsed = null;
  }
  return { status: response.status, body: parsed, requestId: response.headers.get('x-request-id') };
}

// The bridge's token from api.cache, or a new one kept there until shortly before it expires. The
// cached value names the tenant, client and audience it was issued for, so a changed secret is not
// answered with an old token.
async function bridgeToken(secrets, api, deadline) {
  const issuedFor = [secrets.AUTH0_DOMAIN, secrets.BRIDGE_CLIENT_ID, secrets.BRIDGE_AUDIENCE].join(' ');
  const cached = api.cache.get(TOKEN_CACHE_KEY);
  if (cached) {
    try {
      const value = JSON.parse(cached.value);
      if (value.issuedFor === issuedFor && typeof value.token === 'string') return value.token;
    } catch (e) {
      // Not a value this Action wrote: ask for a new token.
    }
  }
  const response = await fetch('https://' + String(secrets.AUTH0_DOMAIN).trim() + '/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: secrets.BRIDGE_CLIENT_ID,
      client_secret: secrets.BRIDGE_CLIENT_SECRET,
      audience: secrets.BRIDGE_AUDIENCE,
    }),
    signal: AbortSignal.timeout(remaining(deadline)),
  });
  const json = await response.json().catch(function () {
    return {};
  });
  if (response.status !== 200 || !json || typeof json.access_token !== 'string') {
    const code = json && typeof json.error === 'string' ? json.error.slice(0, 64) : '';
    throw new Error('could not get an access token for the bridge (HTTP ' + response.status + ' ' + code + ')');
  }
  const lifetimeMs = Number(json.expires_in || 0) * 1000;
  const keepMs = lifetimeMs - Math.min(5 * 60 * 1000, lifetimeMs / 10);
  if (keepMs > 0) {
    // A refused write (the cache's size limits) only means the next back-fill asks for a token again.
    api.cache.set(TOKEN_CACHE_KEY, JSON.stringify({ issuedFor: issuedFor, token: json.access_token }), {
      expires_at: Date.now() + keepMs,
    });
  }
  return json.access_token;
}

// The same rules as the custom-database scripts' settings, but for an Action's budget. Each problem
// names its secret; BRIDGE_CLIENT_SECRET's value is never shown.
function settingsProblems(secrets) {
  const problems = [];
  for (const key of ['AUTH0_DOMAIN', 'BRIDGE_CLIENT_ID', 'BRIDGE_CLIENT_SECRET', 'BRIDGE_AUDIENCE', 'BRIDGE_URL']) {
    if (!isSet(secrets[key])) problems.push(key + ' is missing');
  }
  const domain = secrets.AUTH0_DOMAIN;
  if (
    isSet(domain) &&
    !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(String(domain).trim())
  ) {
    problems.push(
      'AUTH0_DOMAIN is ' +
        quoted(domain, secrets) +
        '; expected the tenant domain name alone, e.g. example.eu.auth0.com',
    );
  }
  const urlProblem = isSet(secrets.BRIDGE_URL) ? bridgeUrlProblem(String(secrets.BRIDGE_URL).trim(), secrets) : null;
  if (urlProblem) problems.push(urlProblem);
  if (Number.isNaN(timeoutMs(secrets))) {
    problems.push(
      'BRIDGE_TIMEOUT_MS is ' +
        quoted(secrets.BRIDGE_TIMEOUT_MS, secrets) +
        '; expected a whole number of milliseconds from 1000 to 10000 (Auth0 stops a login flow at 20 s), or no value for 5000',
    );
  }
  return problems;
}

function bridgeUrlProblem(value, secrets) {
  let url;
  try {
    url = new URL(value);
  } catch (e) {
    return (
      'BRIDGE_URL is ' +
      quoted(value, secrets) +
      "; expected the bridge's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    );
  }
  // Neither is shown: either may hold a credential.
  if (url.username || url.password) return 'BRIDGE_URL must not contain a user name or password';
  if (/[?#]/.test(value)) return 'BRIDGE_URL must be a base URL without a ?query or #fragment';
  // The bearer token travels with every request; plain http is for a bridge on this very machine (tests).
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return null;
  return (
    'BRIDGE_URL is ' +
    quoted(value, secrets) +
    '; expected an https:// URL (http:// only to 127.0.0.1, localhost or [::1])'
  );
}

// The budget: the secret, or 5000 without one; NaN unless a whole number from 1000 to 10000, which
// leaves the rest of the login flow time within Auth0's 20 s.
function timeoutMs(secrets) {
  const value = secrets.BRIDGE_TIMEOUT_MS;
  if (!isSet(value)) return 5000;
  const text = String(value).trim();
  const ms = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  return ms >= 1000 && ms <= 10000 ? ms : Number.NaN;
}

// A secret's value for a log line, unless it holds the client secret (pasted into the wrong field).
function quoted(value, secrets) {
  const text = String(value);
  const secret = secrets.BRIDGE_CLIENT_SECRET;
  if (isSet(secret) && text.indexOf(String(secret)) !== -1) return '(a value containing BRIDGE_CLIENT_SECRET)';
  return JSON.stringify(text);
}

function isSet(value) {
  return value !== undefined && value !== null && String(value).trim() !== '';
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function remaining(deadline) {
  return Math.max(1, deadline - Date.now());
}

function reasonOf(err) {
  const cause = err && err.cause && err.cause.code;
  return String(err && err.message) + (typeof cause === 'string' ? ' (' + cause + ')' : '');
}
