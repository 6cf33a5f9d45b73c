// The TOKEN authorizer's function: verifies Auth0 client-credentials tokens for API Gateway. It
// runs outside the VPC because it fetches the issuer's JWKS from the internet, and it is given
// the token and logging settings only: nothing about the directory.
import { Duration } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEPLOYMENT_SETTINGS as D } from '../../lambdas/contract/settings.ts';
import { createBridgeFunction } from './bridge-function.ts';
import { hideFromLogicalIds } from './construct-ids.ts';

export interface TokenAuthorizerFunctionProps {
  /** The function's environment: `authorizerEnvironment()` of lib/config.ts. */
  readonly environment: Record<string, string>;
  /** @default the settings table's logRetentionDays (90 days) */
  readonly logRetention?: logs.RetentionDays;
}

export class TokenAuthorizerFunction extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: TokenAuthorizerFunctionProps) {
    super(scope, id);
    hideFromLogicalIds(this);
    this.function = createBridgeFunction(this, 'AuthorizerFunction', {
      entry: 'lambdas/entry/authorizer.ts',
      description:
        'auth0-ldap-bridge TOKEN authorizer: verifies Auth0 client-credentials tokens (outside the VPC: it fetches the JWKS)',
      environment: props.environment,
      timeout: Duration.seconds(5),
      logRetention: props.logRetention ?? (D.logRetentionDays.default as logs.RetentionDays),
    });
  }
}
