/**
 * auth0-ldap-bridge: a post-login Action (Actions > Library > Build custom, trigger "Login /
 * Post Login"). Auth0 issues an access token for any API audience a user asks for while
 * logging in; the bridge accepts only machine-to-machine tokens, and checks gty and sub, but
 * this Action keeps user tokens for its audience from being issued at all.
 *
 * Secret: BRIDGE_AUDIENCE, the bridge API's identifier.
 *
 * Without that secret the Action lets every login through and logs an error (Monitoring > Actions
 * Logs). It runs for every login to every application of the tenant, so denying there would lock
 * everyone out over one missing setting, while what it guards stays guarded: the bridge refuses any
 * token whose gty is not client-credentials or whose sub is not <azp>@clients of an allowed client,
 * so a user token issued for its audience is still answered 401 invalid_token.
 */
exports.onExecutePostLogin = async (event, api) => {
  const bridgeAudience = event.secrets && event.secrets.BRIDGE_AUDIENCE;
  if (typeof bridgeAudience !== 'string' || bridgeAudience.trim() === '') {
    console.error(
      'deny-bridge-audience: the secret BRIDGE_AUDIENCE is missing, so this Action cannot tell which audience to ' +
        'deny and lets this login through (the bridge itself still refuses user tokens). Add the secret and deploy.',
    );
    return;
  }
  const requestedAudience =
    (event.resource_server && event.resource_server.identifier) ||
    (event.request && event.request.query && event.request.query.audience) ||
    (event.request && event.request.body && event.request.body.audience);
  if (requestedAudience === bridgeAudience) {
    api.access.deny('This API only accepts machine-to-machine tokens.');
  }
};
