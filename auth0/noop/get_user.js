/**
 * The "Get User" script of the connection once the migration is finished: it answers that no such
 * user exists, without reaching the directory, the bridge or anything else. `auth0-ldap-bridge
 * cutover` sends this file; it can also be pasted by hand into Authentication > Database >
 * (connection) > Custom Database > Get User.
 *
 * Auth0 runs Get User for sign-ups, password resets and email or username changes of a user it
 * does not hold yet. After the migration every user it should know is in its own store, so "no
 * such user" (`callback(null, null)`, the no-operation function of Auth0's guide, "Disconnect
 * external user store") is the answer for anyone else: no account appears from the directory any
 * more. Leave "Import Users to Auth0" on (see noop/login.js for why).
 * https://auth0.com/docs/manage-users/user-migration/configure-automatic-migration-from-your-database
 */
function getByEmail(_email, callback) {
  return callback(null, null);
}
