// cdk-nag AwsSolutions over every shipped environment, and the size of the function bundles.
import { describe, expect, it } from 'vitest';
import * as esbuild from 'esbuild';
import { App, Validations } from 'aws-cdk-lib';
import { buildApp } from '../../lib/app.ts';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BUNDLING } from '../../lib/constructs/ldap-bridge.ts';
import { build, CDK_CONTEXT } from './support.ts';

describe('cdk-nag AwsSolutions', () => {
  it.each(Object.keys(CDK_CONTEXT.environments))('has zero unacknowledged findings in %s', (name) => {
    const { app, nag } = build(name);
    const report = nag.validateScope(app);
    expect(
      report.violations.map(
        (violation) =>
          `${violation.ruleName} at ${violation.violatingResources.map((resource) => resource.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('gives every acknowledgement a reason a reviewer can read', () => {
    const { app } = build('prod');
    const acknowledgements = app.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY),
      )
      .flatMap((entry) => Object.values(entry.data as Record<string, unknown>));
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const reason of acknowledgements) expect(String(reason).length).toBeGreaterThan(60);
  });

  const freshApp = () =>
    new App({ context: { 'aws:cdk:bundling-stacks': [], env: 'demo', environments: CDK_CONTEXT.environments } });

  it('lets synthesis pass as shipped', () => {
    expect(() => freshApp().synth()).not.toThrow();
    const app = freshApp();
    buildApp(app);
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synthesis when a finding is introduced', () => {
    const app = freshApp();
    const { stack, nag } = buildApp(app);
    new sns.Topic(stack, 'PlainTopic'); // publishing without TLS allowed: AwsSolutions-SNS3
    expect(nag.validateScope(app).violations.map((violation) => violation.ruleName)).toContain('AwsSolutions-SNS3');
    expect(() => app.synth()).toThrow(/Validation failed|SNS Topic does not require/);
  });
});

describe('function bundles', () => {
  const sizeOf = async (entry: string) => {
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      platform: 'node',
      minify: BUNDLING.minify,
      format: 'esm',
      target: BUNDLING.target,
      mainFields: BUNDLING.mainFields,
      external: BUNDLING.externalModules,
      banner: { js: BUNDLING.banner },
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs);
    // The AWS SDK is external (the runtime's): which of its packages the bundle would load.
    const sdkImports = Object.values(result.metafile.outputs)
      .flatMap((output) => output.imports)
      .filter((imported) => imported.external && imported.path.startsWith('@aws-sdk/'))
      .map((imported) => imported.path);
    return { bytes: result.outputFiles[0]!.contents.byteLength, inputs, sdkImports: [...new Set(sdkImports)] };
  };

  it('keeps login / get-user under 150 kB minified, without the AWS SDK or jose', async () => {
    const { bytes, inputs } = await sizeOf('lambdas/entry/lambda.ts');
    expect(bytes).toBeLessThan(150 * 1024);
    expect(inputs.some((input) => input.includes('@aws-sdk'))).toBe(false);
    expect(inputs.some((input) => input.includes('node_modules/ldapts'))).toBe(true);
    // API Gateway's authorizer checks tokens; the directory functions never load jose.
    expect(inputs.some((input) => input.includes('node_modules/jose'))).toBe(false);
  });

  it("keeps the deployed doctor to the login function's libraries: ldapts, and of the AWS SDK only the Secrets Manager client", async () => {
    const login = await sizeOf('lambdas/entry/lambda.ts');
    const { bytes, inputs, sdkImports } = await sizeOf('lambdas/entry/doctor-function.ts');
    expect(bytes).toBeLessThan(200 * 1024);
    expect(inputs.some((input) => input.includes('node_modules/ldapts'))).toBe(true);
    expect(inputs.some((input) => input.includes('node_modules/jose'))).toBe(false);
    expect(login.sdkImports).toEqual(['@aws-sdk/client-secrets-manager']);
    expect(sdkImports).toEqual(login.sdkImports);
  });

  it("bundles the scheduled sync-leavers with ldapts and Auth0's SDK, and of the AWS SDK only the Secrets Manager client", async () => {
    const { bytes, inputs, sdkImports } = await sizeOf('lambdas/entry/sync-leavers-function.ts');
    // Auth0's SDK is most of it; a run every so often pays its cold start once.
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
    expect(inputs.some((input) => input.includes('node_modules/ldapts'))).toBe(true);
    expect(inputs.some((input) => input.includes('node_modules/auth0'))).toBe(true);
    expect(sdkImports).toEqual(['@aws-sdk/client-secrets-manager']);
  });

  it('keeps the authorizer small and free of the LDAP client', async () => {
    const { bytes, inputs } = await sizeOf('lambdas/entry/authorizer.ts');
    expect(bytes).toBeLessThan(60 * 1024);
    expect(inputs.some((input) => input.includes('ldapts'))).toBe(false);
  });
});
