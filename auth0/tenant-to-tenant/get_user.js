/**
 * Tenant-to-tenant migration: the "Get User" script of a custom database connection in the NEW Auth0 tenant
 * whose users still live in a database connection of an OLD Auth0 tenant (login.js is its "Login" script).
 * Paste this whole file into Authentication > Database > (connection) > Custom Database > Get User of the new
 * tenant. Auth0 calls it for "forgot password", sign-up checks and email or username changes, with an email
 * it cannot find in its own store; a user who resets their password then moves with the new one.
 *
 * What it does: it asks the old tenant's Management API for the users with that email
 * (GET /api/v2/users-by-email, immediately consistent, unlike the user search; an exact, case-sensitive
 * match, and Auth0 stores database users' emails in lower case, so the email is asked for in lower case)
 * and keeps those with an identity in OLD_CONNECTION: users of the old tenant's other connections (social,
 * enterprise, other databases) with the same email are not this connection's. None: "not found"
 * (callback(null)). One: its profile, the same object login.js builds (user_id = the id of the identity in
 * OLD_CONNECTION, the old user_id without "auth0|", which the new tenant prepends again; metadata = the old
 * app_metadata). More than one: a plain Error, never "pick the first". A user blocked in the old tenant: a
 * plain Error, so that neither a password reset nor a sign-up with that email gets round the block. Anything
 * the old tenant does not answer (down, slow, 5xx, 429, a refused token or permission): a plain Error, never
 * "not found", which would let someone sign up with the email of a user who has not moved yet.
 *
 * Settings (Custom Database > Settings): the same keys and valid values as login.js, which checks all of
 * them too (Auth0 gives every script of a connection the same settings):
 *   OLD_TENANT_DOMAIN       the old tenant's own domain name alone, e.g. old-tenant.eu.auth0.com (not a custom
 *                           domain: the Management API is served only on the tenant's own domain)
 *   OLD_CONNECTION          the name of the old tenant's database connection the users come from
 *   OLD_CLIENT_ID           client id of the old tenant's application used for login.js's password grant
 *   OLD_CLIENT_SECRET       its client secret (this script sends neither, but never quotes the secret)
 *   OLD_MGMT_CLIENT_ID      client id of an old-tenant machine-to-machine application authorized for the old
 *                           tenant's Auth0 Management API with the read:users permission only
 *   OLD_MGMT_CLIENT_SECRET  its client secret
 *   OLD_TENANT_TIMEOUT_MS   optional: the whole script's time budget, a whole number from 1000 to 19000,
 *                           default 15000 (Auth0 stops scripts at ~20 s)
 * The settings are checked before every call; a bad one is answered with a plain Error naming it, never
 * with "not found", and nothing is sent.
 *
 * In the old tenant: OLD_MGMT_CLIENT_ID's application has the Client Credentials grant and read:users on the
 * Auth0 Management API. Its token is kept in `global` until shortly before it expires (Auth0 meters them).
 *
 * What to watch:
 * - The old tenant's Management API rate limit is per tenant, shared by every application there; this script
 *   reads once per call. After a 429 this container sends nothing to it before the announced reset.
 * - A user who has moved and then changed their email in the new tenant can still be found here by the old
 *   email: this script does not ask the new tenant whether the user is there already.
 * - A mistyped OLD_CONNECTION matches nobody: every user reads as "not found". Check one password reset
 *   before opening the connection to users.
 *
 * Auth0 scripts cannot share code, so login.js repeats the settings, profile and Management API helpers
 * below; change both together.
 */
