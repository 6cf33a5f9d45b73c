/**
 * auth0-ldap-bridge: the "Get User" script of an Auth0 custom database connection.
 * Paste this whole file into Authentication > Database > (connection) > Custom Database > Get User.
 * Auth0 calls it for "forgot password" and sign-up checks; it asks the bridge for the user's
 * profile without a password. The profile is the same object /login returns, so a user who
 * migrates through a password reset is identical to one who migrates by logging in.
 *
 * Settings: the same keys as login.js (AUTH0_DOMAIN, BRIDGE_CLIENT_ID, BRIDGE_CLIENT_SECRET,
 * BRIDGE_AUDIENCE, BRIDGE_URL, optional BRIDGE_TIMEOUT_MS).
 *
 * Auth0 scripts cannot share code, so login.js repeats the token and request helpers below;
 * change both together.
 */
function getByEmail(email, callback) {
  callBridge('/get-user', { username: email }).then(
    function (result) {
      if (result.status === 200) return callback(null, toAuth0Profile(result.body));
      if (result.status === 404 && result.body && result.body.error === 'user_not_found') return callback(null);
      return callback(new Error(unavailableMessage(result)));
    },
    function (err) {
      callback(new Error('The user directory is unavailable: ' + err.message));
    },
  );

  // ---- shared with login.js ----------------------------------------------------------

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
