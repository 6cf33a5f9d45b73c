// Builds the CDK app from cdk.json's environments, with changes, without bundling (fast).
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type BuiltApp } from '../../lib/app.ts';

export const CDK_CONTEXT = JSON.parse(readFileSync('cdk.json', 'utf8')).context as {
  environments: Record<string, Record<string, unknown>>;
};

export function environment(name: string, changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...structuredClone(CDK_CONTEXT.environments[name]!), ...changes };
}

export function build(
  name: string,
  env: Record<string, unknown> = environment(name),
): BuiltApp & { template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], env: name, environments: { [name]: env } } });
  const built = buildApp(app);
  return { ...built, template: Template.fromStack(built.stack) };
}
