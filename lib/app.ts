// Builds the CDK app from context: the named environment, its stack, and cdk-nag's AwsSolutions
// checks (a finding without an acknowledgement fails synthesis). bin/app.ts and the audit share it.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readDeploymentConfig } from './config.ts';
import { LdapBridgeStack } from './ldap-bridge-stack.ts';

export interface BuiltApp {
  app: App;
  stack: LdapBridgeStack;
  nag: AwsSolutionsChecks;
}

export interface BuildOptions {
  /**
   * Register cdk-nag as a synthesis validation, so a finding fails `cdk synth`. The audit turns it
   * off to list findings instead of stopping at the first.
   * @default true
   */
  failSynthOnFindings?: boolean;
}

export function buildApp(app: App = new App(), options: BuildOptions = {}): BuiltApp {
  const envName = app.node.tryGetContext('env') ?? app.node.tryGetContext('defaultEnvironment');
  const config = readDeploymentConfig(app.node.tryGetContext('environments'), envName);
  const stack = new LdapBridgeStack(app, config.stackName, {
    config,
    description: `auth0-ldap-bridge (${config.envName}): lets Auth0 custom-database scripts reach a private LDAP directory`,
    ...(config.account || config.region ? { env: { account: config.account, region: config.region } } : {}),
  });
  const nag = new AwsSolutionsChecks(app);
  if (options.failSynthOnFindings ?? true) Validations.of(app).addPlugins(nag);
  return { app, stack, nag };
}
