/**
 * The "Login" script of the connection once the migration is finished: it answers that no such
 * user exists, without reaching the directory, the bridge or anything else. `auth0-ldap-bridge
 * cutover` sends this file; it can also be pasted by hand into Authentication > Database >
 * (connection) > Custom Database > Login.
 *
 * Auth0's guide to automatic migration ends with "Disconnect external user store": replace the
 * Login and Get User scripts with no-operation functions and leave "Import Users to Auth0" on.
 * With import on, Auth0 answers every user it holds from its own store and runs this script only
 * for an email it does not know; with it off, Auth0 would use only the scripts, not the users
 * imported into its store.
 * https://auth0.com/docs/manage-users/user-migration/configure-automatic-migration-from-your-database
 *
 * `callback(null, null)` is the script of Auth0's guide: no error and no profile, so the login
 * fails as it does for an email nobody holds. It reads no setting (configuration) and sends
 * nothing anywhere.
 */
function login(_email, _password, callback) {
  return callback(null, null);
}
