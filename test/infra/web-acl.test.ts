// The web ACL in every shipped environment: what it may block and what it must never block.
// A password is never judged by a managed pattern rule; the per-IP rate limit never blocks what
// the stage accepts; allowedSourceIps is enforced first.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { describe, expect, it } from 'vitest';
import { BODY_RULES_COUNTED, BridgeWebAcl, type BridgeWebAclProps } from '../../lib/constructs/bridge-web-acl.ts';
import { build, CDK_CONTEXT } from './support.ts';

type Json = Record<string, unknown>;
interface WafRule {
  Name: string;
  Priority: number;
  Action?: Json;
  OverrideAction?: Json;
  Statement: Json;
}

/** What WAF accepts as a description (CreateWebACL, CreateIPSet); the service refuses anything else at deploy time. */
const WAF_DESCRIPTION = /^[\w+=:#@/\-,.][\w+=:#@/\-,.\s]+[\w+=:#@/\-,.]$/;

const ENVIRONMENTS = Object.keys(CDK_CONTEXT.environments);
const built = Object.fromEntries(ENVIRONMENTS.map((name) => [name, build(name)]));

function webAclOf(name: string) {
  const template = built[name]!.template;
  const acls = Object.values(template.findResources('AWS::WAFv2::WebACL')) as Array<{ Properties: Json }>;
  expect(acls).toHaveLength(1);
  const rules = [...(acls[0]!.Properties.Rules as WafRule[])].sort((a, b) => a.Priority - b.Priority);
  return { template, acl: acls[0]!.Properties, rules };
}

const managedGroup = (rule: WafRule) => rule.Statement.ManagedRuleGroupStatement as Json | undefined;
const overridesOf = (rule: WafRule) =>
  (managedGroup(rule)?.RuleActionOverrides as Array<{ Name: string; ActionToUse: Json }> | undefined) ?? [];

it('ships at least the demo and prod environments', () => {
  expect(ENVIRONMENTS).toEqual(expect.arrayContaining(['demo', 'prod']));
});

describe.each(ENVIRONMENTS)('the web ACL of %s', (name) => {
  const environment = CDK_CONTEXT.environments[name] as {
    throttling?: { rateLimit?: number };
    allowedSourceIps?: string[];
  };

  it('never blocks a request for what its body looks like: every body rule of the common and known-bad-inputs groups only counts', () => {
    const { rules } = webAclOf(name);
    for (const [group, bodyRules] of Object.entries(BODY_RULES_COUNTED)) {
      const rule = rules.find((candidate) => managedGroup(candidate)?.Name === group);
      expect(rule, group).toBeDefined();
      expect(overridesOf(rule!)).toEqual(bodyRules.map((rule) => ({ Name: rule, ActionToUse: { Count: {} } })));
    }
    expect(BODY_RULES_COUNTED.AWSManagedRulesCommonRuleSet).toEqual(
      expect.arrayContaining([
        'CrossSiteScripting_BODY',
        'GenericLFI_BODY',
        'GenericRFI_BODY',
        'EC2MetaDataSSRF_BODY',
        'SizeRestrictions_BODY',
      ]),
    );
    expect(BODY_RULES_COUNTED.AWSManagedRulesKnownBadInputsRuleSet).toEqual(
      expect.arrayContaining(['Log4JRCE_BODY', 'JavaDeserializationRCE_BODY']),
    );
  });

  it("keeps the groups' header, URI, query and cookie rules blocking: the groups themselves are not overridden to count", () => {
    const { rules } = webAclOf(name);
    const groups = rules.filter((rule) => managedGroup(rule) !== undefined);
    expect(groups.map((rule) => rule.Name)).toEqual([
      'AWSManagedRulesAmazonIpReputationList',
      'AWSManagedRulesCommonRuleSet',
      'AWSManagedRulesKnownBadInputsRuleSet',
    ]);
    for (const rule of groups) {
      expect(rule.OverrideAction).toEqual({ None: {} });
      expect(managedGroup(rule)?.ScopeDownStatement).toBeUndefined();
      for (const override of overridesOf(rule)) expect(override.Name).toMatch(/_BODY$/);
    }
  });

  it("rate-limits a source IP at twice what the stage's own throttle accepts in 5 minutes (rate x 300 + burst)", () => {
    const { template, rules } = webAclOf(name);
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0] as { Properties: Json };
    const { ThrottlingRateLimit: stageRate, ThrottlingBurstLimit: stageBurst } = (
      stage.Properties.MethodSettings as Array<{ ThrottlingRateLimit: number; ThrottlingBurstLimit: number }>
    )[0]!;
    expect(stageRate).toBe(environment.throttling?.rateLimit ?? 50);
    const rateRules = rules.filter((rule) => rule.Statement.RateBasedStatement !== undefined);
    expect(rateRules).toHaveLength(1);
    expect(rateRules[0]!.Statement.RateBasedStatement).toEqual({
      Limit: 2 * (stageRate * 300 + stageBurst),
      AggregateKeyType: 'IP',
      EvaluationWindowSec: 300,
    });
    expect(rateRules[0]!.Action).toEqual({ Block: {} });
  });

  it('blocks every source outside allowedSourceIps with an IP set rule evaluated before any other rule, and keeps the resource policy', () => {
    const { template, rules } = webAclOf(name);
    const sources = environment.allowedSourceIps;
    const ipSets = template.findResources('AWS::WAFv2::IPSet') as Record<string, { Properties: Json }>;
    if (!sources?.length) {
      expect(ipSets).toEqual({});
      expect(JSON.stringify(rules)).not.toContain('IPSetReferenceStatement');
      return;
    }
    const [first, ...others] = rules;
    expect(first).toMatchObject({ Name: 'OnlyAllowedSourceIps', Action: { Block: {} } });
    expect(others.every((rule) => rule.Priority > first!.Priority)).toBe(true);
    const [ipSetId, ipSet] = Object.entries(ipSets)[0]!;
    expect(Object.keys(ipSets)).toHaveLength(1);
    expect(first!.Statement).toEqual({
      NotStatement: { Statement: { IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [ipSetId, 'Arn'] } } } },
    });
    expect(ipSet.Properties).toMatchObject({
      Scope: 'REGIONAL',
      IPAddressVersion: 'IPV4',
      Addresses: sources.map((source) => (source.includes('/') ? source : `${source}/32`)),
    });
    const api = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0] as { Properties: Json };
    expect(JSON.stringify(api.Properties.Policy)).toContain(JSON.stringify(sources));
  });

  it('gives the web ACL and its IP set descriptions WAF accepts', () => {
    const { template, acl } = webAclOf(name);
    expect(acl.Description).toMatch(WAF_DESCRIPTION);
    for (const ipSet of Object.values(template.findResources('AWS::WAFv2::IPSet')))
      expect((ipSet as { Properties: Json }).Properties.Description).toMatch(WAF_DESCRIPTION);
  });
});

