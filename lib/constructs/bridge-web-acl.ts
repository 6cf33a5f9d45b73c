// The WAF web ACL in front of the API's stage. Its rules, in the order WAF evaluates them:
//   0. with allowedSourceIps: a request from any other source is blocked before another rule runs;
//   1. AWS's IP reputation list;
//   2. AWS's common rule set and 3. its known-bad-inputs rule set, with every rule that inspects the
//      request body counted instead of blocking (BODY_RULES_COUNTED);
//   4. a per-source-IP rate limit that never blocks what the stage's own throttle accepts.
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { DEPLOYMENT_SETTINGS as D } from '../../lambdas/contract/settings.ts';
import { hideFromLogicalIds } from './construct-ids.ts';
import { checkInRange } from './prop-checks.ts';

/** The rate limit's window: the per-IP limit counts requests over this many seconds. */
export const RATE_LIMIT_WINDOW_SECONDS = 300;

/**
 * The rules of AWS's managed rule groups that match on the request body, by rule group: counted
 * (a metric and a label), never blocking. The only body this API accepts is `{"username",
 * "password"}`, already held to the routes' JSON schema by API Gateway, and the password is only
 * ever a bind credential. These rules judge what a password looks like: one containing `../`,
 * `<script`, `169.254.169.254`, `http://` or `${jndi:` would be refused before the bridge and its
 * user could never migrate, while the patterns protect nothing here.
 *
 * Rule action overrides rather than a scope-down statement: a scope-down decides whether the
 * whole group looks at a request, and every request here is a POST with a body, so excluding the
 * body that way would also switch off the header, URI and query rules, which stay blocking.
 * SizeRestrictions_BODY (over 8 KB) is counted too: the schema already bounds the body, and a
 * size rule tied to a different limit than the schema's would be one more way to refuse a
 * password the contract accepts.
 *
 * Names as the AWS WAF Developer Guide's "Baseline rule groups" lists them (ReactJSRCE_BODY is a
 * newer known-bad-inputs rule). WAF silently ignores an override that names no rule of a managed
 * group (API reference, RuleActionOverride), so a name the group's version lacks changes nothing;
 * a body rule a new version adds blocks until it is listed here.
 */
export const BODY_RULES_COUNTED = {
  AWSManagedRulesCommonRuleSet: [
    'SizeRestrictions_BODY',
    'EC2MetaDataSSRF_BODY',
    'GenericLFI_BODY',
    'GenericRFI_BODY',
    'CrossSiteScripting_BODY',
  ],
  AWSManagedRulesKnownBadInputsRuleSet: ['JavaDeserializationRCE_BODY', 'Log4JRCE_BODY', 'ReactJSRCE_BODY'],
} as const satisfies Record<string, readonly string[]>;

export interface BridgeWebAclProps {
  /** The API stage the web ACL protects. */
  readonly stage: apigateway.Stage;
  /**
   * The stage's steady request rate (requests per second): the per-IP rate limit never blocks
   * what the stage accepts.
   * @default 50 (the settings table's throttling.rateLimit)
   */
  readonly stageRateLimit?: number;
  /**
   * The stage's burst (requests): with the rate, what the stage accepts in the rate limit's window.
   * @default 100 (the settings table's throttling.burstLimit)
   */
  readonly stageBurstLimit?: number;
  /**
   * Requests one source IP may send in 5 minutes before the web ACL blocks it; at least what the
   * stage accepts in that time (`stageRateLimit` x 300 + `stageBurstLimit`).
   * @default twice what the stage accepts: WAF also counts the requests the stage answers 429, so a
   * source just above the stage's rate is throttled, not blocked outright
   */
  readonly rateLimitPer5Minutes?: number;
  /**
   * The only source addresses (IPv4 addresses or CIDRs, e.g. Auth0's egress IPs for the tenant's
   * region) whose requests reach the other rules; every other source is blocked first.
   * @default no restriction
   */
  readonly allowedSourceIps?: string[];
}

