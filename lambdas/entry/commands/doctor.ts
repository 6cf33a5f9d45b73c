// `auth0-ldap-bridge doctor [--user NAME] [--login NAME] [--json] [--stack NAME | --function ARN]`
// (also `npm run doctor`): walks the chain from the bridge's configuration to a working login
// and stops at the first broken link, naming it, what it saw and what usually fixes it. Locally
// with this machine's settings (lambdas/entry/run-doctor.ts), or through the deployed doctor
// function of a stack, whose report comes back without the issuer links: those are walked from
// here, as the token authorizer (outside the VPC) reaches the issuer the way this machine does.
// A --login password is read from the terminal, never from the command line or the environment.
import { RUNTIME_SETTINGS as S } from '../../contract/settings.ts';
import type { DoctorCheck, DoctorReport } from '../../core/doctor/report.ts';
import { runDoctor } from '../run-doctor.ts';
import { type Command, type CommandIO, CommandFailed, EXIT, stringOption, UsageError } from './command.ts';

const MARKS: Record<DoctorCheck['status'], string> = {
  ok: '[ok]  ',
  warn: '[warn]',
  fail: '[FAIL]',
  skipped: '[skip]',
};
const LINK_WIDTH = 'lockout-policy'.length;

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'find the broken link between the configuration, the directory, the issuer and a login',
  description: [
    'Walks the chain in order and stops at the first broken link: configuration; DNS, TCP and TLS to each',
    'server of LDAP_URLS; the service bind; the base DN; the user filter; the attributes of a user entry; the',
    "lockout policy the shield uses; the issuer's JWKS; this machine's clock against the issuer's. One line per",
    'link, and for a broken one (or a warning) what usually fixes it. Reads the same settings as the bridge.',
    "--stack or --function runs the walk in the deployed doctor function (the login function's network and",
    'configuration; AWS credentials as for the AWS CLI), and the issuer links from this machine.',
  ].join('\n'),
  options: {
    user: {
      type: 'string',
      valueName: 'NAME',
      description: 'also show the profile Auth0 would receive for this user (a /get-user, no bind)',
    },
    login: {
      type: 'string',
      valueName: 'NAME',
      description: 'also run a full login as this user, exactly as /login; asks for the password on the terminal',
    },
    json: { type: 'boolean', description: 'print the report as one JSON document instead of lines' },
    stack: {
      type: 'string',
      valueName: 'NAME',
      description: 'walk from the doctor function of this deployed stack (its DoctorFunctionArn output)',
    },
    function: { type: 'string', valueName: 'ARN', description: 'walk from this deployed doctor function' },
  },
  settingGroups: ['directory', 'groups', 'tokens', 'logging'],
  async run(options, io) {
    const user = stringOption(options, 'user');
    const loginName = stringOption(options, 'login');
    const stackName = stringOption(options, 'stack');
    const functionArn = stringOption(options, 'function');
    const json = options.json === true;
    if (stackName !== undefined && functionArn !== undefined)
      throw new UsageError('give --stack NAME or --function ARN, not both');
    const deployed = stackName ?? functionArn;
    if (deployed !== undefined && loginName !== undefined)
      throw new UsageError(
        '--login cannot go with --stack or --function: the password would travel to the deployed function in its invocation payload; run --login on a machine that reaches the directory',
      );
    const printer = json ? undefined : new ReportPrinter(io);
    let report: DoctorReport;
    if (deployed === undefined) {
      const login =
        loginName === undefined ? undefined : { username: loginName, password: await askPassword(loginName) };
      report = await runDoctor(io.env, {
        ...(user === undefined ? {} : { user }),
        ...(login === undefined ? {} : { login }),
        ...(printer ? { onCheck: (check: DoctorCheck) => printer.check(check) } : {}),
      });
    } else {
      const { invokeDeployedDoctor, DeployedDoctorError } = await import('../../adapters/deployed-doctor.ts');
      const target = stackName === undefined ? { functionArn: deployed } : { stackName };
      let fromFunction: DoctorReport;
      try {
        fromFunction = await invokeDeployedDoctor(target, user === undefined ? {} : { user });
      } catch (error) {
        if (error instanceof DeployedDoctorError) throw new CommandFailed(error.message);
        throw error;
      }
      report = await withIssuerLinksFromHere(fromFunction, io.env);
      if (printer) {
        printer.ranOn(report);
        for (const check of report.checks) printer.check(check);
      }
    }
    if (printer) printer.end(report);
    else io.out(JSON.stringify(report, null, 2));
    return exitCode(report);
  },
};

