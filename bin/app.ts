// The CDK app: reads configuration and builds the stack. No logic lives here.
import { App } from 'aws-cdk-lib';
import { LdapBridgeStack } from '../lib/ldap-bridge-stack.ts';

const app = new App();
new LdapBridgeStack(app, 'LdapBridge', {
  description: 'auth0-ldap-bridge: lets Auth0 custom-database scripts reach a private LDAP directory',
});
app.synth();
