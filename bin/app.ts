// The CDK app: reads configuration and builds the stack. No logic lives here.
import { buildApp } from '../lib/app.ts';

buildApp().app.synth();
