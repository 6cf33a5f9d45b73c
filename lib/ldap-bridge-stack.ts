// The deployment stack. It wires constructs from validated configuration; the API Gateway,
// authorizer and VPC Lambdas arrive with the infrastructure issue (#4). Until then it is an
// empty stack so that `cdk synth` already works offline in every pipeline.
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

export class LdapBridgeStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
  }
}