/** 0 every walked link works (warnings allowed); 2 the settings are wrong (nothing else was checked); 1 a link failed. */
function exitCode(report: DoctorReport): number {
  if (report.checks.some((check) => check.link === 'configuration' && check.status === 'fail')) return EXIT.usage;
  return report.ok ? EXIT.ok : EXIT.failed;
}

/**
 * The deployed report with its issuer links walked from this machine: the issuer the deployment
 * uses, with this machine's other AUTH_* settings where set. Left as it is when the deployed
 * walk broke first, or names no issuer.
 */
export async function withIssuerLinksFromHere(deployed: DoctorReport, env: CommandIO['env']): Promise<DoctorReport> {
  if (!deployed.ok || deployed.issuer === undefined) return deployed;
  const localAuth = Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith('AUTH_')));
  const here = await runDoctor({ ...localAuth, [S.AUTH_ISSUER.env]: deployed.issuer }, { links: ['jwks', 'clock'] });
  const configuration = here.checks.find((check) => check.link === 'configuration');
  const checks = deployed.checks.map((check): DoctorCheck => {
    if (check.link !== 'jwks' && check.link !== 'clock') return check;
    // This machine's AUTH_* settings did not read: that is the issuer links' failure.
    if (configuration?.status === 'fail' && check.link === 'jwks')
      return { ...configuration, link: 'jwks', checkedLocally: true };
    const walked = here.checks.find((candidate) => candidate.link === check.link) ?? check;
    return { ...walked, checkedLocally: true };
  });
  return { ...deployed, checks, ok: checks.every((check) => check.status !== 'fail') };
}

/** Lines for an operator: one per link, a fix under each warning and failure, the verdict, the profile. */
class ReportPrinter {
  constructor(private readonly io: CommandIO) {}

  ranOn(report: DoctorReport): void {
    if (report.ranOn.kind === 'deployed')
      this.io.out(`walked by the deployed doctor ${report.ranOn.functionArn}; jwks and clock from this machine`);
  }

  check(check: DoctorCheck): void {
    const took = check.durationMs === undefined ? '' : ` (${check.durationMs} ms)`;
    const where = check.checkedLocally ? ' [checked from this machine]' : '';
    this.io.out(`${MARKS[check.status]} ${check.link.padEnd(LINK_WIDTH)}  ${check.summary}${where}${took}`);
    if (check.fix !== undefined && check.status !== 'skipped')
      this.io.out(`       ${' '.repeat(LINK_WIDTH)}  fix: ${check.fix}`);
  }

  end(report: DoctorReport): void {
    const failed = report.checks.find((check) => check.status === 'fail');
    const warnings = report.checks.filter((check) => check.status === 'warn').length;
    this.io.out(
      failed
        ? `doctor: the chain breaks at ${failed.link}`
        : `doctor: every link works${warnings > 0 ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}`,
    );
    if (report.profile !== undefined) {
      this.io.out('the profile Auth0 would receive:');
      this.io.out(JSON.stringify(report.profile, null, 2));
    }
  }
}

/**
 * The --login password: typed on the terminal without echo, or (stdin not a terminal) the first
 * line piped in, so scripts and tests can give it. A blank one is refused before any bind: the
 * directory would take it as an anonymous bind.
 */
async function askPassword(username: string): Promise<string> {
  const password = process.stdin.isTTY
    ? await readHidden(`password for ${username}: `)
    : await readFirstLine(process.stdin);
  if (password.trim() === '')
    throw new UsageError(
      `--login: the password for ${username} is empty (type it when asked, or pipe it on stdin); an empty password is never tried`,
    );
  return password;
}

async function readFirstLine(stream: NodeJS.ReadStream): Promise<string> {
  stream.setEncoding('utf8');
  let text = '';
  for await (const chunk of stream) {
    text += chunk as string;
    if (text.includes('\n')) break; // the rest of stdin is not read
  }
  return (text.split('\n')[0] ?? '').replace(/\r$/, '');
}

function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          finish();
          resolve(typed);
          return;
        }
        if (char === '\u0003') {
          finish();
          reject(new CommandFailed('password entry cancelled (Ctrl-C)'));
          return;
        }
        // Backspace and delete take back one character (a whole code point).
        typed = char === '\u007f' || char === '\b' ? Array.from(typed).slice(0, -1).join('') : typed + char;
      }
    };
    stdin.on('data', onData);
  });
}
