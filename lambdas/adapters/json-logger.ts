// Structured JSON log lines, one per event, to stdout (CloudWatch on Lambda). As a last line
// of defence, a field whose name suggests a secret is written as "[redacted]" whatever it holds.
import type { LogLevel } from '../contract/settings.ts';
import type { LogFields, Logger } from '../core/ports.ts';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /pass(word)?|secret|token|authorization|credential|cookie/i;

export class JsonLogger implements Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly write: (line: string) => void = (line) => process.stdout.write(line),
    private readonly base: LogFields = {},
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.log('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.log('error', message, fields);
  }

  private log(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (LEVELS[level] < LEVELS[this.level]) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, message };
    for (const [key, value] of Object.entries({ ...this.base, ...fields })) {
      if (value === undefined) continue;
      record[key] = SECRET_FIELD.test(key) ? '[redacted]' : value;
    }
    this.write(`${JSON.stringify(record)}\n`);
  }
}
