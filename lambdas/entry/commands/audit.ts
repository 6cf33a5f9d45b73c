// `npm run audit [-- --env NAME]`: synthesizes the app offline (no AWS account) and writes
// audit/report.md and audit/report.json, the exposed surface a security reviewer approves.
// Exits 1 when cdk-nag has unacknowledged findings (the report still says which).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../../lib/app.ts';
import { auditApp, renderMarkdown } from '../../../lib/audit.ts';
import { DeploymentConfigError } from '../../../lib/config.ts';

const envFlag = process.argv.indexOf('--env');
const context = (JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> }).context;
const env = envFlag >= 0 ? process.argv[envFlag + 1] : String(context.defaultEnvironment);

try {
  const report = auditApp(
    buildApp(new App({ context: { ...context, env, 'aws:cdk:bundling-stacks': [] } }), { failSynthOnFindings: false }),
  );
  mkdirSync('audit', { recursive: true });
  writeFileSync('audit/report.json', `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync('audit/report.md', renderMarkdown(report));
  console.log(
    `audit/report.md and audit/report.json written for ${report.stack}: ${report.routes.length} routes, ${report.functions.length} functions, ${report.cdkNag.unacknowledged.length} unacknowledged cdk-nag findings, ${report.cdkNag.acknowledged.length} acknowledged`,
  );
  if (report.cdkNag.unacknowledged.length > 0) process.exit(1);
} catch (error) {
  if (!(error instanceof DeploymentConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
