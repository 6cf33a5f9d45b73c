/**
 * auth0-ldap-bridge: a post-login Action (Actions > Library > Build custom, trigger "Login /
 * Post Login"). Auth0 issues an access token for any API audience a user asks for while
 * logging in; the bridge accepts only machine-to-machine tokens, and checks gty and sub, but
 * this Action keeps user tokens for its audience from being issued at all.
 *
 * Secret: BRIDGE_AUDIENCE, the bridge API's identifier.
 */
exports.onExecutePostLogin = async (event, api) => {
  const bridgeAudience = event.secrets.BRIDGE_AUDIENCE;
  if (!bridgeAudience) {
    // Fail closed: without the secret this Action cannot tell which audience to protect.
    api.access.deny('Login is misconfigured (BRIDGE_AUDIENCE secret missing); contact the administrator.');
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
