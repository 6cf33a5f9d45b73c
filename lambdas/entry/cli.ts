#!/usr/bin/env node
// `auth0-ldap-bridge <command> [options]`: the command line's composition root. Each command is
// one file in ./commands (a Command: its options, the settings it reads, its run function);
// this file only lists them, answers --help and --version, and sets the exit code.
import { readFileSync, realpathSync } from 'node:fs';
import { auditCommand } from './commands/audit.ts';
import { type Command, type CommandIO, EXIT, EXIT_CODES_HELP, runCommand } from './commands/command.ts';
import { cutoverCommand } from './commands/cutover.ts';
import { doctorCommand } from './commands/doctor.ts';
import { exportCommand } from './commands/export.ts';
import { importCommand } from './commands/import.ts';
import { progressCommand } from './commands/progress.ts';
import { serveCommand } from './commands/serve.ts';
import { syncLeaversCommand } from './commands/sync-leavers.ts';

const PROGRAM = 'auth0-ldap-bridge';

export const COMMANDS: readonly Command[] = [
  serveCommand,
  exportCommand,
  importCommand,
  auditCommand,
  doctorCommand,
  progressCommand,
  syncLeaversCommand,
  cutoverCommand,
];

export function programHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Lets Auth0 custom-database scripts log users in against a private LDAP directory.',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    '',
    `${PROGRAM} <command> --help shows a command's options and the settings (environment variables) it reads.`,
    EXIT_CODES_HELP,
  ].join('\n');
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(programHelp());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest[0] === undefined)) {
    io.out(programHelp());
    return EXIT.ok;
  }
  if (name === 'help') {
    const topic = COMMANDS.find((command) => command.name === rest[0]);
    if (topic) return runCommand(topic, ['--help'], io, PROGRAM);
    io.err(
      `${PROGRAM}: no command "${rest[0]}" to explain (commands: ${COMMANDS.map((each) => each.name).join(', ')})`,
    );
    return EXIT.usage;
  }
  if (name === '--version') {
    io.out(packageVersion());
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    io.err(
      `${PROGRAM}: unknown command "${name}" (commands: ${COMMANDS.map((each) => each.name).join(', ')}; see ${PROGRAM} --help)`,
    );
    return EXIT.usage;
  }
  return runCommand(command, rest, io, PROGRAM);
}

function packageVersion(): string {
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // not at this depth: the build puts this file one level deeper
    }
  }
  return 'unknown';
}

// Run when started as a program (node dist/.../cli.js, the npm bin link, tsx), not when a test imports main().
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename) {
  const code = await main(process.argv.slice(2), {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
  process.exitCode = code;
}