function getByEmail(email, callback) {
  var settingsProblem = settingsMessage(oldTenantSettingsProblems());
  if (settingsProblem) return callback(new Error(settingsProblem));
  var deadline = Date.now() + oldTenantTimeoutMs();

  var path =
    '/api/v2/users-by-email?email=' + encodeURIComponent(String(email).toLowerCase()) + '&' + userFieldsQuery();
  callManagementApi(path, deadline).then(
    function (result) {
      if (result.status !== 200 || !Array.isArray(result.body)) {
        return callback(new Error('Could not look the user up in the old tenant: ' + managementFailure(result)));
      }
      var found = result.body.filter(function (user) {
        return oldConnectionIdentity(user) !== null;
      });
      if (found.length === 0) return callback(null);
      if (found.length > 1) {
        return callback(
          new Error(
            'The old tenant holds ' +
              found.length +
              ' users with this email in OLD_CONNECTION ' +
              quotedSetting(configuration.OLD_CONNECTION) +
              '; none was passed to Auth0',
          ),
        );
      }
      if (found[0].blocked === true) {
        return callback(
          new Error(
            'This user is blocked in the old tenant; no profile was passed to Auth0, so that neither a password' +
              ' reset nor a sign-up with this email gets round the block',
          ),
        );
      }
      return answerWithOldUser(found[0]);
    },
    function (err) {
      callback(new Error('Could not look the user up in the old tenant: ' + reasonOf(err)));
    },
  );

  // ---- shared with login.js ----------------------------------------------------------

  // The settings are data typed into a dashboard: check them before anything is sent, so that a typo reads as
  // itself (not as a RangeError from deep inside fetch). Returns the problems found, each naming its setting.
  function oldTenantSettingsProblems() {
    var problems = [];
    [
      'OLD_TENANT_DOMAIN',
      'OLD_CONNECTION',
      'OLD_CLIENT_ID',
      'OLD_CLIENT_SECRET',
      'OLD_MGMT_CLIENT_ID',
      'OLD_MGMT_CLIENT_SECRET',
    ].forEach(function (key) {
      if (!isSet(configuration[key])) problems.push(key + ' is missing');
    });
    var domain = configuration.OLD_TENANT_DOMAIN;
    // A domain name alone, so that every URL below is https://<domain>/...: no scheme, port, path or credential.
    if (isSet(domain) && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(String(domain))) {
      problems.push(
        'OLD_TENANT_DOMAIN is ' +
          quotedSetting(domain) +
          "; expected the old tenant's own domain name alone, e.g. old-tenant.eu.auth0.com",
      );
    }
    var connection = configuration.OLD_CONNECTION;
    // Auth0's rule for a connection name.
    if (isSet(connection) && !/^[a-z0-9](-[a-z0-9]|[a-z0-9]){0,127}$/i.test(String(connection))) {
      problems.push(
        'OLD_CONNECTION is ' +
          quotedSetting(connection) +
          "; expected the old tenant's database connection name (letters, digits and inner single hyphens," +
          ' at most 128 characters), e.g. Username-Password-Authentication',
      );
    }
    if (Number.isNaN(oldTenantTimeoutMs())) {
      problems.push(
        'OLD_TENANT_TIMEOUT_MS is ' +
          quotedSetting(configuration.OLD_TENANT_TIMEOUT_MS) +
          '; expected a whole number of milliseconds from 1000 to 19000 (Auth0 stops a script at about 20 s), or no value for 15000',
      );
    }
    return problems;
  }

  // One message naming every bad setting, or null when there is none.
  function settingsMessage(problems) {
    if (problems.length === 0) return null;
    return (
      'The old-tenant settings of this connection are invalid (Custom Database > Settings): ' + problems.join('; ')
    );
  }

  // The whole script's budget: the setting, or 15000 without one; NaN unless a whole number from 1000 to 19000,
  // which leaves the script time to answer before Auth0 stops it at about 20 s.
  function oldTenantTimeoutMs() {
    var value = configuration.OLD_TENANT_TIMEOUT_MS;
    if (!isSet(value)) return 15000;
    var text = String(value).trim();
    var ms = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
    return ms >= 1000 && ms <= 19000 ? ms : Number.NaN;
  }

  function isSet(value) {
    return value !== undefined && value !== null && String(value).trim() !== '';
  }

  // A setting's value for a message, unless it holds a client secret (pasted into the wrong field).
  function quotedSetting(value) {
    var text = String(value);
    var holder = ['OLD_CLIENT_SECRET', 'OLD_MGMT_CLIENT_SECRET'].filter(function (key) {
      var secret = configuration[key];
      return isSet(secret) && text.indexOf(String(secret)) !== -1;
    })[0];
    return holder ? '(a value containing ' + holder + ')' : JSON.stringify(text);
  }

  // Auth0 answers with the domain in lower case (the id_token's iss); the setting may be typed otherwise.
  function oldTenantDomain() {
    return String(configuration.OLD_TENANT_DOMAIN).toLowerCase();
  }

  function oldTenantUrl(path) {
    return 'https://' + oldTenantDomain() + path;
  }

  // What is read of an old user: the profile's sources, the identities that tie them to OLD_CONNECTION, blocked.
  function userFieldsQuery() {
    var fields = [
      'user_id',
      'identities',
      'blocked',
      'email',
      'email_verified',
      'username',
      'name',
      'given_name',
      'family_name',
      'nickname',
      'picture',
      'app_metadata',
      'user_metadata',
    ];
    return 'fields=' + encodeURIComponent(fields.join(',')) + '&include_fields=true';
  }

  // The user's identity in OLD_CONNECTION (a database identity of the old tenant), or null.
  function oldConnectionIdentity(user) {
    var identities = user && Array.isArray(user.identities) ? user.identities : [];
    return (
      identities.filter(function (identity) {
        return (
          identity &&
          identity.provider === 'auth0' &&
          identity.connection === String(configuration.OLD_CONNECTION) &&
          typeof identity.user_id === 'string' &&
          identity.user_id !== ''
        );
      })[0] || null
    );
  }

  // Answers Auth0 with the old user's profile, or with a plain Error when the user is not one of OLD_CONNECTION.
  function answerWithOldUser(user) {
    var identity = oldConnectionIdentity(user);
    if (!identity) {
      return callback(
        new Error(
          "The old tenant's user has no identity in OLD_CONNECTION " +
            quotedSetting(configuration.OLD_CONNECTION) +
            '; no profile was passed to Auth0',
        ),
      );
    }
    return callback(null, toAuth0Profile(user, identity));
  }

  function toAuth0Profile(user, identity) {
    // The identity's id is the old user_id without "auth0|", which the new tenant prepends again.
    var profile = { user_id: identity.user_id };
    ['email', 'email_verified', 'username', 'name', 'given_name', 'family_name', 'nickname', 'picture'].forEach(
      function (key) {
        if (user[key] !== undefined && user[key] !== null && user[key] !== '') profile[key] = user[key];
      },
    );
    // Custom-database scripts must return app_metadata as "metadata" (Auth0's backwards compatibility).
    if (isObject(user.app_metadata)) profile.metadata = user.app_metadata;
    if (isObject(user.user_metadata)) profile.user_metadata = user.user_metadata;
    return profile;
  }

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  function errorCodeOf(body) {
    var code = body && typeof body === 'object' ? body.errorCode || body.error : '';
    return typeof code === 'string' ? code.slice(0, 64) : '';
  }

  // One GET to the old tenant's Management API, plus one retry with a new token when the cached one is refused.
  function callManagementApi(path, deadline) {
    var resetAt = global.oldTenantManagementResetAt || 0;
    if (resetAt > Date.now()) {
      return Promise.reject(
        new Error(
          "the old tenant's Management API rate limit was reached (HTTP 429); nothing is sent to it before " +
            new Date(resetAt).toISOString(),
        ),
      );
    }
    return managementToken(deadline)
      .then(function (token) {
        return getFromManagementApi(path, token, deadline);
      })
      .then(function (result) {
        if (result.status !== 401) return result;
        // The cached token was refused (revoked, or the application's grant changed): one new token.
        global.oldTenantManagementToken = undefined;
        return managementToken(deadline).then(function (token) {
          return getFromManagementApi(path, token, deadline);
        });
      });
  }

  function getFromManagementApi(path, token, deadline) {
    return fetch(oldTenantUrl(path), {
      method: 'GET',
      headers: { authorization: 'Bearer ' + token },
      signal: AbortSignal.timeout(remaining(deadline)),
    })
      .then(readAnswer)
      .then(function (result) {
        if (result.status === 429) noteRateLimit(result.headers);
        return result;
      });
  }

  // A Management API token for OLD_MGMT_CLIENT_ID, kept in `global` until shortly before it expires (Auth0
  // meters machine-to-machine tokens). Concurrent runs share one pending request.
  function managementToken(deadline) {
    var key = [oldTenantDomain(), configuration.OLD_MGMT_CLIENT_ID].join('|');
    var cached = global.oldTenantManagementToken;
    if (cached && cached.key === key && cached.refreshAt > Date.now()) return Promise.resolve(cached.token);
    var pending = global.oldTenantManagementTokenPending;
    if (pending && pending.key === key) return pending.promise;
    var promise = fetch(oldTenantUrl('/oauth/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: configuration.OLD_MGMT_CLIENT_ID,
        client_secret: configuration.OLD_MGMT_CLIENT_SECRET,
        audience: oldTenantUrl('/api/v2/'),
      }),
      signal: AbortSignal.timeout(remaining(deadline)),
    })
      .then(readAnswer)
      .then(function (result) {
        var body = result.body || {};
        if (result.status !== 200 || typeof body.access_token !== 'string') {
          throw new Error(
            "could not get a token for the old tenant's Management API (HTTP " +
              result.status +
              ' ' +
              (errorCodeOf(body) || 'no error code') +
              '; check OLD_MGMT_CLIENT_ID, OLD_MGMT_CLIENT_SECRET and its Client Credentials grant)',
          );
        }
        var lifetimeMs = Number(body.expires_in || 0) * 1000;
        var margin = Math.min(5 * 60 * 1000, lifetimeMs / 10);
        global.oldTenantManagementToken = {
          key: key,
          token: body.access_token,
          refreshAt: Date.now() + lifetimeMs - margin,
        };
        return body.access_token;
      });
    global.oldTenantManagementTokenPending = { key: key, promise: promise };
    var clear = function () {
      var current = global.oldTenantManagementTokenPending;
      if (current && current.promise === promise) global.oldTenantManagementTokenPending = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  // After a 429, nothing is sent before x-ratelimit-reset (epoch seconds) or Retry-After (seconds), whichever is
  // later; a second without either; at most a minute, so that a wrong header cannot silence the script for long.
  function noteRateLimit(headers) {
    var now = Date.now();
    var reset = wholeNumber(headers.get('x-ratelimit-reset'));
    var retryAfter = wholeNumber(headers.get('retry-after'));
    var announced = Math.max(reset === null ? 0 : reset * 1000, retryAfter === null ? 0 : now + retryAfter * 1000);
    var resetAt = Math.min(announced > now ? announced : now + 1000, now + 60000);
    global.oldTenantManagementResetAt = Math.max(global.oldTenantManagementResetAt || 0, resetAt);
  }

  function wholeNumber(value) {
    return value !== null && /^[0-9]+$/.test(value.trim()) ? Number(value) : null;
  }

  // Names the status and Auth0's error code, and what fixes a missing permission; quotes nothing else.
  function managementFailure(result) {
    var text =
      "the old tenant's Management API answered HTTP " +
      result.status +
      ' ' +
      (errorCodeOf(result.body) || 'no error code');
    if (result.status === 403) {
      text += " (give OLD_MGMT_CLIENT_ID's application the read:users permission on the old tenant's Management API)";
    }
    if (result.status === 429) text += " (the old tenant's rate limit, shared by all its applications)";
    return text;
  }

  function readAnswer(response) {
    return response.text().then(function (text) {
      var parsed = null;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        parsed = null;
      }
      return { status: response.status, body: parsed, headers: response.headers };
    });
  }

  function reasonOf(err) {
    var cause = err && err.cause && err.cause.code;
    return String(err && err.message) + (typeof cause === 'string' ? ' (' + cause + ')' : '');
  }

  // `deadline` is when the whole script's budget (OLD_TENANT_TIMEOUT_MS) runs out, in epoch milliseconds.
  function remaining(deadline) {
    return Math.max(1, deadline - Date.now());
  }
}
