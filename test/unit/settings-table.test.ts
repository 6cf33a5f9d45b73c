// The settings table is the one source: the README's tables are its rendering, every runtime row
// is read by the code, and every row is complete.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withSettingsTables } from '../../lambdas/contract/settings-docs.ts';
import { ALL_SETTINGS, RUNTIME_SETTINGS } from '../../lambdas/contract/settings.ts';
import { loadConfig } from '../../lambdas/core/config/bridge-config.ts';

describe('the settings table', () => {
  it("is what the README's configuration tables say (run npm run docs after changing a setting)", () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain('<!-- settings:directory -->');
    expect(readme).toContain('<!-- settings:deployment -->');
    expect(withSettingsTables(readme)).toBe(readme);
  });

  it('documents every setting in the README', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const setting of ALL_SETTINGS) expect(readme).toContain(`\`${setting.env ?? setting.cdk}\``);
  });

  it('gives every row a doc line, a group, and a key the runtime or the deployment reads', () => {
    for (const setting of ALL_SETTINGS) {
      expect(setting.doc.length, JSON.stringify(setting)).toBeGreaterThan(5);
      expect(setting.env ?? setting.cdk).toBeTruthy();
    }
    const cdkKeys = ALL_SETTINGS.map((setting) => setting.cdk).filter((key) => key !== undefined);
    expect(new Set(cdkKeys).size).toBe(cdkKeys.length);
  });

  it('is read by the runtime: loadConfig asks for every runtime setting except the Management API credentials', () => {
    const asked = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_target, name) => {
        if (typeof name === 'string') asked.add(name);
        return undefined;
      },
    });
    expect(() => loadConfig(env)).toThrow();
    const runtime = Object.values(RUNTIME_SETTINGS)
      .filter((setting) => setting.group !== 'management-api')
      .map((setting) => setting.env);
    expect(runtime.filter((name) => !asked.has(name))).toEqual([]);
  });

  it('never gives a secret a default or a cdk.json key (secrets stay out of templates)', () => {
    for (const setting of ALL_SETTINGS.filter((each) => each.secret)) {
      expect(setting.cdk).toBeUndefined();
      expect('default' in setting).toBe(false);
    }
  });
});
