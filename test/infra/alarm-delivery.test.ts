// Alarms reach someone: every topic the stack creates for them can be used by CloudWatch, which
// publishes as the service principal cloudwatch.amazonaws.com. A topic under the AWS managed key
// alias/aws/sns, or one whose key or topic policy leaves CloudWatch out, delivers nothing.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { build, CDK_CONTEXT, environment } from './support.ts';

type Json = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties?: Json }>;
interface Statement {
  Effect: string;
  Principal?: { Service?: string | string[] };
  Action: string | string[];
  Condition?: Json;
}

const CLOUDWATCH = 'cloudwatch.amazonaws.com';

const cloudWatchMay = (statements: Statement[], actions: string[]) =>
  statements.filter(
    (statement) =>
      statement.Effect === 'Allow' &&
      [statement.Principal?.Service ?? []].flat().includes(CLOUDWATCH) &&
      actions.every((action) => [statement.Action].flat().includes(action)),
  );

/**
 * Why CloudWatch could not deliver to each topic of the template that an alarm notifies, as
 * "topic: reason"; empty when every one can be delivered to.
 */
function undeliverableAlarmTopics(template: Template): string[] {
  const resources = template.toJSON().Resources as Resources;
  const topicIds = new Set(
    Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm')
      .flatMap((alarm) => (alarm.Properties?.AlarmActions as Array<{ Ref?: string }> | undefined) ?? [])
      .map((action) => action.Ref)
      .filter((ref): ref is string => ref !== undefined && resources[ref]?.Type === 'AWS::SNS::Topic'),
  );
  return [...topicIds].flatMap((topicId) => {
    const problems: string[] = [];
    const keyRef = resources[topicId]!.Properties?.KmsMasterKeyId as { 'Fn::GetAtt'?: string[] } | string | undefined;
    const keyId = typeof keyRef === 'object' ? keyRef['Fn::GetAtt']?.[0] : undefined;
    const key = keyId ? resources[keyId] : undefined;
    if (key?.Type !== 'AWS::KMS::Key') {
      problems.push(`encrypted with ${JSON.stringify(keyRef)}, not a customer key of this stack`);
    } else {
      if (key.Properties?.EnableKeyRotation !== true) problems.push('its key does not rotate');
      const keyPolicy = (key.Properties?.KeyPolicy as { Statement?: Statement[] } | undefined)?.Statement ?? [];
      if (cloudWatchMay(keyPolicy, ['kms:Decrypt', 'kms:GenerateDataKey*']).length === 0)
        problems.push(`its key policy does not let ${CLOUDWATCH} use the key`);
    }
    const topicPolicies = Object.values(resources).filter(
      (resource) =>
        resource.Type === 'AWS::SNS::TopicPolicy' &&
        JSON.stringify(resource.Properties?.Topics).includes(`"${topicId}"`),
    );
    const topicStatements = topicPolicies.flatMap(
      (policy) => (policy.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? [],
    );
    if (topicPolicies.length > 0 && cloudWatchMay(topicStatements, ['sns:Publish']).length === 0)
      problems.push(`its topic policy replaces the default one and does not let ${CLOUDWATCH} publish`);
    return problems.map((problem) => `${topicId}: ${problem}`);
  });
}

const withAlarmEmail = (name: string) => environment(name, { alarms: { email: 'security@corp.example' } });

describe.each(Object.keys(CDK_CONTEXT.environments))('alarm delivery in %s', (name) => {
  const { template } = build(name);
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Array<{ Properties: Json }>;
  const configured = (CDK_CONTEXT.environments[name] as { alarms?: { topicArn?: string; email?: string } }).alarms;

  it('lets CloudWatch deliver to every topic the stack creates for its alarms', () => {
    expect(alarms.length).toBeGreaterThan(0);
    expect(undeliverableAlarmTopics(template)).toEqual([]);
  });

  it('notifies the configured existing topic as it is, or a new topic under a customer key, never alias/aws/sns', () => {
    const actions = alarms.map((alarm) => alarm.Properties.AlarmActions);
    if (configured?.topicArn) {
      for (const action of actions) expect(action).toEqual([configured.topicArn]);
      template.resourceCountIs('AWS::SNS::Topic', 0);
      template.resourceCountIs('AWS::KMS::Key', 0);
      return;
    }
    const topics = Object.entries(template.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(1);
    const [topicId, topic] = topics[0]!;
    for (const action of actions) expect(action).toEqual([{ Ref: topicId }]);
    expect(JSON.stringify(topic)).not.toContain('alias/aws/sns');
    const keyId = (topic.Properties.KmsMasterKeyId as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;
    const key = template.toJSON().Resources[keyId];
    expect(key).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
    // The statement AWS documents, without conditions: a condition CloudWatch's KMS calls may not
    // carry would stop delivery silently. (Publishing to the topic is scoped to this account's alarms.)
    const keyStatements = cloudWatchMay(key.Properties.KeyPolicy.Statement, ['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(keyStatements).toEqual([expect.objectContaining({ Resource: '*' })]);
    expect(keyStatements[0]).not.toHaveProperty('Condition');
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: configured?.email });
  });
});

describe('alarm delivery with alarms.email in every environment', () => {
  it.each(Object.keys(CDK_CONTEXT.environments))('lets CloudWatch deliver to the new topic in %s', (name) => {
    const { template } = build(name, withAlarmEmail(name));
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::KMS::Key', 1);
    expect(undeliverableAlarmTopics(template)).toEqual([]);
  });
});

describe('the delivery check', () => {
  const alarmOn = (topic: sns.ITopic, stack: Stack) => {
    new cloudwatch.Alarm(stack, 'Alarm', {
      metric: new cloudwatch.Metric({ namespace: 'Test', metricName: 'Test' }),
      threshold: 1,
      evaluationPeriods: 1,
    }).addAlarmAction(new SnsAction(topic));
    return Template.fromStack(stack);
  };

  it('fails for a topic under the AWS managed key alias/aws/sns, as the stack had it', () => {
    const stack = new Stack(new App(), 'Test');
    const topic = new sns.Topic(stack, 'AlarmTopic', {
      enforceSSL: true,
      masterKey: kms.Alias.fromAliasName(stack, 'SnsKey', 'alias/aws/sns'),
    });
    expect(undeliverableAlarmTopics(alarmOn(topic, stack))).toEqual([
      expect.stringMatching(/encrypted with .*alias\/aws\/sns.*, not a customer key of this stack$/),
      expect.stringContaining(`does not let ${CLOUDWATCH} publish`),
    ]);
  });

  it('fails for a customer key whose policy leaves CloudWatch out', () => {
    const stack = new Stack(new App(), 'Test');
    const topic = new sns.Topic(stack, 'AlarmTopic', {
      masterKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
    });
    expect(undeliverableAlarmTopics(alarmOn(topic, stack))).toEqual([
      expect.stringContaining(`its key policy does not let ${CLOUDWATCH} use the key`),
    ]);
  });
});
