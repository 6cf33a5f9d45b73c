/**
 * Tenant-to-tenant migration: the "Login" script of a custom database connection in the NEW Auth0 tenant
 * whose users still live in a database connection of an OLD Auth0 tenant. Paste this whole file into
 * Authentication > Database > (connection) > Custom Database > Login of the new tenant, with "Import Users
 * to Auth0" turned on: each user moves at their first login, with the password they already have.
 *
 * What it does: it asks the old tenant to check the password (the resource owner password grant with
 * realm, grant_type http://auth0.com/oauth/grant-type/password-realm, realm = OLD_CONNECTION, scope openid),
 * takes the user's id from the id_token that answer carries, and reads that user from the old tenant's
 * Management API (GET /api/v2/users/{id}): the id_token holds neither app_metadata nor user_metadata.
 * The id_token comes straight from the old tenant's token endpoint over TLS, in answer to this script's
 * own client secret, so its issuer and audience are checked and its signature is not (OpenID Connect Core
 * 3.1.3.7 allows this for a token received directly from the token endpoint).
 *
 * The profile handed to Auth0 (the same one get_user.js builds): user_id, email, email_verified,
 * username, name, given_name, family_name, nickname, picture, metadata (the old app_metadata; Auth0's
 * scripts must call it that) and user_metadata; absent ones are left out. user_id is the id of the user's
 * identity in OLD_CONNECTION, the old user_id without its "auth0|": the new tenant prepends "auth0|" again,
 * so a user keeps the very user_id (the `sub` of their tokens) they had in the old tenant, and applications
 * and APIs that key on it keep working. Auth0 asks for user_ids unique across a tenant's database
 * connections: the old tenant's ids are, unless the new tenant receives the same old users a second way.
 *
 * Answers: a wrong password or an unknown user (the old tenant's 403 invalid_grant) is
 * WrongUsernameOrPasswordError; a user blocked in the old tenant, or a password it found in a data breach,
 * is UnauthorizedError with a message for the user; anything else is a plain Error naming what the old
 * tenant said and what fixes it: the old tenant down or slow, any 5xx or 429 (its rate limits, its
 * brute-force protection), a grant not enabled, MFA, a refused client. Never "wrong password" for those:
 * the new tenant counts WrongUsernameOrPasswordError toward its own brute-force protection.
 *
 * Settings (Custom Database > Settings), all required except the last:
 *   OLD_TENANT_DOMAIN       the old tenant's own domain name alone, e.g. old-tenant.eu.auth0.com (not a custom
 *                           domain: the Management API is served only on the tenant's own domain)
 *   OLD_CONNECTION          the name of the old tenant's database connection the users come from
 *   OLD_CLIENT_ID           client id of the old tenant's application used for the password grant
 *   OLD_CLIENT_SECRET       its client secret
 *   OLD_MGMT_CLIENT_ID      client id of an old-tenant machine-to-machine application authorized for the old
 *                           tenant's Auth0 Management API with the read:users permission only
 *   OLD_MGMT_CLIENT_SECRET  its client secret
 *   OLD_TENANT_TIMEOUT_MS   optional: the whole script's time budget, a whole number from 1000 to 19000,
 *                           default 15000 (Auth0 stops scripts at ~20 s)
 * The settings are checked before every call; a bad one is answered with a plain Error naming it, and
 * nothing is sent. No client secret's value is ever quoted.
 *
 * In the old tenant: OLD_CLIENT_ID's application is a confidential one (a regular web or machine-to-machine
 * application, token endpoint authentication Post or Basic) with the Password grant type (Advanced Settings >
 * Grant Types; grant_types holds http://auth0.com/oauth/grant-type/password-realm) and OLD_CONNECTION
 * enabled for it. OLD_MGMT_CLIENT_ID's application has the Client Credentials grant and read:users on the
 * Auth0 Management API. The same application may serve both.
 *
 * What to watch:
 * - The old tenant's attack protection judges these logins by the new tenant's outbound IP addresses, since a
 *   script cannot pass the user's (auth0-forwarded-for needs the user's address, which a script is not given):
 *   10 wrong passwords for one user, typed anywhere, block that user there (429 too_many_attempts, answered
 *   here as a plain Error), and suspicious IP throttling may throttle those few addresses for everyone. Allow-list
 *   the new tenant's outbound IP addresses in the old tenant's Brute-force Protection and Suspicious IP
 *   Throttling; the new tenant's own brute-force protection, which sees each user's address, still counts
 *   the wrong passwords this script reports.
 * - The old tenant's rate limits apply: its Authentication API (per-IP limits, all of them from those few
 *   addresses) and its Management API (per tenant, one read per first login here). After a Management API
 *   429 this container sends nothing to it before the announced reset.
 * - MFA on the old tenant blocks this grant (403 mfa_required: a script cannot answer a second factor): turn
 *   it off for OLD_CLIENT_ID's application there, e.g. in the Action that asks for it.
 * - A mistyped OLD_CONNECTION is not caught: Auth0 does not document the password grant's answer for an
 *   unknown realm. Check one login before opening the connection to users.
 *
 * Auth0 scripts cannot share code, so get_user.js repeats the settings, profile and Management API helpers
 * below; change both together.
 */
