// `auth0-ldap-bridge audit [--env NAME] [--out DIR]` (also `npm run audit`): synthesizes the
// CDK app offline (no AWS account, no bundling) from ./cdk.json and writes report.md and
// report.json, the exposed surface a security reviewer approves. Exit code 1 when cdk-nag has
// unacknowledged findings (the report still says which).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, EXIT, stringOption, UsageError } from './command.ts';

/** Where the report goes unless --out says otherwise: the committed report's folder. */
const DEFAULT_AUDIT_DIR = 'audit';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'write the audit of what a deployment exposes (routes, functions, IAM, network, cdk-nag)',
  description: [
    'Synthesizes the stack of one cdk.json environment offline and writes DIR/report.md and DIR/report.json:',
    'every route and its authorizer, every function with what it can reach and do, the network, and cdk-nag',
    "AwsSolutions findings with each acknowledgement's reason. Run it from the project's root (it reads",
    './cdk.json). Exit code 1 when a cdk-nag finding is not acknowledged.',
  ].join('\n'),
  options: {
    env: {
      type: 'string',
      valueName: 'NAME',
      description: "the cdk.json environment (default: cdk.json's defaultEnvironment)",
    },
    out: { type: 'string', valueName: 'DIR', description: 'where the report goes', default: DEFAULT_AUDIT_DIR },
  },
  settingGroups: [],
  async run(options, io) {
    if (!existsSync('cdk.json'))
      throw new UsageError(`no cdk.json in ${process.cwd()}: run it from the project's root`);
    const context = (JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> }).context;
    const environments = Object.keys((context.environments as Record<string, unknown> | undefined) ?? {});
    const env = stringOption(options, 'env') ?? String(context.defaultEnvironment);
    if (!environments.includes(env))
      throw new UsageError(`--env: "${env}" expected one of ${environments.join(', ')} (the environments in cdk.json)`);
    const outDir = stringOption(options, 'out') ?? DEFAULT_AUDIT_DIR;
    // The CDK is loaded only here: every other command (serve above all) starts without it.
    const [{ App }, { buildApp }, { auditApp, renderMarkdown }, { DeploymentConfigError }] = await Promise.all([
      import('aws-cdk-lib'),
      import('../../../lib/app.ts'),
      import('../../../lib/audit.ts'),
      import('../../../lib/config.ts'),
    ]);
    let report: ReturnType<typeof auditApp>;
    try {
      const app = new App({ context: { ...context, env, 'aws:cdk:bundling-stacks': [] } });
      report = auditApp(buildApp(app, { failSynthOnFindings: false }));
    } catch (error) {
      if (error instanceof DeploymentConfigError) throw new UsageError(error.message);
      throw error;
    }
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(path.join(outDir, 'report.md'), renderMarkdown(report));
    io.out(
      `${path.join(outDir, 'report.md')} and report.json written for ${report.stack}: ${report.routes.length} routes, ${report.functions.length} functions, ${report.cdkNag.unacknowledged.length} unacknowledged cdk-nag findings, ${report.cdkNag.acknowledged.length} acknowledged`,
    );
    return report.cdkNag.unacknowledged.length > 0 ? EXIT.failed : EXIT.ok;
  },
};