describe('BridgeWebAcl props', () => {
  const newWebAcl = (props: Omit<BridgeWebAclProps, 'stage'>) => {
    const stack = new Stack(new App(), 'Test');
    const api = new apigateway.RestApi(stack, 'Api');
    api.root.addMethod('GET', new apigateway.MockIntegration());
    return () => new BridgeWebAcl(stack, 'WebAcl', { stage: api.deploymentStage, ...props });
  };
  const rateLimitOf = (webAcl: BridgeWebAcl) => {
    const acl = Object.values(Template.fromStack(Stack.of(webAcl)).findResources('AWS::WAFv2::WebACL'))[0] as {
      Properties: { Rules: WafRule[] };
    };
    return acl.Properties.Rules.find((rule) => rule.Name === 'RateLimitPerSourceIp')?.Statement.RateBasedStatement;
  };

  it("derives the per-IP limit from the stage's throttle: 50 req/s and a burst of 100 by default, so 2 x 15100", () => {
    expect(rateLimitOf(newWebAcl({})())).toMatchObject({ Limit: 30_200 });
    expect(rateLimitOf(newWebAcl({ stageRateLimit: 200, stageBurstLimit: 400 })())).toMatchObject({ Limit: 120_800 });
  });

  it('fails if the per-IP limit is below what the stage accepts, naming both', () => {
    expect(newWebAcl({ stageRateLimit: 50, rateLimitPer5Minutes: 2000 })).toThrow(
      'BridgeWebAcl: rateLimitPer5Minutes 2000 is below stageRateLimit 50 x 300 + stageBurstLimit 100 = 15100',
    );
    expect(newWebAcl({ stageRateLimit: 50, rateLimitPer5Minutes: 15_100 })).not.toThrow();
  });

  it('fails if the rate limit is under what WAF accepts, naming it', () => {
    expect(newWebAcl({ rateLimitPer5Minutes: 5 })).toThrow(
      'BridgeWebAcl: rateLimitPer5Minutes 5 expected 10-2000000000 requests',
    );
  });

  it('fails if an allowed source is not an IPv4 address or CIDR WAF takes, naming it', () => {
    expect(newWebAcl({ allowedSourceIps: ['52.28.56.226', '0.0.0.0/0'] })).toThrow(
      'BridgeWebAcl: allowedSourceIps "0.0.0.0/0" expected an IPv4 address or CIDR',
    );
    expect(newWebAcl({ allowedSourceIps: ['300.1.1.1'] })).toThrow('allowedSourceIps "300.1.1.1"');
  });

  it('adds no source rule without allowedSourceIps', () => {
    const webAcl = newWebAcl({})();
    expect(webAcl.allowedSources).toBeUndefined();
    Template.fromStack(Stack.of(webAcl)).resourceCountIs('AWS::WAFv2::IPSet', 0);
  });
});
