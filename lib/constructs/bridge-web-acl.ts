// The WAF web ACL in front of the API's stage: AWS managed rule groups (IP reputation, common
// rules, known bad inputs) and a per-source-IP rate limit.
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { DEPLOYMENT_SETTINGS as D } from '../../lambdas/contract/settings.ts';
import { hideFromLogicalIds } from './construct-ids.ts';
import { checkInRange } from './prop-checks.ts';

export interface BridgeWebAclProps {
  /** The API stage the web ACL protects. */
  readonly stage: apigateway.Stage;
  /**
   * Requests one source IP may send in 5 minutes before the web ACL blocks it.
   * @default 2000
   */
  readonly rateLimitPer5Minutes?: number;
}

export class BridgeWebAcl extends Construct {
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: BridgeWebAclProps) {
    super(scope, id);
    hideFromLogicalIds(this);
    const limit = props.rateLimitPer5Minutes ?? D.wafRateLimitPer5Minutes.default;
    checkInRange('BridgeWebAcl', 'rateLimitPer5Minutes', limit, D.wafRateLimitPer5Minutes);

    const managedRule = (name: string, priority: number): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
      visibilityConfig: { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: false, metricName: name },
    });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      description: 'auth0-ldap-bridge: AWS managed rules and a per-IP rate limit',
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        sampledRequestsEnabled: false,
        metricName: 'LdapBridgeWebAcl',
      },
      rules: [
        managedRule('AWSManagedRulesAmazonIpReputationList', 0),
        managedRule('AWSManagedRulesCommonRuleSet', 1),
        managedRule('AWSManagedRulesKnownBadInputsRuleSet', 2),
        {
          name: 'RateLimitPerSourceIp',
          priority: 3,
          action: { block: {} },
          statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP' } },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            sampledRequestsEnabled: false,
            metricName: 'RateLimitPerSourceIp',
          },
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
