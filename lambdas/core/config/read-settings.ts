// Reads settings of the contract's table (lambdas/contract/settings.ts) and checks each value
// against its row: type, range, allowed values, pattern. The runtime reads environment text; the
// CDK turns cdk.json values into the same text first (settingTextFromJson), so both apply the
// same rule to a value. Problems are collected, not thrown one by one: one start-up (or one
// `cdk synth`) reports them all, each naming the setting, the value (never a secret's) and what
// was expected.
import type {
  BooleanSetting,
  EnumSetting,
  IntegerListSetting,
  IntegerSetting,
  JsonSetting,
  ListSetting,
  Setting,
  StringSetting,
} from '../../contract/settings.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** What a setting's value is checked into. */
type Parsed = { ok: true; value: unknown } | { ok: false; expected: string };

/** Checks one value, given as text (the environment's form), against its setting's row. */
export function parseSettingText(setting: Setting, text: string): Parsed {
  switch (setting.type) {
    case 'string':
      return setting.pattern && !setting.pattern.test(text)
        ? { ok: false, expected: setting.expected ?? `to match ${setting.pattern}` }
        : { ok: true, value: text };
    case 'integer': {
      const value = Number(text);
      const valid = /^\d+$/.test(text) && Number.isSafeInteger(value) && value >= setting.min && value <= setting.max;
      if (valid && setting.values && !setting.values.includes(value))
        return { ok: false, expected: `one of ${setting.values.join(', ')} (${setting.unit})` };
      return valid
        ? { ok: true, value }
        : { ok: false, expected: `a whole number of ${setting.unit} from ${setting.min} to ${setting.max}` };
    }
    case 'boolean':
      return text === 'true' || text === 'false'
        ? { ok: true, value: text === 'true' }
        : { ok: false, expected: 'true or false' };
    case 'enum':
      return setting.values.includes(text)
        ? { ok: true, value: text }
        : { ok: false, expected: `one of ${setting.values.join(', ')}` };
    case 'list': {
      const items = splitList(text);
      if (items.length === 0) return { ok: false, expected: `at least one of ${setting.expected ?? 'value'}` };
      const bad = setting.itemPattern ? items.find((item) => !setting.itemPattern?.test(item)) : undefined;
      return bad === undefined
        ? { ok: true, value: items }
        : { ok: false, expected: `${setting.expected ?? 'valid values'} ("${bad}" is not)` };
    }
    case 'integer-list': {
      const items = splitList(text).map(Number);
      const valid =
        items.length > 0 && items.every((item) => Number.isInteger(item) && item >= setting.min && item <= setting.max);
      return valid
        ? { ok: true, value: items }
        : { ok: false, expected: `a non-empty list of whole numbers from ${setting.min} to ${setting.max}` };
    }
    case 'json': {
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { ok: true, value };
      } catch {
        // reported below
      }
      return { ok: false, expected: 'a JSON object' };
    }
  }
}

/**
 * A cdk.json value in the environment's text form, or what its JSON type should have been. Lists
 * are JSON arrays in cdk.json and comma-separated text in the environment; an object becomes
 * its JSON text.
 */
export function settingTextFromJson(setting: Setting, value: unknown): { text: string } | { expected: string } {
  switch (setting.type) {
    case 'string':
    case 'enum':
      return typeof value === 'string' && value.trim() !== '' ? { text: value } : { expected: 'a non-empty string' };
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value)
        ? { text: String(value) }
        : { expected: `a whole number from ${setting.min} to ${setting.max}` };
    case 'boolean':
      return typeof value === 'boolean' ? { text: String(value) } : { expected: 'true or false' };
    case 'list':
      return Array.isArray(value) &&
        value.length > 0 &&
        value.every((item) => typeof item === 'string' && item.trim() !== '' && !item.includes(','))
        ? { text: value.join(',') }
        : { expected: 'a non-empty list of strings' };
    case 'integer-list':
      return Array.isArray(value) && value.length > 0 && value.every((item) => Number.isInteger(item))
        ? { text: value.join(',') }
        : { expected: `a non-empty list of whole numbers from ${setting.min} to ${setting.max}` };
    case 'json':
      return typeof value === 'object' && value !== null && !Array.isArray(value)
        ? { text: JSON.stringify(value) }
        : { expected: 'an object' };
  }
}

export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** How a problem names a setting: its variable, or (in `cdk synth`) its cdk.json key. */
export type SettingNamer = (setting: Setting) => string;

export const byEnvironmentName: SettingNamer = (setting) => setting.env ?? setting.cdk ?? '?';

/**
 * Reads settings from environment variables and collects problems. Getters return the default
 * when a setting is unset, undefined when it has none; a bad value is a problem and reads as the
 * default, so every other setting is still checked.
 */
export class SettingsReader {
  private readonly problems: string[] = [];

  constructor(
    private readonly env: Env,
    readonly name: SettingNamer = byEnvironmentName,
  ) {}

  problem(message: string): void {
    this.problems.push(message);
  }

  /** Every problem so far. */
  get found(): readonly string[] {
    return this.problems;
  }

  /** The text as set, trimmed (a secret is kept as given: a password may end in a space); undefined when unset or empty. */
  text(setting: Setting): string | undefined {
    const raw = setting.env === undefined ? undefined : this.env[setting.env];
    const value = setting.secret ? raw : raw?.trim();
    if (value === undefined || value === '') {
      if (setting.required) this.problem(`${this.name(setting)}: is required (${requiredHint(setting)})`);
      return undefined;
    }
    return value;
  }

  has(setting: Setting): boolean {
    return this.text({ ...setting, required: false } as Setting) !== undefined;
  }

  string(setting: StringSetting & { default: string }): string;
  string(setting: StringSetting): string | undefined;
  string(setting: StringSetting): string | undefined {
    return this.read(setting) as string | undefined;
  }

  integer(setting: IntegerSetting & { default: number }): number;
  integer(setting: IntegerSetting): number | undefined;
  integer(setting: IntegerSetting): number | undefined {
    return this.read(setting) as number | undefined;
  }

  boolean(setting: BooleanSetting & { default: boolean }): boolean;
  boolean(setting: BooleanSetting): boolean | undefined;
  boolean(setting: BooleanSetting): boolean | undefined {
    return this.read(setting) as boolean | undefined;
  }

  oneOf<T extends string>(setting: EnumSetting<T> & { default: T }): T;
  oneOf<T extends string>(setting: EnumSetting<T>): T | undefined;
  oneOf<T extends string>(setting: EnumSetting<T>): T | undefined {
    return this.read(setting) as T | undefined;
  }

  list(setting: ListSetting): string[] | undefined {
    return this.read(setting) as string[] | undefined;
  }

  integerList(setting: IntegerListSetting): number[] | undefined {
    return this.read(setting) as number[] | undefined;
  }

  json(setting: JsonSetting): Record<string, unknown> | undefined {
    return this.read(setting) as Record<string, unknown> | undefined;
  }

  private read(setting: Setting): unknown {
    const fallback = 'default' in setting ? setting.default : undefined;
    const text = this.text(setting);
    if (text === undefined) return fallback;
    const parsed = parseSettingText(setting, text);
    if (parsed.ok) return parsed.value;
    const shown = setting.secret ? '(the value is not shown)' : `"${text}"`;
    this.problem(`${this.name(setting)}: ${shown} expected ${parsed.expected}`);
    return fallback;
  }
}

function requiredHint(setting: Setting): string {
  if ('expected' in setting && setting.expected) return setting.expected;
  return setting.doc;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}
