/**
 * auth0-ldap-bridge: the "Get User" script of an Auth0 custom database connection.
 * Paste this whole file into Authentication > Database > (connection) > Custom Database > Get User.
 * Auth0 calls it for "forgot password", sign-up checks and email or username changes, with an email it
 * cannot find in its own store; it asks the bridge for the user's profile without a password. The
 * profile is the same object /login returns, so a user who migrates through a password reset is
 * identical to one who migrates by logging in.
 *
 * Mark migrated: a user who has already migrated is answered "not found" (callback(null)), because
 * Auth0, not the directory, now owns that user. Auth0 stores this connection's users as
 * auth0|<user_id>, so the script asks the Management API (GET /api/v2/users/auth0|<user_id>) once the
 * bridge has found the user: there, and the answer is "not found" (e.g. a migrated user who changed
 * their email in Auth0, asked for by the old one); Auth0's own "no such user", and the answer is the
 * profile. When Auth0 does not say (down, 429 past this script's budget, 5xx, a refused token) the
 * answer is a plain Error: Auth0 then fails that reset or check, and it can be tried again, whereas a
 * profile for a user who is already there could duplicate them. The directory stays read-only.
 *
 * Settings: the same keys and valid values as login.js (AUTH0_DOMAIN, BRIDGE_CLIENT_ID,
 * BRIDGE_CLIENT_SECRET, BRIDGE_AUDIENCE, BRIDGE_URL, optional BRIDGE_TIMEOUT_MS), and
 *   MANAGEMENT_CLIENT_ID      client id of a machine-to-machine application authorized for the tenant's
 *                             Auth0 Management API with the read:users permission only
 *   MANAGEMENT_CLIENT_SECRET  its client secret
 * AUTH0_DOMAIN must then be the tenant's own domain (the Management API is not served on a custom
 * domain). BRIDGE_TIMEOUT_MS is the budget for both calls together. The settings are checked before
 * every call; a bad one is answered with a plain Error naming it, never with "user not found".
 *
 * The Management API's rate limit is the tenant's, shared by every application: after a 429 this
 * container sends nothing to it before the announced reset, waiting for it only when the reset comes
 * within this script's budget.
 *
 * Auth0 scripts cannot share code, so login.js repeats the settings, token and request helpers
 * below; change both together.
 */
