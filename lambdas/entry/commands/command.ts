// What every command of `auth0-ldap-bridge` is: a name, its options (parsed by node:util
// parseArgs, never by hand), the setting groups it reads (its --help lists them from the
// contract's settings table), and a run function that returns an exit code. Also the exit codes
// and the errors a command reports without a stack trace. A new command is one file in this
// folder exporting a Command, plus its entry in cli.ts.
import { parseArgs } from 'node:util';
import { ALL_SETTINGS, describeDefault, type SettingGroup } from '../../contract/settings.ts';
import { ConfigError } from '../../core/config/read-settings.ts';

/** The exit codes of every command. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The command ran and its work failed (or found failures it reports, such as users that did not import). */
  failed: 1,
  /** Bad usage or configuration: a flag or a setting is missing or invalid. Nothing was done. */
  usage: 2,
} as const;

export const EXIT_CODES_HELP = `Exit codes: ${EXIT.ok} done; ${EXIT.failed} the work failed or found failures (see the output); ${EXIT.usage} bad flags or settings (nothing was done).`;

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The placeholder in --help: --out DIR. */
  valueName?: string;
  description: string;
  default?: string | boolean;
}

export interface CommandIO {
  /** The environment the command reads its settings from. */
  env: Readonly<Record<string, string | undefined>>;
  /** Results (what a script would read). */
  out: (line: string) => void;
  /** Progress and problems. */
  err: (line: string) => void;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Paragraphs after the usage line in --help. */
  description: string;
  /** Positional arguments are refused; everything is a named option. */
  options: Record<string, OptionSpec>;
  /** Which settings it reads, listed in --help. */
  settingGroups: readonly SettingGroup[];
  run(options: Record<string, string | boolean | undefined>, io: CommandIO): Promise<number>;
}

/** A problem with how the command was called; reported as one line and exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the command explains itself (no stack trace); exit code 1. */
export class CommandFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailed';
  }
}

/** Parses argv for one command; --help is answered here. */
export function parseCommandArgs(
  command: Command,
  argv: string[],
): { help: true } | { help: false; options: Record<string, string | boolean | undefined> } {
  const options = Object.fromEntries(
    Object.entries(command.options).map(([name, spec]) => [
      name,
      { type: spec.type, ...(spec.default === undefined ? {} : { default: spec.default }) },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  if (parsed.values.help) return { help: true };
  const { help: _help, ...values } = parsed.values;
  return { help: false, options: values as Record<string, string | boolean | undefined> };
}

/** node's parseArgs messages, reworded to name the flag and what was expected. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${flag ?? message}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(message)
      ? `${flag ?? 'an option'} needs a value`
      : `${flag ?? 'an option'} takes no value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}`;
  return message;
}

/** The --help text of one command. */
export function commandHelp(command: Command, program: string): string {
  const lines = [`Usage: ${program} ${command.name} [options]`, '', command.description, '', 'Options:'];
  const flags = Object.entries(command.options).map(([name, spec]) => {
    const flag = `--${name}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`;
    const fallback = spec.default === undefined || spec.default === false ? '' : ` (default ${spec.default})`;
    return [flag, `${spec.description}${fallback}`] as const;
  });
  flags.push(['-h, --help', 'show this help']);
  lines.push(...columns(flags));
  const settings = ALL_SETTINGS.filter(
    (setting) => setting.env !== undefined && command.settingGroups.includes(setting.group),
  );
  if (settings.length > 0) {
    lines.push('', 'Settings (environment variables; a bad value stops the command before it does anything):');
    lines.push(
      ...columns(
        settings.map((setting) => [
          setting.env ?? '',
          `${setting.doc} [${setting.required ? 'required' : `default: ${describeDefault(setting)}`}]`,
        ]),
      ),
    );
  }
  lines.push('', EXIT_CODES_HELP);
  return lines.join('\n');
}

function columns(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.min(34, Math.max(...rows.map(([left]) => left.length)) + 2);
  return rows.map(([left, right]) =>
    left.length + 2 > width ? `  ${left}\n  ${' '.repeat(width)}${right}` : `  ${left.padEnd(width)}${right}`,
  );
}

/** Runs a command and turns what it throws into a message and an exit code. */
export async function runCommand(command: Command, argv: string[], io: CommandIO, program: string): Promise<number> {
  try {
    const parsed = parseCommandArgs(command, argv);
    if (parsed.help) {
      io.out(commandHelp(command, program));
      return EXIT.ok;
    }
    return await command.run(parsed.options, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${program} ${command.name}: ${error.message} (see ${program} ${command.name} --help)`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      io.err(`${program} ${command.name}: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof CommandFailed) {
      io.err(`${program} ${command.name}: ${error.message}`);
      return EXIT.failed;
    }
    io.err(
      `${program} ${command.name} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
    return EXIT.failed;
  }
}

/** A whole number option within a range, or a UsageError naming the flag. */
export function integerOption(
  options: Record<string, string | boolean | undefined>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = options[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`--${name}: "${String(raw)}" expected a whole number from ${min} to ${max}`);
  }
  return value;
}

export function stringOption(options: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name}: expected a value`);
  return value;
}
