/**
 * auth0-ldap-bridge: the "Login" script of an Auth0 custom database connection.
 * Paste this whole file into Authentication > Database > (connection) > Custom Database > Login,
 * with "Import Users to Auth0" turned on. It sends the credentials to the bridge, which binds
 * them against the directory, and returns the bridge's profile to Auth0.
 *
 * Settings (Custom Database > Settings), all required except the last:
 *   AUTH0_DOMAIN          the tenant's own domain name alone, e.g. example.eu.auth0.com (token endpoint)
 *   BRIDGE_CLIENT_ID      client id of the machine-to-machine application allowed to call the bridge
 *   BRIDGE_CLIENT_SECRET  its client secret
 *   BRIDGE_AUDIENCE       the bridge API's identifier in Auth0
 *   BRIDGE_URL            the bridge's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod;
 *                         https only (http only to 127.0.0.1, localhost or [::1]), no credentials, ?query or #fragment
 *   BRIDGE_TIMEOUT_MS     optional: the whole script's time budget, a whole number from 1000 to 19000,
 *                         default 15000 (Auth0 stops scripts at ~20 s)
 * The settings are checked before every call; a bad one is answered with a plain Error naming it (an
 * outage to Auth0, never "wrong password"), and nothing is sent. MANAGEMENT_CLIENT_ID and
 * MANAGEMENT_CLIENT_SECRET belong to get_user.js: this script does not use them, and never quotes the secret.
 *
 * Unlike get_user.js, this script does not ask Auth0 whether the user has migrated already: Auth0 calls
 * Login only for a user it cannot find in its own store, and asking would spend the tenant-wide
 * Management API rate limit on every first login.
 *
 * Auth0 scripts cannot share code, so get_user.js repeats the settings, token and request helpers
 * below; change both together.
 */
function login(userNameOrEmail, password, callback) {
  var ACCOUNT_STATE_MESSAGES = {
    account_disabled: 'Your account is disabled. Contact your administrator.',
    account_expired: 'Your account has expired. Contact your administrator.',
    account_locked: 'Your account is locked. Contact your administrator.',
    password_expired: 'Your password has expired. Change it in your company directory, then log in again.',
    password_change_required: 'You must change your password in your company directory before you can log in.',
  };

  var settingsProblem = settingsMessage(bridgeSettingsProblems());
  if (settingsProblem) return callback(new Error(settingsProblem));

  callBridge('/login', { username: userNameOrEmail, password: password }, Date.now() + bridgeTimeoutMs()).then(
    function (result) {
      var error = result.body && result.body.error;
      if (result.status === 200) return answerWithProfile(result);
      if (result.status === 401 && error === 'invalid_credentials') {
        return callback(new WrongUsernameOrPasswordError(userNameOrEmail, 'Wrong username or password.'));
      }
      if (result.status === 403 && ACCOUNT_STATE_MESSAGES[error]) {
        return callback(new UnauthorizedError(ACCOUNT_STATE_MESSAGES[error]));
      }
      // Anything else is an outage, never "wrong password": Auth0 counts those toward brute-force protection.
      return callback(new Error(unavailableMessage(result)));
    },
    function (err) {
      callback(new Error('The user directory is unavailable: ' + err.message));
    },
  );

  // ---- shared with get_user.js ----------------------------------------------------------

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
