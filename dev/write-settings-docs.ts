// `npm run docs`: rewrites the README's configuration tables from the settings table
// (lambdas/contract/settings.ts). test/unit/settings-docs.test.ts fails until this is run after a
// setting changes.
import { readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTables } from '../lambdas/contract/settings-docs.ts';

const before = readFileSync('README.md', 'utf8');
const after = withSettingsTables(before);
writeFileSync('README.md', after);
console.log(
  before === after ? 'README.md: the settings tables were up to date' : 'README.md: settings tables rewritten',
);