function login(userNameOrEmail, password, callback) {
  var BLOCKED_MESSAGE = 'Your account is blocked. Contact your administrator.';
  var REFUSED_MESSAGE = 'The login was refused. Contact your administrator.';
  var BREACHED_MESSAGE =
    'This password appeared in a data breach elsewhere, so it cannot be used to log in. Reset your password.';

  var settingsProblem = settingsMessage(oldTenantSettingsProblems());
  if (settingsProblem) return callback(new Error(settingsProblem));
  // Auth0 accepts no empty password; the old tenant need not be asked.
  if (typeof password !== 'string' || password === '') {
    return callback(new WrongUsernameOrPasswordError(userNameOrEmail, 'Wrong email or password.'));
  }
  var deadline = Date.now() + oldTenantTimeoutMs();

  passwordGrant(userNameOrEmail, password, deadline).then(
    function (result) {
      var code = errorCodeOf(result.body);
      if (result.status === 200) return answerForSubject(idTokenSubject(result.body));
      if (result.status === 403 && code === 'invalid_grant') {
        return callback(new WrongUsernameOrPasswordError(userNameOrEmail, 'Wrong email or password.'));
      }
      if (result.status === 401 && code === 'unauthorized') {
        // "user is blocked", or the message of a rule or Action of the old tenant that refused the login.
        return callback(
          new UnauthorizedError(
            result.body.error_description === 'user is blocked' ? BLOCKED_MESSAGE : REFUSED_MESSAGE,
          ),
        );
      }
      if (result.status === 401 && code === 'password_leaked') return callback(new UnauthorizedError(BREACHED_MESSAGE));
      return callback(new Error(passwordGrantFailure(result.status, code)));
    },
    function (err) {
      callback(new Error('The old tenant is unavailable: ' + reasonOf(err)));
    },
  );

  // ---- login.js only: the password grant -----------------------------------------------------

  function passwordGrant(username, secret, deadline) {
    return fetch(oldTenantUrl('/oauth/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
        realm: configuration.OLD_CONNECTION,
        username: username,
        password: secret,
        client_id: configuration.OLD_CLIENT_ID,
        client_secret: configuration.OLD_CLIENT_SECRET,
        // Only the user's id is read from the answer; the profile comes from the Management API.
        scope: 'openid',
      }),
      signal: AbortSignal.timeout(remaining(deadline)),
    }).then(readAnswer);
  }

  // The password was right: read that user from the old tenant and answer with their profile.
  function answerForSubject(subject) {
    if (!subject) {
      return callback(
        new Error(
          'The old tenant accepted the password but its answer had no id_token for OLD_CLIENT_ID from https://' +
            oldTenantDomain() +
            '/ naming a user; no profile was passed to Auth0',
        ),
      );
    }
    var path = '/api/v2/users/' + encodeURIComponent(subject) + '?' + userFieldsQuery();
    callManagementApi(path, deadline).then(
      function (result) {
        if (result.status !== 200 || !result.body || typeof result.body !== 'object') {
          return callback(new Error('Could not read the user from the old tenant: ' + managementFailure(result)));
        }
        answerWithOldUser(result.body);
      },
      function (err) {
        callback(new Error('Could not read the user from the old tenant: ' + reasonOf(err)));
      },
    );
  }

  // The id_token's sub, when the token is the old tenant's and meant for OLD_CLIENT_ID; null otherwise.
  function idTokenSubject(body) {
    var parts = body && typeof body.id_token === 'string' ? body.id_token.split('.') : [];
    if (parts.length !== 3) return null;
    var claims = null;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch (e) {
      return null;
    }
    if (!claims || typeof claims !== 'object') return null;
    var audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.iss !== 'https://' + oldTenantDomain() + '/') return null;
    if (audiences.indexOf(String(configuration.OLD_CLIENT_ID)) === -1) return null;
    return typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : null;
  }

  // Names the status and the old tenant's error code, and what fixes it; quotes nothing else of the answer.
  function passwordGrantFailure(status, code) {
    var text = 'The old tenant did not check the password (HTTP ' + status + ' ' + (code || 'no error code') + ')';
    if (status === 403 && code === 'unauthorized_client') {
      return (
        text +
        ": enable the Password grant type (http://auth0.com/oauth/grant-type/password-realm) for OLD_CLIENT_ID's" +
        ' application in the old tenant (Applications > the application > Advanced Settings > Grant Types)'
      );
    }
    if (status === 401 && (code === 'access_denied' || code === 'invalid_client')) {
      return text + ': the old tenant refused OLD_CLIENT_ID and OLD_CLIENT_SECRET; check both settings';
    }
    if (code === 'mfa_required') {
      return (
        text +
        ": the old tenant asks for a second factor, which a script cannot give; turn MFA off for OLD_CLIENT_ID's" +
        ' application in the old tenant'
      );
    }
    if (status === 429 && code === 'too_many_attempts') {
      return (
        text +
        ": the old tenant's attack protection blocks this user (brute-force protection) or this tenant's" +
        " outbound addresses (suspicious IP throttling); unblock the user there, and allow-list this tenant's" +
        " outbound IP addresses in the old tenant's attack protection"
      );
    }
    if (status === 429) return text + ": the old tenant's Authentication API rate limit";
    return text;
  }

  // ---- shared with get_user.js ----------------------------------------------------------

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