export class BridgeWebAcl extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  /** The IP set of `allowedSourceIps`, when given. */
  readonly allowedSources?: wafv2.CfnIPSet;

  constructor(scope: Construct, id: string, props: BridgeWebAclProps) {
    super(scope, id);
    hideFromLogicalIds(this);
    const { limit, addresses } = validate(props);

    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: false,
      metricName,
    });
    const managedRule = (
      name: string,
      priority: number,
      countedRules: readonly string[] = [],
    ): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ...(countedRules.length > 0
            ? { ruleActionOverrides: countedRules.map((rule) => ({ name: rule, actionToUse: { count: {} } })) }
            : {}),
        },
      },
      visibilityConfig: visibility(name),
    });

    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    if (addresses.length > 0) {
      this.allowedSources = new wafv2.CfnIPSet(this, 'AllowedSourceIps', {
        scope: 'REGIONAL',
        ipAddressVersion: 'IPV4',
        addresses,
        description: 'auth0-ldap-bridge: the only sources allowed to call the API, from allowedSourceIps',
      });
      // First and blocking: WAF refuses other sources before any rule group or the rate limit
      // spends work (or a rate-limit count) on them, and before API Gateway is involved at all.
      rules.push({
        name: 'OnlyAllowedSourceIps',
        priority: 0,
        action: { block: {} },
        statement: {
          notStatement: { statement: { ipSetReferenceStatement: { arn: this.allowedSources.attrArn } } },
        },
        visibilityConfig: visibility('OnlyAllowedSourceIps'),
      });
    }
    rules.push(
      managedRule('AWSManagedRulesAmazonIpReputationList', 1),
      managedRule('AWSManagedRulesCommonRuleSet', 2, BODY_RULES_COUNTED.AWSManagedRulesCommonRuleSet),
      managedRule('AWSManagedRulesKnownBadInputsRuleSet', 3, BODY_RULES_COUNTED.AWSManagedRulesKnownBadInputsRuleSet),
      {
        name: 'RateLimitPerSourceIp',
        priority: 4,
        action: { block: {} },
        statement: {
          rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: RATE_LIMIT_WINDOW_SECONDS },
        },
        visibilityConfig: visibility('RateLimitPerSourceIp'),
      },
    );
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      description: 'auth0-ldap-bridge: allowed sources, AWS managed rules with body rules counted, a per-IP rate limit',
      visibilityConfig: visibility('LdapBridgeWebAcl'),
      rules,
    });
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}

/** The least per-IP limit over the rate limit's window that never blocks what a stage throttled at this rate and burst accepts. */
export function leastRateLimitPer5Minutes(stageRateLimit: number, stageBurstLimit: number): number {
  return stageRateLimit * RATE_LIMIT_WINDOW_SECONDS + stageBurstLimit;
}

/**
 * The default per-IP limit: twice what the stage accepts. WAF counts every request, those the
 * stage throttles with 429 included, so Auth0 sending somewhat above the stage's rate for a few
 * minutes (a Monday-morning peak from one egress address) gets 429s for the excess, not a block.
 */
export function defaultRateLimitPer5Minutes(stageRateLimit: number, stageBurstLimit: number): number {
  return 2 * leastRateLimitPer5Minutes(stageRateLimit, stageBurstLimit);
}

/** An IPv4 address or CIDR as WAF's IP sets take it (always with a prefix length). */
export function ipSetAddress(source: string): string | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(source);
  if (!match || match.slice(1, 5).some((part) => Number(part) > 255)) return undefined;
  const prefix = match[5] === undefined ? 32 : Number(match[5]);
  // WAF's IP sets take every prefix length except /0.
  if (prefix < 1 || prefix > 32) return undefined;
  return `${match.slice(1, 5).join('.')}/${prefix}`;
}

function validate(props: BridgeWebAclProps): { limit: number; addresses: string[] } {
  checkInRange('BridgeWebAcl', 'stageRateLimit', props.stageRateLimit, D.throttlingRateLimit);
  checkInRange('BridgeWebAcl', 'stageBurstLimit', props.stageBurstLimit, D.throttlingBurstLimit);
  const stageRateLimit = props.stageRateLimit ?? D.throttlingRateLimit.default;
  const stageBurstLimit = props.stageBurstLimit ?? D.throttlingBurstLimit.default;
  const least = leastRateLimitPer5Minutes(stageRateLimit, stageBurstLimit);
  const limit = props.rateLimitPer5Minutes ?? defaultRateLimitPer5Minutes(stageRateLimit, stageBurstLimit);
  checkInRange('BridgeWebAcl', 'rateLimitPer5Minutes', limit, D.wafRateLimitPer5Minutes);
  if (limit < least)
    throw new Error(
      `BridgeWebAcl: rateLimitPer5Minutes ${limit} is below stageRateLimit ${stageRateLimit} x ${RATE_LIMIT_WINDOW_SECONDS} + stageBurstLimit ${stageBurstLimit} = ${least}: the web ACL would block a source the stage still accepts`,
    );
  const addresses = (props.allowedSourceIps ?? []).map((source) => {
    const address = ipSetAddress(source);
    if (address === undefined)
      throw new Error(
        `BridgeWebAcl: allowedSourceIps ${JSON.stringify(source)} expected an IPv4 address or CIDR (prefix /1 to /32)`,
      );
    return address;
  });
  return { limit, addresses };
}
