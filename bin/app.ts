// The CDK app: reads configuration and builds the stack. No logic lives here.
import { DeploymentConfigError } from '../lib/config.ts';
import { buildApp } from '../lib/app.ts';

try {
  buildApp().app.synth();
} catch (error) {
  if (!(error instanceof DeploymentConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