function getByEmail(email, callback) {
  // Sent this long after an announced rate-limit reset, for the clocks of Auth0 and this container.
  var RESET_MARGIN_MS = 100;
  // A reset further away than this is taken as this far: a wrong header must not silence the script for long.
  var LONGEST_RESET_WAIT_MS = 60000;
  // What a Management API request is given at least, after waiting for a reset.
  var REQUEST_MS = 1000;

  var settingsProblem = settingsMessage(bridgeSettingsProblems().concat(managementSettingsProblems()));
  if (settingsProblem) return callback(new Error(settingsProblem));
  var deadline = Date.now() + bridgeTimeoutMs();

  callBridge('/get-user', { username: email }, deadline).then(
    function (result) {
      if (result.status === 404 && result.body && result.body.error === 'user_not_found') return callback(null);
      if (result.status !== 200) return callback(new Error(unavailableMessage(result)));
      // A 200 that is not a profile is answered as login.js answers it (an Error naming what is wrong), unasked.
      if (unusableProfileMessage(result)) return answerWithProfile(result);
      migratedAlready(result.body.user_id, deadline).then(
        function (migrated) {
          if (migrated) return callback(null);
          return answerWithProfile(result);
        },
        function (err) {
          callback(
            new Error(
              'Could not tell whether this user has already migrated to Auth0, so no profile was passed on: ' +
                reasonOf(err),
            ),
          );
        },
      );
    },
    function (err) {
      callback(new Error('The user directory is unavailable: ' + err.message));
    },
  );

  // ---- get_user.js only: has this user migrated already? -----------------------------------

  function managementSettingsProblems() {
    var problems = [];
    ['MANAGEMENT_CLIENT_ID', 'MANAGEMENT_CLIENT_SECRET'].forEach(function (key) {
      if (!isSet(configuration[key])) problems.push(key + ' is missing');
    });
    return problems;
  }

  // The application allowed read:users on the Management API, and the `global` slot its token is kept in.
  function managementClient() {
    return {
      purpose: 'the Management API',
      slot: 'ldapBridgeManagementToken',
      clientId: configuration.MANAGEMENT_CLIENT_ID,
      clientSecret: configuration.MANAGEMENT_CLIENT_SECRET,
      audience: 'https://' + configuration.AUTH0_DOMAIN + '/api/v2/',
    };
  }

  // Resolves true when Auth0 holds auth0|<userId>, false when Auth0 itself says it does not; rejects otherwise.
  function migratedAlready(userId, deadline) {
    var auth0Id = 'auth0|' + userId;
    // Only the id is asked for: the script has no use for the rest of the user's Auth0 profile.
    var path = '/api/v2/users/' + encodeURIComponent(auth0Id) + '?fields=user_id&include_fields=true';
    return callManagementApi(path, deadline).then(function (result) {
      if (result.status === 200 && result.body && result.body.user_id === auth0Id) return true;
      // Only Auth0's own "no such user": a 404 from anything else (a path that is not there) proves nothing.
      if (result.status === 404 && result.body && result.body.errorCode === 'inexistent_user') return false;
      throw new Error(managementFailure(result));
    });
  }

  // One GET, plus at most one retry for a refused token and two after rate-limit resets, within `deadline`.
  function callManagementApi(path, deadline) {
    var client = managementClient();
    var retryToken = true;
    var throttledRetries = 2;
    var attempt = function () {
      return waitForTenant(deadline)
        .then(function () {
          return accessToken(client, deadline);
        })
        .then(function (token) {
          return getFromManagementApi(path, token, deadline);
        })
        .then(function (result) {
          if (result.status === 401 && retryToken) {
            // The cached token was refused (revoked, or the application's grant changed): one new token.
            retryToken = false;
            forgetToken(client);
            return attempt();
          }
          if (result.status === 429 && throttledRetries > 0) {
            // Sent again after the announced reset, or refused at once when that is past the budget.
            throttledRetries -= 1;
            return attempt();
          }
          return result;
        });
    };
    return attempt();
  }

  // Waits for the tenant's announced reset when it comes within the budget; refuses to send before it otherwise.
  function waitForTenant(deadline) {
    var resetAt = global.ldapBridgeManagementResetAt || 0;
    var now = Date.now();
    if (resetAt <= now) return Promise.resolve();
    if (resetAt + REQUEST_MS >= deadline) {
      return Promise.reject(
        new Error(
          "the Management API's rate limit for this tenant was reached (HTTP 429); nothing is sent before " +
            new Date(resetAt).toISOString() +
            ", past this script's time budget",
        ),
      );
    }
    return new Promise(function (resolve) {
      setTimeout(resolve, resetAt - now);
    });
  }

  function getFromManagementApi(path, token, deadline) {
    return fetch('https://' + configuration.AUTH0_DOMAIN + path, {
      method: 'GET',
      headers: { authorization: 'Bearer ' + token },
      signal: AbortSignal.timeout(remaining(deadline)),
    }).then(function (response) {
      if (response.status === 429) noteRateLimit(response.headers);
      return response.text().then(function (text) {
        var parsed = null;
        try {
          parsed = JSON.parse(text);
        } catch (e) {
          parsed = null;
        }
        return { status: response.status, body: parsed };
      });
    });
  }

  // x-ratelimit-reset (epoch seconds) or Retry-After (seconds), whichever is later; a second without either.
  function noteRateLimit(headers) {
    var now = Date.now();
    var reset = wholeNumber(headers.get('x-ratelimit-reset'));
    var retryAfter = wholeNumber(headers.get('retry-after'));
    var announced = Math.max(reset === null ? 0 : reset * 1000, retryAfter === null ? 0 : now + retryAfter * 1000);
    var resetAt = Math.min(announced > now ? announced : now + 1000, now + LONGEST_RESET_WAIT_MS) + RESET_MARGIN_MS;
    global.ldapBridgeManagementResetAt = Math.max(global.ldapBridgeManagementResetAt || 0, resetAt);
  }

  function wholeNumber(value) {
    return value !== null && /^[0-9]+$/.test(value.trim()) ? Number(value) : null;
  }

  // Names the status and Auth0's error code, and what fixes a missing permission; quotes nothing else.
  function managementFailure(result) {
    var body = result.body && typeof result.body === 'object' ? result.body : {};
    var code = typeof body.errorCode === 'string' ? body.errorCode : typeof body.error === 'string' ? body.error : '';
    var text = 'the Management API answered HTTP ' + result.status + ' ' + (code.slice(0, 64) || 'no error code');
    if (result.status === 403) {
      text += " (give MANAGEMENT_CLIENT_ID's application the read:users permission on the Auth0 Management API)";
    }
    if (result.status === 429) {
      text +=
        ' (the rate limit of this tenant, shared by all its applications, still reached after its announced resets)';
    }
    return text;
  }

  function reasonOf(err) {
    var cause = err && err.cause && err.cause.code;
    return String(err && err.message) + (typeof cause === 'string' ? ' (' + cause + ')' : '');
  }

  // ---- shared with login.js ----------------------------------------------------------

  // The settings are data typed into a dashboard: check them before anything is sent, so that a typo reads
  // as itself (not as a RangeError from deep inside fetch) and the bridge's bearer token never leaves this
  // machine over plain http. Returns the problems found, each naming its setting; no client secret's value
  // is ever shown.
  function bridgeSettingsProblems() {
    var problems = [];
    ['AUTH0_DOMAIN', 'BRIDGE_CLIENT_ID', 'BRIDGE_CLIENT_SECRET', 'BRIDGE_AUDIENCE', 'BRIDGE_URL'].forEach(
      function (key) {
        if (!isSet(configuration[key])) problems.push(key + ' is missing');
      },
    );
    var domain = configuration.AUTH0_DOMAIN;
    if (isSet(domain) && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(String(domain))) {
      problems.push(
        'AUTH0_DOMAIN is ' +
          quotedSetting(domain) +
          '; expected the tenant domain name alone, e.g. example.eu.auth0.com',
      );
    }
    var urlProblem = isSet(configuration.BRIDGE_URL) ? bridgeUrlProblem(String(configuration.BRIDGE_URL)) : null;
    if (urlProblem) problems.push(urlProblem);
    if (Number.isNaN(bridgeTimeoutMs())) {
      problems.push(
        'BRIDGE_TIMEOUT_MS is ' +
          quotedSetting(configuration.BRIDGE_TIMEOUT_MS) +
          '; expected a whole number of milliseconds from 1000 to 19000 (Auth0 stops a script at about 20 s), or no value for 15000',
      );
    }
    return problems;
  }

  // One message naming every bad setting, or null when there is none.
  function settingsMessage(problems) {
    if (problems.length === 0) return null;
    return 'The bridge settings of this connection are invalid (Custom Database > Settings): ' + problems.join('; ');
  }

  function bridgeUrlProblem(value) {
    var url;
    try {
      url = new URL(value);
    } catch (e) {
      return (
        'BRIDGE_URL is ' +
        quotedSetting(value) +
        "; expected the bridge's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
      );
    }
    // Neither is shown: either may hold a credential.
    if (url.username || url.password) return 'BRIDGE_URL must not contain a user name or password';
    if (/[?#]/.test(value)) return 'BRIDGE_URL must be a base URL without a ?query or #fragment';
    // The bearer token travels with every request; plain http is for a bridge on this very machine (tests).
    var loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
    if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return null;
    return (
      'BRIDGE_URL is ' +
      quotedSetting(value) +
      '; expected an https:// URL (http:// only to 127.0.0.1, localhost or [::1])'
    );
  }

  // The whole script's budget: the setting, or 15000 without one; NaN unless a whole number from 1000 to 19000,
  // which leaves the script time to answer before Auth0 stops it at about 20 s.
  function bridgeTimeoutMs() {
    var value = configuration.BRIDGE_TIMEOUT_MS;
    if (!isSet(value)) return 15000;
    var text = String(value).trim();
    var ms = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
    return ms >= 1000 && ms <= 19000 ? ms : Number.NaN;
  }

  function isSet(value) {
    return value !== undefined && value !== null && String(value).trim() !== '';
  }

  // A setting's value for a message, unless it holds a client secret (pasted into the wrong field). Every
  // script of the connection gets the same settings, so each guards both secrets.
  function quotedSetting(value) {
    var text = String(value);
    var holder = ['BRIDGE_CLIENT_SECRET', 'MANAGEMENT_CLIENT_SECRET'].filter(function (key) {
      var secret = configuration[key];
      return isSet(secret) && text.indexOf(String(secret)) !== -1;
    })[0];
    return holder ? '(a value containing ' + holder + ')' : JSON.stringify(text);
  }

  // Auth0 keys the user on user_id (stored as auth0|<user_id>): a 200 without one must not become a user.
  function answerWithProfile(result) {
    var problem = unusableProfileMessage(result);
    if (problem) return callback(new Error(problem));
    return callback(null, toAuth0Profile(result.body));
  }

  // Returns null for a usable profile, else a message that names the problem but quotes nothing of the body.
  function unusableProfileMessage(result) {
    var body = result.body;
    var problem = null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) problem = 'its body is not a JSON object';
    else if (typeof body.user_id !== 'string' || body.user_id.trim() === '') {
      problem = 'its profile has no user_id (a non-empty string)';
    }
    if (!problem) return null;
    return (
      'The bridge answered HTTP 200 but ' +
      problem +
      (result.requestId ? ' (request ' + result.requestId + ')' : '') +
      '; no profile was passed to Auth0'
    );
  }

  function toAuth0Profile(profile) {
    // Custom-database scripts must return app_metadata as "metadata" (Auth0's backwards compatibility).
    var result = {};
    Object.keys(profile).forEach(function (key) {
      if (key === 'app_metadata') result.metadata = profile.app_metadata;
      else result[key] = profile[key];
    });
    return result;
  }

  function unavailableMessage(result) {
    var code = (result.body && result.body.error) || 'no error code';
    return (
      'The user directory is unavailable (bridge answered HTTP ' +
      result.status +
      ' ' +
      code +
      (result.requestId ? ', request ' + result.requestId : '') +
      ')'
    );
  }

  // `deadline` is when the whole script's budget (BRIDGE_TIMEOUT_MS) runs out, in epoch milliseconds.
  function callBridge(path, body, deadline) {
    var client = bridgeClient();
    return accessToken(client, deadline)
      .then(function (token) {
        return postToBridge(path, body, token, deadline);
      })
      .then(function (result) {
        if (result.status !== 401 || !result.body || result.body.error !== 'invalid_token') return result;
        // The cached token was refused (revoked, or the bridge's keys rotated): one new token, one retry.
        forgetToken(client);
        return accessToken(client, deadline).then(function (token) {
          return postToBridge(path, body, token, deadline);
        });
      });
  }

  // The machine-to-machine application the bridge accepts, and the `global` slot its token is kept in.
  function bridgeClient() {
    return {
      purpose: 'the bridge',
      slot: 'ldapBridgeToken',
      clientId: configuration.BRIDGE_CLIENT_ID,
      clientSecret: configuration.BRIDGE_CLIENT_SECRET,
      audience: configuration.BRIDGE_AUDIENCE,
    };
  }

  function postToBridge(path, body, token, deadline) {
    var url = String(configuration.BRIDGE_URL).replace(/\/+$/, '') + path;
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(remaining(deadline)),
    }).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try {
          parsed = JSON.parse(text);
        } catch (e) {
          parsed = null;
        }
        return { status: response.status, body: parsed, requestId: response.headers.get('x-request-id') };
      });
    });
  }

  // One machine-to-machine token per client and script container, kept in `global` until shortly before
  // it expires: Auth0 meters these tokens. Concurrent runs share one pending request.
  function accessToken(client, deadline) {
    var key = [configuration.AUTH0_DOMAIN, client.clientId, client.audience].join('|');
    var cached = global[client.slot];
    if (cached && cached.key === key && cached.refreshAt > Date.now()) return Promise.resolve(cached.token);
    var pending = global[client.slot + 'Pending'];
    if (pending && pending.key === key) return pending.promise;
    var promise = fetch('https://' + configuration.AUTH0_DOMAIN + '/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.clientSecret,
        audience: client.audience,
      }),
      signal: AbortSignal.timeout(remaining(deadline)),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (json) {
          if (response.status !== 200 || typeof json.access_token !== 'string') {
            throw new Error(
              'could not get an access token for ' +
                client.purpose +
                ' (HTTP ' +
                response.status +
                ' ' +
                (json.error || '') +
                ')',
            );
          }
          var lifetimeMs = Number(json.expires_in || 0) * 1000;
          var margin = Math.min(5 * 60 * 1000, lifetimeMs / 10);
          global[client.slot] = { key: key, token: json.access_token, refreshAt: Date.now() + lifetimeMs - margin };
          return json.access_token;
        });
    });
    global[client.slot + 'Pending'] = { key: key, promise: promise };
    var clear = function () {
      var current = global[client.slot + 'Pending'];
      if (current && current.promise === promise) global[client.slot + 'Pending'] = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  function forgetToken(client) {
    global[client.slot] = undefined;
  }

  function remaining(deadline) {
    return Math.max(1, deadline - Date.now());
  }
}
