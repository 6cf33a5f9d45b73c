/**
 * auth0-ldap-bridge: the "Login" script of an Auth0 custom database connection.
 * Paste this whole file into Authentication > Database > (connection) > Custom Database > Login,
 * with "Import Users to Auth0" turned on. It sends the credentials to the bridge, which binds
 * them against the directory, and returns the bridge's profile to Auth0.
 *
 * Settings (Custom Database > Settings), all required except the last:
 *   AUTH0_DOMAIN          the tenant's own domain, e.g. example.eu.auth0.com (token endpoint)
 *   BRIDGE_CLIENT_ID      client id of the machine-to-machine application allowed to call the bridge
 *   BRIDGE_CLIENT_SECRET  its client secret
 *   BRIDGE_AUDIENCE       the bridge API's identifier in Auth0
 *   BRIDGE_URL            the bridge's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod
 *   BRIDGE_TIMEOUT_MS     optional: the whole script's time budget, default 15000 (Auth0 stops scripts at ~20 s)
 *
 * Auth0 scripts cannot share code, so get_user.js repeats the token and request helpers below;
 * change both together.
 */
function login(userNameOrEmail, password, callback) {
  var ACCOUNT_STATE_MESSAGES = {
    account_disabled: 'Your account is disabled. Contact your administrator.',
    account_expired: 'Your account has expired. Contact your administrator.',
    account_locked: 'Your account is locked. Contact your administrator.',
    password_expired: 'Your password has expired. Change it in your company directory, then log in again.',
    password_change_required: 'You must change your password in your company directory before you can log in.',
  };

  callBridge('/login', { username: userNameOrEmail, password: password }).then(
    function (result) {
      var error = result.body && result.body.error;
      if (result.status === 200) return callback(null, toAuth0Profile(result.body));
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

  function callBridge(path, body) {
    var deadline = Date.now() + Number(configuration.BRIDGE_TIMEOUT_MS || 15000);
    return accessToken(deadline)
      .then(function (token) {
        return postToBridge(path, body, token, deadline);
      })
      .then(function (result) {
        if (result.status !== 401 || !result.body || result.body.error !== 'invalid_token') return result;
        // The cached token was refused (revoked, or the bridge's keys rotated): one new token, one retry.
        forgetToken();
        return accessToken(deadline).then(function (token) {
          return postToBridge(path, body, token, deadline);
        });
      });
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

  // One machine-to-machine token per script container, kept in `global` until shortly before it
  // expires: Auth0 meters these tokens. Concurrent logins share one pending request.
  function accessToken(deadline) {
    var key = [configuration.AUTH0_DOMAIN, configuration.BRIDGE_CLIENT_ID, configuration.BRIDGE_AUDIENCE].join('|');
    var cached = global.ldapBridgeToken;
    if (cached && cached.key === key && cached.refreshAt > Date.now()) return Promise.resolve(cached.token);
    var pending = global.ldapBridgeTokenPending;
    if (pending && pending.key === key) return pending.promise;
    var promise = fetch('https://' + configuration.AUTH0_DOMAIN + '/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: configuration.BRIDGE_CLIENT_ID,
        client_secret: configuration.BRIDGE_CLIENT_SECRET,
        audience: configuration.BRIDGE_AUDIENCE,
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
              'could not get an access token for the bridge (HTTP ' + response.status + ' ' + (json.error || '') + ')',
            );
          }
          var lifetimeMs = Number(json.expires_in || 0) * 1000;
          var margin = Math.min(5 * 60 * 1000, lifetimeMs / 10);
          global.ldapBridgeToken = { key: key, token: json.access_token, refreshAt: Date.now() + lifetimeMs - margin };
          return json.access_token;
        });
    });
    global.ldapBridgeTokenPending = { key: key, promise: promise };
    var clear = function () {
      if (global.ldapBridgeTokenPending && global.ldapBridgeTokenPending.promise === promise)
        global.ldapBridgeTokenPending = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  function forgetToken() {
    global.ldapBridgeToken = undefined;
  }

  function remaining(deadline) {
    return Math.max(1, deadline - Date.now());
  }
}
