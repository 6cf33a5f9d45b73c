// The README's configuration tables, rendered from the settings table. `npm run docs` writes them
// between the README's `<!-- settings:GROUP -->` markers; a test fails when the README and the
// table differ, so the documentation cannot drift from what the code reads.
import { ALL_SETTINGS, describeDefault, describeType, type Setting, type SettingGroup } from './settings.ts';

/** The README's tables, by the name in their marker. */
export const SETTINGS_DOC_TABLES: Readonly<Record<string, { groups: SettingGroup[]; runtime: boolean }>> = {
  directory: { groups: ['directory'], runtime: true },
  groups: { groups: ['groups'], runtime: true },
  tokens: { groups: ['tokens'], runtime: true },
  server: { groups: ['server', 'logging'], runtime: true },
  'management-api': { groups: ['management-api'], runtime: true },
  deployment: { groups: ['deployment', 'deployment-network', 'deployment-api'], runtime: false },
};

const cell = (text: string) => text.replace(/\|/g, '\\|');
const code = (text: string) => `\`${text.replace(/\|/g, '\\|')}\``;

/** One Markdown table. */
export function renderSettingsTable(name: string): string {
  const table = SETTINGS_DOC_TABLES[name];
  if (!table) throw new Error(`no settings table named ${name}`);
  const rows = ALL_SETTINGS.filter((setting) => table.groups.includes(setting.group));
  if (table.runtime) {
    return [
      '| variable | cdk.json key | meaning | values | default |',
      '|---|---|---|---|---|',
      ...rows.map(
        (setting: Setting) =>
          `| ${code(setting.env ?? '')} | ${setting.cdk ? code(setting.cdk) : '—'} | ${cell(setting.doc)}${setting.secret ? ' (secret)' : ''} | ${cell(describeType(setting))} | ${cell(describeDefault(setting))} |`,
      ),
    ].join('\n');
  }
  return [
    '| cdk.json key | meaning | values | default |',
    '|---|---|---|---|',
    ...rows.map(
      (setting: Setting) =>
        `| ${code(setting.cdk ?? '')} | ${cell(setting.doc)} | ${cell(describeType(setting))} | ${cell(describeDefault(setting))} |`,
    ),
  ].join('\n');
}

/** The README with every marked table replaced by its rendering. */
export function withSettingsTables(readme: string): string {
  return readme.replace(
    /(<!-- settings:([\w-]+) -->\n)[\s\S]*?(<!-- \/settings:\2 -->)/g,
    (_all, open: string, name: string, close: string) => `${open}${renderSettingsTable(name)}\n${close}`,
  );
}
